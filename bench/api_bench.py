"""Benchmark the REST API against a bare Flask + SQLAlchemy floor app, side by side in one run.

Run from the repository root (`make bench-api`):

    .venv/bin/python bench/api_bench.py [--database sqlite|postgresql|both] [--duration S]
        [--warmup S] [--rounds N] [--connections N] [--workers N] [--json PATH] [--check]

For each database (default: both when PostgreSQL answers at REFERRAL_BENCH_DATABASE_URL or
postgresql+psycopg://postgres@127.0.0.1:5432/test, else SQLite) it makes fresh databases (two
PostgreSQL schemas, dropped at the end, or two SQLite files in a temporary directory): the
product's, migrated with `referral db upgrade` and given an area, users and write tokens with
the CLI under production settings; and the floor's (bench/floor_app.py). Both are served the
same way, `gunicorn -w WORKERS` on 127.0.0.1, and seeded through their HTTP APIs with the same
number of rows, each walked into `ird`.

Then wrk (bench/wrk/load.lua) loads each request shape on the product and on the floor, with
the same connections, threads and duration, after a warm-up whose numbers are dropped; in
rounds (3 by default), each side once a round, the side that goes first alternating:

    GET         product GET /api/v1/referrals/{id}      floor GET /floor/items/{id}
    create      product POST /api/v1/referrals           floor POST /floor/items
    transition  product add_ird_contribution             floor add_ird_contribution
                (POST /api/v1/referrals/{id}/transitions, POST /floor/items/{id}/transitions)

GETs and transitions pick a row at random per request from the same number of rows on both
sides; creates send the same body with a random child. The product is called with a valid
bearer token; the floor authenticates nothing. The table gives req/s, p50 and p99 for each
(the median of the rounds), the ratio product/floor of req/s and of p99 (the median of the
rounds' own ratios: each round compares two runs made seconds apart, so a machine whose speed
drifts over minutes moves both sides of it), and the targets (req/s >= 0.5 of the floor's,
p99 <= 2x the floor's).

History flatness: referrals with 5 events and referrals with 500 (a state-keeping trigger fired
through the API), then GETs and transitions sent one at a time, alternating between the two
kinds, and compared by median latency: cost(500) / cost(5), target <= 1.2. One connection and a
fixed number of requests, not wrk: every transition adds an event, so a timed run at full load
would grow the 5-event referrals' history while measuring them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from floor_app import create_tables  # bench/ is first on sys.path when this runs as a script
from sqlalchemy import create_engine, text

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BIN = Path(sys.executable).parent
LOAD_SCRIPT = BENCH / "wrk" / "load.lua"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AREA = "west-dunbartonshire"

#: rows each side's GETs and transitions are spread over
ROWS = 200
#: history flatness: how many referrals of each size, and the requests sent to each size
SHORT_HISTORY, LONG_HISTORY = 5, 500
SHORT_REFERRALS, LONG_REFERRALS = 20, 2
HISTORY_GETS, HISTORY_TRANSITIONS = 200, 100

#: targets (the issue's): req/s of at least this share of the floor's; p99 at most this multiple
MIN_RATIO, MAX_P99_RATIO, MAX_HISTORY_RATIO = 0.5, 2.0, 1.2

WRK_INSTALL = """wrk is not installed; `make bench-api` loads both apps with it.
Install it from the distribution's packages, e.g. on Debian or Ubuntu:

    sudo apt-get install wrk

