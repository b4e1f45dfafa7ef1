"""The access log: every read of one referral, by API or page."""

from __future__ import annotations

from sqlalchemy.orm import Session

from referral.auth import Principal
from referral.models import Referral
from referral.models.types import utcnow
from referral.services import trail


def log_read(
    session: Session,
    principal: Principal,
    referral: Referral,
    what: str,
    remote_addr: str | None,
    user_agent: str | None,
) -> None:
    # a row written at commit with the transaction's events (not an object for the unit of work)
    trail.add_read(
        session,
        dict(
            referral_id=referral.id,
            username=principal.user.username,
            agency=principal.user.agency,
            role=principal.user.role,
            via=principal.via,
            token_prefix=principal.token_prefix,
            at=utcnow(),
            what=what,
            remote_addr=remote_addr,
            user_agent=(user_agent or "")[:300] or None,
        ),
    )
