"""Failed-authentication counters shared by every worker: one row per key and fixed window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from referral.db import Base
from referral.models.types import UTCDateTime


class AuthFailureCounter(Base):
    """How many failed sign-ins or bad tokens one key (address, account) had in its window.

    Written only by `referral.throttle` on a connection of its own; a row whose window has
    passed counts as zero and is overwritten or deleted lazily.
    """

    __tablename__ = "auth_failure_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    window_expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
