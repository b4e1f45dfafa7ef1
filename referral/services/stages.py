"""What each trigger writes into the stage records: one small recorder per trigger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from referral.models import (
    ChronologyEntry,
    Conference,
    ConferenceMeeting,
    CoreGroupMeeting,
    Investigation,
    Ird,
    IrdContribution,
    Jii,
    LeadProfessionalChange,
    Referral,
    ReferralShare,
    Registration,
    RegistrationConcern,
    Screening,
    Transfer,
)
from referral.services.referrals import Stages
from referral.services.trail import append_row
from workflow import Actor, Outcome
from workflow.fields import FieldType, parse_datetime
from workflow.registry import definition


def _dt(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


class Recording:
    """Everything a recorder needs, plus the agencies it finds recorded on the referral."""

    def __init__(
        self,
        session: Session,
        referral: Referral,
        stages: Stages,
        outcome: Outcome,
        actor: Actor,
        now: datetime,
    ) -> None:
        self.session = session
        self.referral = referral
        self.stages = stages
        self.outcome = outcome
        self.data: dict[str, Any] = outcome.data
        self.actor = actor
        self.now = now
        self.agencies: set[str] = set()

    def append(self, row: Any) -> None:
        """A stage record this write adds and does not read back (an IRD contribution, a
        chronology entry): written as the transaction commits (`trail.append_row`). A replay or
        the generator, recording into a stand-in for the session, keeps it there."""
        if isinstance(self.session, Session):
            append_row(self.session, row)
        else:
            self.session.add(row)

    def people(self, key: str) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.data.get(key) or []
        self.agencies.update(p["agency"] for p in listed)
        return listed

    @property
    def ird(self) -> Ird:
        assert self.stages.ird is not None, "an IRD exists in every state after concern"
        return self.stages.ird

    @property
    def investigation(self) -> Investigation:
        assert self.stages.investigation is not None
        return self.stages.investigation

    @property
    def conference(self) -> Conference:
        conference = self.stages.open_conference
        assert conference is not None
        return conference

    @property
    def registration(self) -> Registration:
        registration = self.stages.current_registration
        assert registration is not None
        return registration

    def coded(self, name: str) -> bool:
        """Whether the trigger's field `name` is a code from a vocabulary in this profile
        version (v1 took some of them as free text)."""
        trigger = definition(self.referral.profile, self.referral.profile_version).trigger(
            self.outcome.trigger
        )
        return any(f.name == name and f.type is FieldType.CHOICE for f in trigger.fields)

    def views(self, record: Any) -> None:
        record.childs_views = self.data.get("childs_views")
        record.childs_views_not_obtained_reason = self.data.get("childs_views_not_obtained_reason")


def convene_ird(r: Recording) -> None:
    ird = Ird(
        referral_id=r.referral.id,
        started_at=_dt(r.data["started_at"]),
        reason=r.data["reason"],
        out_of_hours=r.data["out_of_hours"],
        participants=r.people("participants"),
        convened_by=r.actor.username,
    )
    r.session.add(ird)
    r.stages.ird = ird


def add_ird_contribution(r: Recording) -> None:
    """Added beside the IRD when this write has not read it: an IRD's contributions are not
    loaded to add one (the stored document gains it on the end; audit verify rebuilds the list
    from the rows). A replay, which holds every record in memory, adds it to the IRD's list."""
    from referral.services.projection import add_contribution

    r.agencies.add(r.data["agency"])
    contribution = IrdContribution(
        referral_id=r.referral.id,
        agency=r.data["agency"],
        information_shared=r.data["information_shared"],
        checks_made=r.data.get("checks_made"),
        lawful_basis=r.data["lawful_basis"],
        recorded_by=r.actor.username,
        recorded_at=r.now,
    )
    if "ird" in r.stages.loaded_sections():
        r.ird.contributions.append(contribution)  # saved with the IRD, re-serialised with it
        return
    r.append(contribution)
    add_contribution(r.referral, contribution)


def happened(r: Recording, name: str) -> datetime:
    """When the data says it happened (v2), else when it was recorded (v1 had no such field)."""
    return _dt(r.data.get(name)) or r.now


def _ird_decision(r: Recording) -> Ird:
    ird = r.ird
    ird.decision = r.outcome.trigger
    ird.decided_at = happened(r, "decided_at")
    ird.decision_rationale = r.data["decision_rationale"]
    ird.agencies_agreed = r.data["agencies_agreed"]
    ird.named_person_informed = r.data.get("named_person_informed")
    r.views(ird)
    return ird


def close_no_further_action(r: Recording) -> None:
    _ird_decision(r).reasons_no_investigation = r.data["reasons_no_investigation"]


def refer_single_agency(r: Recording) -> None:
    ird = _ird_decision(r)
    ird.lead_agency = r.data["lead_agency"]
    ird.support_offered = r.data["support_offered"]
    r.agencies.add(r.data["lead_agency"])


