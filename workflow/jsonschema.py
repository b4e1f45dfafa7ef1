"""JSON Schema for each trigger's data and each record, generated from the same field specs.

What the schema accepts, the API accepts, apart from what JSON Schema cannot say (whether a
username or an area exists, a CHI number's check digit, rules between the data and the record
as it stands); those are in the descriptions. Dates carry a `pattern` for their plausible range
as judged on a given day, so the document is finished per day (`today`).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from workflow.calendar import add_months
from workflow.definition import CrossFieldRule, Definition, RecordForm, Trigger
from workflow.fields import (
    REFERRAL_ID_PATTERN,
    SHORT_TEXT,
    SLUG_PATTERN,
    USERNAME_PATTERN,
    Field,
    FieldType,
)

#: White space as `str.isspace` sees it, as regex escapes every engine reads alike.
WHITE_SPACE_ESCAPED = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: Text that can be stored and is not blank: no NUL, one character that is not white space.
#: (Unpaired surrogates are refused too; no JSON encoder that means well produces them.)
TEXT_PATTERN = rf"^[^\x00]*[^\x00{WHITE_SPACE_ESCAPED}][^\x00]*$"
STORABLE_PATTERN = r"^[^\x00]*$"
TIME_PATTERN = r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-3]):[0-5]\d)"
#: Days the documented range stays inside the accepted one, for offsets and the turn of a day.
MARGIN = timedelta(days=1)


# -- dates as patterns -----------------------------------------------------------------------


def number_range(lo: int, hi: int, width: int) -> str:
    """A regex for the zero-padded `width`-digit numbers from `lo` to `hi` inclusive."""
    if lo > hi:
        raise ValueError(f"empty range {lo}..{hi}")
    a, b = f"{lo:0{width}d}", f"{hi:0{width}d}"
    if width == 1:
        return a if lo == hi else f"[{a}-{b}]"
    if a == b:
        return a
    rest = width - 1
    top = 10**rest - 1
    head_a, tail_a = int(a[0]), int(a[1:])
    head_b, tail_b = int(b[0]), int(b[1:])
    if head_a == head_b:
        return f"{head_a}(?:{number_range(tail_a, tail_b, rest)})"
    parts = []
    if tail_a == 0 and (head_b > head_a + 1 or tail_b == top):
        first_full = head_a
    else:
        parts.append(f"{head_a}(?:{number_range(tail_a, top, rest)})")
        first_full = head_a + 1
    last_full = head_b if tail_b == top else head_b - 1
    if first_full <= last_full:
        digit = str(first_full) if first_full == last_full else f"[{first_full}-{last_full}]"
        parts.append(f"{digit}\\d{{{rest}}}")
    if tail_b != top:
        parts.append(f"{head_b}(?:{number_range(0, tail_b, rest)})")
    return "|".join(parts)


def _month_days(year: int, month: int, first: int, last: int) -> str:
    return f"{year:04d}-{month:02d}-(?:{number_range(first, last, 2)})"


def _within_year(year: int, start: date, end: date) -> list[str]:
    parts = []
    if start.month == end.month:
        return [_month_days(year, start.month, start.day, end.day)]
    parts.append(
        _month_days(year, start.month, start.day, calendar.monthrange(year, start.month)[1])
    )
    for month in range(start.month + 1, end.month):
        parts.append(_month_days(year, month, 1, calendar.monthrange(year, month)[1]))
    parts.append(_month_days(year, end.month, 1, end.day))
    return parts


DAYS = {31: r"(?:0[1-9]|[12]\d|3[01])", 30: r"(?:0[1-9]|[12]\d|30)", 28: r"(?:0[1-9]|1\d|2[0-8])"}


def _months(year_re: str, months: range) -> list[str]:
    """Every day of `months` (1-12) in the years `year_re`, but 29 February (leap years vary)."""
    by_length: dict[int, list[str]] = {31: [], 30: [], 28: []}
    for month in months:
        by_length[min(calendar.monthrange(2001, month)[1], 31)].append(f"{month:02d}")
    return [
        f"{year_re}-(?:{'|'.join(names)})-{DAYS[length]}"
        for length, names in by_length.items()
        if names
    ]


def month_range_pattern(start: date, end: date) -> str:
    """A regex for the whole months from `start`'s to `end`'s inclusive (days ignored)."""
    if start.year == end.year:
        return "|".join(_months(f"{start.year:04d}", range(start.month, end.month + 1)))
    parts = _months(f"{start.year:04d}", range(start.month, 13))
    if start.year + 1 <= end.year - 1:
        years = f"(?:{number_range(start.year + 1, end.year - 1, 4)})"
        parts.extend(_months(years, range(1, 13)))
    parts.extend(_months(f"{end.year:04d}", range(1, end.month + 1)))
    return "|".join(parts)


def date_range_pattern(start: date, end: date) -> str:
    """A regex (without anchors) for dates from `start` to `end`.

    Exact for ranges of two months or less; for longer ones, the whole months inside the
    range (a subset: what the pattern allows is always accepted, and it stays short).
    """
    if start > end:
        raise ValueError(f"empty date range {start}..{end}")
    if (end - start).days > 62:
        first = start if start.day == 1 else add_months(start.replace(day=1), 1)
        last_day = calendar.monthrange(end.year, end.month)[1]
        last = end if end.day == last_day else add_months(end.replace(day=1), -1)
        return month_range_pattern(first, last)
    if start.year == end.year:
        return "|".join(_within_year(start.year, start, end))
    parts = _within_year(start.year, start, date(start.year, 12, 31))
    parts.extend(_within_year(end.year, date(end.year, 1, 1), end))
    return "|".join(parts)


def documented_window(spec: Field, today: date) -> tuple[date, date]:
    """The dates the API document promises: the accepted range, less a day's margin each side."""
    start, end = spec.window(today)
    if spec.documented_latest is not None:
        end = min(end, spec.documented_latest.from_day(today))
    if spec.not_future:
        end = min(end, today)
    if spec.future:
        start = max(start, today + timedelta(days=1))
    return start + MARGIN, end - MARGIN


