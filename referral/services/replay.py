"""Replay a referral's events into transient rows and name every stored value that differs."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar, cast

from sqlalchemy import Integer, Row, Select, Table, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import KeyedColumnElement

from referral.models import (
    Approval,
    Child,
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
    ReferralAgency,
    ReferralLink,
    ReferralShare,
    Registration,
    RegistrationConcern,
    Screening,
    Transfer,
)
from referral.services.pending import stale_comment
from referral.services.projection import document
from referral.services.referrals import (
    CHILD_COLUMNS,
    CONCERN_COLUMNS,
    Stages,
    clocks_from_events,
    keep_clocks,
    name_key,
    record_agencies,
)
from referral.services.stages import RECORDERS, Recording
from workflow import Actor, Definition, Outcome
from workflow.fields import parse_datetime
from workflow.registry import definition

#: (where: "table" or "table.column", what is wrong)
Difference = tuple[str, str]
T = TypeVar("T")

#: columns of the referral row the events determine (the chain's tip is checked with the chain)
REFERRAL_COLUMNS = (
    "state",
    "closure_reason",
    "closed_at",
    "received_at",
    "concern_source",
    "concern_summary",
    "concern_categories",
    "immediate_risk",
    "child_spoken_to",
    "created_by",
    "created_at",
    "referrer_agency",
    "updated_at",
    "next_due",
    "clocks",
    "childs_views",
    "named_person",
    "transfer_from",
    "pending_approval_id",
    "related_ids",
)
#: stage and approval columns no event determines, so the replay cannot check them
NOT_REPLAYED: dict[type[Any], frozenset[str]] = {
    # the referral's optimistic-lock counter when the approval was asked for
    Approval: frozenset({"referral_version"}),
}
#: fields the services add beside a trigger's own data in a transition event
EVENT_ONLY_FIELDS = ("_flags", "_approval")


class ReplayError(Exception):
    """The events cannot be replayed (altered, missing, or a kind this build does not know)."""


class _AddedRows:
    """Stands in for the session in a `Recording`: keeps what a recorder adds, writes nothing."""

    def __init__(self) -> None:
        self.rows: list[object] = []

    def add(self, row: object) -> None:
        self.rows.append(row)

    def of(self, model: type[T]) -> list[T]:
        return [r for r in self.rows if isinstance(r, model)]


@dataclass
class Replay:
    """One referral rebuilt from its events, in transient rows that never meet a session."""

    referral: Referral
    definition: Definition
    stages: Stages = field(default_factory=Stages)
    added: _AddedRows = field(default_factory=_AddedRows)
    approvals: dict[str, Approval] = field(default_factory=dict)
    area: str | None = None
    events: list[Row[Any]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def start(cls, stored: Row[Any]) -> Replay:
        referral = Referral(
            id=stored.id,
            profile=stored.profile,
            profile_version=stored.profile_version,
            child=Child(),
            last_event_seq=0,
            last_event_hash="",
        )
        return cls(referral, definition(stored.profile, stored.profile_version))

    @property
    def child(self) -> Child:
        return self.referral.child

    def finish(self) -> None:
        """What the writes keep on the referral's row besides: clocks, document, links."""
        keep_clocks(self.referral, self.stages, clocks_from_events(self.definition, self.events))
        # as the database hands the stored document back: JSON, not Python values
        self.referral.stages_doc = json.loads(json.dumps(document(self.stages)))
        self.referral.related_ids = sorted({related for _, related in self.links})
        pending = [a.id for a in self.approvals.values() if a.status == "pending"]
        self.referral.pending_approval_id = pending[-1] if pending else None


# -- one handler per event type --------------------------------------------------------------


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _concern_value(name: str, value: Any) -> Any:
    if name == "received_at":
        return parse_datetime(value)
    if name == "categories":
        return list(value or [])
    return value


def replay_child(replay: Replay, created: dict[str, Any]) -> None:
    """The referral's record of the child, and how it matched one known, as first recorded."""
    child = replay.child
    for name, column in CHILD_COLUMNS.items():
        value = created["child"].get(name)
        if name in ("date_of_birth", "expected_date_of_delivery"):
            value = _date(value)
        setattr(child, column, value)
    child.name_key = name_key(child.given_name, child.family_name)
    match = created.get("child_match")
    replay.referral.child_match = match["kind"] if match else "new"
    replay.referral.child_match_areas = list(match["areas"]) if match else []


