"""Four-eyes approvals: a requested trigger waits here until someone else decides it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from referral.db import Base
from referral.models.people import _in
from referral.models.types import UTCDateTime, utcnow

APPROVAL_STATUSES = ("pending", "approved", "rejected", "stale")


class Approval(Base):
    __tablename__ = "approvals"
    __table_args__ = (
        CheckConstraint(_in("status", APPROVAL_STATUSES), name="status"),
        # at most one pending approval per referral, enforced by the database itself
        Index(
            "uq_approvals_one_pending",
            "referral_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    referral_version: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(80))
    requested_agency: Mapped[str] = mapped_column(String(20))
    requested_role: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approver_role: Mapped[str] = mapped_column(String(20))
    approver_agency: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
