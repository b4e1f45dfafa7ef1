"""Exports of referrals: CSV and NDJSON, formula-safe, filtered, visible only, access-logged,
and streamed in flat memory."""

from __future__ import annotations

import csv
import gc
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from tests.conftest import PG_URL, empty_database
from tests.referral.flows import create, is_problem, walk

EXPORT = "/api/v1/exports/referrals"


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_has_one_row_per_visible_referral_with_its_decisions(as_user: Any) -> None:
    first = create(as_user)
    walk(as_user, first["id"], "convene_ird", "start_investigation")
    second = create(as_user, given_name='=HYPERLINK("http://x")', family_name="-Smith")
    hl = as_user("sw.hl").post(
        "/api/v1/referrals",
        {**_body("highland"), "child": {**_body("highland")["child"], "given_name": "Iona"}},
    )
    assert hl.status_code == 201
    response = as_user("sw", "read").get(f"{EXPORT}?format=csv&area=west-dunbartonshire")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    rows = {row["id"]: row for row in csv_rows(response)}
    assert first["id"] in rows
    assert second["id"] in rows
    assert hl.get_json()["id"] not in rows
    row = rows[first["id"]]
    detail = as_user("sw").get(f"/api/v1/referrals/{first['id']}").get_json()
    assert row["reference"] == detail["reference"]
    assert row["area"] == "west-dunbartonshire"
    assert row["state"] == "investigation"
    assert row["child_given_name"] == detail["child"]["given_name"]
    assert row["concern_summary"] == detail["concern"]["summary"]
    assert row["ird_decision"] == detail["stages"]["ird"]["decision"]
    assert row["investigation_started_at"] == detail["stages"]["investigation"]["started_at"]
    statuses = {t["rule"]: t["status"] for t in detail["timescales"]}
    assert row["timescale_initial_cppm"] == statuses["initial_cppm"]
    # cells a spreadsheet would run as formulas are quoted
    assert rows[second["id"]]["child_given_name"] == '\'=HYPERLINK("http://x")'
    assert rows[second["id"]]["child_family_name"] == "'-Smith"


def _body(area: str) -> dict[str, Any]:
    from tests.referral.flows import concern_body

    return concern_body(area)


def test_ndjson_and_the_list_filters(as_user: Any) -> None:
    moved = create(as_user)["id"]
    walk(as_user, moved, "convene_ird")
    fresh = create(as_user, given_name="Cara")["id"]
    reader = as_user("sw", "read")
    response = reader.get(f"{EXPORT}?format=ndjson&state=ird")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    ids = {line["id"] for line in lines}
    assert moved in ids
    assert fresh not in ids
    assert all(line["state"] == "ird" for line in lines)
    one = next(line for line in lines if line["id"] == moved)
    assert one["child_given_name"] == "Amy"  # no formula quoting outside CSV
    assert one["immediate_risk"] is False
    # the list's filters mean the same here: the same referrals as the list
    since = quote(one["updated_at"])
    listed = reader.get(f"/api/v1/referrals?state=ird&updated_since={since}&limit=200")
    exported = reader.get(f"{EXPORT}?format=ndjson&state=ird&updated_since={since}")
    assert {i["id"] for i in listed.get_json()["items"]} == {
        json.loads(line)["id"] for line in exported.get_data(as_text=True).splitlines()
    }


def test_a_non_core_agency_exports_only_referrals_its_agency_is_on(as_user: Any) -> None:
    on = create(as_user)["id"]
    walk(as_user, on, "convene_ird")  # education takes part in the IRD
    off = create(as_user, given_name="Dan")["id"]
    ids = {row["id"] for row in csv_rows(as_user("teacher", "read").get(EXPORT))}
    assert on in ids
    assert off not in ids
    assert {on, off}.isdisjoint(row["id"] for row in csv_rows(as_user("other", "read").get(EXPORT)))


def test_each_export_is_access_logged(as_user: Any) -> None:
    rid = create(as_user)["id"]
    csv_rows(as_user("sw", "read").get(f"{EXPORT}?area=west-dunbartonshire"))
    log = as_user("swsup").get(f"/api/v1/referrals/{rid}/access-log").get_json()["items"]
    assert [(e["username"], e["what"]) for e in log if e["what"].startswith("export")] == [
        ("sw", "export (csv)")
    ]


@pytest.mark.parametrize(("username", "scope"), [("sw", "reports"), ("admin", "write")])
def test_reports_tokens_and_administrators_are_refused(
    as_user: Any, username: str, scope: str
) -> None:
    is_problem(as_user(username, scope).get(EXPORT), 403)


@pytest.mark.parametrize("query", ["format=xlsx", "state=nope", "overdue=maybe", "limit=5"])
def test_bad_arguments_are_422(as_user: Any, query: str) -> None:
    is_problem(as_user("sw").get(f"{EXPORT}?{query}"), 422)


# -- memory ----------------------------------------------------------------------------------

GENERATED = 2_000
COPIES = 50  # 100,000 referrals
#: the growth of the process's peak resident memory an export may cause (its body is ~40 MiB)
PEAK_LIMIT = 20 * 1024 * 1024
#: writing 5 here resets the process's peak resident set size (VmHWM) to its current size
CLEAR_PEAK = Path("/proc/self/clear_refs")