def moment_pattern(spec: Field, today: date) -> str:
    start, end = documented_window(spec, today)
    days = date_range_pattern(start, end)
    return f"^(?:{days})$" if spec.type is FieldType.DATE else f"^(?:{days}){TIME_PATTERN}$"


# -- fields, records and triggers ------------------------------------------------------------


def field_schema(spec: Field, today: date | None = None) -> dict[str, Any]:
    """The JSON Schema of one field; with `today`, dates carry the pattern of their range."""
    doc: dict[str, Any]
    t = spec.type
    if t is FieldType.TEXT:
        doc = {
            "type": "string",
            "minLength": 1,
            "maxLength": spec.max_length,
            "pattern": TEXT_PATTERN,
        }
    elif t is FieldType.BOOL:
        doc = {"type": "boolean"}
    elif t in (FieldType.DATE, FieldType.DATETIME):
        doc = {"type": "string", "format": "date" if t is FieldType.DATE else "date-time"}
        if today is not None:
            doc["pattern"] = moment_pattern(spec, today)
    elif t is FieldType.CHOICE:
        doc = {"type": "string", "enum": list(spec.choices)}
    elif t is FieldType.CHOICES:
        doc = {
            "type": "array",
            "items": {"type": "string", "enum": list(spec.choices)},
            "uniqueItems": True,
        }
        if spec.must_include:
            # "contains" is not in OpenAPI 3.0: an array holds X unless every item is not X
            doc["allOf"] = [
                {"not": {"items": {"not": {"enum": [code]}}}} for code in spec.must_include
            ]
    elif t is FieldType.USERNAME:
        doc = {"type": "string", "format": "username", "pattern": USERNAME_PATTERN}
    elif t is FieldType.USERNAMES:
        doc = {
            "type": "array",
            "items": {"type": "string", "format": "username", "pattern": USERNAME_PATTERN},
            "uniqueItems": True,
        }
    elif t is FieldType.AREA:
        doc = {"type": "string", "format": "area", "pattern": SLUG_PATTERN, "maxLength": 80}
    elif t is FieldType.CHI_NUMBER:
        doc = {"type": "string", "format": "chi-number", "pattern": r"^\d{10}$"}
    elif t is FieldType.REFERRAL:
        doc = {"type": "string", "format": "referral-id", "pattern": REFERRAL_ID_PATTERN}
    elif t is FieldType.REFERRALS:
        doc = {
            "type": "array",
            "items": {"type": "string", "format": "referral-id", "pattern": REFERRAL_ID_PATTERN},
            "uniqueItems": True,
        }
    elif t is FieldType.RECORD:
        doc = object_schema(spec.item_fields, today=today)
    else:
        doc = {"type": "array", "items": object_schema(spec.item_fields, today=today)}
        doc["uniqueItems"] = True
    if t in (FieldType.CHOICES, FieldType.USERNAMES, FieldType.RECORDS, FieldType.REFERRALS):
        if spec.min_items:
            doc["minItems"] = spec.min_items
        doc["maxItems"] = spec.item_limit
    if not spec.required:
        doc["nullable"] = True
        if spec.default is not None:
            doc["default"] = spec.default
    doc["description"] = describe(spec)
    return doc


