"""Field specifications: one declaration per field feeds validation, API schema, forms, docs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from typing import Any, Protocol

from workflow.calendar import add_months
from workflow.vocabulary import AGENCIES

Errors = dict[str, list[str]]

#: Lists hold at most this many entries unless a field says otherwise (nothing real is longer).
DEFAULT_MAX_ITEMS = 50
#: Free text: long enough for a careful account, short enough to refuse a flood.
LONG_TEXT = 10_000
#: One line of text: a name, a role, a reference.
SHORT_TEXT = 200
#: No plausible record of a child's life lies outside these years; the calendar needs a bound.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200

#: Characters no column can store: NUL (PostgreSQL refuses it) and unpaired surrogates (not UTF-8).
UNSTORABLE = "\x00\ud800-\udfff"
#: White space as `str.isspace` sees it (also `\s` in Python's `re`), spelled out for any engine.
WHITE_SPACE = "\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_UNSTORABLE_RE = re.compile(f"[{UNSTORABLE}]")
_BLANK_RE = re.compile(f"[{WHITE_SPACE}]*")


class FieldType(StrEnum):
    TEXT = "text"  # free text, never blank
    BOOL = "bool"  # true or false
    DATE = "date"  # YYYY-MM-DD
    DATETIME = "datetime"  # ISO 8601 with a UTC offset
    CHOICE = "choice"  # one code from a vocabulary
    CHOICES = "choices"  # several codes from a vocabulary, no repeats
    USERNAME = "username"  # a user of this system, optionally of one agency
    USERNAMES = "usernames"  # several users of this system
    AREA = "area"  # a local authority area slug known to this deployment
    CHI_NUMBER = "chi_number"  # Scotland's Community Health Index number
    REFERRAL = "referral"  # the id of another referral (whether it may be named: the service)
    REFERRALS = "referrals"  # several ids of other referrals
    RECORD = "record"  # one small record with its own fields
    RECORDS = "records"  # a list of small records, each with its own fields


LIST_TYPES = frozenset(
    {FieldType.CHOICES, FieldType.USERNAMES, FieldType.RECORDS, FieldType.REFERRALS}
)


class Directory(Protocol):
    """What validation needs to know about people and places outside the workflow."""

    def agency_of(self, username: str) -> str | None:
        """The agency of a user the record may name to act on the referral (an active
        practitioner, supervisor or senior manager of its area), or None."""
        ...

    def area_exists(self, slug: str) -> bool: ...


@dataclass(frozen=True)
class ValidationContext:
    """The moment and the world a trigger's data is checked against."""

    now: datetime
    directory: Directory
    #: when the referral's concern was received: no later event can have happened before it
    concern_received_at: datetime | None = None
    #: the agency of whoever is recording (rules about one's own agency read it)
    actor_agency: str | None = None
    #: today's date where the work happens (dates are judged on it; defaults to `now`'s date)
    today: date | None = None
    #: where the work happens: a message names a moment in its local time (UTC without it)
    zone: tzinfo | None = None

    @property
    def local_today(self) -> date:
        return self.today if self.today is not None else self.now.date()

    def said(self, moment: datetime) -> str:
        return said(moment, self.zone)


def said(moment: datetime, zone: tzinfo | None) -> str:
    """A moment as a message says it, in local time: "1 Jul 2026 at 10:00"."""
    local = moment.astimezone(zone or UTC)
    return f"{local.day} {local:%b %Y} at {local:%H:%M}" + ("" if zone else " UTC")


@dataclass(frozen=True)
class Offset:
    """A distance from today in days or calendar months; negative is in the past."""

    amount: int
    unit: str = "days"  # "days" or "months"

    def from_day(self, day: date) -> date:
        if self.unit == "months":
            return add_months(day, self.amount)
        return date.fromordinal(day.toordinal() + self.amount)

    def describe(self) -> str:
        amount, unit = abs(self.amount), self.unit
        if unit == "months" and amount % 12 == 0:
            amount, unit = amount // 12, "years"
        if amount == 0:
            return "today"
        words = f"{amount} {unit[:-1] if amount == 1 else unit}"
        return f"{words} ago" if self.amount < 0 else f"{words} from today"

    def to_json(self) -> dict[str, Any]:
        return {"amount": self.amount, "unit": self.unit}


