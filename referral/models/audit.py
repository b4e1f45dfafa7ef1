"""The append-only, hash-chained event log and the access log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral.db import Base
from referral.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from referral.models.referrals import Referral

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Event(Base):
    """One change to a referral. The database refuses UPDATE and DELETE on this table."""

    __tablename__ = "events"
    #: also how a referral's events are found: no index of `referral_id` alone (migration 0014)
    __table_args__ = (UniqueConstraint("referral_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    trigger: Mapped[str | None] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    agency: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: never loaded (lazy="raise"); it tells the unit of work to write a new referral's row
    #: before its first event, so both go in one flush
    referral: Mapped[Referral] = relationship(lazy="raise")


class FeedEntry(Base):
    """An event's place in the change feed (`GET /api/v1/changes`), given as its transaction
    commits; see referral.services.feed. The database refuses UPDATE and DELETE on this table."""

    __tablename__ = "feed"

    #: 1, 2, 3 ... in commit order (taken under the feed_counter row lock at commit)
    position: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    #: no foreign key: an event deleted behind the application's back (which `referral audit
    #: verify` reports) is not kept in place by its feed row; the feed skips it
    event_id: Mapped[int] = mapped_column(BigId, unique=True)


class FeedCounter(Base):
    """One row: the last feed position given. Its row lock orders the feed by commit."""

    __tablename__ = "feed_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_position: Mapped[int] = mapped_column(BigInteger)


class AccessLogEntry(Base):
    """Every read of one referral: who, when, what, from where (DPA 2018 s62 'consultation')."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    username: Mapped[str] = mapped_column(String(80))
    agency: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20))
    via: Mapped[str] = mapped_column(String(20))  # "api" (token), "session" or "web"
    token_prefix: Mapped[str | None] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    what: Mapped[str] = mapped_column(String(200))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class AdminEvent(Base):
    """One administrative change (a user, an area or a token): who, when, what, to whom.
    Never case content, never a password or a token. The database refuses UPDATE and DELETE."""

    __tablename__ = "admin_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the administrator's username, or "(command line)" for the `referral` commands
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    #: the username changed (or given a token), or the slug of the area added
    target: Mapped[str] = mapped_column(String(80), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
