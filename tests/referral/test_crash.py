"""A kill -9 under load on PostgreSQL: every acknowledged write survives, none is half-written."""

from __future__ import annotations

import http.client
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL, empty_database
from tests.live import Server, add_user, production_env, referral_cli, request
from tests.referral.flows import concern_body, data

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        PG_URL is None,
        reason="kill -9 durability is a PostgreSQL promise; set REFERRAL_TEST_DATABASE_URL",
    ),
]

AREA = "west-dunbartonshire"
# two of the test world's users (each CLI run costs ~2s): a police officer who records the
# concerns, and a social worker who also chairs the conference and reads everything
CRASH_USERS = {"pc": "police", "sw": "social_work"}
# each thread walks every referral it records along this path, none needing an approval
PATH = (
    "convene_ird",
    "add_ird_contribution",
    "start_investigation",
    "plan_jii",
    "record_jii",
    "schedule_case_conference",
    "register",
    "record_core_group",
)
FIRER = {
    "convene_ird": "pc",
    "add_ird_contribution": "pc",
    "start_investigation": "sw",
    "plan_jii": "pc",
    "record_jii": "pc",
    "schedule_case_conference": "sw",
    "register": "sw",
    "record_core_group": "sw",
}


THREADS = 6
# kill after this many acknowledged writes, or after some seconds once there are a few
KILL_AFTER_WRITES = 150
KILL_AFTER_SECONDS = 3.0
AT_LEAST_WRITES = 30


# the few fields that name one of the test world's other users or agencies
CHANGES: dict[str, dict[str, Any]] = {
    "add_ird_contribution": {"agency": "police"},  # pc's own agency
    "schedule_case_conference": {"chair": "sw"},
}


def step(trigger: str) -> dict[str, Any]:
    """The transition request for `trigger` as FIRER[trigger] sends it."""
    return {"trigger": trigger, "data": data(trigger, **CHANGES.get(trigger, {}))}


@dataclass
class Ledger:
    """What the clients were told, and what they never heard back about."""

    created: dict[str, str] = field(default_factory=dict)  # referral id -> tag in its summary
    fired: list[tuple[str, str, str, int]] = field(default_factory=list)  # id, trigger, state, v
    lost_creates: list[str] = field(default_factory=list)  # tags
    lost_transitions: list[tuple[str, str]] = field(default_factory=list)  # id, trigger
    refused: int = 0  # connections refused after the kill: never reached the server
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def acknowledged(self) -> int:
        return len(self.created) + len(self.fired)


class Broken(Exception):
    """The server stopped answering; the worker stops."""


def load(
    ledger: Ledger, port: int, tokens: dict[str, str], worker: int, killed: threading.Event
) -> None:
    """Record referrals and walk each along PATH until the server goes away."""

    def send(path: str, body: Any, token: str) -> tuple[int, Any] | None:
        """The answer, or None when the request may have reached the server but no answer came."""
        try:
            return request(port, "POST", path, token, body)
        except ConnectionRefusedError as exc:
            with ledger.lock:
                ledger.refused += 1
                if not killed.is_set():
                    ledger.unexpected.append(f"refused before the kill: {exc!r}")
            raise Broken from exc
        except (OSError, http.client.HTTPException) as exc:
            if not killed.is_set():
                with ledger.lock:
                    ledger.unexpected.append(f"{path}: no answer before the kill: {exc!r}")
            return None

    try:
        number = 0
        while True:
            tag = f"crash-{worker}-{number}"
            number += 1
            body = concern_body()
            body["concern"]["summary"] += f" [{tag}]"
            answer = send("/api/v1/referrals", body, tokens["pc"])
            if answer is None:
                with ledger.lock:
                    ledger.lost_creates.append(tag)
                return
            status, reply = answer
            if status != 201:
                with ledger.lock:
                    ledger.unexpected.append(f"create answered {status}: {reply}")
                return
            referral_id = reply["id"]
            with ledger.lock:
                ledger.created[referral_id] = tag
            for trigger in PATH:
                answer = send(
                    f"/api/v1/referrals/{referral_id}/transitions",
                    step(trigger),
                    tokens[FIRER[trigger]],
                )
                if answer is None:
                    with ledger.lock:
                        ledger.lost_transitions.append((referral_id, trigger))
                    return
                status, reply = answer
                if status != 200:
                    with ledger.lock:
                        ledger.unexpected.append(f"{trigger} answered {status}: {reply}")
                    return
                with ledger.lock:
                    ledger.fired.append((referral_id, trigger, reply["state"], reply["version"]))
    except Broken:
        return
    except Exception as exc:  # an unhandled thread error would be lost; the test reports it
        with ledger.lock:
            ledger.unexpected.append(f"worker {worker} crashed: {exc!r}")


