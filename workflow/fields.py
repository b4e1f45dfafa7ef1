"""Field specifications: one declaration per field feeds validation, API schema, forms, docs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Protocol

from workflow.vocabulary import AGENCIES

Errors = dict[str, list[str]]


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
    RECORDS = "records"  # a list of small records, each with its own fields


class Directory(Protocol):
    """What validation needs to know about people and places outside the workflow."""

    def agency_of(self, username: str) -> str | None:
        """The agency of an active user, or None when there is no such user."""
        ...

    def area_exists(self, slug: str) -> bool: ...


@dataclass(frozen=True)
class ValidationContext:
    """The moment and the world a trigger's data is checked against."""

    now: datetime
    directory: Directory


@dataclass(frozen=True)
class Field:
    """One field of a trigger's data, declared once."""

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
    max_items: int | None = None
    must_include: tuple[str, ...] = ()  # CHOICES: codes that must all be present
    not_future: bool = False  # DATE/DATETIME: may not be after now
    future: bool = False  # DATE/DATETIME: must be after now
    max_length: int = 20_000

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
        if self.min_items:
            doc["min_items"] = self.min_items
        if self.max_items is not None:
            doc["max_items"] = self.max_items
        if self.must_include:
            doc["must_include"] = list(self.must_include)
        if self.not_future:
            doc["not_future"] = True
        if self.future:
            doc["future"] = True
        return doc


# -- constructors that read like the SPEC ---------------------------------------------------


def text(name: str, label: str, hint: str = "", *, required: bool = True) -> Field:
    return Field(name, FieldType.TEXT, label, hint, required=required)


def boolean(name: str, label: str, hint: str = "", *, default: bool | None = None) -> Field:
    return Field(name, FieldType.BOOL, label, hint, required=default is None, default=default)


def date_field(name: str, label: str, hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.DATE, label, hint, **kw)


def datetime_field(name: str, label: str, hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.DATETIME, label, hint, **kw)


def choice(name: str, label: str, choices: Sequence[str], hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.CHOICE, label, hint, choices=tuple(choices), **kw)


def choices(name: str, label: str, vocab: Sequence[str], hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.CHOICES, label, hint, choices=tuple(vocab), **kw)


def agency(name: str, label: str, hint: str = "", **kw: Any) -> Field:
    return choice(name, label, AGENCIES, hint, **kw)


def username(name: str, label: str, hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.USERNAME, label, hint, **kw)


def records(name: str, label: str, items: Sequence[Field], hint: str = "", **kw: Any) -> Field:
    return Field(name, FieldType.RECORDS, label, hint, item_fields=tuple(items), **kw)


# -- validation ------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


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
        parsed.astimezone(UTC)  # e.g. 0001-01-01T00:00+14:00 is before year 1 in UTC
    except OverflowError as exc:
        raise ValueError("is out of range") from exc
    return parsed


def parse_date(value: str) -> date:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return date.fromisoformat(value)


def _check_moment(spec: Field, moment: datetime | date, ctx: ValidationContext) -> str | None:
    now: datetime | date = ctx.now if isinstance(moment, datetime) else ctx.now.date()
    if spec.not_future and moment > now:
        return "must not be in the future"
    if spec.future and moment <= now:
        return "must be in the future"
    return None