@dataclass(frozen=True)
class Field:
    """One field of a trigger's data (or of a record), declared once."""

    name: str
    type: FieldType
    label: str
    hint: str = ""
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()
    item_fields: tuple[Field, ...] = ()
    agency: str | None = None  # USERNAME(S): the user(s) must belong to this agency
    min_items: int = 0
    max_items: int | None = None  # lists: None means DEFAULT_MAX_ITEMS (CHOICES: the vocabulary)
    must_include: tuple[str, ...] = ()  # CHOICES: codes that must all be present
    not_future: bool = False  # DATE/DATETIME: may not be after now
    future: bool = False  # DATE/DATETIME: must be after now
    earliest: Offset | None = None  # DATE/DATETIME: not before this distance from today
    latest: Offset | None = None  # DATE/DATETIME: not after this distance from today
    #: DATETIME/DATE: the moment cannot precede the concern (a conflict with the record: 409)
    not_before_concern: bool = False
    #: the latest date the API documents, when a rule elsewhere allows a little more
    documented_latest: Offset | None = None
    max_length: int = LONG_TEXT

    @property
    def item_limit(self) -> int:
        """How many entries a list field may hold."""
        if self.max_items is not None:
            return self.max_items
        if self.type is FieldType.CHOICES:
            return len(self.choices)
        return DEFAULT_MAX_ITEMS

    @property
    def is_moment(self) -> bool:
        return self.type in (FieldType.DATE, FieldType.DATETIME)

    def window(self, today: date) -> tuple[date, date]:
        """The inclusive range of dates this moment may fall on, judged on `today`."""
        start = self.earliest.from_day(today) if self.earliest else date(EARLIEST_YEAR, 1, 1)
        end = self.latest.from_day(today) if self.latest else date(LATEST_YEAR, 12, 31)
        return start, end

    def earliest_words(self) -> str:
        return self.earliest.describe() if self.earliest else f"the year {EARLIEST_YEAR}"

    def latest_words(self) -> str:
        return self.latest.describe() if self.latest else f"the year {LATEST_YEAR}"

    def describe_window(self) -> str:
        """The range in words, for hints and the API document."""
        parts = []
        if self.not_before_concern:
            parts.append("not before the concern was received")
        if self.earliest is not None:
            parts.append(f"not before {self.earliest.describe()}")
        if self.not_future:
            parts.append("not in the future")
        if self.future:
            parts.append("in the future")
        if self.latest is not None and not (self.not_future and self.latest.amount == 0):
            parts.append(f"not after {self.latest.describe()}")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "type": self.type.value,
            "label": self.label,
            "required": self.required,
        }
        if self.hint:
            doc["hint"] = self.hint
        if not self.required and self.default is not None:
            doc["default"] = self.default
        if self.choices:
            doc["choices"] = list(self.choices)
        if self.item_fields:
            doc["item_fields"] = [f.to_json() for f in self.item_fields]
        if self.agency:
            doc["agency"] = self.agency
        if self.type is FieldType.TEXT:
            doc["max_length"] = self.max_length
        if self.type in LIST_TYPES:
            if self.min_items:
                doc["min_items"] = self.min_items
            doc["max_items"] = self.item_limit
        if self.must_include:
            doc["must_include"] = list(self.must_include)
        if self.is_moment:
            for flag in ("not_future", "future", "not_before_concern"):
                if getattr(self, flag):
                    doc[flag] = True
            if self.earliest is not None:
                doc["earliest"] = self.earliest.to_json()
            if self.latest is not None:
                doc["latest"] = self.latest.to_json()
            doc["range"] = self.describe_window()
        return doc


# -- constructors that read like the SPEC ---------------------------------------------------


def text(
    name: str, label: str, hint: str = "", *, required: bool = True, max_length: int = LONG_TEXT
) -> Field:
    return Field(name, FieldType.TEXT, label, hint, required=required, max_length=max_length)