def replay_child_changes(replay: Replay, changes: dict[str, dict[str, Any]]) -> None:
    """Corrections to the child, as `correct_referral` applies them (see `replay_child`)."""
    child = replay.child
    for name, change in changes.items():
        value = change["new"]
        if name in ("date_of_birth", "expected_date_of_delivery"):
            value = _date(value)
        elif name in ("given_name", "family_name"):
            value = value.strip()
        else:
            value = value or None
        setattr(child, CHILD_COLUMNS[name], value)
    child.name_key = name_key(child.given_name, child.family_name)


def _at_event(replay: Replay, event: Row[Any]) -> None:
    # what append_event does to the referral row for every event
    replay.referral.last_event_seq = event.seq
    replay.referral.last_event_hash = event.hash
    replay.referral.updated_at = event.at


def on_created(replay: Replay, event: Row[Any]) -> None:
    data = event.data
    referral = replay.referral
    referral.state = event.to_state
    referral.created_by = event.actor
    referral.referrer_agency = event.agency
    referral.created_at = event.at
    replay.area = data["area"]
    for name, column in CONCERN_COLUMNS.items():
        setattr(referral, column, _concern_value(name, data["concern"][name]))
    replay_child(replay, data)
    replay.child.created_at = event.at
    referral.childs_views = data["concern"].get("childs_views")
    referral.named_person = data.get("named_person")
    referral.transfer_from = data.get("transfer_from")
    for related in data.get("related_referrals") or ():
        replay.links.append((referral.id, related))
    record_agencies(referral, {event.agency})


def _concern_changes(replay: Replay, changes: dict[str, dict[str, Any]]) -> None:
    for name, change in changes.items():
        setattr(replay.referral, CONCERN_COLUMNS[name], _concern_value(name, change["new"]))


def on_corrected(replay: Replay, event: Row[Any]) -> None:
    """A correction of the concern and the child together, old and new value per field."""
    _concern_changes(replay, event.data.get("concern") or {})
    replay_child_changes(replay, event.data.get("child") or {})


def on_concern_corrected(replay: Replay, event: Row[Any]) -> None:
    _concern_changes(replay, event.data["changes"])


def on_child_corrected(replay: Replay, event: Row[Any]) -> None:
    replay_child_changes(replay, event.data["changes"])


def on_sibling_linked(replay: Replay, event: Row[Any]) -> None:
    replay.links.append((replay.referral.id, event.data["related_referral"]))


def on_transfer_received(replay: Replay, event: Row[Any]) -> None:
    transfer = replay.stages.open_transfer()
    if transfer is None:
        raise ReplayError("no transfer was notified")
    transfer.receiving_referral_id = event.data["receiving_referral"]


def on_transfer_decided(replay: Replay, event: Row[Any]) -> None:
    transfer = replay.stages.open_transfer(event.data["receiving_referral"])
    if transfer is not None:
        registered = event.data["decision"] == "register"
        transfer.outcome = "registered" if registered else "not_registered"
        transfer.decided_at = parse_datetime(str(event.data["held_at"]))


def on_transition(replay: Replay, event: Row[Any]) -> None:
    """Re-run the very recorder the services ran, on transient rows."""
    referral = replay.referral
    if event.from_state != referral.state:
        raise ReplayError(f"it leaves {event.from_state}, but the replay is in {referral.state}")
    trigger = replay.definition.trigger(event.trigger)
    data = {k: v for k, v in event.data.items() if k not in EVENT_ONLY_FIELDS}
    closure = trigger.closure_reason
    if trigger.closure_reason_field:
        closure = data[trigger.closure_reason_field]
    flags = dict(event.data.get("_flags") or {})
    outcome = Outcome(event.trigger, event.from_state, event.to_state, data, closure, flags)
    actor = Actor(event.actor, event.agency, event.role)
    recording = Recording(
        cast(Session, replay.added), referral, replay.stages, outcome, actor, event.at
    )
    RECORDERS[event.trigger](recording)
    record_agencies(referral, recording.agencies)
    referral.state = outcome.to_state
    if outcome.to_state == "closed":
        referral.closure_reason = outcome.closure_reason
        referral.closed_at = event.at


def on_approval_requested(replay: Replay, event: Row[Any]) -> None:
    data = event.data
    rule = replay.definition.trigger(data["trigger"]).approval
    if rule is None:
        raise ReplayError(f"{data['trigger']} needs no approval")
    replay.approvals[data["approval_id"]] = Approval(
        id=data["approval_id"],
        referral_id=replay.referral.id,
        trigger=data["trigger"],
        data=data["data"],
        reason=event.reason,
        requested_by=event.actor,
        requested_agency=event.agency,
        requested_role=event.role,
        requested_at=event.at,
        approver_role=rule.role,
        approver_agency=rule.agency,
        status="pending",
    )