@pytest.fixture
def large_database(tmp_path: Path) -> Iterator[str]:
    """100,000 referrals on PostgreSQL: 2,000 made by `referral generate`, each copied 49 times
    (new ids, references and child records; the same stage documents and clocks)."""
    from referral.generate import Options, generate
    from referral.migrate import upgrade

    with empty_database("postgresql", tmp_path, "export") as url:
        upgrade(url)
        engine = create_engine(url)
        try:
            generate(engine, b"test-audit-key-not-for-production", Options(GENERATED, areas=2))
            with engine.begin() as connection:
                _copy_referrals(connection, COPIES - 1)
                connection.execute(  # the exporting user sees both areas
                    text(
                        "INSERT INTO user_areas (user_id, area_id) SELECT u.id, a.id "
                        "FROM users u, areas a "
                        "WHERE u.username = 'gen-area-1.sw' AND a.slug = 'gen-area-2'"
                    )
                )
        finally:
            engine.dispose()
        yield url


def _copy_referrals(connection: Any, copies: int) -> None:
    connection.execute(
        text(
            "CREATE TEMP TABLE copies AS SELECT r.id AS original, n, "
            "md5(r.id || '/' || n) AS new_id, nextval(pg_get_serial_sequence('children', 'id')) "
            "AS child_id FROM referrals r CROSS JOIN generate_series(1, :copies) AS n"
        ),
        {"copies": copies},
    )
    child_columns = [
        c
        for (c,) in connection.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'children' AND table_schema = current_schema() "
                "AND column_name <> 'id'"
            )
        )
    ]
    listed = ", ".join(child_columns)
    connection.execute(
        text(
            f"INSERT INTO children (id, {listed}) SELECT c.child_id, "  # noqa: S608 - our names
            + ", ".join(f"ch.{name}" for name in child_columns)
            + " FROM copies c JOIN referrals r ON r.id = c.original "
            "JOIN children ch ON ch.id = r.child_id"
        )
    )
    referral_columns = [
        c
        for (c,) in connection.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'referrals' AND table_schema = current_schema() "
                "AND column_name NOT IN ('id', 'reference', 'child_id', 'transfer_from')"
            )
        )
    ]
    listed = ", ".join(referral_columns)
    connection.execute(
        text(
            f"INSERT INTO referrals (id, reference, child_id, {listed}) "  # noqa: S608
            "SELECT c.new_id, r.reference || '-' || c.n, c.child_id, "
            + ", ".join(f"r.{name}" for name in referral_columns)
            + " FROM copies c JOIN referrals r ON r.id = c.original"
        )
    )


def _resident_kib(field: str) -> int:
    found = re.search(rf"^{field}:\s+(\d+) kB$", Path("/proc/self/status").read_text(), re.M)
    assert found is not None, field
    return int(found.group(1))


@pytest.mark.postgres
@pytest.mark.skipif(PG_URL is None, reason="set REFERRAL_TEST_DATABASE_URL (PostgreSQL)")
@pytest.mark.skipif(not CLEAR_PEAK.exists(), reason="peak memory is read from Linux's /proc")
def test_an_export_of_100000_referrals_streams_in_flat_memory(large_database: str) -> None:
    from referral import create_app
    from referral.db import unit_of_work
    from referral.models import Referral
    from referral.services.people import create_token

    app = create_app({"REFERRAL_DATABASE_URL": large_database})
    try:
        with app.app_context(), unit_of_work() as session:
            total = session.scalar(select(func.count()).select_from(Referral))
            token = create_token(session, "gen-area-1.sw", "read", datetime.now(UTC))
            _feed_is_whole(session)
        assert total == GENERATED * COPIES
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        gc.collect()
        CLEAR_PEAK.write_text("5")  # the peak resident set starts again from what is resident now
        before = _resident_kib("VmRSS")
        response = client.get(EXPORT, headers=headers, buffered=False)
        assert response.status_code == 200
        size = lines = 0
        for chunk in response.response:
            size += len(chunk)
            lines += chunk.count(b"\n")
        response.close()
        peak = (_resident_kib("VmHWM") - before) * 1024
        assert lines == total + 1  # the header and one line a referral (no newline in cells)
        assert size > 20 * 1024 * 1024, size
        assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.1f} MiB for {size / 2**20:.1f} MiB"
    finally:
        app.extensions["referral.db"].engine.dispose()


def _feed_is_whole(session: Session) -> None:
    """`referral generate` placed every event in the feed once, each referral's in seq order."""
    from referral.models import Event
    from referral.models.audit import FeedEntry

    rows = session.execute(
        select(FeedEntry.position, Event.referral_id, Event.seq)
        .join(Event, Event.id == FeedEntry.event_id)
        .order_by(FeedEntry.position)
    ).all()
    assert len(rows) == session.scalar(select(func.count()).select_from(Event))
    assert [r.position for r in rows] == list(range(1, len(rows) + 1))
    last: dict[str, int] = {}
    for r in rows:
        assert r.seq == last.get(r.referral_id, 0) + 1
        last[r.referral_id] = r.seq
