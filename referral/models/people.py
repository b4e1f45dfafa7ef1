"""Areas, users and API tokens."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral.db import Base
from referral.models.types import UTCDateTime, utcnow
from workflow.vocabulary import AGENCIES, ROLES


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


user_areas = Table(
    "user_areas",
    Base.metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("area_id", ForeignKey("areas.id"), primary_key=True),
)


class Area(Base):
    """A local authority area; its prefix starts the human references of its referrals."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    reference_prefix: Mapped[str] = mapped_column(String(8), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("agency", AGENCIES), name="agency"),
        CheckConstraint(_in("role", ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    agency: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: raised when the user is disabled: a session from before stays over once re-enabled
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    areas: Mapped[list[Area]] = relationship(secondary=user_areas, lazy="selectin")

    @property
    def area_ids(self) -> set[int]:
        return {a.id for a in self.areas}

    # Flask-Login's user protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def session_stamp(self) -> str:
        """Changes with the password and when the user is disabled: a session signed in under
        another one is over."""
        seed = self.password_hash
        if self.session_epoch:  # epoch 0: the stamp sessions signed in before 0006 carry
            seed = f"{seed}:{self.session_epoch}"
        return hashlib.sha256(seed.encode()).hexdigest()[:16]

    def get_id(self) -> str:
        # what a session remembers: the user and the password they signed in with
        return f"{self.id}:{self.session_stamp}"


class ApiToken(Base):
    """A bearer token: shown once, stored as a SHA-256 digest, narrowed by scope."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(_in("scope", ("read", "reports", "write")), name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    scope: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class CredentialsStamp(Base):
    """One row (id 1) whose stamp changes, in the same transaction, whenever a user, a user's
    areas, an area or an API token is added, changed or removed: database triggers change it
    (migration 0012), so no write can forget to. Each change gives a random number, so no stamp
    comes back. What a server process remembers of the tokens it authenticated holds while the
    stamp stays the same (referral.auth)."""

    __tablename__ = "credentials_stamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    stamp: Mapped[int] = mapped_column(BigInteger)
