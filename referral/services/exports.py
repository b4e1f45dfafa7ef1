"""Exports of the referrals a user can see (SPEC section 8): CSV or NDJSON, one row a referral.

The rows are read with the list's filters (referral.services.reading.list_filters) in the
list's order, a chunk at a time (a server-side cursor on PostgreSQL), and written out chunk by
chunk: memory stays flat whatever the number of referrals. Every column comes from the
referral's own row, its child's record and its stored read document (`stages_doc`, `clocks`):
nothing is rebuilt from the events.

The export is written to the access log before any row leaves: one entry per referral it
selects (what = "export (csv)" or "export (ndjson)"), in one INSERT ... SELECT with the same
filters, committed first. If that fails, nothing is exported.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, insert, literal, select
from sqlalchemy.orm import Session

from referral.models import AccessLogEntry, Area, Child, Referral, User
from referral.services.projection import document
from referral.services.reading import list_filters
from referral.services.referrals import load_stages
from referral.services.visibility import visible
from workflow.registry import definition as get_definition
from workflow.registry import profiles, versions
from workflow.timescales import Clocks, statuses

FORMATS = ("csv", "ndjson")
#: rows read from the database and written out at a time
CHUNK = 200
#: a CSV cell starting with one of these could be run as a formula by a spreadsheet
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: every timescale rule of every registered profile version, in definition order
TIMESCALE_RULES: tuple[str, ...] = tuple(
    dict.fromkeys(
        rule.name
        for profile in profiles()
        for version in versions(profile)
        for rule in get_definition(profile, version).timescales
    )
)

#: the columns, in order, and what each holds (docs/api.md lists them)
COLUMNS: dict[str, str] = {
    "id": "the referral's id",
    "reference": "its human reference",
    "area": "its area's slug",
    "state": "its state now",
    "closure_reason": "why it closed (closed referrals)",
    "child_given_name": "the child's given name, as this referral records it",
    "child_family_name": "the child's family name",
    "concern_received_at": "when the concern was received",
    "concern_source": "who raised it",
    "concern_summary": "the concern's summary",
    "immediate_risk": "whether the child was at immediate risk",
    "created_at": "when the referral was recorded",
    "updated_at": "its last change",
    "closed_at": "when it closed",
    "ird_started_at": "when the IRD was convened",
    "ird_decision": "the IRD's decision",
    "ird_decided_at": "when the IRD decided",
    "screened_out_at": "when the concern was screened out (profile v2)",
    "investigation_started_at": "when the investigation started",
    "investigation_outcome": "the investigation's outcome",
    "investigation_outcome_at": "when that outcome was decided",
    "conference_type": "the latest conference's type",
    "conference_decision": "the latest conference's decision",
    "conference_decided_at": "when it decided",
    "registered_at": "the latest registration on the child protection register",
    "deregistered_at": "when that registration ended",
    "deregistration_reason": "why it ended",
    "next_due": "the earliest due date of an unmet timescale",
    **{
        f"timescale_{rule}": f"the {rule} timescale's status (its latest clock)"
        for rule in TIMESCALE_RULES
    },
}


def _query(user: User, args: dict[str, Any], today: date) -> Select[Any]:
    return list_filters(select(Referral.id).where(visible(user)), args, today)


def log_export(
    session: Session,
    user: User,
    via: str,
    token_prefix: str | None,
    args: dict[str, Any],
    today: date,
    now: datetime,
    remote_addr: str | None,
    user_agent: str | None,
) -> int:
    """One access-log entry per referral the export selects, in one statement."""
    chosen = _query(user, args, today).subquery()
    values = {
        "referral_id": chosen.c.id,
        "username": literal(user.username),
        "agency": literal(user.agency),
        "role": literal(user.role),
        "via": literal(via),
        "token_prefix": literal(token_prefix, AccessLogEntry.token_prefix.type),
        "at": literal(now, AccessLogEntry.at.type),
        "what": literal(f"export ({args['format']})"),
        "remote_addr": literal(remote_addr, AccessLogEntry.remote_addr.type),
        "user_agent": literal((user_agent or "")[:300] or None, AccessLogEntry.user_agent.type),
    }
    statement = insert(AccessLogEntry).from_select(
        list(values), select(*[v.label(k) for k, v in values.items()])
    )
    return session.connection().execute(statement).rowcount


def _last(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return items[-1] if items else {}


def _row(session: Session, r: Any, now: datetime) -> dict[str, Any]:
    doc = r.stages_doc if r.stages_doc is not None else document(load_stages(session, r.id))
    ird = doc.get("ird") or {}
    screening = doc.get("screening") or {}
    investigation = doc.get("investigation") or {}
    conference = _last(doc.get("conferences"))
    registration = _last(doc.get("registrations"))
    clocks = statuses(get_definition(r.profile, r.profile_version), Clocks.from_json(r.clocks), now)
    timescale = {s.rule: s.status for s in clocks}  # the latest clock of each rule
    return {
        "id": r.id,
        "reference": r.reference,
        "area": r.area,
        "state": r.state,
        "closure_reason": r.closure_reason,
        "child_given_name": r.given_name,
        "child_family_name": r.family_name,
        "concern_received_at": r.received_at,
        "concern_source": r.concern_source,
        "concern_summary": r.concern_summary,
        "immediate_risk": r.immediate_risk,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "closed_at": r.closed_at,
        "ird_started_at": ird.get("started_at"),
        "ird_decision": ird.get("decision"),
        "ird_decided_at": ird.get("decided_at"),
        "screened_out_at": screening.get("decided_at"),
        "investigation_started_at": investigation.get("started_at"),
        "investigation_outcome": investigation.get("outcome"),
        "investigation_outcome_at": investigation.get("outcome_at"),
        "conference_type": conference.get("conference_type"),
        "conference_decision": conference.get("decision"),
        "conference_decided_at": conference.get("decided_at"),
        "registered_at": registration.get("registered_at"),
        "deregistered_at": registration.get("ended_at"),
        "deregistration_reason": registration.get("deregistration_reason")
        or registration.get("end_reason"),
        "next_due": r.next_due,
        **{f"timescale_{rule}": timescale.get(rule) for rule in TIMESCALE_RULES},
    }


def rows(
    session: Session, user: User, args: dict[str, Any], today: date, now: datetime
) -> Iterator[list[dict[str, Any]]]:
    """The export's rows, a chunk at a time, in the list's order."""
    selected: list[Any] = [
        Referral.id,
        Referral.reference,
        Area.slug.label("area"),
        Referral.state,
        Referral.closure_reason,
        Child.given_name,
        Child.family_name,
        Referral.received_at,
        Referral.concern_source,
        Referral.concern_summary,
        Referral.immediate_risk,
        Referral.created_at,
        Referral.updated_at,
        Referral.closed_at,
        Referral.next_due,
        Referral.profile,
        Referral.profile_version,
        Referral.clocks,
        Referral.stages_doc,
    ]
    columns = (
        select(*selected)
        .join(Area, Area.id == Referral.area_id)
        .join(Child, Child.id == Referral.child_id)
        .where(visible(user))
    )
    query = list_filters(columns, args, today).order_by(Referral.updated_at, Referral.id)
    result = session.execute(query, execution_options={"yield_per": CHUNK})
    try:
        for chunk in result.partitions():
            yield [_row(session, r, now) for r in chunk]
    finally:
        result.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def safe_cell(value: Any) -> str:
    """The cell as text; one a spreadsheet would run as a formula gets a leading `'`."""
    text = _text(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(chunks: Iterator[list[dict[str, Any]]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(COLUMNS))
    for chunk in chunks:
        writer.writerows([safe_cell(row[c]) for c in COLUMNS] for row in chunk)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def ndjson_chunks(chunks: Iterator[list[dict[str, Any]]]) -> Iterator[bytes]:
    for chunk in chunks:
        yield "".join(
            json.dumps(row, default=_json_default, ensure_ascii=False) + "\n" for row in chunk
        ).encode()
