"""The audit trail is tamper-evident: guards refuse changes, keyed hashes, checkpoints, replay."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from tests.referral.flows import create, fire, now, transfer_to_highland, walk


def _verify(app: Flask, checkpoint: Any = None) -> tuple[int, list[Any]]:
    from referral.db import session
    from referral.services.audit import verify

    with app.app_context():
        return verify(session(), checkpoint)


def _take_checkpoint(app: Flask) -> dict[str, Any]:
    from referral.db import session
    from referral.models.types import utcnow
    from referral.services.audit import take_checkpoint

    with app.app_context():
        return take_checkpoint(session(), utcnow())


def _read_checkpoint(app: Flask, document: Any) -> tuple[Any, list[Any]]:
    from referral.services.audit import read_checkpoint

    with app.app_context():
        return read_checkpoint(document)


def _verify_with(app: Flask, document: dict[str, Any]) -> list[Any]:
    checkpoint, problems = _read_checkpoint(app, document)
    assert problems == []
    return _verify(app, checkpoint)[1]


def _drop_guards(connection: Any) -> None:
    """What the database owner can do; rolled back with the test's transaction."""
    for table in ("events", "access_log"):
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))
        else:
            connection.execute(text(f"DROP TRIGGER {table}_refuse_update"))
            connection.execute(text(f"DROP TRIGGER {table}_refuse_delete"))


def _events(connection: Any, rid: str) -> list[Any]:
    from referral.models import Event

    return list(
        connection.execute(
            select(Event.__table__).where(Event.referral_id == rid).order_by(Event.seq)
        )
    )


def _about(problems: list[Any], rid: str) -> list[Any]:
    return [p for p in problems if p.referral_id == rid]


# -- the database refuses; verify finds what the owner did anyway -------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET reason = 'rewritten' WHERE referral_id = :rid",
        "DELETE FROM events WHERE referral_id = :rid",
        "UPDATE access_log SET username = 'someone else' WHERE referral_id = :rid",
        "DELETE FROM access_log WHERE referral_id = :rid",
    ],
)
def test_the_database_refuses_to_change_the_logs(
    app: Flask, as_user: Any, db_connection: Any, statement: str
) -> None:
    rid = create(as_user)["id"]
    as_user("sw").get(f"/api/v1/referrals/{rid}")
    with pytest.raises(DBAPIError, match="append-only"), db_connection.begin_nested():
        db_connection.execute(text(statement), {"rid": rid})