def short_text(name: str, label: str, hint: str = "", *, required: bool = True) -> Field:
    return text(name, label, hint, required=required, max_length=SHORT_TEXT)


def boolean(
    name: str,
    label: str,
    hint: str = "",
    *,
    default: bool | None = None,
    required: bool | None = None,
) -> Field:
    """Required unless it has a default, or `required=False` says it may be left out."""
    needed = default is None if required is None else required
    return Field(name, FieldType.BOOL, label, hint, required=needed, default=default)


def date_field(name: str, label: str, hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.DATE, label, hint, **kw)


def datetime_field(name: str, label: str, hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.DATETIME, label, hint, **kw)


#: When something happened: not in the future, not before the concern.
def happened_at(name: str, label: str, hint: str = "", **kw: Any) -> Field:
    return datetime_field(name, label, hint, not_future=True, not_before_concern=True, **kw)


#: When something is planned for: in the future, within a year.
def planned_for(name: str, label: str, hint: str = "", **kw: Any) -> Field:
    kw.setdefault("latest", Offset(12, "months"))
    return datetime_field(name, label, hint, future=True, **kw)


def choice(name: str, label: str, choices: Sequence[str], hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.CHOICE, label, hint, choices=tuple(choices), **kw)


def choices(name: str, label: str, vocab: Sequence[str], hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.CHOICES, label, hint, choices=tuple(vocab), **kw)


def agency(name: str, label: str, hint: str = "", **kw: Any) -> Field:
    return choice(name, label, AGENCIES, hint, **kw)


def username(name: str, label: str, hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.USERNAME, label, hint, **kw)


def record(name: str, label: str, items: Sequence[Field], hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.RECORD, label, hint, item_fields=tuple(items), **kw)


def records(name: str, label: str, items: Sequence[Field], hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.RECORDS, label, hint, item_fields=tuple(items), **kw)


# -- validation ------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
REFERRAL_ID_PATTERN = r"^[0-9a-f]{32}$"
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,79}$"
_SLUG_RE = re.compile(SLUG_PATTERN)
_USERNAME_RE = re.compile(USERNAME_PATTERN)
_REFERRAL_ID_RE = re.compile(REFERRAL_ID_PATTERN)


def _plausible(moment: date) -> None:
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")


def parse_datetime(value: str) -> datetime:
    """An ISO 8601 datetime that names its offset; raises ValueError otherwise."""
    if not isinstance(value, str) or len(value) < 16 or "T" not in value.upper():
        raise ValueError(
            "must be an ISO 8601 date and time with an offset, e.g. 2026-03-01T09:30:00+00:00"
        )
    parsed = datetime.fromisoformat(value.replace("z", "Z"))
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("must include a UTC offset, e.g. +00:00")
    try:
        in_utc = parsed.astimezone(UTC)  # e.g. 0001-01-01T00:00+14:00 is before year 1 in UTC
    except OverflowError as exc:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}") from exc
    _plausible(in_utc.date())
    return parsed


def parse_date(value: str) -> date:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    parsed = date.fromisoformat(value)
    _plausible(parsed)
    return parsed


def chi_problem(value: str) -> str | None:
    """Why `value` is not a valid CHI number (10 digits, DDMMYY prefix, modulus-11 check digit)."""
    if len(value) != 10 or not (value.isascii() and value.isdigit()):
        return "must be 10 digits"
    day, month, year = int(value[0:2]), int(value[2:4]), int(value[4:6])
    valid_date = False
    for century in (1900, 2000):
        try:
            date(century + year, month, day)
            valid_date = True
        except ValueError:
            continue
    if not valid_date:
        return "must start with a valid date of birth (DDMMYY)"
    total = sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10 or check != int(value[9]):
        return "has a wrong check digit"
    return None


def unstorable(value: str) -> bool:
    """Text no database column can hold."""
    return _UNSTORABLE_RE.search(value) is not None