class _Invalid(Exception):
    """One message for one path; raised only on bad input, so valid data pays nothing."""

    def __init__(self, message: str, at: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.at = at


def _text(spec: Field, value: Any, path: str, ctx: ValidationContext, errors: Errors) -> Any:
    if type(value) is not str:
        raise _Invalid("must be text")
    value = value.strip()
    if not value:
        raise _Invalid("must not be blank")
    if len(value) > spec.max_length:
        raise _Invalid(f"must be at most {spec.max_length} characters")
    return value


def _bool(spec: Field, value: Any, path: str, ctx: ValidationContext, errors: Errors) -> Any:
    if type(value) is not bool:
        raise _Invalid("must be true or false")
    return value


def _moment(spec: Field, value: Any, path: str, ctx: ValidationContext, errors: Errors) -> Any:
    try:
        moment: date | datetime = (
            parse_date(value) if spec.type is FieldType.DATE else parse_datetime(value)
        )
    except (ValueError, TypeError) as exc:
        raise _Invalid(str(exc) if "must" in str(exc) else "is not a valid date") from None
    if spec.not_future or spec.future:
        problem = _check_moment(spec, moment, ctx)
        if problem:
            raise _Invalid(problem)
    return moment.isoformat()


def _choice(spec: Field, value: Any, path: str, ctx: ValidationContext, errors: Errors) -> Any:
    if type(value) is not str or value not in spec.choices:
        raise _Invalid("must be one of: " + ", ".join(spec.choices))
    return value


def _choices(spec: Field, value: Any, path: str, ctx: ValidationContext, errors: Errors) -> Any:
    if type(value) is not list:
        raise _Invalid("must be a list")
    allowed = spec.choices
    for v in value:
        if type(v) is not str or v not in allowed:
            raise _Invalid("must contain only: " + ", ".join(allowed))
    if len(set(value)) != len(value):
        raise _Invalid("must not repeat a value")
    if len(value) < spec.min_items:
        raise _Invalid(f"must have at least {spec.min_items}")
    missing = [code for code in spec.must_include if code not in value]
    if missing:
        raise _Invalid("must include " + ", ".join(missing))
    return list(value)


def _username(spec: Field, value: Any, path: str, ctx: ValidationContext, errors: Errors) -> Any:
    if type(value) is not str or not value.strip():
        raise _Invalid("must be a username", path)
    found = ctx.directory.agency_of(value)
    if found is None:
        raise _Invalid("is not a user of this system", path)
    if spec.agency and found != spec.agency:
        raise _Invalid(f"must be a {spec.agency.replace('_', ' ')} user", path)
    return value


def _usernames(spec: Field, value: Any, path: str, ctx: ValidationContext, errors: Errors) -> Any:
    if type(value) is not list:
        raise _Invalid("must be a list of usernames")
    cleaned = []
    for i, item in enumerate(value):
        try:
            cleaned.append(_username(spec, item, f"{path}.{i}", ctx, errors))
        except _Invalid as exc:
            errors.setdefault(exc.at or path, []).append(exc.message)
    _check_count(spec, value)
    if len(set(map(str, value))) != len(value):
        raise _Invalid("must not name the same user twice")
    return cleaned


def _area(spec: Field, value: Any, path: str, ctx: ValidationContext, errors: Errors) -> Any:
    if type(value) is not str or not _SLUG_RE.match(value):
        raise _Invalid("must be an area slug such as west-dunbartonshire")
    if not ctx.directory.area_exists(value):
        raise _Invalid("is not an area known to this system")
    return value


def _records(spec: Field, value: Any, path: str, ctx: ValidationContext, errors: Errors) -> Any:
    if type(value) is not list:
        raise _Invalid("must be a list")
    out = []
    for i, item in enumerate(value):
        item_path = f"{path}.{i}"
        if not isinstance(item, Mapping):
            errors.setdefault(item_path, []).append("must be an object")
            continue
        out.append(clean_fields(spec.item_fields, item, ctx, errors, prefix=item_path + "."))
    _check_count(spec, value)
    return out


def _check_count(spec: Field, value: list[Any]) -> None:
    if len(value) < spec.min_items:
        raise _Invalid(f"must have at least {spec.min_items}")
    if spec.max_items is not None and len(value) > spec.max_items:
        raise _Invalid(f"must have at most {spec.max_items}")


_Cleaner = Callable[[Field, Any, str, ValidationContext, Errors], Any]
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
    FieldType.RECORDS: _records,
}


def clean_fields(
    specs: Sequence[Field],
    data: Mapping[str, Any],
    ctx: ValidationContext,
    errors: Errors,
    prefix: str = "",
) -> dict[str, Any]:
    """Check `data` against `specs`; collect messages into `errors`; return cleaned values."""
    cleaned: dict[str, Any] = {}
    seen = 0
    for spec in specs:
        name = spec.name
        value = data.get(name)
        if value is None:
            seen += name in data
            if spec.required:
                errors.setdefault(prefix + name, []).append("is required")
            elif spec.default is not None:
                cleaned[name] = spec.default
            continue
        seen += 1
        try:
            cleaned[name] = _CLEANERS[spec.type](spec, value, prefix + name, ctx, errors)
        except _Invalid as exc:
            errors.setdefault(exc.at or prefix + name, []).append(exc.message)
    if seen != len(data):  # something in `data` is not one of the fields
        known = {s.name for s in specs}
        for key in data:
            if key not in known:
                errors.setdefault(prefix + str(key), []).append("is not a field of this record")
    return cleaned
