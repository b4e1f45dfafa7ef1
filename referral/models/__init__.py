"""SQLAlchemy models: every table, imported here so Alembic sees the whole metadata."""

from referral.models.approvals import Approval
from referral.models.audit import AccessLogEntry, Event
from referral.models.people import ApiToken, Area, User, user_areas
from referral.models.referrals import (
    Child,
    Conference,
    ConferenceMeeting,
    CoreGroupMeeting,
    Investigation,
    Ird,
    IrdContribution,
    Jii,
    ReferenceSequence,
    Referral,
    ReferralAgency,
    Registration,
    RegistrationConcern,
)

__all__ = [
    "AccessLogEntry",
    "ApiToken",
    "Approval",
    "Area",
    "Child",
    "Conference",
    "ConferenceMeeting",
    "CoreGroupMeeting",
    "Event",
    "Investigation",
    "Ird",
    "IrdContribution",
    "Jii",
    "ReferenceSequence",
    "Referral",
    "ReferralAgency",
    "Registration",
    "RegistrationConcern",
    "User",
    "user_areas",
]