def describe(spec: Field) -> str:
    notes = [spec.label + "."]
    if spec.hint:
        notes.append(spec.hint)
    if spec.agency:
        notes.append(f"Must be a {spec.agency.replace('_', ' ')} user.")
    if spec.type in (FieldType.USERNAME, FieldType.USERNAMES):
        notes.append("Usernames of active users of this system.")
    if spec.type is FieldType.AREA:
        notes.append("An area of this deployment (GET /api/v1/reference lists them).")
    if spec.type is FieldType.CHI_NUMBER:
        notes.append("Checked for a valid date and the modulus-11 check digit.")
    if spec.type is FieldType.TEXT and spec.max_length <= SHORT_TEXT:
        notes.append(f"At most {spec.max_length} characters.")
    if spec.must_include:
        notes.append("Must include " + ", ".join(spec.must_include) + ".")
    if spec.is_moment and spec.describe_window():
        window = spec.describe_window()
        notes.append(window[0].upper() + window[1:] + ".")
    return " ".join(notes)


def object_schema(
    specs: tuple[Field, ...],
    rules: tuple[CrossFieldRule, ...] = (),
    today: date | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {s.name: field_schema(s, today) for s in specs},
    }
    required = [s.name for s in specs if s.required]
    if required:
        doc["required"] = required
    expressible = [dict(r.schema) for r in rules if r.schema is not None]
    if expressible:
        doc["allOf"] = expressible
    return doc


def trigger_data_schema(trigger: Trigger, today: date | None = None) -> dict[str, Any]:
    doc = object_schema(trigger.fields, trigger.rules, today)
    rules = [r.description for r in trigger.rules]
    doc["description"] = " ".join([trigger.label + ".", trigger.help, *rules]).strip()
    return doc


def component_name(trigger: Trigger) -> str:
    return "".join(part.capitalize() for part in trigger.name.split("_")) + "Data"


def trigger_components(definition: Definition, today: date | None = None) -> dict[str, Any]:
    """One schema per trigger, named e.g. `ConveneIrdData`."""
    return {component_name(t): trigger_data_schema(t, today) for t in definition.triggers}


def transition_request_schema(definition: Definition) -> dict[str, Any]:
    """`{trigger, data, reason}`: one shape per trigger, its data the trigger's own schema."""
    shapes = []
    for t in definition.triggers:
        shapes.append(
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["trigger", "data"],
                "properties": {
                    "trigger": {"type": "string", "enum": [t.name]},
                    "data": {"$ref": f"#/components/schemas/{component_name(t)}"},
                    "reason": {
                        "type": "string",
                        "nullable": True,
                        "maxLength": 10_000,
                        "pattern": STORABLE_PATTERN,
                        "description": "Why, in a sentence (optional); kept on the event.",
                    },
                },
            }
        )
    return {
        "description": "A trigger of the workflow and its data (GET /api/v1/workflow).",
        "oneOf": shapes,
    }


def record_form_schema(form: RecordForm, today: date | None = None) -> dict[str, Any]:
    doc = object_schema(form.fields, form.rules, today)
    rules = [r.description for r in form.rules]
    doc["description"] = " ".join([form.label + ".", *rules])
    return doc


def correction_schema(form: RecordForm, today: date | None = None) -> dict[str, Any]:
    """The correctable records of `form` with every field optional (give only what changes)."""
    properties: dict[str, Any] = {}
    for spec in form.fields:
        if not spec.item_fields:
            continue
        inner = object_schema(spec.item_fields, today=today)
        inner.pop("required", None)
        for name, field_doc in inner["properties"].items():
            if spec.item_fields and _field(spec, name).required:
                field_doc.pop("nullable", None)  # a required field cannot be emptied
        inner["minProperties"] = 1
        properties[spec.name] = inner
    return {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": properties,
        "description": "Corrections: give only the fields that change; each change is audited "
        "with its old and new value.",
    }


def _field(spec: Field, name: str) -> Field:
    return next(f for f in spec.item_fields if f.name == name)
