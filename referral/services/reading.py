"""Reading referrals: the list with its filters and cursor, and one referral in full."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, lazyload

from referral.models import (
    Approval,
    Area,
    ChronologyEntry,
    Event,
    Referral,
    User,
)
from referral.schemas.common import decode_keyset, encode_keyset
from referral.services import search
from referral.services.pending import pending_approval
from referral.services.projection import stored_document
from referral.services.referrals import (
    child_json,
    child_match_json,
    concern_json,
    history_event,
    local_today,
    situation,
)
from referral.services.visibility import may_change, visible
from workflow import Actor
from workflow.calendar import calendar_for
from workflow.registry import definition as get_definition
from workflow.timescales import event_moment


def is_overdue(referral: Referral, today: date) -> bool:
    return referral.next_due is not None and referral.next_due < today


def list_item(referral: Referral, today: date) -> dict[str, Any]:
    return {
        "id": referral.id,
        "reference": referral.reference,
        "state": referral.state,
        "area": referral.area.slug,
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        "overdue": is_overdue(referral, today),
        "next_due": referral.next_due,
        "closure_reason": referral.closure_reason,
    }


def list_filters(query: Select[Any], args: dict[str, Any], today: date) -> Select[Any]:
    """The list's filters (state, area, overdue, updated_since; the page's text search)
    on a query of referrals: the list and the exports (referral.services.exports) share them."""
    if "state" in args:
        query = query.where(Referral.state == args["state"])
    if "area" in args:
        # the area's id as a value (an InitPlan), so the (area_id, updated_at, id) index serves
        area_id = select(Area.id).where(Area.slug == args["area"]).scalar_subquery()
        query = query.where(Referral.area_id == area_id)
    if args.get("overdue") is True:
        query = query.where(Referral.next_due < today)
    elif args.get("overdue") is False:
        query = query.where(or_(Referral.next_due.is_(None), Referral.next_due >= today))
    if "updated_since" in args:
        query = query.where(Referral.updated_at >= args["updated_since"])
    if args.get("q"):  # the web page's text search (not an API filter)
        query = query.where(search.matches(args["q"]))
    return query


def list_referrals(
    session: Session, user: User, args: dict[str, Any], today: date
) -> dict[str, Any]:
    """Visible referrals, oldest change first, with an opaque keyset cursor."""
    # a list item needs the area, not the child the detail view loads eagerly
    query = select(Referral).options(lazyload(Referral.child)).where(visible(user))
    query = list_filters(query, args, today)
    if "cursor" in args:
        after, after_id = decode_keyset(args["cursor"])
        query = query.where(
            or_(
                Referral.updated_at > after,
                and_(Referral.updated_at == after, Referral.id > after_id),
            )
        )
    limit = args.get("limit", 50)
    rows = list(session.scalars(query.order_by(Referral.updated_at, Referral.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_keyset(rows[-1].updated_at, rows[-1].id) if more and rows else None
    return {"items": [list_item(r, today) for r in rows], "next_cursor": next_cursor}


def approval_json(a: Approval) -> dict[str, Any]:
    return {
        "id": a.id,
        "referral_id": a.referral_id,
        "trigger": a.trigger,
        "data": a.data,
        "reason": a.reason,
        "requested_by": a.requested_by,
        "requested_at": a.requested_at,
        "status": a.status,
        "decided_by": a.decided_by,
        "decided_at": a.decided_at,
        "comment": a.comment,
        "approver": {"role": a.approver_role, "agency": a.approver_agency},
    }


#: events of the record itself, not of the child's life: left out of the chronology
NOT_IN_CHRONOLOGY = ("add_chronology_entry", "add_ird_contribution")


def chronology(session: Session, referral: Referral) -> list[dict[str, Any]]:
    """The child's chronology: entries agencies added, merged with the lifecycle's own
    significant events (the concern, IRD, decisions, interviews, conferences, core groups,
    transfers, lead professional changes, closure), in the order they happened."""
    d = get_definition(referral.profile, referral.profile_version)
    labels = {t.name: t.label for t in d.triggers}
    zone = calendar_for(d.holiday_country, d.holiday_subdivision, d.timezone).zone
    items: list[tuple[Any, ...]] = []
    for entry in session.scalars(
        select(ChronologyEntry).where(ChronologyEntry.referral_id == referral.id)
    ):
        items.append(
            (
                entry.occurred_on,
                None,
                entry.id,
                {
                    "on": entry.occurred_on,
                    "at": None,
                    "kind": "entry",
                    "source_agency": entry.source_agency,
                    "what_happened": entry.what_happened,
                    "significance": entry.significance,
                    "action": entry.action,
                    "recorded_by": entry.recorded_by,
                    "recorded_at": entry.recorded_at,
                },
            )
        )
    events = session.scalars(
        select(Event)
        .where(Event.referral_id == referral.id, Event.type.in_(("created", "transition")))
        .order_by(Event.seq)
    )
    time_of_day: time | None
    at: datetime | None
    for event in events:
        if event.trigger in NOT_IN_CHRONOLOGY:
            continue
        if event.type == "created":
            moment, what = referral.received_at, "Concern received: " + referral.concern_summary
        else:
            moment = event_moment(history_event(event))
            what = labels.get(event.trigger or "", event.trigger or event.type)
        local = moment.astimezone(zone)
        on, time_of_day, at = local.date(), local.timetz(), moment
        dated = event.data.get("changed_on") if event.type == "transition" else None
        if dated:  # a change dated by its day alone (a lead professional's) is on that day
            on, time_of_day, at = date.fromisoformat(dated), None, None
        items.append(
            (
                on,
                time_of_day,
                event.seq,
                {
                    "on": on,
                    "at": at,
                    "kind": "lifecycle",
                    "source_agency": event.agency,
                    "what_happened": what,
                    "significance": None,
                    "action": None,
                    "recorded_by": event.actor,
                    "recorded_at": event.at,
                },
            )
        )
    items.sort(key=lambda i: (i[0], i[1] is not None, i[1] or 0, i[2]))
    return [item[3] for item in items]


def related_referrals(session: Session, user: User, referral: Referral) -> list[dict[str, str]]:
    """Brothers' and sisters' referrals linked to this one that `user` may see."""
    if not referral.related_ids:
        return []
    rows = session.execute(
        select(Referral.id, Referral.reference)
        .where(Referral.id.in_(referral.related_ids), visible(user))
        .order_by(Referral.reference)
    )
    return [{"id": rid, "reference": ref} for rid, ref in rows]


def referral_detail(
    session: Session, user: User, referral: Referral, now: datetime
) -> dict[str, Any]:
    """One referral in full, as this user may act on it now."""
    current = situation(session, referral, now)
    statuses = current.statuses
    actor = Actor(user.username, user.agency, user.role)
    pending = pending_approval(session, referral)
    allowed = (
        []
        if user.role in ("auditor", "admin") or not may_change(user, referral)
        else current.engine.allowed_triggers(current.subject, actor)
    )
    if pending is not None:  # one approval at a time: another decision needing one waits
        definition = current.engine.definition
        allowed = [name for name in allowed if definition.trigger(name).approval is None]
    return {
        **list_item(referral, local_today(referral, now)),
        "version": referral.version,
        "profile": referral.profile,
        "profile_version": referral.profile_version,
        "closed_at": referral.closed_at,
        "created_by": referral.created_by,
        "referrer_agency": referral.referrer_agency,
        "child_match": child_match_json(referral),
        "child": child_json(referral.child),
        "concern": {**concern_json(referral), "received_at": referral.received_at},
        "named_person": referral.named_person,
        "related_referrals": related_referrals(session, user, referral),
        "transfer_from": referral.transfer_from,
        "allowed_triggers": allowed,
        "stages": stored_document(session, referral),
        # its fields as they are: asdict() would deep-copy every datetime on every read
        "timescales": [{f.name: getattr(s, f.name) for f in fields(s)} for s in statuses],
        "pending_approval": approval_json(pending) if pending else None,
    }