def _decided(status: str) -> Callable[[Replay, Row[Any]], None]:
    def on_decision(replay: Replay, event: Row[Any]) -> None:
        approval = replay.approvals[event.data["approval_id"]]
        approval.status = status
        approval.decided_by = event.actor
        approval.decided_at = event.at
        approval.comment = event.data["comment"]

    on_decision.__name__ = f"on_approval_{status}"
    return on_decision


def on_approval_stale(replay: Replay, event: Row[Any]) -> None:
    approval = replay.approvals[event.data["approval_id"]]
    approval.status = "stale"
    approval.decided_at = event.at
    approval.comment = stale_comment(event.data["because"])


#: how each type of event changes the referral; add one handler per new event type
EVENT_HANDLERS: dict[str, Callable[[Replay, Row[Any]], None]] = {
    "created": on_created,
    "corrected": on_corrected,
    "concern_corrected": on_concern_corrected,
    "child_corrected": on_child_corrected,
    "sibling_linked": on_sibling_linked,
    "transfer_received": on_transfer_received,
    "transfer_decided": on_transfer_decided,
    "transition": on_transition,
    "approval_requested": on_approval_requested,
    "approval_approved": _decided("approved"),
    "approval_rejected": _decided("rejected"),
    "approval_stale": on_approval_stale,
}