def start_investigation(r: Recording) -> None:
    _ird_decision(r)
    investigation = Investigation(
        referral_id=r.referral.id,
        started_at=happened(r, "decided_at"),
        investigation_type=r.data["investigation_type"],
        decision_rationale=r.data["decision_rationale"],
        jii_required=r.data["jii_required"],
        medical_examination=r.data["medical_examination"],
        interim_safety_plan=r.data["interim_safety_plan"],
        lead_professional=r.data["lead_professional"],
        parents_informed=r.data["parents_informed"],
        parents_not_informed_reason=r.data.get("parents_not_informed_reason"),
        agencies_agreed=r.data["agencies_agreed"],
        extensions=0,
    )
    r.views(investigation)
    r.session.add(investigation)
    r.stages.investigation = investigation


def plan_jii(r: Recording) -> None:
    jii = Jii(
        referral_id=r.referral.id,
        status="planned",
        planned_for=_dt(r.data["planned_for"]),
        interviewers=r.data["interviewers"],
        aims=r.data["aims"],
        planned_by=r.actor.username,
    )
    r.stages.jiis.append(jii)
    r.session.add(jii)
    r.agencies.update({"police", "social_work"})


def record_jii(r: Recording) -> None:
    jii = r.stages.planned_jii
    assert jii is not None
    jii.status = "conducted"
    jii.conducted_at = _dt(r.data["conducted_at"])
    jii.outcome = r.data.get("outcome")  # v1: one outcome
    jii.outcomes = r.data.get("outcomes")  # v2: every outcome that applies
    jii.childs_views = r.data.get("childs_views")
    jii.recording_reference = r.data["recording_reference"]
    jii.salient_points = r.data["salient_points"]


def cancel_jii(r: Recording) -> None:
    jii = r.stages.planned_jii
    assert jii is not None
    jii.status = "cancelled"
    jii.cancel_reason = r.data["reason"]


def extend_timescale(r: Recording) -> None:
    r.investigation.extensions += 1


def decide_no_case_conference(r: Recording) -> None:
    investigation = r.investigation
    investigation.outcome = "no_case_conference"
    investigation.outcome_at = happened(r, "decided_at")
    investigation.outcome_rationale = r.data["decision_rationale"]
    investigation.support_plan = r.data["support_plan"]


def schedule_case_conference(r: Recording) -> None:
    conference = Conference(
        referral_id=r.referral.id,
        conference_type=r.data["conference_type"],
        scheduled_for=_dt(r.data["scheduled_for"]),
        scheduled_at=r.now,
        chair=r.data["chair"],
        invitees=r.people("invitees"),
        short_notice=bool(r.outcome.flags.get("short_notice")),
    )
    r.stages.conferences.append(conference)
    r.session.add(conference)


def record_inquorate(r: Recording) -> None:
    conference = r.conference
    conference.meetings.append(
        ConferenceMeeting(
            quorate=False,
            held_at=happened(r, "held_at"),
            absent_agencies=r.data["absent_agencies"],
            rescheduled_for=_dt(r.data["rescheduled_for"]),
        )
    )
    conference.scheduled_for = parse_datetime(r.data["rescheduled_for"])


def _decision_meeting(r: Recording, detail_field: str | None) -> Conference:
    conference = r.conference
    # a decision the quorum did not attend is taken only with the chair's reason (v2)
    inquorate_reason = r.data.get("inquorate_reason")
    meeting = ConferenceMeeting(
        quorate=inquorate_reason is None,
        inquorate_reason=inquorate_reason,
        held_at=_dt(r.data["held_at"]),
        attendees=r.people("attendees"),
        apologies=r.data.get("apologies"),
        parents_views=r.data.get("parents_views"),
        child_attended=r.data.get("child_attended"),
        views_given=r.data.get("views_given"),
        advocacy_offered=r.data.get("advocacy_offered"),
        parents_invited=r.data.get("parents_invited"),
        parents_attended=r.data.get("parents_attended"),
        decision=r.outcome.trigger,
        decision_rationale=r.data["decision_rationale"],
        dissent=r.data.get("dissent"),
        outcome_detail=r.data.get(detail_field) if detail_field else None,
    )
    r.views(meeting)
    conference.meetings.append(meeting)
    conference.decision = r.outcome.trigger
    conference.decided_at = meeting.held_at
    return conference


def register(r: Recording) -> None:
    conference = _decision_meeting(r, "plan_outline")
    registration = Registration(
        referral_id=r.referral.id,
        conference_id=conference.id,
        registered_at=_dt(r.data["held_at"]),
        pre_birth=conference.conference_type == "pre_birth",
        plan_outline=r.data["plan_outline"],
        plan=r.data.get("plan"),
        reporter_referral=r.data["reporter_referral"],
        lead_professional=r.data["lead_professional"],
        core_group=r.people("core_group"),
        parents_informed_in_writing_at=_dt(r.data.get("parents_informed_in_writing_at")),
        areas_of_concern=[RegistrationConcern(category=c) for c in r.data["areas_of_concern"]],
        core_group_meetings=[],
    )
    r.stages.registrations.append(registration)
    r.session.add(registration)


def not_register(r: Recording) -> None:
    _decision_meeting(r, "support_plan")