(on macOS: brew install wrk), then run `make bench-api` again."""

MOMENT = datetime.now(UTC).replace(microsecond=0)


def iso(delta: timedelta) -> str:
    return (MOMENT + delta).isoformat()


# -- request bodies (v2 shapes, as in tests/referral/flows.py) -----------------------------------


def concern_body(given: str, family: str, birth: str) -> dict[str, Any]:
    return {
        "area": AREA,
        "child": {"given_name": given, "family_name": family, "date_of_birth": birth},
        "concern": {
            "received_at": iso(-timedelta(hours=2)),
            "source": "professional",
            "summary": "Bruising seen at school; child says dad hit her.",
            "categories": ["physical_abuse"],
            "immediate_risk": False,
            "child_spoken_to": True,
        },
    }


CONVENE_IRD = {
    "trigger": "convene_ird",
    "data": {
        "started_at": iso(-timedelta(minutes=30)),
        "reason": "Disclosure",
        "participants": [
            {"agency": "police", "name": "DS Morgan", "role": "detective sergeant"},
            {"agency": "health", "name": "Dr Shah", "role": "paediatrician"},
            {"agency": "social_work", "name": "S Reid", "role": "social worker"},
            {"agency": "education", "name": "Ms Ng", "role": "head teacher"},
        ],
    },
}
#: fired over and over: it keeps the referral in `ird` and adds one event each time
CONTRIBUTION = {
    "trigger": "add_ird_contribution",
    "data": {
        "agency": "education",
        "information_shared": "Attendance 62%",
        "lawful_basis": "DPA 2018 Sch 1 para 18",
    },
}
#: grows a referral's history: a chronology entry is an event, but not part of what a GET answers
#: (a GET's answer carries every IRD contribution, so 500 of them would be 500 times the answer)
CHRONOLOGY = {
    "trigger": "add_chronology_entry",
    "data": {
        "occurred_on": (MOMENT - timedelta(days=400)).date().isoformat(),
        "source_agency": "health",
        "what_happened": "Attended A&E with a fractured wrist.",
        "significance": "Unexplained injury.",
    },
}
#: the create body wrk sends; load.lua fills in a random child per request
CREATE_TEMPLATE = concern_body("@GIVEN@", "@FAMILY@", "@BIRTH@")


def random_child(rng: random.Random) -> tuple[str, str, str]:
    given = rng.choice(["Amy", "Ben", "Cara", "Dan", "Eve", "Finn", "Gail", "Hugh", "Isla"])
    family = rng.choice(["Brown", "Campbell", "Duncan", "Ewing", "Fraser", "Gordon", "Kerr"])
    birth = (datetime(2010, 1, 1) + timedelta(days=rng.randrange(3650))).date().isoformat()
    return given, family, birth


# -- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    """A port below 32768 (outside Linux's ephemeral range) that nothing listens on now."""
    start = 20000 + os.getpid() % 10000
    for port in range(start, start + 2000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32768")


def call(
    port: int, method: str, path: str, token: str | None = None, body: Any = None
) -> tuple[int, Any]:
    """One HTTP exchange on a fresh connection (gunicorn's sync workers close it anyway)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            method, path, body=None if body is None else json.dumps(body), headers=headers
        )
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    return response.status, json.loads(raw) if raw else None


def expect(status: int, body: Any, wanted: int, what: str) -> Any:
    if status != wanted:
        raise RuntimeError(f"{what}: expected {wanted}, got {status}: {json.dumps(body)[:800]}")
    return body


class Server:
    """gunicorn serving one app on 127.0.0.1, in its own process group."""

    def __init__(
        self, name: str, app: list[str], env: dict[str, str], workers: int, log: Path, ready: str
    ) -> None:
        self.name, self.log, self.ready_path = name, log, ready
        self.port = free_port()
        argv = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{self.port}", *app]
        with log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
                argv,
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                status, _ = call(self.port, "GET", self.ready_path)
            except (OSError, http.client.HTTPException):
                status = 0
            if status == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def referral_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - the product's own CLI, fixed arguments
        [str(BIN / "referral"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"referral {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


# -- databases -----------------------------------------------------------------------------------


def postgres_url() -> str:
    return os.environ.get("REFERRAL_BENCH_DATABASE_URL") or DEFAULT_POSTGRES


def postgres_version(url: str) -> str | None:
    """The server's version, or None when nothing answers at `url`."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    except Exception:  # any failure to connect means: not available
        return None
    finally:
        engine.dispose()


@contextmanager
def fresh_databases(kind: str, folder: Path) -> Iterator[tuple[str, str]]:
    """URLs of two empty databases, the product's and the floor's; dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'product.db'}", f"sqlite:///{folder / 'floor.db'}"
        return
    url = postgres_url()
    suffix = uuid.uuid4().hex[:10]
    schemas = [f"bench_product_{suffix}", f"bench_floor_{suffix}"]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    joiner = "&" if "?" in url else "?"
    try:
        with admin.connect() as connection:
            for schema in schemas:
                connection.execute(text(f"CREATE SCHEMA {schema}"))
        product, floor = (f"{url}{joiner}options=-csearch_path%3D{s}" for s in schemas)
        yield product, floor
    finally:
        with admin.connect() as connection:
            for schema in schemas:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def analyze(url: str) -> None:
    """PostgreSQL: fresh planner statistics after seeding, as a running database would have."""
    if url.startswith("sqlite"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            tables = connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).scalars()
            for table in list(tables):
                connection.execute(text(f'ANALYZE "{table}"'))
    finally:
        engine.dispose()


# -- the two apps ----------------------------------------------------------------------------


@dataclass
class Side:
    """One served app and what the bench seeded in it."""

    server: Server
    get_path: str
    create_path: str
    transition_path: str
    reader: str | None  # bearer tokens (None: the floor)
    writer: str | None
    contributor: str | None
    rows: list[str] = field(default_factory=list)


def product_env(url: str, instance: Path) -> dict[str, str]:
    """Production settings with throwaway secrets made for this run."""
    return {
        **os.environ,
        "REFERRAL_ENV": "production",
        "REFERRAL_SECRET_KEY": secrets.token_urlsafe(32),
        "REFERRAL_AUDIT_KEY": secrets.token_urlsafe(40),
        "REFERRAL_DATABASE_URL": url,
        "REFERRAL_INSTANCE_PATH": str(instance),
    }


def set_up_product(env: dict[str, str]) -> dict[str, str]:
    """Migrate, add the area and the users; return each user's write token."""
    referral_cli(env, "db", "upgrade")
    referral_cli(env, "areas", "add", AREA, "--name", "West Dunbartonshire", "--prefix", "WD")
    password = secrets.token_urlsafe(18)
    tokens = {}
    for username, agency in (("pc", "police"), ("teacher", "education")):
        referral_cli(
            env,
            *("users", "create", username, "--agency", agency, "--role", "practitioner"),
            *("--area", AREA, "--password-stdin"),
            stdin=password + "\n",
        )
        out = referral_cli(env, "tokens", "create", username, "--scope", "write")
        tokens[username] = out.strip().splitlines()[-1]
    return tokens


def new_row(side: Side, rng: random.Random) -> str:
    """Create a row with a random child and walk it into `ird`; return its id."""
    port = side.server.port
    body = concern_body(*random_child(rng))
    created = expect(*call(port, "POST", side.create_path, side.writer, body), 201, "create")
    row_id: str = created["id"]
    path = side.transition_path.replace("{id}", row_id)
    expect(*call(port, "POST", path, side.writer, CONVENE_IRD), 200, "convene_ird")
    return row_id


def event_count(side: Side, referral_id: str) -> int:
    count, cursor = 0, None
    while True:
        query = "?limit=200" + (f"&cursor={cursor}" if cursor else "")
        path = f"/api/v1/referrals/{referral_id}/events{query}"
        page = expect(*call(side.server.port, "GET", path, side.reader), 200, "events")
        count += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return count


def referral_with_history(side: Side, rng: random.Random, events: int) -> str:
    """A referral in `ird` with exactly `events` events, chronology entries making up the rest."""
    referral_id = new_row(side, rng)
    path = side.transition_path.replace("{id}", referral_id)
    for _ in range(events - event_count(side, referral_id)):
        expect(*call(side.server.port, "POST", path, side.contributor, CHRONOLOGY), 200, "fire")
    if (found := event_count(side, referral_id)) != events:
        raise RuntimeError(f"referral {referral_id} has {found} events, not {events}")
    return referral_id


def seed(
    side: Side, rows: int, histories: tuple[int, ...] = ()
) -> tuple[list[str], dict[int, list[str]]]:
    """`rows` rows in `ird`, and referrals with each history length in `histories` (in parallel)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        # the long histories first: they take longest
        history_jobs = [
            (n, pool.submit(referral_with_history, side, random.Random(i), n))
            for i, n in enumerate(sorted(histories, reverse=True))
        ]
        row_jobs = [pool.submit(new_row, side, random.Random(1000 + i)) for i in range(rows)]
        row_ids = [job.result() for job in row_jobs]
        by_length: dict[int, list[str]] = {}
        for n, job in history_jobs:
            by_length.setdefault(n, []).append(job.result())
    return row_ids, by_length


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Load:
    """What one wrk run measured."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    failed: int  # non-2xx/3xx answers, connection errors and timeouts

    @classmethod
    def parse(cls, out: str) -> Load:
        match = re.search(r"^WRK_RESULT (\{.*\})$", out, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no result from wrk:\n{out}")
        r = json.loads(match.group(1))
        seconds = r["duration_us"] / 1e6
        failed = sum(r[k] for k in ("connect", "read", "write", "status", "timeout"))
        return cls(
            r["requests"],
            seconds,
            r["requests"] / seconds,
            r["p50_us"] / 1000,
            r["p99_us"] / 1000,
            failed,
        )


@dataclass(frozen=True)
class LoadSettings:
    seconds: int
    warmup: int
    connections: int
    threads: int


#: wrk runs started so far: each run's number seeds its random children (load.lua)
_RUNS = 0


def run_wrk(
    settings: LoadSettings,
    seconds: int,
    port: int,
    method: str,
    path: str,
    token: str | None,
    ids_file: Path | None,
    body_file: Path | None,
) -> Load:
    global _RUNS  # noqa: PLW0603 - one count for the whole benchmark
    _RUNS += 1
    argv = [
        "wrk",
        *("-t", str(settings.threads), "-c", str(settings.connections)),
        *("-d", f"{seconds}s", "--timeout", "10s", "-s", str(LOAD_SCRIPT)),
        f"http://127.0.0.1:{port}",
        "--",
        *(method, path, token or "-", str(ids_file or "-"), str(body_file or "-")),
        str(_RUNS),  # each run its own random children (load.lua)
    ]
    result = subprocess.run(  # noqa: S603 - wrk with fixed arguments
        argv, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{result.stdout}{result.stderr}")
    return Load.parse(result.stdout)


def measure(
    settings: LoadSettings,
    side: Side,
    method: str,
    path: str,
    token: str | None,
    ids_file: Path | None,
    body_file: Path | None,
) -> Load:
    """A warm-up whose numbers are dropped, then the measured run."""
    args = (side.server.port, method, path, token, ids_file, body_file)
    if settings.warmup:
        run_wrk(settings, settings.warmup, *args)
    return run_wrk(settings, settings.seconds, *args)


def median_load(rounds: list[Load]) -> Load:
    """One side's rounds summed up: each figure the median of the rounds', failures summed."""
    return Load(
        sum(r.requests for r in rounds),
        sum(r.seconds for r in rounds),
        statistics.median(r.rps for r in rounds),
        statistics.median(r.p50_ms for r in rounds),
        statistics.median(r.p99_ms for r in rounds),
        sum(r.failed for r in rounds),
    )


@dataclass
class Comparison:
    """One request shape, product against floor, in rounds (each side loaded once a round).

    Each ratio is the median of the rounds' own ratios: a round compares the two sides loaded
    within seconds of each other, so a machine whose speed drifts over minutes moves both."""

    request: str
    product_rounds: list[Load]
    floor_rounds: list[Load]

    @property
    def product(self) -> Load:
        return median_load(self.product_rounds)

    @property
    def floor(self) -> Load:
        return median_load(self.floor_rounds)

    @property
    def ratios(self) -> list[float]:
        return [p.rps / f.rps for p, f in zip(self.product_rounds, self.floor_rounds, strict=True)]

    @property
    def p99_ratios(self) -> list[float]:
        pairs = zip(self.product_rounds, self.floor_rounds, strict=True)
        return [p.p99_ms / f.p99_ms for p, f in pairs]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def p99_ratio(self) -> float:
        return statistics.median(self.p99_ratios)

    @property
    def met(self) -> bool:
        clean = self.product.failed == 0 and self.floor.failed == 0
        return clean and self.ratio >= MIN_RATIO and self.p99_ratio <= MAX_P99_RATIO

    def to_json(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "product": asdict(self.product),
            "floor": asdict(self.floor),
            "rounds": [
                {"product": asdict(p), "floor": asdict(f)}
                for p, f in zip(self.product_rounds, self.floor_rounds, strict=True)
            ],
            "ratio": self.ratio,
            "p99_ratio": self.p99_ratio,
            "met": self.met,
        }


@dataclass
class Flatness:
    """One request shape on referrals with a short and a long history: median latency each."""

    request: str
    short_ms: float
    long_ms: float
    short_events: str
    long_events: str

    @property
    def ratio(self) -> float:
        return self.long_ms / self.short_ms

    @property
    def met(self) -> bool:
        return self.ratio <= MAX_HISTORY_RATIO

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def alternate(
    count: int, short: list[str], long: list[str], send: Callable[[str], None]
) -> tuple[float, float]:
    """Send `count` requests to each kind, one at a time, alternating; median ms of each."""
    times: dict[int, list[float]] = {0: [], 1: []}
    for i in range(count):
        for kind, ids in enumerate((short, long)):
            began = time.perf_counter()
            send(ids[i % len(ids)])
            times[kind].append((time.perf_counter() - began) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def flatness(side: Side, short: list[str], long: list[str]) -> list[Flatness]:
    port = side.server.port

    def get(referral_id: str) -> None:
        path = side.get_path.replace("{id}", referral_id)
        expect(*call(port, "GET", path, side.reader), 200, "GET")

    def transition(referral_id: str) -> None:
        path = side.transition_path.replace("{id}", referral_id)
        expect(*call(port, "POST", path, side.contributor, CONTRIBUTION), 200, "transition")

    alternate(10, short, long, get)  # warm-up (GETs add no event)
    get_short, get_long = alternate(HISTORY_GETS, short, long, get)
    fire_short, fire_long = alternate(HISTORY_TRANSITIONS, short, long, transition)
    grow_short = HISTORY_TRANSITIONS // len(short)
    grow_long = HISTORY_TRANSITIONS // len(long)
    return [
        Flatness("GET", get_short, get_long, str(SHORT_HISTORY), str(LONG_HISTORY)),
        Flatness(
            "transition",
            fire_short,
            fire_long,
            f"{SHORT_HISTORY}-{SHORT_HISTORY + grow_short}",
            f"{LONG_HISTORY}-{LONG_HISTORY + grow_long}",
        ),
    ]


@dataclass
class DatabaseResult:
    database: str
    version: str
    comparisons: list[Comparison]
    history: list[Flatness]

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "version": self.version,
            "comparisons": [c.to_json() for c in self.comparisons],
            "history": [h.to_json() for h in self.history],
        }


def bench_database(kind: str, version: str, args: argparse.Namespace) -> DatabaseResult:
    settings = LoadSettings(args.duration, args.warmup, args.connections, min(2, args.connections))
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        product_url, floor_url = stack.enter_context(fresh_databases(kind, folder))
        say(f"[{kind}] migrating the product's database and adding users with the CLI")
        env = product_env(product_url, folder)
        tokens = set_up_product(env)
        create_tables(floor_url)
        workers = args.workers
        product = Side(
            stack.enter_context(
                serving(
                    Server("product", ["wsgi:app"], env, workers, folder / "product.log", "/readyz")
                )
            ),
            "/api/v1/referrals/{id}",
            "/api/v1/referrals",
            "/api/v1/referrals/{id}/transitions",
            tokens["pc"],
            tokens["pc"],
            tokens["teacher"],
        )
        floor_env = {**os.environ, "FLOOR_DATABASE_URL": floor_url}
        floor = Side(
            stack.enter_context(
                serving(
                    Server(
                        "floor",
                        ["--pythonpath", str(BENCH), "floor_app:create_app()"],
                        floor_env,
                        workers,
                        folder / "floor.log",
                        "/floor/healthz",
                    )
                )
            ),
            "/floor/items/{id}",
            "/floor/items",
            "/floor/items/{id}/transitions",
            None,
            None,
            None,
        )
        say(
            f"[{kind}] seeding {ROWS} rows on each side, {SHORT_REFERRALS} referrals with "
            f"{SHORT_HISTORY} events and {LONG_REFERRALS} with {LONG_HISTORY}"
        )
        began = time.monotonic()
        histories = (SHORT_HISTORY,) * SHORT_REFERRALS + (LONG_HISTORY,) * LONG_REFERRALS
        product.rows, by_length = seed(product, ROWS, histories)
        floor.rows, _ = seed(floor, ROWS)
        analyze(product_url)
        analyze(floor_url)
        say(f"[{kind}] seeded in {time.monotonic() - began:.0f} s")

        body_file = folder / "create.json"
        body_file.write_text(json.dumps(CREATE_TEMPLATE))
        transition_file = folder / "transition.json"
        transition_file.write_text(json.dumps(CONTRIBUTION))
        comparisons = []
        for request, method, body in (
            ("GET", "GET", None),
            ("create", "POST", body_file),
            ("transition", "POST", transition_file),
        ):
            shapes = {}
            for side in (product, floor):
                ids_file = None
                if request == "create":
                    path, token = side.create_path, side.writer
                else:
                    ids_file = folder / f"{side.server.name}-ids.txt"
                    ids_file.write_text("\n".join(side.rows) + "\n")
                    if request == "GET":
                        path, token = side.get_path, side.reader
                    else:
                        path, token = side.transition_path, side.contributor
                shapes[side.server.name] = (side, method, path, token, ids_file, body)
            loads: dict[str, list[Load]] = {"product": [], "floor": []}
            for n in range(args.rounds):
                # which side goes first alternates, so neither always follows the other's load
                for name in ("product", "floor") if n % 2 == 0 else ("floor", "product"):
                    say(f"[{kind}] {request}: {name}, round {n + 1} of {args.rounds}")
                    loads[name].append(measure(settings, *shapes[name]))
            comparisons.append(Comparison(request, loads["product"], loads["floor"]))
        say(f"[{kind}] history: {SHORT_HISTORY} events against {LONG_HISTORY}")
        history = flatness(product, by_length[SHORT_HISTORY], by_length[LONG_HISTORY])
    return DatabaseResult(kind, version, comparisons, history)


# -- reporting -----------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    def first_line(*argv: str) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        return (done.stdout + done.stderr).split("\n")[0].strip()

    wrk = first_line("wrk", "-v")
    commit = first_line("git", "-C", str(REPO), "describe", "--always", "--dirty")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk,
        "commit": commit or "unknown",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def spread(median: float, rounds: list[float]) -> str:
    """A median ratio, with the lowest and highest round's when there were several."""
    if len(rounds) < 2:
        return f"{median:.2f}"
    return f"{median:.2f} ({min(rounds):.2f}-{max(rounds):.2f})"


def report(result: DatabaseResult, args: argparse.Namespace) -> str:
    name = "PostgreSQL" if result.database == "postgresql" else "SQLite"
    rows = []
    for c in result.comparisons:
        failed = ""
        if c.product.failed or c.floor.failed:
            failed = f" ({c.product.failed}/{c.floor.failed} failed)"
        rows.append(
            [
                c.request,
                f"{c.product.rps:.1f}",
                f"{c.product.p50_ms:.1f}",
                f"{c.product.p99_ms:.1f}",
                f"{c.floor.rps:.1f}",
                f"{c.floor.p50_ms:.1f}",
                f"{c.floor.p99_ms:.1f}",
                spread(c.ratio, c.ratios),
                spread(c.p99_ratio, c.p99_ratios),
                f">= {MIN_RATIO}, p99 <= {MAX_P99_RATIO}x",
                ("yes" if c.met else "no") + failed,
            ]
        )
    main = table(
        [
            "request",
            "product req/s",
            "p50 ms",
            "p99 ms",
            "floor req/s",
            "p50 ms",
            "p99 ms",
            "ratio",
            "p99 ratio",
            "target",
            "met?",
        ],
        rows,
    )
    history = table(
        ["history", "events", "p50 ms", "events", "p50 ms", "ratio", "target", "met?"],
        [
            [
                h.request,
                h.short_events,
                f"{h.short_ms:.1f}",
                h.long_events,
                f"{h.long_ms:.1f}",
                f"{h.ratio:.2f}",
                f"<= {MAX_HISTORY_RATIO}",
                "yes" if h.met else "no",
            ]
            for h in result.history
        ],
    )
    return (
        f"\n{name} {result.version}: gunicorn -w {args.workers} (sync), wrk -c "
        f"{args.connections} -t {min(2, args.connections)}, {args.rounds} rounds of "
        f"{args.duration} s after a {args.warmup} s warm-up for each side; req/s, p50 and p99 "
        f"are medians of the rounds, and each ratio the median of the rounds' ratios (their "
        f"range in brackets)\n{main}\n\nHistory flatness on the product (one request at a "
        f"time, alternating; median latency; ratio = cost(500 events) / cost(5 events))\n"
        f"{history}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default=None)
    parser.add_argument("--duration", type=int, default=6, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up before each")
    parser.add_argument(
        "--rounds", type=int, default=3, help="measurements of each side, alternating"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for each app")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if min(args.rounds, args.duration, args.connections, args.workers) < 1 or args.warmup < 0:
        parser.error(
            "--rounds, --duration, --connections and --workers must be at least 1, "
            "and --warmup at least 0"
        )

    if shutil.which("wrk") is None:
        print(WRK_INSTALL, file=sys.stderr)
        return 2
    pg_version = postgres_version(postgres_url())
    chosen = args.database or ("both" if pg_version else "sqlite")
    kinds = ["sqlite", "postgresql"] if chosen == "both" else [chosen]
    if "postgresql" in kinds and pg_version is None:
        print(
            "PostgreSQL does not answer at REFERRAL_BENCH_DATABASE_URL (or the default "
            f"{DEFAULT_POSTGRES}); start it or use --database sqlite",
            file=sys.stderr,
        )
        return 2

    about = machine()
    print(
        f"bench-api {about['date']}: {about['cpus']} CPUs ({about['arch']}), Python "
        f"{about['python']}, {about['wrk']}, commit {about['commit']}, load average "
        f"{about['load_average']}",
        flush=True,
    )
    results = []
    for kind in kinds:
        version = (pg_version or "") if kind == "postgresql" else sqlite3.sqlite_version
        result = bench_database(kind, version, args)
        results.append(result)
        print(report(result, args), flush=True)
    missed = [f"{r.database} {c.request}" for r in results for c in r.comparisons if not c.met]
    missed += [f"{r.database} history {h.request}" for r in results for h in r.history if not h.met]
    print(f"targets missed: {', '.join(missed) if missed else 'none'}")
    if args.json is not None:
        document = {
            "machine": {**about, "load_average_after": [round(x, 2) for x in os.getloadavg()]},
            "settings": {
                "duration": args.duration,
                "warmup": args.warmup,
                "rounds": args.rounds,
                "connections": args.connections,
                "workers": args.workers,
            },
            "results": [r.to_json() for r in results],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
