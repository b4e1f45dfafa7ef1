"""SQLAlchemy models: every table, imported here so Alembic sees the whole metadata."""

from referral.models.approvals import Approval
from referral.models.audit import AccessLogEntry, Event
from referral.models.people import ApiToken, Area, User, user_areas
from referral.models.referrals import (
    Child,
    ChildIdentity,
    ChronologyEntry,
    Conference,
    ConferenceMeeting,
    CoreGroupMeeting,
    Investigation,
    Ird,
    IrdContribution,
    Jii,
    LeadProfessionalChange,
    ReferenceSequence,
    Referral,
    ReferralAgency,
    ReferralLink,
    ReferralShare,
    Registration,
    RegistrationConcern,
    Screening,
    Transfer,
)
from referral.models.throttle import AuthFailureCounter

__all__ = [
    "ChronologyEntry",
    "LeadProfessionalChange",
    "ReferralLink",
    "ReferralShare",
    "Screening",
    "Transfer",
    "AccessLogEntry",
    "ApiToken",
    "Approval",
    "Area",
    "AuthFailureCounter",
    "Child",
    "ChildIdentity",
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
