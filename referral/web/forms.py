"""A trigger's form, generated from its field specs in `workflow/` (declared once, SPEC 7).

The form only collects: it turns what was typed into the same `data` the API takes and leaves
every check to the workflow, so a page shows the API's messages for the API's field paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovRadioInput,
    GovSelect,
    GovTextArea,
    GovTextInput,
)
from werkzeug.datastructures import MultiDict
from wtforms import Field as WtfField
from wtforms import (
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice  # type: ignore[attr-defined]  # new in 3.3; stubs lag

from workflow.fields import SHORT_TEXT, Field, FieldType
from workflow.vocabulary import label as code_label

#: radios up to this many choices; a longer vocabulary is a drop-down
MAX_RADIOS = 8
#: what a date or a datetime input asks for, in order
DATE_PARTS = ("day", "month", "year")
DATETIME_PARTS = (*DATE_PARTS, "hour", "minute")
#: a date no calendar has: the workflow answers it with its own "is not a valid date"
NOT_A_DATE = "0000-00-00"


@dataclass(frozen=True)
class Person:
    """Someone a username field may name."""

    username: str
    name: str
    agency: str


#: the people a username field may name: (agency or None for any) -> people
PeopleFor = Callable[[str | None], Sequence[Person]]


class MomentField(WtfField):
    """A date (day, month, year) or a date and time (plus hour, minute), one input per part,
    named `<name>-day` and so on, shown with GOV.UK's date input."""

    def __init__(self, label: str, parts: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.parts = parts
        self.values: dict[str, str] = {}

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        self.process_errors = []
        self.values = {}
        if formdata is not None:
            for part in self.parts:
                self.values[part] = (formdata.get(f"{self.name}-{part}") or "").strip()

    def part_id(self, part: str) -> str:
        return f"{self.id}-{part}"


@dataclass
class Built:
    """A generated form: the WTForms form, and the specs behind each of its fields."""

    form: Form
    specs: Sequence[Field]
    #: the API path of each value collected (`data.a.0.b`) -> the form field it came from
    where: dict[str, WtfField] = field(default_factory=dict)
    #: messages on a group of fields (a record, a list of records), by the group's id
    group_errors: dict[str, list[str]] = field(default_factory=dict)


def _hint(spec: Field) -> str:
    parts = [spec.hint] if spec.hint else []
    if spec.is_moment and spec.type is FieldType.DATETIME:
        parts.append("UK time, 24-hour clock.")
    if spec.type is FieldType.RECORDS:
        parts.append("Leave a row empty to leave it out.")
    return " ".join(parts)


def _label(spec: Field) -> str:
    return spec.label if spec.required else f"{spec.label} (optional)"


def _options(pairs: Sequence[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, text) for value, text in pairs]


def _wtf_field(spec: Field, people: PeopleFor, areas: Sequence[tuple[str, str]]) -> Any:
    """The unbound WTForms field for one spec."""
    text, hint = _label(spec), _hint(spec)
    kind = spec.type
    if kind is FieldType.TEXT:
        if spec.max_length <= SHORT_TEXT:
            return StringField(text, description=hint, widget=GovTextInput())
        return TextAreaField(text, description=hint, widget=GovTextArea())
    if kind is FieldType.BOOL:
        return RadioField(
            text,
            description=hint,
            choices=_options([("yes", "Yes"), ("no", "No")]),
            widget=GovRadioInput(),
            validate_choice=False,
        )
    if kind is FieldType.CHOICE:
        options = [(code, code_label(code)) for code in spec.choices]
        if len(options) > MAX_RADIOS:
            return SelectField(
                text,
                description=hint,
                choices=_options([("", "Choose one"), *options]),
                widget=GovSelect(),
                validate_choice=False,
            )
        return RadioField(
            text,
            description=hint,
            choices=_options(options),
            widget=GovRadioInput(),
            validate_choice=False,
        )
    if kind is FieldType.CHOICES:
        return SelectMultipleField(
            text,
            description=hint,
            choices=_options([(code, code_label(code)) for code in spec.choices]),
            widget=GovCheckboxesInput(),
            validate_choice=False,
        )
    if kind in (FieldType.USERNAME, FieldType.USERNAMES):
        options = [
            (p.username, f"{p.name or p.username} ({p.username}, {code_label(p.agency)})")
            for p in people(spec.agency)
        ]
        if kind is FieldType.USERNAMES:
            return SelectMultipleField(
                text,
                description=hint,
                choices=_options(options),
                widget=GovCheckboxesInput(),
                validate_choice=False,
            )
        return SelectField(
            text,
            description=hint,
            choices=_options([("", "Choose someone"), *options]),
            widget=GovSelect(),
            validate_choice=False,
        )
    if kind is FieldType.AREA:
        return SelectField(
            text,
            description=hint,
            choices=_options([("", "Choose an area"), *areas]),
            widget=GovSelect(),
            validate_choice=False,
        )
    if kind is FieldType.DATE:
        return MomentField(text, DATE_PARTS, description=hint)
    if kind is FieldType.DATETIME:
        return MomentField(text, DATETIME_PARTS, description=hint)
    if kind is FieldType.RECORD:
        return FormField(_form_class(spec.item_fields, people, areas), text, description=hint)
    if kind is FieldType.RECORDS:
        row = FormField(_form_class(spec.item_fields, people, areas))
        return FieldList(row, text, description=hint, min_entries=max(spec.min_items, 1))
    if kind is FieldType.REFERRALS:
        typed = "Their references, one a line, such as WD-2026-00042."
        return TextAreaField(text, description=f"{hint} {typed}".strip(), widget=GovTextArea())
    # CHI number, a referral id: typed as text
    return StringField(text, description=hint, widget=GovTextInput())


def _form_class(
    specs: Sequence[Field], people: PeopleFor, areas: Sequence[tuple[str, str]]
) -> type[Form]:
    attrs = {spec.name: _wtf_field(spec, people, areas) for spec in specs}
    return type("GeneratedForm", (Form,), attrs)


def build(
    specs: Sequence[Field],
    people: PeopleFor,
    areas: Sequence[tuple[str, str]],
    formdata: MultiDict[str, str] | None = None,
) -> Built:
    """The form for `specs`, filled from `formdata` when given."""
    form = _form_class(specs, people, areas)(formdata=formdata)
    return Built(form, specs)


# -- from the form to the API's `data` --------------------------------------------------------


def _moment_value(f: MomentField, zone: ZoneInfo) -> str | None:
    values = f.values
    if not any(values.values()):
        return None
    typed = [values.get(part, "") for part in f.parts]
    if not all(t.isascii() and t.isdigit() and len(t) <= 4 for t in typed):
        return NOT_A_DATE if f.parts == DATE_PARTS else NOT_A_DATE + "T00:00:00+00:00"
    numbers = {part: int(values[part]) for part in f.parts}
    day = f"{numbers['year']:04d}-{numbers['month']:02d}-{numbers['day']:02d}"
    if f.parts == DATE_PARTS:
        return day
    try:
        local = datetime(
            numbers["year"],
            numbers["month"],
            numbers["day"],
            numbers["hour"],
            numbers["minute"],
            tzinfo=zone,
        )
    except (ValueError, OverflowError):  # no such day or time: the workflow says so
        return f"{day}T{numbers['hour']:02d}:{numbers['minute']:02d}:00+00:00"
    return local.isoformat()


def _value(
    spec: Field, f: Any, path: str, zone: ZoneInfo, where: dict[str, WtfField], top: bool = False
) -> Any:
    where[path] = f
    kind = spec.type
    if kind is FieldType.RECORD:
        # a required record of the form's own left empty is sent empty, so each of its fields
        # says it is required (one inside a list's row is not: the empty row is left out)
        return _values(spec.item_fields, f.form, path + ".", zone, where) or (
            {} if spec.required and top else None
        )
    if kind is FieldType.RECORDS:
        rows: list[dict[str, Any]] = []
        for entry in f.entries:
            kept: dict[str, WtfField] = {}
            row = _values(spec.item_fields, entry.form, f"{path}.{len(rows)}.", zone, kept)
            if row:  # an empty row is left out, and the rows after it move up
                where[f"{path}.{len(rows)}"] = entry
                where.update(kept)
                rows.append(row)
        return rows or None
    if isinstance(f, MomentField):
        return _moment_value(f, zone)
    if kind is FieldType.BOOL:
        return {"yes": True, "no": False}.get(f.data or "")
    if kind in (FieldType.CHOICES, FieldType.USERNAMES):
        return list(f.data or []) or None
    if kind is FieldType.REFERRALS:
        return [line.strip() for line in (f.data or "").splitlines() if line.strip()] or None
    text = (f.data or "").strip()
    return text or None


def _values(
    specs: Sequence[Field],
    form: Form,
    prefix: str,
    zone: ZoneInfo,
    where: dict[str, WtfField],
    top: bool = False,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        value = _value(spec, form[spec.name], prefix + spec.name, zone, where, top)
        if value is not None:  # left empty: left out, so a required field "is required"
            out[spec.name] = value
    return out


def data_of(built: Built, zone: ZoneInfo, prefix: str = "data.") -> dict[str, Any]:
    """What the form holds, as the API's body at `prefix` (a trigger's `data` by default),
    blank fields and empty rows left out."""
    built.where.clear()
    return _values(built.specs, built.form, prefix, zone, built.where, top=True)


# -- the API's messages, on the form ------------------------------------------------------------


def _anchor(f: WtfField) -> str:
    """Where an error summary link lands: the field's first input."""
    if isinstance(f, MomentField):
        return f.part_id(f.parts[0])
    if isinstance(f, FormField):
        first = next(iter(f.form), None)
        return _anchor(first) if first is not None else f.id
    if isinstance(f, FieldList):
        return _anchor(f.entries[0]) if f.entries else f.id
    return str(f.id)


def _field_at(built: Built, path: str) -> WtfField | None:
    """The form field an API field path names, or its nearest enclosing one."""
    parts = path.split(".")
    while parts:
        found = built.where.get(".".join(parts))
        if found is not None:
            return found
        if len(parts) == 2 and parts[0] == "data":  # a field that was left empty
            try:
                return built.form[parts[1]]
            except KeyError:
                return None
        parts.pop()
    return None


#: how the workflow's messages about one field begin ("is required", "must be in the future")
_PREDICATES = ("is ", "must ", "has ", "should ")


def _sentence(name: str, message: str) -> str:
    """A field's label and the API's message about it, as one sentence."""
    return f"{name} {message}" if message.startswith(_PREDICATES) else f"{name}: {message}"


def attach_errors(
    built: Built, errors: dict[str, list[str]], labels: dict[str, str]
) -> list[dict[str, str]]:
    """Put each message on its field; the error summary's list, linking to each field."""
    summary: list[dict[str, str]] = []
    for path, messages in errors.items():
        f = _field_at(built, path)
        name = str(f.label.text) if f is not None and f.label.text else labels.get(path, path)
        name = name.removesuffix(" (optional)")
        texts = [_sentence(name, message) for message in messages]
        href = f"#{_anchor(f)}" if f is not None else "#main-content"
        summary.extend({"text": text, "href": href} for text in texts)
        if isinstance(f, FormField | FieldList):  # their `errors` are their fields' errors
            built.group_errors.setdefault(f.id, []).extend(texts)
        elif f is not None:
            f.errors = texts
    return summary


def walk(form: Form) -> Iterator[WtfField]:
    """Every field of a form, nested ones too."""
    for f in form:
        yield f
        if isinstance(f, FormField):
            yield from walk(f.form)
        elif isinstance(f, FieldList):
            for entry in f.entries:
                yield entry
                yield from walk(entry.form)


def add_row(built: Built, list_id: str) -> bool:
    """Add an empty row to the list whose id is `list_id` ("add another", without JS)."""
    for f in walk(built.form):
        if isinstance(f, FieldList) and f.id == list_id:
            if len(f.entries) < 50:
                f.append_entry()
            return True
    return False