def test_verify_passes_an_untouched_history(app: Flask, as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation")
    checked, problems = _verify(app)
    assert checked >= 3
    assert problems == []


@pytest.mark.parametrize(
    ("tamper", "found"),
    [
        ("UPDATE events SET data = :fake WHERE referral_id = :rid AND seq = 2", "altered"),
        ("UPDATE events SET actor = 'nobody' WHERE referral_id = :rid AND seq = 1", "altered"),
        ("DELETE FROM events WHERE referral_id = :rid AND seq = 2", "missing"),
        ("DELETE FROM events WHERE referral_id = :rid AND seq = 3", "missing or replaced"),
    ],
)
def test_verify_catches_changes_behind_the_applications_back(
    app: Flask, as_user: Any, db_connection: Any, tamper: str, found: str
) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation")
    _drop_guards(db_connection)
    db_connection.execute(text(tamper), {"rid": rid, "fake": '{"reason": "nothing happened"}'})
    _, problems = _verify(app)
    assert problems, "tampering went unnoticed"
    assert {p.referral_id for p in problems} == {rid}
    assert any(found in p.problem for p in problems)


def _plain_sha256(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _hmac_guessed_key(prev_hash: str, body: str) -> str:
    return hmac.new(b"a guessed key", (prev_hash + body).encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("rehash", [_plain_sha256, _hmac_guessed_key], ids=["sha256", "wrong-key"])
def test_a_rewritten_chain_needs_the_key(
    app: Flask, as_user: Any, db_connection: Any, rehash: Any
) -> None:
    """The owner rewrites an event and every record it touched, and recomputes the chain."""
    from referral.models import Event, Ird, Referral
    from referral.services.audit import _hashed_fields, canonical

    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation")
    _drop_guards(db_connection)
    events = _events(db_connection, rid)
    prev = events[0].hash
    for e in events[1:]:
        fields = _hashed_fields(e)
        if e.seq == 2:
            fields["data"] = {**e.data, "reason": "Routine visit"}
        forged = rehash(prev, canonical(fields))
        db_connection.execute(
            update(Event.__table__)
            .where(Event.id == e.id)
            .values(data=fields["data"], prev_hash=prev, hash=forged)
        )
        prev = forged
    db_connection.execute(
        update(Ird.__table__).where(Ird.referral_id == rid).values(reason="Routine visit")
    )
    doc = db_connection.execute(
        select(Referral.__table__.c.stages_doc).where(Referral.__table__.c.id == rid)
    ).scalar_one()
    doc["ird"]["reason"] = "Routine visit"
    db_connection.execute(
        update(Referral.__table__)
        .where(Referral.id == rid)
        .values(last_event_hash=prev, stages_doc=doc)
    )
    _, problems = _verify(app)
    assert problems
    assert {(p.referral_id, p.where) for p in problems} == {(rid, "event 2"), (rid, "event 3")}
    assert all("altered" in p.problem for p in problems)


# -- checkpoints -------------------------------------------------------------------------------


def test_a_checkpoint_catches_a_truncated_chain(
    app: Flask, as_user: Any, db_connection: Any
) -> None:
    """The last event and what it recorded are deleted, and the tip set back one event."""
    from referral.models import Event, IrdContribution, Referral

    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "add_ird_contribution")
    before = _take_checkpoint(app)
    assert _verify_with(app, before) == []

    _drop_guards(db_connection)
    events = _events(db_connection, rid)
    db_connection.execute(
        IrdContribution.__table__.delete().where(IrdContribution.referral_id == rid)
    )
    db_connection.execute(Event.__table__.delete().where(Event.id == events[-1].id))
    doc = db_connection.execute(
        select(Referral.__table__.c.stages_doc).where(Referral.__table__.c.id == rid)
    ).scalar_one()
    doc["ird"]["contributions"] = []
    db_connection.execute(
        update(Referral.__table__)
        .where(Referral.id == rid)
        .values(
            last_event_seq=events[-2].seq,
            last_event_hash=events[-2].hash,
            updated_at=events[-2].at,
            stages_doc=doc,
        )
    )
    # every remaining row agrees with every remaining event: only the checkpoint can tell
    assert _verify(app)[1] == []
    problems = _verify_with(app, before)
    assert [(p.referral_id, p.where) for p in problems] == [(rid, "chain")]
    assert "truncated" in problems[0].problem


DELETE_REFERRAL = [
    "DELETE FROM approvals WHERE referral_id = :rid",
    "DELETE FROM referral_agencies WHERE referral_id = :rid",
    "DELETE FROM ird_contributions WHERE referral_id = :rid",
    "DELETE FROM conference_meetings WHERE conference_id IN "
    "(SELECT id FROM conferences WHERE referral_id = :rid)",
    "DELETE FROM registration_concerns WHERE registration_id IN "
    "(SELECT id FROM registrations WHERE referral_id = :rid)",
    "DELETE FROM core_group_meetings WHERE registration_id IN "
    "(SELECT id FROM registrations WHERE referral_id = :rid)",
    "DELETE FROM registrations WHERE referral_id = :rid",
    "DELETE FROM conferences WHERE referral_id = :rid",
    "DELETE FROM jiis WHERE referral_id = :rid",
    "DELETE FROM investigations WHERE referral_id = :rid",
    "DELETE FROM irds WHERE referral_id = :rid",
    "DELETE FROM access_log WHERE referral_id = :rid",
    "DELETE FROM events WHERE referral_id = :rid",
    "DELETE FROM referrals WHERE id = :rid",
]


def test_a_checkpoint_catches_a_deleted_referral(
    app: Flask, as_user: Any, db_connection: Any
) -> None:
    kept = create(as_user)["id"]
    gone = create(as_user, given_name="Zoe")
    walk(as_user, gone["id"], "convene_ird", "start_investigation", "extend_timescale")
    as_user("sw").get(f"/api/v1/referrals/{gone['id']}")
    before = _take_checkpoint(app)

    _drop_guards(db_connection)
    for statement in DELETE_REFERRAL:
        db_connection.execute(text(statement), {"rid": gone["id"]})
    assert _verify(app)[1] == [], "without a checkpoint a whole referral can vanish unseen"
    problems = _verify_with(app, before)
    assert [(p.referral_id, p.reference, p.where) for p in problems] == [
        (gone["id"], gone["reference"], "referral")
    ]
    assert "deleted" in problems[0].problem
    assert not _about(problems, kept)


def test_a_checkpoint_of_a_rewritten_chain_does_not_match(
    app: Flask, as_user: Any, db_connection: Any
) -> None:
    from referral.models import Event

    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    before = _take_checkpoint(app)
    _drop_guards(db_connection)
    db_connection.execute(
        update(Event.__table__)
        .where(Event.referral_id == rid, Event.seq == 2)
        .values(hash="f" * 64)
    )
    problems = _verify_with(app, before)
    assert any(p.where == "chain" and "rewritten" in p.problem for p in problems)


def test_an_edited_checkpoint_is_reported(app: Flask, as_user: Any) -> None:
    rid = create(as_user)["id"]
    document = _take_checkpoint(app)
    assert document["count"] == len(document["referrals"]) >= 1
    assert {t["id"] for t in document["referrals"]} >= {rid}
    for tip in document["referrals"]:
        tip["last_event_seq"] = 1  # e.g. to make a later truncation look normal
    document["referrals"][0]["last_event_hash"] = "0" * 64
    checkpoint, problems = _read_checkpoint(app, document)
    assert checkpoint is None
    assert [(p.referral_id, p.where) for p in problems] == [(None, "checkpoint")]
    assert "edited" in problems[0].problem


def test_a_checkpoint_signed_with_another_key_is_reported(
    app: Flask, as_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(as_user)
    monkeypatch.setitem(app.config, "REFERRAL_AUDIT_KEY", "someone else's key " * 3)
    forged = _take_checkpoint(app)
    monkeypatch.undo()
    checkpoint, problems = _read_checkpoint(app, forged)
    assert checkpoint is None
    assert "another audit key" in problems[0].problem
    for junk in (None, [], {"signature": 3}, {"referrals": []}):
        assert _read_checkpoint(app, junk)[1][0].where == "checkpoint"


def test_events_are_keyed_with_the_configured_key(
    app: Flask, as_user: Any, db_connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = create(as_user)["id"]
    assert _verify(app)[1] == []
    monkeypatch.setitem(app.config, "REFERRAL_AUDIT_KEY", "not the key the events were made with")
    problems = _about(_verify(app)[1], rid)
    assert [(p.where, "altered" in p.problem) for p in problems] == [("event 1", True)]


# -- the replay: edits to the records themselves ------------------------------------------------


@pytest.mark.parametrize(
    ("where", "tamper"),
    [
        (
            "investigations.decision_rationale",
            "UPDATE investigations SET decision_rationale = '-' WHERE referral_id = :rid",
        ),
        ("approvals.status", "UPDATE approvals SET status = 'rejected' WHERE referral_id = :rid"),
        ("approvals.decided_by", "UPDATE approvals SET decided_by = 'pc' WHERE referral_id = :rid"),
        ("referrals.state", "UPDATE referrals SET state = 'jii' WHERE id = :rid"),
        ("referrals.concern_summary", "UPDATE referrals SET concern_summary = '-' WHERE id = :rid"),
        ("irds.participants", "UPDATE irds SET participants = '[]' WHERE referral_id = :rid"),
        (
            "investigations.initial_cppm_due",
            "UPDATE investigations SET initial_cppm_due = '2099-01-01' WHERE referral_id = :rid",
        ),
        (
            "referral_agencies.agency",
            "INSERT INTO referral_agencies (referral_id, agency) VALUES (:rid, 'other')",
        ),
        ("referrals.area_id", "UPDATE referrals SET area_id = :highland WHERE id = :rid"),
        (
            "children.address",
            "UPDATE children SET address = 'elsewhere' "
            "WHERE id = (SELECT child_id FROM referrals WHERE id = :rid)",
        ),
        (
            "children.family_name",
            "UPDATE children SET family_name = 'Smith' "
            "WHERE id = (SELECT child_id FROM referrals WHERE id = :rid)",
        ),
        ("referrals.child_match", "UPDATE referrals SET child_match = 'chi' WHERE id = :rid"),
        (
            "referrals.related_ids",
            "UPDATE referrals SET related_ids = '[\"0123456789abcdef\"]' WHERE id = :rid",
        ),
        (
            "referrals.pending_approval_id",
            "UPDATE referrals SET pending_approval_id = 'none' WHERE id = :rid",
        ),
    ],
)
def test_verify_replays_the_events_and_names_each_edited_column(
    app: Flask, as_user: Any, db_connection: Any, where: str, tamper: str
) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation", "extend_timescale")
    other = create(as_user, given_name="Ben")["id"]
    highland = db_connection.execute(text("SELECT id FROM areas WHERE slug = 'highland'")).scalar()
    db_connection.execute(text(tamper), {"rid": rid, "highland": highland})
    _, problems = _verify(app)
    assert where in {p.where for p in _about(problems, rid)}, problems
    assert {p.referral_id for p in problems} == {rid}
    assert not _about(problems, other)


def test_an_edited_read_document_is_named_down_to_its_field(
    app: Flask, as_user: Any, db_connection: Any
) -> None:
    """What a GET shows is stored; an edit to it alone, with the tables intact, is found."""
    from referral.models import Referral

    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation")
    column = Referral.__table__.c.stages_doc
    doc = db_connection.execute(select(column).where(Referral.__table__.c.id == rid)).scalar_one()
    doc["investigation"]["decision_rationale"] = "Nothing to see."
    db_connection.execute(
        update(Referral.__table__).where(Referral.__table__.c.id == rid).values(stages_doc=doc)
    )
    problems = _verify(app)[1]
    assert {p.where for p in problems} == {
        "referrals.stages_doc.investigation (decision_rationale)"
    }
    shown = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()
    assert shown["stages"]["investigation"]["decision_rationale"] == "Nothing to see."


def test_an_edited_stage_row_deep_in_a_history_is_named(
    app: Flask, as_user: Any, db_connection: Any
) -> None:
    rid = create(as_user)["id"]
    walk(
        as_user,
        rid,
        "convene_ird",
        "start_investigation",
        "schedule_case_conference",
        "record_inquorate",
        "register",
        "record_core_group",
    )
    for statement, where in [
        (
            "UPDATE conference_meetings SET quorate = :yes WHERE conference_id IN "
            "(SELECT id FROM conferences WHERE referral_id = :rid)",
            "conference_meetings.quorate",
        ),
        (
            "UPDATE core_group_meetings SET notes = 'Fine.' WHERE registration_id IN "
            "(SELECT id FROM registrations WHERE referral_id = :rid)",
            "core_group_meetings.notes",
        ),
        (
            "UPDATE registration_concerns SET category = 'other' WHERE registration_id IN "
            "(SELECT id FROM registrations WHERE referral_id = :rid)",
            "registration_concerns.category",
        ),
    ]:
        with db_connection.begin_nested() as savepoint:
            db_connection.execute(text(statement), {"rid": rid, "yes": True})
            found = {p.where for p in _verify(app)[1]}
            savepoint.rollback()
        assert where in found
    assert _verify(app)[1] == []


# -- an untouched history of every trigger verifies clean ---------------------------------------


def _approval_pending(as_user: Any, rid: str, trigger: str) -> str:
    response = fire(as_user, rid, trigger, approve=False)
    assert response.status_code == 202, response.get_json()
    approval_id: str = response.get_json()["id"]
    return approval_id


def _correct(as_user: Any, rid: str, body: dict[str, Any]) -> None:
    api = as_user("sw")
    etag = api.get(f"/api/v1/referrals/{rid}").headers["ETag"]
    response = api.patch(f"/api/v1/referrals/{rid}", body, headers={"If-Match": etag})
    assert response.status_code == 200, response.get_json()


def test_every_trigger_replays_clean(app: Flask, as_user: Any) -> None:
    from workflow.registry import definition

    fired: set[str] = set()

    def path(rid: str, *triggers: str) -> None:
        walk(as_user, rid, *triggers)
        fired.update(triggers)

    # a long life: JII cancelled then held, an extension, an inquorate meeting, reviews
    long = create(as_user)["id"]
    path(long, "convene_ird", "add_ird_contribution", "start_investigation")
    _correct(
        as_user,
        long,
        {"concern": {"summary": "Bruising on both arms.", "categories": ["neglect"]}},
    )
    path(long, "plan_jii", "cancel_jii", "plan_jii", "record_jii", "extend_timescale")
    path(long, "schedule_case_conference", "record_inquorate", "register", "record_core_group")
    for ending in ("continue_registration", "deregister"):
        fire(as_user, long, "schedule_case_conference", conference_type="review")
        path(long, ending)

    # an approval rejected, then asked again and approved
    rejected = create(as_user)["id"]
    path(rejected, "convene_ird")
    approval = _approval_pending(as_user, rejected, "refer_single_agency")
    decided = as_user("swsup").post(
        f"/api/v1/approvals/{approval}/decision", {"decision": "reject", "comment": "Not yet."}
    )
    assert decided.status_code == 200, decided.get_json()
    path(rejected, "refer_single_agency")

    # an approval made stale by a later change, then the referral closes
    stale = create(as_user)["id"]
    path(stale, "convene_ird")
    _approval_pending(as_user, stale, "close_no_further_action")
    path(stale, "add_ird_contribution", "close_no_further_action")

    nocc = create(as_user)["id"]
    path(nocc, "convene_ird", "start_investigation", "decide_no_case_conference")
    not_registered = create(as_user)["id"]
    path(not_registered, "convene_ird", "start_investigation", "schedule_case_conference")
    path(not_registered, "not_register")
    moved = create(as_user)["id"]
    path(moved, "convene_ird", "start_investigation", "schedule_case_conference", "register")
    path(moved, "add_chronology_entry", "change_lead_professional")
    transfer_to_highland(as_user, moved)
    fired.update({"notify_transfer", "transferred_out"})
    screened = create(as_user)["id"]
    path(screened, "screen_out")
    out_of_hours = create(as_user)["id"]
    walk(as_user, out_of_hours, "convene_ird")
    fire(as_user, out_of_hours, "record_full_ird")
    fired.update({"record_full_ird"})
    closed = create(as_user)["id"]
    path(closed, "convene_ird", "close")

    # an unborn child whose expected date of delivery is corrected (it moves a due date)
    due = (now() + timedelta(days=100)).date()
    unborn = create(as_user, date_of_birth=None, expected_date_of_delivery=due.isoformat())["id"]
    path(unborn, "convene_ird", "start_investigation")
    later = (due + timedelta(days=30)).isoformat()
    _correct(as_user, unborn, {"child": {"expected_date_of_delivery": later}})
    walk(as_user, unborn, "decide_no_case_conference")

    assert fired >= set(definition().trigger_names), set(definition().trigger_names) - fired
    checked, problems = _verify(app)
    assert problems == []
    assert checked > 60