def run_load_and_kill(server: Server, tokens: dict[str, str]) -> tuple[Ledger, float]:
    ledger = Ledger()
    killed = threading.Event()
    workers = [
        threading.Thread(target=load, args=(ledger, server.port, tokens, n, killed), daemon=True)
        for n in range(THREADS)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    while ledger.acknowledged < KILL_AFTER_WRITES and any(w.is_alive() for w in workers):
        waited = time.monotonic() - started
        if waited >= KILL_AFTER_SECONDS and ledger.acknowledged >= AT_LEAST_WRITES:
            break
        if waited >= 20:  # a busy machine; kill anyway, the assertions below say what was seen
            break
        time.sleep(0.01)
    killed.set()  # before the signal, so every broken exchange from here on is expected
    server.kill()
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.join(timeout=30)
        assert not worker.is_alive(), "a load thread hung after the kill"
    return ledger, elapsed


def read_database(url: str) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            referrals = {
                row.id: row
                for row in connection.execute(
                    text(
                        "SELECT id, state, version, last_event_seq, last_event_hash,"
                        " concern_summary FROM referrals"
                    )
                )
            }
            events: dict[str, list[Any]] = defaultdict(list)
            for row in connection.execute(
                text(
                    "SELECT referral_id, seq, type, trigger, to_state, hash FROM events"
                    " ORDER BY referral_id, seq"
                )
            ):
                events[row.referral_id].append(row)
    finally:
        engine.dispose()
    return referrals, events


def test_kill_9_under_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    with empty_database("postgresql", tmp_path, "crash") as url:
        begun = time.monotonic()
        env = production_env(url)
        referral_cli(env, "db", "upgrade")
        referral_cli(env, "areas", "add", AREA, "--name", "West Dunbartonshire", "--prefix", "WD")
        with ThreadPoolExecutor(max_workers=len(CRASH_USERS)) as pool:  # each CLI run takes ~2s
            made = {
                name: pool.submit(add_user, env, name, a, AREA) for name, a in CRASH_USERS.items()
            }
        tokens = {username: future.result() for username, future in made.items()}

        set_up = time.monotonic() - begun
        server = Server(env, tmp_path / "gunicorn-before.log")
        try:
            server.wait_ready()
            ledger, elapsed = run_load_and_kill(server, tokens)
        finally:
            server.stop()
        print(
            f"\nset up in {set_up:.1f}s; kill -9 after {elapsed:.1f}s of load: "
            f"{ledger.acknowledged} acknowledged writes ({len(ledger.created)} creates, "
            f"{len(ledger.fired)} transitions); in flight at the kill: "
            f"{len(ledger.lost_creates)} creates, {len(ledger.lost_transitions)} transitions; "
            f"{ledger.refused} refused afterwards"
        )
        assert ledger.unexpected == []
        assert ledger.acknowledged >= AT_LEAST_WRITES, "too little load before the kill"
        assert len(ledger.lost_creates) + len(ledger.lost_transitions) <= THREADS

        server = Server(env, tmp_path / "gunicorn-after.log")
        try:
            server.wait_ready()
            referrals, events = read_database(url)
            check_every_acknowledged_write_is_there(ledger, referrals, events)
            check_nothing_is_half_written(ledger, referrals, events)
            check_over_http(server.port, tokens["sw"], ledger, referrals, events)
            serve_one_more_transition(server.port, tokens, ledger, events)
        finally:
            server.stop()
        verified = referral_cli(env, "audit", "verify")
        assert verified.startswith("ok: "), verified
        creates = len(referrals) - len(ledger.created)
        transitions = sum(len(e) for e in events.values()) - len(referrals) - len(ledger.fired)
        print(
            f"after restart: {len(referrals)} referrals; committed without an answer: "
            f"{creates} creates, {transitions} transitions; {verified.strip()}; "
            f"{time.monotonic() - begun:.1f}s in all"
        )


def check_every_acknowledged_write_is_there(
    ledger: Ledger, referrals: dict[str, Any], events: dict[str, list[Any]]
) -> None:
    """Each 201 has its referral and `created` event; each 200 its transition event and state."""
    for referral_id in ledger.created:
        assert referral_id in referrals, f"acknowledged create {referral_id} lost"
        assert events[referral_id][0].type == "created"
    acknowledged: dict[str, list[str]] = defaultdict(list)
    for referral_id, trigger, state, version in ledger.fired:
        acknowledged[referral_id].append(trigger)
        seq = len(acknowledged[referral_id]) + 1  # `created` is seq 1, one event per trigger
        assert len(events[referral_id]) >= seq, f"{trigger} on {referral_id} acknowledged, lost"
        event = events[referral_id][seq - 1]
        assert (event.type, event.trigger, event.to_state) == ("transition", trigger, state)
        assert referrals[referral_id].version >= version
    in_flight = dict(ledger.lost_transitions)
    for referral_id in ledger.created:
        recorded = [e.trigger for e in events[referral_id] if e.type == "transition"]
        done = acknowledged[referral_id]
        # exactly what was acknowledged, plus at most the one request that got no answer
        allowed = [done]
        if referral_id in in_flight:
            allowed.append([*done, in_flight[referral_id]])
        assert recorded in allowed, (referral_id, recorded, done)


def check_nothing_is_half_written(
    ledger: Ledger, referrals: dict[str, Any], events: dict[str, list[Any]]
) -> None:
    """Every referral's chain is whole; one nobody heard about came from a request in flight."""
    assert set(events) <= set(referrals)
    lost_tags = set(ledger.lost_creates)
    for referral_id, referral in referrals.items():
        chain = events[referral_id]
        assert [e.seq for e in chain] == list(range(1, len(chain) + 1)), referral_id
        assert chain[0].type == "created"
        assert {e.type for e in chain[1:]} <= {"transition"}
        assert referral.last_event_seq == chain[-1].seq
        assert referral.last_event_hash == chain[-1].hash
        assert referral.state == chain[-1].to_state
        if referral_id not in ledger.created:
            tag = referral.concern_summary.rsplit("[", 1)[-1].rstrip("]")
            assert tag in lost_tags, f"{referral_id} ({tag}) was never requested or was answered"
            assert len(chain) == 1, "no transition can follow a create nobody heard back about"
            lost_tags.discard(tag)  # one request makes at most one referral


def check_over_http(
    port: int,
    token: str,
    ledger: Ledger,
    referrals: dict[str, Any],
    events: dict[str, list[Any]],
) -> None:
    """The restarted server shows each acknowledged referral and its whole trail."""
    for referral_id in ledger.created:
        status, body = request(port, "GET", f"/api/v1/referrals/{referral_id}", token)
        assert status == 200, body
        assert (body["state"], body["version"]) == (
            referrals[referral_id].state,
            referrals[referral_id].version,
        )
        status, page = request(
            port, "GET", f"/api/v1/referrals/{referral_id}/events?limit=200", token
        )
        assert status == 200, page
        assert [(e["seq"], e["trigger"]) for e in page["items"]] == [
            (e.seq, e.trigger) for e in events[referral_id]
        ]


def serve_one_more_transition(
    port: int, tokens: dict[str, str], ledger: Ledger, events: dict[str, list[Any]]
) -> None:
    """A referral caught mid-path takes its next step on the restarted server."""
    for referral_id in ledger.created:
        done = [e.trigger for e in events[referral_id] if e.type == "transition"]
        if len(done) < len(PATH):
            break
    else:
        status, reply = request(port, "POST", "/api/v1/referrals", tokens["pc"], concern_body())
        assert status == 201, reply
        referral_id, done = reply["id"], []
    trigger = PATH[len(done)]
    status, reply = request(
        port,
        "POST",
        f"/api/v1/referrals/{referral_id}/transitions",
        tokens[FIRER[trigger]],
        step(trigger),
    )
    assert status == 200, reply
    status, page = request(
        port, "GET", f"/api/v1/referrals/{referral_id}/events?limit=200", tokens["sw"]
    )
    assert status == 200, page
    last = page["items"][-1]
    assert (last["trigger"], last["to_state"]) == (trigger, reply["state"])
    assert [e["seq"] for e in page["items"]] == list(range(1, len(page["items"]) + 1))
