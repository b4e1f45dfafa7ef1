"""The access log: every read of one referral, by API or page."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from referral.auth import Principal
from referral.models import AccessLogEntry, Referral
from referral.models.types import utcnow

#: one Core statement, compiled once: every read of a referral runs it
_INSERT = insert(cast(Table, AccessLogEntry.__table__))


def log_read(
    session: Session,
    principal: Principal,
    referral: Referral,
    what: str,
    remote_addr: str | None,
    user_agent: str | None,
) -> None:
    # an INSERT now, not an object for the unit of work to sort out at commit
    session.connection().execute(
        _INSERT,
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
