"""The keyed, hash-chained event log: append an event, checkpoint every chain's tip, verify."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import Row, exists, select
from sqlalchemy.orm import Session

from referral.models import Area, Event, Referral
from referral.services import trail
from workflow import Actor

GENESIS = "0" * 64
CHECKPOINT_FORMAT = "referral-audit-checkpoint/1"
#: referrals verified per round of queries: bounds memory, keeps the number of queries small
VERIFY_BATCH = 200


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def audit_key() -> bytes:
    """The key of every event hash and checkpoint signature (configuration, never the database)."""
    key: str = current_app.config["REFERRAL_AUDIT_KEY"]
    return key.encode()


def event_hash(key: bytes, prev_hash: str, fields: dict[str, Any]) -> str:
    """HMAC-SHA-256: without the key nobody can recompute a chain after changing an event."""
    message = (prev_hash + canonical(fields)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _hashed_fields(e: Any) -> dict[str, Any]:
    return {
        "referral_id": e.referral_id,
        "seq": e.seq,
        "type": e.type,
        "trigger": e.trigger,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "actor": e.actor,
        "agency": e.agency,
        "role": e.role,
        "at": e.at.isoformat(),
        "data": e.data,
        "reason": e.reason,
    }


def append_event(
    session: Session,
    referral: Referral,
    actor: Actor,
    type_: str,
    at: datetime,
    data: dict[str, Any],
    *,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
) -> Event:
    """Add the next event of `referral`'s chain (the referral row carries the chain's tip)."""
    event = chain_event(
        referral,
        actor,
        type_,
        at,
        data,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
    )
    trail.add_event(session, event)  # written, and placed in the change feed, at commit
    return event


def chain_event(
    referral: Referral,
    actor: Actor,
    type_: str,
    at: datetime,
    data: dict[str, Any],
    *,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
) -> Event:
    """The next event of `referral`'s chain, made its tip, for the caller to add to the trail
    (`append_event` does both)."""
    at = at.astimezone(UTC)  # the database gives it back in UTC: hash what will be read back
    event = Event(
        referral_id=referral.id,
        seq=referral.last_event_seq + 1,
        type=type_,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        actor=actor.username,
        agency=actor.agency,
        role=actor.role,
        at=at,
        data=json.loads(canonical(data)),
        reason=reason,
        prev_hash=referral.last_event_hash or GENESIS,
    )
    event.hash = event_hash(audit_key(), event.prev_hash, _hashed_fields(event))
    referral.last_event_seq = event.seq
    referral.last_event_hash = event.hash
    referral.updated_at = at
    return event


@dataclass(frozen=True)
class AuditProblem:
    """One thing verify found: where (an event, the chain, a table's column) and what."""

    referral_id: str | None  # None: the checkpoint file itself
    reference: str
    where: str  # "event 3", "chain", "referral", "investigations.decision_rationale", ...
    problem: str


# -- checkpoints -----------------------------------------------------------------------------


def _sign(key: bytes, body: dict[str, Any]) -> str:
    message = ("checkpoint\n" + canonical(body)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """Names the key a checkpoint was signed with, without revealing it."""
    return hmac.new(key, b"referral audit key id", hashlib.sha256).hexdigest()[:16]


def take_checkpoint(session: Session, now: datetime) -> dict[str, Any]:
    """Every referral's chain tip at `now`, signed with the audit key; keep it off the database."""
    key = audit_key()
    tips = [
        {"id": rid, "reference": ref, "last_event_seq": seq, "last_event_hash": tip}
        for rid, ref, seq, tip in session.execute(
            select(
                Referral.id, Referral.reference, Referral.last_event_seq, Referral.last_event_hash
            ).order_by(Referral.id)
        )
    ]
    body = {
        "format": CHECKPOINT_FORMAT,
        "taken_at": now.isoformat(),
        "key_id": key_id(key),
        "count": len(tips),
        "referrals": tips,
    }
    return {**body, "signature": _sign(key, body)}


def checkpoint_text(document: dict[str, Any]) -> str:
    """The checkpoint as JSON, one referral a line (readable, and diffable between nights)."""
    head = {k: v for k, v in document.items() if k != "referrals"}
    lines = [canonical(head)[:-1] + ',"referrals":[']
    tips = document["referrals"]
    lines += [canonical(t) + ("," if i < len(tips) - 1 else "") for i, t in enumerate(tips)]
    lines.append("]}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class CheckpointTip:
    reference: str
    seq: int
    hash: str


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint whose signature verified: chain tips by referral id."""

    taken_at: str
    tips: dict[str, CheckpointTip]


def _checkpoint_problem(problem: str) -> AuditProblem:
    return AuditProblem(None, "checkpoint", "checkpoint", problem)


def read_checkpoint(document: Any) -> tuple[Checkpoint | None, list[AuditProblem]]:
    """Check a checkpoint's signature and shape; an edited or forged one is itself a problem."""
    if not isinstance(document, dict) or not isinstance(document.get("signature"), str):
        return None, [_checkpoint_problem("this is not a signed audit checkpoint")]
    key = audit_key()
    body = {k: v for k, v in document.items() if k != "signature"}
    if not hmac.compare_digest(document["signature"], _sign(key, body)):
        if document.get("key_id") not in (None, key_id(key)):
            why = "it was signed with another audit key, or its key_id was edited"
        else:
            why = "the file was edited after it was signed, or forged"
        return None, [_checkpoint_problem(f"the signature does not match: {why}")]
    try:
        if body["format"] != CHECKPOINT_FORMAT:
            raise ValueError(f"format {body['format']!r}")
        tips = {
            str(t["id"]): CheckpointTip(
                str(t["reference"]), int(t["last_event_seq"]), str(t["last_event_hash"])
            )
            for t in body["referrals"]
        }
        if body["count"] != len(tips):
            raise ValueError("count")
        return Checkpoint(str(body["taken_at"]), tips), []
    except (KeyError, TypeError, ValueError) as exc:
        problem = f"signed, but not a checkpoint this version reads: {exc}"
        return None, [_checkpoint_problem(problem)]


def _compare_with_checkpoint(
    checkpoint: Checkpoint, tip: CheckpointTip, referral: Row[Any], events: Sequence[Row[Any]]
) -> Iterable[AuditProblem]:
    def problem(text: str) -> AuditProblem:
        return AuditProblem(referral.id, referral.reference, "chain", text)

    taken = f"the checkpoint of {checkpoint.taken_at}"
    if referral.reference != tip.reference:
        yield problem(f"its reference was {tip.reference} in {taken}")
    seen = next((e for e in events if e.seq == tip.seq), None)
    if seen is None:
        last = events[-1].seq if events else 0
        yield problem(f"truncated: {taken} saw event {tip.seq}; the chain now ends at event {last}")
    elif seen.hash != tip.hash:
        yield problem(f"rewritten: event {tip.seq} is not the event {taken} saw")


# -- verify ----------------------------------------------------------------------------------


def _check_chain(key: bytes, referral: Row[Any], events: Sequence[Row[Any]]) -> list[AuditProblem]:
    problems: list[AuditProblem] = []

    def problem(where: str, text: str) -> None:
        problems.append(AuditProblem(referral.id, referral.reference, where, text))

    if not events:
        if referral.last_event_seq > 0:
            problem("chain", "every event of this referral is missing")
        else:
            problem("chain", "the referral has no events: it was not recorded by the application")
        return problems
    prev_hash, expected_seq = GENESIS, 1
    for e in events:
        if e.seq != expected_seq:
            problem(f"event {e.seq}", f"expected event {expected_seq}: an event is missing")
        if e.prev_hash != prev_hash:
            problem(f"event {e.seq}", "prev_hash does not match the previous event")
        if not hmac.compare_digest(event_hash(key, e.prev_hash, _hashed_fields(e)), e.hash):
            problem(f"event {e.seq}", "content does not match its keyed hash: altered")
        prev_hash, expected_seq = e.hash, e.seq + 1
    if referral.last_event_seq != events[-1].seq or referral.last_event_hash != events[-1].hash:
        problem("chain", "the chain's last event is missing or replaced")
    return problems


def verify(
    session: Session, checkpoint: Checkpoint | None = None
) -> tuple[int, list[AuditProblem]]:
    """Check every chain's keyed hashes, replay every referral's events against its stored rows,
    and, given a checkpoint, find truncated chains and deleted referrals.

    Returns (events checked, problems found). Reads a batch of referrals at a time.
    """
    # The replay re-runs the services' own recorders, and they append events through this module.
    from referral.services.replay import StoredRows, replay_problems

    key = audit_key()
    areas = {area_id: slug for area_id, slug in session.execute(select(Area.id, Area.slug))}
    unseen = dict(checkpoint.tips) if checkpoint is not None else {}
    problems: list[AuditProblem] = []
    checked = 0
    after: str | None = None
    while True:
        query = select(Referral.__table__).order_by(Referral.id).limit(VERIFY_BATCH)
        if after is not None:
            query = query.where(Referral.id > after)
        referrals = session.execute(query).all()
        if not referrals:
            break
        ids = [r.id for r in referrals]
        events_of: dict[str, list[Row[Any]]] = {rid: [] for rid in ids}
        for e in session.execute(
            select(Event.__table__)
            .where(Event.referral_id.in_(ids))
            .order_by(Event.referral_id, Event.seq)
        ):
            events_of[e.referral_id].append(e)
        stored = StoredRows.load(session, ids)
        for referral in referrals:
            events = events_of.pop(referral.id)
            checked += len(events)
            problems += _check_chain(key, referral, events)
            tip = unseen.pop(referral.id, None)
            if checkpoint is not None and tip is not None:
                problems += _compare_with_checkpoint(checkpoint, tip, referral, events)
            if events:
                problems += [
                    AuditProblem(referral.id, referral.reference, where, text)
                    for where, text in replay_problems(referral, events, stored, areas)
                ]
        after = ids[-1]
    orphans = session.scalars(
        select(Event.referral_id)
        .where(~exists().where(Referral.id == Event.referral_id))
        .distinct()
        .order_by(Event.referral_id)
    )
    for rid in orphans:
        problems.append(
            AuditProblem(rid, "?", "referral", "deleted: its events remain, its referral is gone")
        )
    if checkpoint is not None:
        for rid, tip in sorted(unseen.items()):
            problems.append(
                AuditProblem(
                    rid,
                    tip.reference,
                    "referral",
                    f"deleted: in the checkpoint of {checkpoint.taken_at}, "
                    "no longer in the database",
                )
            )
    return checked, problems
