"""Firing a trigger: check and validate through `workflow`, record, audit; or ask for approval."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral.errors import Conflict, Forbidden, NotFound, Unprocessable
from referral.models import Approval, Referral, User
from referral.services.audit import append_event
from referral.services.pending import mark_pending_stale, pending_approval
from referral.services.preconditions import check_if_match
from referral.services.projection import project
from referral.services.referrals import (
    Stages,
    advance_clocks,
    record_agencies,
    situation,
)
from referral.services.stages import RECORDERS, Recording
from workflow import (
    Actor,
    ActorNotPermitted,
    ApprovalRequired,
    DataConflict,
    InvalidData,
    Outcome,
    TriggerNotAllowed,
    UnknownTrigger,
)


@dataclass
class Fired:
    """The result of a request to fire: applied (200) or waiting for approval (202)."""

    referral: Referral
    outcome: Outcome | None = None
    approval: Approval | None = None
    flags: dict[str, Any] = field(default_factory=dict)


#: a conference's decisions that settle a transfer between areas
TRANSFER_DECISIONS = ("register", "not_register")


def data_paths(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Messages keyed by their path in the request body (`data.<field>`)."""
    return {f"data.{k}" if k != "data" else k: v for k, v in errors.items()}


def _refused(exc: TriggerNotAllowed, referral: Referral, allowed: list[str]) -> Conflict:
    return Conflict(
        "; ".join(exc.reasons), state=referral.state, allowed_triggers=allowed, trigger=exc.trigger
    )


def fire(
    session: Session,
    user: User,
    referral: Referral,
    trigger: str,
    data: Any,
    reason: str | None,
    now: datetime,
    *,
    if_match: str | None = None,
) -> Fired:
    """Fire `trigger` on `referral` (already locked and visible to `user`).

    `If-Match` is judged once the request itself is known to be valid: a malformed request
    is refused as such whatever version it names.
    """
    actor = Actor(user.username, user.agency, user.role)
    current = situation(session, referral, now)
    try:
        outcome = current.engine.fire(current.subject, actor, trigger, data, current.ctx)
    except UnknownTrigger as exc:
        raise Unprocessable(
            {"trigger": [f"{exc.trigger!r} is not a trigger of this workflow"]}
        ) from exc
    except TriggerNotAllowed as exc:
        allowed = current.engine.allowed_triggers(current.subject, actor)
        raise _refused(exc, referral, allowed) from exc
    except ActorNotPermitted as exc:
        raise Forbidden(exc.reason, trigger=trigger) from exc
    except InvalidData as exc:
        raise Unprocessable(data_paths(exc.errors)) from exc
    except DataConflict as exc:
        raise Conflict(
            "the data conflicts with the referral as recorded: "
            + "; ".join(f"{path} {' '.join(m)}" for path, m in data_paths(exc.errors).items()),
            errors=data_paths(exc.errors),
            state=referral.state,
        ) from exc
    except ApprovalRequired as exc:
        check_if_match(referral, if_match, required=False)
        return Fired(
            referral, approval=request_approval(session, referral, actor, exc, reason, now)
        )
    check_if_match(referral, if_match, required=False)
    apply(session, referral, current.stages, actor, outcome, reason, now)
    return Fired(referral, outcome=outcome, flags=outcome.flags)


def apply(
    session: Session,
    referral: Referral,
    stages: Stages,
    actor: Actor,
    outcome: Outcome,
    reason: str | None,
    now: datetime,
    *,
    approval: Approval | None = None,
) -> None:
    """Record an outcome: stage records, state, agencies, the event, the clocks.

    A transfer conference's decision on the receiving referral also closes, or tells, the
    sending one, in this same transaction.
    """
    if approval is None:
        mark_pending_stale(session, referral, actor, now, outcome.trigger)
    recording = Recording(session, referral, stages, outcome, actor, now)
    RECORDERS[outcome.trigger](recording)
    record_agencies(referral, recording.agencies)
    referral.state = outcome.to_state
    if outcome.to_state == "closed":
        referral.closure_reason = outcome.closure_reason
        referral.closed_at = now
    data = dict(outcome.data)
    if outcome.flags:
        data["_flags"] = outcome.flags
    if approval is not None:
        data["_approval"] = {"id": approval.id, "approved_by": approval.decided_by}
    event = append_event(
        session,
        referral,
        actor,
        "transition",
        now,
        data,
        trigger=outcome.trigger,
        from_state=outcome.from_state,
        to_state=outcome.to_state,
        reason=reason,
    )
    advance_clocks(referral, stages, event)
    with session.no_autoflush:  # one UPDATE of the referral, with its document, not two
        project(referral, stages)
    # not flushed here: the referral's row is written at commit (on PostgreSQL by the same
    # statement as its event, referral.services.trail), or before the next query reads it
    if referral.transfer_from is not None and outcome.trigger in TRANSFER_DECISIONS:
        from referral.services.transfers import transfer_decided

        transfer_decided(session, referral, stages, actor, outcome, now)


def request_approval(
    session: Session,
    referral: Referral,
    actor: Actor,
    exc: ApprovalRequired,
    reason: str | None,
    now: datetime,
) -> Approval:
    if pending_approval(session, referral) is not None:
        raise Conflict(
            "an approval is already pending for this referral; it must be decided first",
            state=referral.state,
        )
    approval = Approval(
        id=uuid.uuid4().hex,
        referral_id=referral.id,
        trigger=exc.trigger,
        data=exc.data,
        reason=reason,
        referral_version=0,
        requested_by=actor.username,
        requested_agency=actor.agency,
        requested_role=actor.role,
        requested_at=now,
        approver_role=exc.role,
        approver_agency=exc.agency,
        status="pending",
    )
    session.add(approval)
    append_event(
        session,
        referral,
        actor,
        "approval_requested",
        now,
        {"approval_id": approval.id, "trigger": exc.trigger, "data": exc.data},
        trigger=exc.trigger,
        reason=reason,
    )
    referral.pending_approval_id = approval.id
    session.flush()
    approval.referral_version = referral.version
    session.flush()
    return approval


def get_approval(session: Session, approval_id: str, *, lock: bool = False) -> Approval:
    query = select(Approval).where(Approval.id == approval_id)
    if lock:
        query = query.with_for_update()
    approval = session.scalars(query).one_or_none()
    if approval is None:
        raise NotFound(f"no approval {approval_id!r}")
    return approval
