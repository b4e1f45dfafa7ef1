"""The hash-chained event log: append one event, and verify every chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral.models import Event, Referral
from workflow import Actor

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(fields)).encode()).hexdigest()


def _hashed_fields(e: Event) -> dict[str, Any]:
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
    event.hash = event_hash(event.prev_hash, _hashed_fields(event))
    referral.last_event_seq = event.seq
    referral.last_event_hash = event.hash
    referral.updated_at = at
    session.add(event)
    return event


@dataclass(frozen=True)
class ChainProblem:
    referral_id: str
    reference: str
    seq: int | None
    problem: str


def verify(session: Session) -> tuple[int, list[ChainProblem]]:
    """Recompute every chain; returns (events checked, problems found)."""
    problems: list[ChainProblem] = []
    checked = 0
    referrals = {r.id: r for r in session.scalars(select(Referral))}
    current: str | None = None
    prev_hash = GENESIS
    expected_seq = 1

    def close_chain(referral_id: str | None, last_seq: int, last_hash: str) -> None:
        if referral_id is None:
            return
        r = referrals.get(referral_id)
        if r is not None and (r.last_event_seq != last_seq or r.last_event_hash != last_hash):
            problems.append(
                ChainProblem(
                    referral_id, r.reference, None, "the chain's last event is missing or replaced"
                )
            )

    stream = session.scalars(
        select(Event).order_by(Event.referral_id, Event.seq).execution_options(yield_per=1000)
    )
    for e in stream:
        if e.referral_id != current:
            close_chain(current, expected_seq - 1, prev_hash)
            current, prev_hash, expected_seq = e.referral_id, GENESIS, 1
        checked += 1
        ref = referrals[e.referral_id].reference if e.referral_id in referrals else "?"
        if e.seq != expected_seq:
            problems.append(
                ChainProblem(
                    e.referral_id, ref, e.seq, f"expected event {expected_seq}: an event is missing"
                )
            )
        if e.prev_hash != prev_hash:
            problems.append(
                ChainProblem(
                    e.referral_id, ref, e.seq, "prev_hash does not match the previous event"
                )
            )
        if event_hash(e.prev_hash, _hashed_fields(e)) != e.hash:
            problems.append(
                ChainProblem(e.referral_id, ref, e.seq, "content does not match its hash: altered")
            )
        prev_hash, expected_seq = e.hash, e.seq + 1
    close_chain(current, expected_seq - 1, prev_hash)
    with_events = {p for p in referrals if referrals[p].last_event_seq > 0}
    seen = set(session.scalars(select(Event.referral_id).distinct()))
    for missing in sorted(with_events - seen):
        problems.append(
            ChainProblem(
                missing,
                referrals[missing].reference,
                None,
                "every event of this referral is missing",
            )
        )
    return checked, problems