def replay(stored: Row[Any], events: Sequence[Row[Any]]) -> Replay:
    """Rebuild one referral's rows from its events (oldest first)."""
    try:
        rebuilt = Replay.start(stored)
    except LookupError as exc:
        raise ReplayError(f"its workflow cannot be found: {exc}") from exc
    for event in events:
        handler = EVENT_HANDLERS.get(event.type)
        if handler is None:
            raise ReplayError(f"event {event.seq}: no replay for events of type {event.type!r}")
        rebuilt.events.append(event)
        try:
            handler(rebuilt, event)
            _at_event(rebuilt, event)
        except ReplayError as exc:
            raise ReplayError(f"event {event.seq} ({event.type}): {exc}") from exc
        except Exception as exc:  # anything a recorder trips on means the history is not whole
            raise ReplayError(
                f"event {event.seq} ({event.type} {event.trigger or ''}) cannot be replayed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    rebuilt.finish()
    return rebuilt


# -- the stored rows of a batch of referrals -------------------------------------------------


@dataclass
class StoredRows:
    """The stored rows of a batch of referrals, grouped under the row each belongs to."""

    groups: dict[type[Any], dict[Any, list[Row[Any]]]]

    def of(self, model: type[Any], parent: Any) -> list[Row[Any]]:
        return self.groups[model].get(parent, [])

    @classmethod
    def load(cls, session: Session, referral_ids: list[str]) -> StoredRows:
        """A fixed number of queries per batch, whatever its size."""
        groups: dict[type[Any], dict[Any, list[Row[Any]]]] = {}

        def load(model: type[Any], query: Select[Any], parent: str, *order: Any) -> None:
            grouped: dict[Any, list[Row[Any]]] = defaultdict(list)
            for row in session.execute(query.order_by(*order)):
                grouped[row._mapping[parent]].append(row)
            groups[model] = grouped

        def table(model: type[Any]) -> Table:
            return cast(Table, model.__table__)

        by_referral: tuple[type[Any], ...] = (
            Ird,
            IrdContribution,
            Investigation,
            Jii,
            Conference,
            Registration,
            Screening,
            Transfer,
            ChronologyEntry,
            LeadProfessionalChange,
        )
        for model in by_referral:
            t = table(model)
            query = select(t).where(t.c.referral_id.in_(referral_ids))
            load(model, query, "referral_id", *t.primary_key.columns)
        children, referrals = table(Child), table(Referral)
        load(
            Child,
            select(children).where(
                children.c.id.in_(
                    select(referrals.c.child_id).where(referrals.c.id.in_(referral_ids))
                )
            ),
            "id",
            children.c.id,
        )
        shares, links = table(ReferralShare), table(ReferralLink)
        load(
            ReferralShare,
            select(shares).where(shares.c.referral_id.in_(referral_ids)),
            "referral_id",
            shares.c.area,
        )
        load(
            ReferralLink,
            select(links).where(links.c.referral_id.in_(referral_ids)),
            "referral_id",
            links.c.related_id,
        )
        approvals, agencies = table(Approval), table(ReferralAgency)
        load(
            Approval,
            select(approvals).where(approvals.c.referral_id.in_(referral_ids)),
            "referral_id",
            approvals.c.id,
        )
        load(
            ReferralAgency,
            select(agencies).where(agencies.c.referral_id.in_(referral_ids)),
            "referral_id",
            agencies.c.agency,
        )
        conferences, registrations = table(Conference), table(Registration)
        meetings = table(ConferenceMeeting)
        load(
            ConferenceMeeting,
            select(meetings)
            .join(conferences, conferences.c.id == meetings.c.conference_id)
            .where(conferences.c.referral_id.in_(referral_ids)),
            "conference_id",
            meetings.c.id,
        )
        by_registration: tuple[tuple[type[Any], str], ...] = (
            (CoreGroupMeeting, "id"),
            (RegistrationConcern, "category"),
        )
        for child_model, order in by_registration:
            t = table(child_model)
            load(
                child_model,
                select(t)
                .join(registrations, registrations.c.id == t.c.registration_id)
                .where(registrations.c.referral_id.in_(referral_ids)),
                "registration_id",
                t.c[order],
            )
        return cls(groups)


# -- comparing ---------------------------------------------------------------------------------


_COMPARED: dict[type[Any], tuple[tuple[str, KeyedColumnElement[Any]], ...]] = {}


def compared_columns(model: type[Any]) -> tuple[tuple[str, KeyedColumnElement[Any]], ...]:
    """The columns a replay rebuilds: all but surrogate keys and foreign keys (ids differ)."""
    if model not in _COMPARED:
        skipped = NOT_REPLAYED.get(model, frozenset())
        _COMPARED[model] = tuple(
            (key, column)
            for key, column in inspect(model).columns.items()
            # surrogate integer ids differ in a replay; referral ids and area slugs do not
            if not (column.foreign_keys and isinstance(column.type, Integer))
            and not (column.primary_key and isinstance(column.type, Integer))
            and key not in skipped
        )
    return _COMPARED[model]


def _same(expected: Any, stored: Any) -> bool:
    # aware datetimes compare as instants, whatever offset each was written with
    return bool(expected == stored)


def diff_rows(
    model: type[Any], expected: Sequence[Any], stored: Sequence[Row[Any]], label: str = ""
) -> Iterator[Difference]:
    """Rows compared in order, column by column; a missing or extra row is named too."""
    table = model.__tablename__
    if len(expected) != len(stored):
        yield (
            table,
            f"the events record {len(expected)} row(s){label}, the table holds {len(stored)}",
        )
    for n, (want, have) in enumerate(zip(expected, stored, strict=False), 1):
        for key, column in compared_columns(model):
            if not _same(getattr(want, key), have._mapping[column]):
                yield (
                    f"{table}.{column.name}",
                    f"row {n}{label} differs from what the events recorded",
                )


def compare_child(replay: Replay, referral: Row[Any], stored: StoredRows) -> Iterator[Difference]:
    """The referral's record of the child, and how it was matched, against its events."""
    yield from diff_rows(Child, [replay.child], stored.of(Child, referral.child_id))
    for column in ("child_match", "child_match_areas"):
        if not _same(getattr(replay.referral, column), getattr(referral, column)):
            yield f"referrals.{column}", "differs from what the events recorded"


def _compare_referral(
    replay: Replay, stored: Row[Any], areas: dict[int, str]
) -> Iterator[Difference]:
    for column in REFERRAL_COLUMNS:
        if not _same(getattr(replay.referral, column), getattr(stored, column)):
            yield f"referrals.{column}", "differs from what the events recorded"
    # finish() has set the rebuilt document
    yield from _compare_document(
        cast(dict[str, Any], replay.referral.stages_doc), stored.stages_doc
    )
    if areas.get(stored.area_id) != replay.area:
        yield "referrals.area_id", "is not the area the referral was recorded in"


def _compare_document(expected: dict[str, Any], held: Any) -> Iterator[Difference]:
    """The read document against its rebuild, named down to the field that differs."""
    if not isinstance(held, dict):
        yield "referrals.stages_doc", "is missing or not a document"
        return
    for section, want in expected.items():
        have = held.get(section)
        if want == have:
            continue
        where = f"referrals.stages_doc.{section}"
        if isinstance(want, dict) and isinstance(have, dict):
            keys = sorted(k for k in {*want, *have} if want.get(k) != have.get(k))
            where += f" ({', '.join(keys)})"
        elif isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
            rows = [
                f"{n}: {', '.join(sorted(k for k in {*w, *h} if w.get(k) != h.get(k)))}"
                for n, (w, h) in enumerate(zip(want, have, strict=True), 1)
                if w != h and isinstance(w, dict) and isinstance(h, dict)
            ]
            where += f" (row {'; row '.join(rows)})" if rows else ""
        yield where, "differs from the stage records the events rebuild"
    for section in sorted(set(held) - set(expected)):
        yield f"referrals.stages_doc.{section}", "is not a section of the document"


def _compare_stages(replay: Replay, stored: StoredRows) -> Iterator[Difference]:
    rid, stages = replay.referral.id, replay.stages
    yield from diff_rows(Ird, [stages.ird] if stages.ird else [], stored.of(Ird, rid))
    yield from diff_rows(
        IrdContribution,
        stages.ird.contributions if stages.ird else [],
        stored.of(IrdContribution, rid),
    )
    yield from diff_rows(
        Investigation,
        [stages.investigation] if stages.investigation else [],
        stored.of(Investigation, rid),
    )
    yield from diff_rows(Jii, stages.jiis, stored.of(Jii, rid))
    conferences = stored.of(Conference, rid)
    yield from diff_rows(Conference, stages.conferences, conferences)
    for n, (conference, row) in enumerate(zip(stages.conferences, conferences, strict=False), 1):
        yield from diff_rows(
            ConferenceMeeting,
            conference.meetings,
            stored.of(ConferenceMeeting, row.id),
            f" of conference {n}",
        )
    registrations = stored.of(Registration, rid)
    yield from diff_rows(Registration, stages.registrations, registrations)
    for n, (registration, row) in enumerate(
        zip(stages.registrations, registrations, strict=False), 1
    ):
        yield from diff_rows(
            RegistrationConcern,
            sorted(registration.areas_of_concern, key=lambda c: c.category),
            stored.of(RegistrationConcern, row.id),
            f" of registration {n}",
        )
        yield from diff_rows(
            CoreGroupMeeting,
            registration.core_group_meetings,
            stored.of(CoreGroupMeeting, row.id),
            f" of registration {n}",
        )


def _compare_v2_records(replay: Replay, stored: StoredRows) -> Iterator[Difference]:
    rid, added = replay.referral.id, replay.added
    yield from diff_rows(Screening, added.of(Screening), stored.of(Screening, rid))
    yield from diff_rows(Transfer, replay.stages.transfers, stored.of(Transfer, rid))
    yield from diff_rows(ReferralShare, replay.stages.shares, stored.of(ReferralShare, rid))
    yield from diff_rows(
        ChronologyEntry, added.of(ChronologyEntry), stored.of(ChronologyEntry, rid)
    )
    yield from diff_rows(
        LeadProfessionalChange,
        added.of(LeadProfessionalChange),
        stored.of(LeadProfessionalChange, rid),
    )
    expected = sorted(related for _, related in replay.links)
    held = sorted(row.related_id for row in stored.of(ReferralLink, rid))
    if expected != held:
        yield "referral_links", "the events and the table list different related referrals"


def _compare_approvals(replay: Replay, stored: StoredRows) -> Iterator[Difference]:
    rows = {row.id: row for row in stored.of(Approval, replay.referral.id)}
    for approval_id, approval in replay.approvals.items():
        row = rows.pop(approval_id, None)
        if row is None:
            yield "approvals", f"approval {approval_id} is missing"
        else:
            yield from diff_rows(Approval, [approval], [row], f" (approval {approval_id})")
    for approval_id in rows:
        yield "approvals", f"approval {approval_id} is not in the events"


def _compare_agencies(replay: Replay, stored: StoredRows) -> Iterator[Difference]:
    expected = sorted(a.agency for a in replay.referral.agencies)
    held = sorted(row.agency for row in stored.of(ReferralAgency, replay.referral.id))
    if expected != held:
        yield (
            "referral_agencies.agency",
            f"the events record {', '.join(expected)}; the table holds {', '.join(held)}",
        )


def replay_problems(
    stored: Row[Any], events: Sequence[Row[Any]], rows: StoredRows, areas: dict[int, str]
) -> list[Difference]:
    """Everything about one referral's stored rows that its events do not bear out."""
    try:
        rebuilt = replay(stored, events)
    except ReplayError as exc:
        return [("events", str(exc))]
    return [
        *_compare_referral(rebuilt, stored, areas),
        *_compare_stages(rebuilt, rows),
        *_compare_approvals(rebuilt, rows),
        *_compare_agencies(rebuilt, rows),
        *_compare_v2_records(rebuilt, rows),
        *compare_child(rebuilt, stored, rows),
    ]