def continue_registration(r: Recording) -> None:
    _decision_meeting(r, "plan_outline")
    r.registration.plan_outline = r.data["plan_outline"]
    if "plan" in r.data:
        r.registration.plan = r.data["plan"]


def _end_registration(r: Recording, reason: str, at: datetime | None) -> None:
    registration = r.stages.current_registration
    if registration is not None:
        registration.ended_at = at or r.now
        registration.end_reason = reason


def deregister(r: Recording) -> None:
    _decision_meeting(r, "deregistration_reason")
    registration = r.stages.current_registration
    _end_registration(r, "deregistered", _dt(r.data["held_at"]))
    if registration is not None and r.coded("deregistration_reason"):
        registration.deregistration_reason = r.data["deregistration_reason"]
        registration.deregistration_note = r.data.get("note")


def record_core_group(r: Recording) -> None:
    r.registration.core_group_meetings.append(
        CoreGroupMeeting(
            held_at=_dt(r.data["held_at"]),
            attendees=r.people("attendees"),
            significant_change=r.data["significant_change"],
            notes=r.data["notes"],
            progress=r.data.get("progress"),
            childs_views=r.data.get("childs_views"),
            refer_to_chair_by=_date(r.outcome.flags.get("refer_to_chair_by")),
            recorded_by=r.actor.username,
        )
    )


def transfer_out(r: Recording) -> None:
    registration = r.registration
    _end_registration(r, "transferred_out", None)
    registration.receiving_area = r.data["receiving_area"]
    registration.moved_on = _date(r.data["moved_on"])


def close(r: Recording) -> None:
    _end_registration(r, r.data["closure_reason"], None)


# -- version 2 -------------------------------------------------------------------------------


def screen_out(r: Recording) -> None:
    screening = Screening(
        referral_id=r.referral.id,
        decided_at=happened(r, "decided_at"),
        decision_rationale=r.data["decision_rationale"],
        advice_or_support=r.data["advice_or_support"],
        named_person_informed=r.data["named_person_informed"],
        decided_by=r.actor.username,
    )
    r.session.add(screening)
    r.stages.screening = screening


def record_full_ird(r: Recording) -> None:
    ird = r.ird
    ird.full_ird_held_at = _dt(r.data["held_at"])
    ird.full_ird_participants = r.people("participants")
    ird.full_ird_summary = r.data["summary"]


def notify_transfer(r: Recording) -> None:
    area = r.data["receiving_area"]
    transfer = Transfer(
        referral_id=r.referral.id,
        receiving_area=area,
        moved_on=_date(r.data["moved_on"]),
        notified_at=_dt(r.data["notified_at"]),
        interim_safety_plan=r.data["interim_safety_plan"],
        notified_by=r.actor.username,
    )
    r.stages.transfers.append(transfer)
    r.session.add(transfer)
    if not any(share.area == area for share in r.stages.shares):
        share = ReferralShare(
            referral_id=r.referral.id, area=area, shared_at=r.now, reason="transfer"
        )
        r.stages.shares.append(share)
        r.session.add(share)


def transferred_out(r: Recording) -> None:
    registration = r.registration
    held_at = _dt(r.data["held_at"])
    _end_registration(r, "transferred_out", held_at)
    transfer = r.stages.open_transfer(r.data["receiving_referral"])
    if transfer is not None:
        registration.receiving_area = transfer.receiving_area
        registration.moved_on = transfer.moved_on
        transfer.outcome = "registered"
        transfer.decided_at = held_at


def change_lead_professional(r: Recording) -> None:
    lead = r.data["lead_professional"]
    r.append(
        LeadProfessionalChange(
            referral_id=r.referral.id,
            lead_professional=lead,
            changed_on=_date(r.data["changed_on"]),
            reason=r.data["reason"],
            recorded_by=r.actor.username,
            recorded_at=r.now,
        )
    )
    registration = r.stages.current_registration
    if registration is not None:
        registration.lead_professional = lead
    elif r.stages.investigation is not None:
        r.stages.investigation.lead_professional = lead


def add_chronology_entry(r: Recording) -> None:
    r.agencies.add(r.data["source_agency"])
    r.append(
        ChronologyEntry(
            referral_id=r.referral.id,
            occurred_on=_date(r.data["occurred_on"]),
            source_agency=r.data["source_agency"],
            what_happened=r.data["what_happened"],
            significance=r.data.get("significance"),
            action=r.data.get("action"),
            recorded_by=r.actor.username,
            recorded_agency=r.actor.agency,
            recorded_at=r.now,
        )
    )


RECORDERS: dict[str, Callable[[Recording], None]] = {
    f.__name__: f
    for f in (
        convene_ird,
        add_ird_contribution,
        close_no_further_action,
        refer_single_agency,
        start_investigation,
        plan_jii,
        record_jii,
        cancel_jii,
        extend_timescale,
        decide_no_case_conference,
        schedule_case_conference,
        record_inquorate,
        register,
        not_register,
        continue_registration,
        deregister,
        record_core_group,
        transfer_out,
        close,
        screen_out,
        record_full_ird,
        notify_transfer,
        transferred_out,
        change_lead_professional,
        add_chronology_entry,
    )
}
