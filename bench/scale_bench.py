"""The API's lists, filters and reads at 10,000 referrals and at a million, side by side.

Run from the repository root (`make bench-scale`, PostgreSQL only):

    .venv/bin/python bench/scale_bench.py [--sizes 10000 1000000] [--duration S] [--fresh]

For each size it fills a PostgreSQL schema of its own (`bench_scale_<size>`) with `referral
generate --referrals <size>` (kept between runs, since a million takes minutes to make; --fresh
makes them again), serves the product with gunicorn under production settings, and loads each
request below with wrk (same connections, threads and duration for every size), as a
supervisor who sees every area. It prints req/s, p50 and p99 per size and the ratio of each p99
to its p99 at the smallest size (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from api_bench import (  # bench/ is first on sys.path when this runs as a script
    BIN,
    LoadSettings,
    Server,
    call,
    machine,
    postgres_url,
    postgres_version,
    referral_cli,
    run_wrk,
    say,
    serving,
    table,
)
from sqlalchemy import create_engine, text

MAX_P99_RATIO = 1.5
#: a fixed audit key for the generated schemas, so events made in one run verify in the next
AUDIT_KEY = "bench-scale-audit-key-not-a-secret-0123456789"  # noqa: S105 - a benchmark's own

REQUESTS = [
    ("list", "/api/v1/referrals"),
    ("list state=registered", "/api/v1/referrals?state=registered"),
    ("list state=ird", "/api/v1/referrals?state=ird"),
    ("list area", "/api/v1/referrals?area={area}"),
    ("list overdue=true", "/api/v1/referrals?overdue=true"),
    ("list overdue=false", "/api/v1/referrals?overdue=false"),
    ("list updated_since", "/api/v1/referrals?updated_since={since}"),
    ("list next page", "/api/v1/referrals?cursor={cursor}"),
    ("GET referral", "/api/v1/referrals/{id}"),
    ("GET events", "/api/v1/referrals/{id}/events"),
    ("changes", "/api/v1/changes"),
    ("changes mid-feed", "/api/v1/changes?after={position}"),
]


def schema_url(size: int) -> tuple[str, str]:
    url = postgres_url()
    schema = f"bench_scale_{size}"
    joiner = "&" if "?" in url else "?"
    return schema, f"{url}{joiner}options=-csearch_path%3D{schema}"


def env_for(url: str, instance: Path) -> dict[str, str]:
    import os

    return {
        **os.environ,
        "REFERRAL_ENV": "production",
        "REFERRAL_SECRET_KEY": secrets.token_urlsafe(32),
        "REFERRAL_AUDIT_KEY": AUDIT_KEY,
        "REFERRAL_DATABASE_URL": url,
        "REFERRAL_INSTANCE_PATH": str(instance),
    }


def referral_count(url: str) -> int | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM referrals")).scalar_one())
    except Exception:  # noqa: BLE001 - no schema or no table yet: not made
        return None
    finally:
        engine.dispose()


def prepare(size: int, env: dict[str, str], fresh: bool) -> None:
    schema, url = schema_url(size)
    if not fresh and referral_count(url) == size:
        say(f"[{size}] reusing schema {schema}")
        return
    admin = create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    say(f"[{size}] generating {size:,} referrals into {schema}")
    began = time.monotonic()
    referral_cli(env, "db", "upgrade")
    generate = [str(BIN / "referral"), "generate", "--referrals", str(size), "--seed", "1"]
    # its progress bar shows; it analyses the tables it filled
    subprocess.run(generate, env=env, check=True)  # noqa: S603
    say(f"[{size}] generated in {time.monotonic() - began:.0f} s")


def reader_token(env: dict[str, str], url: str) -> tuple[str, list[str]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        areas = list(connection.execute(text("SELECT slug FROM areas ORDER BY slug")).scalars())
        known = connection.execute(
            text("SELECT count(*) FROM users WHERE username = 'scale.reader'")
        ).scalar_one()
    engine.dispose()
    if not known:
        referral_cli(
            env,
            *("users", "create", "scale.reader", "--agency", "social_work"),
            *("--role", "supervisor", *[a for slug in areas for a in ("--area", slug)]),
            "--password-stdin",
            stdin=secrets.token_urlsafe(18) + "\n",
        )
    out = referral_cli(env, "tokens", "create", "scale.reader", "--scope", "read")
    return out.strip().splitlines()[-1], areas


def feed_midpoint(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT max(position) / 2 FROM feed")).scalar_one())
    finally:
        engine.dispose()


def sample_ids(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        ids = connection.execute(
            text("SELECT id FROM referrals TABLESAMPLE SYSTEM (1) LIMIT 2000")
        ).scalars()
        found = list(ids) or list(
            connection.execute(text("SELECT id FROM referrals LIMIT 2000")).scalars()
        )
    engine.dispose()
    return found


def measure_size(size: int, args: argparse.Namespace) -> dict[str, Any]:
    given = dict(args.use)
    url = given.get(size) or schema_url(size)[1]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder = Path(tmp)
        env = env_for(url, folder)
        if size in given:
            found = referral_count(url)
            if found != size:
                raise SystemExit(f"{url} holds {found} referrals, not {size}")
            say(f"[{size}] using the database given for it")
        else:
            prepare(size, env, args.fresh)
        token, areas = reader_token(env, url)
        ids_file = folder / "ids.txt"
        ids_file.write_text("\n".join(sample_ids(url)) + "\n")
        settings = LoadSettings(args.duration, args.warmup, args.connections, 2)
        results: dict[str, Any] = {}
        server = Server("product", ["wsgi:app"], env, args.workers, folder / "p.log", "/readyz")
        with serving(server):
            status, first = call(server.port, "GET", "/api/v1/referrals?limit=50", token)
            if status != 200:
                raise RuntimeError(f"the list answered {status}: {first}")
            status, feed = call(server.port, "GET", "/api/v1/changes?limit=1", token)
            if status != 200:
                raise RuntimeError(f"the change feed answered {status}: {feed}")
            values = {
                "area": areas[0],
                # half-way along the feed: a consumer catching up
                "position": feed_midpoint(url),
                "since": "2025-01-01T00:00:00Z",
                "cursor": first.get("next_cursor") or "",
            }
            for name, path in REQUESTS:
                path = path.format(id="{id}", **values)
                uses_ids = "{id}" in path
                say(f"[{size}] {name}")
                if settings.warmup:
                    run_wrk(
                        settings,
                        settings.warmup,
                        server.port,
                        "GET",
                        path,
                        token,
                        ids_file if uses_ids else None,
                        None,
                    )
                load = run_wrk(
                    settings,
                    settings.seconds,
                    server.port,
                    "GET",
                    path,
                    token,
                    ids_file if uses_ids else None,
                    None,
                )
                results[name] = {
                    "rps": load.rps,
                    "p50_ms": load.p50_ms,
                    "p99_ms": load.p99_ms,
                    "failed": load.failed,
                }
    return results


def _size_and_url(value: str) -> tuple[int, str]:
    size, _, url = value.partition("=")
    if not size.isdigit() or not url:
        raise argparse.ArgumentTypeError("give SIZE=URL")
    return int(size), url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fresh", action="store_true", help="generate the data again")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--use",
        type=_size_and_url,
        action="append",
        default=[],
        metavar="SIZE=URL",
        help="a database already holding SIZE generated referrals (e.g. made earlier with "
        "`referral generate`), used instead of a schema made here",
    )
    args = parser.parse_args(argv)
    if postgres_version(postgres_url()) is None:
        print(f"PostgreSQL does not answer at {postgres_url()}", file=sys.stderr)
        return 2
    about = machine()
    print(f"bench-scale {about['date']}: {about['cpus']} CPUs, commit {about['commit']}")
    sizes = sorted(args.sizes)
    by_size = {size: measure_size(size, args) for size in sizes}
    base = by_size[sizes[0]]
    rows = []
    missed = []
    for name, _ in REQUESTS:
        row = [name]
        for size in sizes:
            r = by_size[size][name]
            row += [f"{r['rps']:.0f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}"]
        ratio = by_size[sizes[-1]][name]["p99_ms"] / base[name]["p99_ms"]
        failed = sum(by_size[s][name]["failed"] for s in sizes)
        met = ratio <= MAX_P99_RATIO and failed == 0
        if not met:
            missed.append(name)
        row += [f"{ratio:.2f}", "yes" if met else f"no ({failed} failed)" if failed else "no"]
        rows.append(row)
    headers = ["request"]
    for size in sizes:
        headers += [f"{size:,} req/s", "p50 ms", "p99 ms"]
    headers += [f"p99 ratio (target <= {MAX_P99_RATIO})", "met?"]
    print(
        f"\nPostgreSQL, gunicorn -w {args.workers}, wrk -c {args.connections} -t 2, "
        f"{args.duration} s after {args.warmup} s\n{table(headers, rows)}"
    )
    print(f"targets missed: {', '.join(missed) if missed else 'none'}")
    if args.json:
        args.json.write_text(json.dumps({"machine": about, "results": by_size}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