class _Invalid(Exception):
    """One message for one path; raised only on bad input, so valid data pays nothing."""

    def __init__(self, message: str, at: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.at = at


class _Conflict(_Invalid):
    """Valid on its own, but at odds with the referral as recorded (HTTP 409, not 422)."""


@dataclass
class Findings:
    """What validation found: invalid data (422) and data that conflicts with the record (409)."""

    errors: Errors
    conflicts: Errors

    def add(self, path: str, exc: _Invalid) -> None:
        target = self.conflicts if isinstance(exc, _Conflict) else self.errors
        target.setdefault(exc.at or path, []).append(exc.message)


def _text(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if type(value) is not str:
        raise _Invalid("must be text")
    if unstorable(value):
        raise _Invalid("must not contain NUL characters or unpaired surrogates")
    if len(value) > spec.max_length:
        raise _Invalid(f"must be at most {spec.max_length} characters")
    if _BLANK_RE.fullmatch(value):
        raise _Invalid("must not be blank")
    return value.strip()


def _bool(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if type(value) is not bool:
        raise _Invalid("must be true or false")
    return value


def _moment(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    try:
        moment: date | datetime = (
            parse_date(value) if spec.type is FieldType.DATE else parse_datetime(value)
        )
    except (ValueError, TypeError) as exc:
        raise _Invalid(str(exc) if "must" in str(exc) else "is not a valid date") from None
    is_instant = isinstance(moment, datetime)
    now: datetime | date = ctx.now if is_instant else ctx.local_today
    if spec.not_future and moment > now:
        raise _Invalid("must not be in the future")
    if spec.future and moment <= now:
        raise _Invalid("must be in the future")
    day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    start, end = spec.window(ctx.local_today)
    if day < start:
        raise _Invalid(f"must not be before {start.isoformat()} ({spec.earliest_words()})")
    if day > end:
        raise _Invalid(f"must not be after {end.isoformat()} ({spec.latest_words()})")
    concern = ctx.concern_received_at
    if spec.not_before_concern and concern is not None:
        before = moment < concern if isinstance(moment, datetime) else moment < concern.date()
        if before:
            raise _Conflict(f"must not be before the concern was received ({ctx.said(concern)})")
    return moment.isoformat()


def _choice(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if type(value) is not str or value not in spec.choices:
        raise _Invalid("must be one of: " + ", ".join(spec.choices))
    return value


def _choices(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if type(value) is not list:
        raise _Invalid("must be a list")
    allowed = spec.choices
    for i, v in enumerate(value):
        if type(v) is not str or v not in allowed:
            raise _Invalid("must be one of: " + ", ".join(allowed), f"{path}.{i}")
    if len(set(value)) != len(value):
        raise _Invalid("must not repeat a value")
    _check_count(spec, value)
    missing = [code for code in spec.must_include if code not in value]
    if missing:
        raise _Invalid("must include " + ", ".join(missing))
    return list(value)


def _username(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if type(value) is not str or not _USERNAME_RE.match(value):
        raise _Invalid("must be a username", path)
    agency_found = ctx.directory.agency_of(value)
    if agency_found is None:
        raise _Invalid(
            "is not a practitioner, supervisor or senior manager working in this area", path
        )
    if spec.agency and agency_found != spec.agency:
        raise _Invalid(f"must be a {spec.agency.replace('_', ' ')} user", path)
    return value


def _usernames(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if type(value) is not list:
        raise _Invalid("must be a list of usernames")
    _check_count(spec, value)
    cleaned = []
    for i, item in enumerate(value):
        try:
            cleaned.append(_username(spec, item, f"{path}.{i}", ctx, found))
        except _Invalid as exc:
            found.add(path, exc)
    if len(set(map(str, value))) != len(value):
        raise _Invalid("must not name the same user twice")
    return cleaned


def _area(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if type(value) is not str or len(value) > 80 or not _SLUG_RE.match(value):
        raise _Invalid("must be an area slug such as west-dunbartonshire")
    if not ctx.directory.area_exists(value):
        raise _Invalid("is not an area known to this system")
    return value


def _chi(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if type(value) is not str:
        raise _Invalid("must be a CHI number of 10 digits, as text")
    problem = chi_problem(value)
    if problem:
        raise _Invalid(f"CHI number {problem}")
    return value


def _referral(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if type(value) is not str or not _REFERRAL_ID_RE.match(value):
        raise _Invalid("must be the id of a referral", path)
    return value


def _referrals(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if type(value) is not list:
        raise _Invalid("must be a list of referral ids")
    _check_count(spec, value)
    cleaned = []
    for i, item in enumerate(value):
        try:
            cleaned.append(_referral(spec, item, f"{path}.{i}", ctx, found))
        except _Invalid as exc:
            found.add(path, exc)
    if len(set(map(str, value))) != len(value):
        raise _Invalid("must not name the same referral twice")
    return cleaned


def _record(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if not isinstance(value, Mapping):
        raise _Invalid("must be an object")
    return _clean(spec.item_fields, value, ctx, found, path + ".", partial=False)


def _records(spec: Field, value: Any, path: str, ctx: ValidationContext, found: Findings) -> Any:
    if type(value) is not list:
        raise _Invalid("must be a list")
    _check_count(spec, value)  # before looking inside: a flood is refused unread
    out = []
    for i, item in enumerate(value):
        item_path = f"{path}.{i}"
        if not isinstance(item, Mapping):
            found.errors.setdefault(item_path, []).append("must be an object")
            continue
        out.append(_clean(spec.item_fields, item, ctx, found, item_path + ".", partial=False))
    if len({_frozen(item) for item in value}) != len(value):  # as JSON Schema's uniqueItems
        raise _Invalid("must not list the same entry twice")
    return out


def _frozen(item: Any) -> str:
    return repr(sorted(item.items())) if isinstance(item, Mapping) else repr(item)


def _check_count(spec: Field, value: list[Any]) -> None:
    if len(value) < spec.min_items:
        raise _Invalid(f"must have at least {spec.min_items}")
    if len(value) > spec.item_limit:
        raise _Invalid(f"must have at most {spec.item_limit}")


_Cleaner = Callable[[Field, Any, str, ValidationContext, Findings], Any]
_CLEANERS: dict[FieldType, _Cleaner] = {
    FieldType.TEXT: _text,
    FieldType.BOOL: _bool,
    FieldType.DATE: _moment,
    FieldType.DATETIME: _moment,
    FieldType.CHOICE: _choice,
    FieldType.CHOICES: _choices,
    FieldType.USERNAME: _username,
    FieldType.USERNAMES: _usernames,
    FieldType.AREA: _area,
    FieldType.CHI_NUMBER: _chi,
    FieldType.REFERRAL: _referral,
    FieldType.REFERRALS: _referrals,
    FieldType.RECORD: _record,
    FieldType.RECORDS: _records,
}


def _clean(
    specs: Sequence[Field],
    data: Mapping[str, Any],
    ctx: ValidationContext,
    found: Findings,
    prefix: str,
    *,
    partial: bool,
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    seen = 0
    for spec in specs:
        name = spec.name
        value = data.get(name)
        if value is None:
            seen += name in data
            if partial:
                if name in data:
                    cleaned[name] = None
                continue
            if spec.required:
                found.errors.setdefault(prefix + name, []).append("is required")
            elif spec.default is not None:
                cleaned[name] = spec.default
            continue
        seen += 1
        try:
            cleaned[name] = _CLEANERS[spec.type](spec, value, prefix + name, ctx, found)
        except _Invalid as exc:
            found.add(prefix + name, exc)
    if seen != len(data):  # something in `data` is not one of the fields
        known = {s.name for s in specs}
        for key in data:
            if key not in known:
                found.errors.setdefault(prefix + str(key), []).append(
                    "is not a field of this record"
                )
    return cleaned


def clean_fields(
    specs: Sequence[Field],
    data: Mapping[str, Any],
    ctx: ValidationContext,
    errors: Errors,
    prefix: str = "",
    *,
    conflicts: Errors | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """Check `data` against `specs`; collect messages by field path; return cleaned values.

    Messages about data that conflicts with the referral as recorded go to `conflicts` when
    given (the API answers those 409), else to `errors`. With `partial`, only the fields given
    are checked (a correction); a field given as null is returned as None for the caller to judge.
    """
    found = Findings(errors, errors if conflicts is None else conflicts)
    return _clean(specs, data, ctx, found, prefix, partial=partial)
