"""A registered child moving between areas: the sending referral follows the receiving one.

The sending area notifies the move (`notify_transfer`), which shares its referral read-only
with the receiving area. The receiving area records a referral of its own naming the sending
one (`transfer_from`) and holds a transfer conference. Its decision settles both referrals in
one transaction: `register` closes the sending referral as transferred out at the same moment,
so the child is on exactly one register on every day; `not_register` tells the sending area,
which keeps the child registered until its own review (SPEC section 4, v2 correction 2).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral.errors import Unprocessable
from referral.models import Area, Referral, ReferralShare, Transfer
from referral.services.audit import append_event
from referral.services.pending import mark_pending_stale
from referral.services.projection import project
from referral.services.referrals import Stages, load_stages, situation
from workflow import Actor, Outcome

NOT_SHARED = "is not a referral shared with this area for a transfer"


def awaiting_receipt(session: Session, area: Area, sending_id: str) -> Transfer:
    """The open transfer of `sending_id` to `area`, locked with its referral; 422 otherwise.

    A referral that was never shared with the area answers the same as one that does not
    exist, so nothing is learnt about other areas' records.
    """
    sending = session.scalars(
        select(Referral)
        .join(ReferralShare, ReferralShare.referral_id == Referral.id)
        .where(Referral.id == sending_id, ReferralShare.area == area.slug)
        .with_for_update(of=Referral)
    ).one_or_none()
    transfer = None
    if sending is not None and sending.state == "registered":
        transfer = load_stages(session, sending.id).open_transfer()
    if transfer is None or transfer.receiving_area != area.slug:
        raise Unprocessable({"transfer_from": [NOT_SHARED]})
    if transfer.receiving_referral_id is not None:
        raise Unprocessable(
            {"transfer_from": ["the receiving area has already recorded this transfer"]}
        )
    return transfer


def received(
    session: Session, transfer: Transfer, receiving: Referral, actor: Actor, now: datetime
) -> None:
    """The receiving area recorded its referral: the sending referral says so."""
    sending = session.get(Referral, transfer.referral_id)
    assert sending is not None
    transfer.receiving_referral_id = receiving.id
    _project_transfers(session, sending)
    mark_pending_stale(session, sending, actor, now, "transfer_received")
    append_event(
        session,
        sending,
        actor,
        "transfer_received",
        now,
        {"receiving_referral": receiving.id, "receiving_area": receiving.area.slug},
    )


def _project_transfers(session: Session, sending: Referral) -> None:
    """The sending referral's read document shows the transfer as it now stands."""
    session.flush()
    stages = load_stages(session, sending.id)
    stages.transfers  # noqa: B018 - loads the section, the only one changed
    project(sending, stages)


def transfer_decided(
    session: Session,
    receiving: Referral,
    stages: Stages,
    actor: Actor,
    outcome: Outcome,
    now: datetime,
) -> None:
    """After a transfer conference's decision on `receiving`, settle the sending referral."""
    decided = stages.conferences[-1] if stages.conferences else None
    if decided is None or decided.conference_type != "transfer":
        return
    sending = session.scalars(
        select(Referral)
        .where(Referral.id == receiving.transfer_from)
        .with_for_update(of=Referral)  # not the eagerly joined area and child (outer joins)
    ).one()
    held_at: Any = outcome.data["held_at"]
    if outcome.trigger == "register" and sending.state == "registered":
        from referral.services.transitions import apply

        current = situation(session, sending, now)
        closing = current.engine.fire(
            current.subject,
            actor,
            "transferred_out",
            {"receiving_referral": receiving.id, "held_at": held_at},
            current.ctx,
            system=True,
        )
        apply(session, sending, current.stages, actor, closing, None, now)
        return
    transfer = load_stages(session, sending.id).open_transfer(receiving.id)
    if transfer is not None:
        transfer.outcome = "registered" if outcome.trigger == "register" else "not_registered"
        transfer.decided_at = datetime.fromisoformat(str(held_at))
        _project_transfers(session, sending)
    mark_pending_stale(session, sending, actor, now, "transfer_decided")
    append_event(
        session,
        sending,
        actor,
        "transfer_decided",
        now,
        {
            "receiving_referral": receiving.id,
            "decision": outcome.trigger,
            "held_at": held_at,
            "still_registered_here": sending.state == "registered",
        },
    )
