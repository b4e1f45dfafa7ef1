"""The engine: one shared `transitions` Machine per definition, fired on small subject snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from transitions import Machine

from workflow.definition import Actor, CrossFieldRule, Definition, Guard, Subject, Trigger
from workflow.errors import (
    ActorNotPermitted,
    ApprovalRequired,
    DataConflict,
    InvalidData,
    TriggerNotAllowed,
    UnknownTrigger,
)
from workflow.fields import Errors, ValidationContext, clean_fields, parse_datetime


@dataclass(frozen=True)
class Outcome:
    """What firing a trigger did: the new state and what the service must record."""

    trigger: str
    from_state: str
    to_state: str
    data: dict[str, Any]
    closure_reason: str | None = None
    flags: dict[str, Any] = field(default_factory=dict)


class _Token:
    """The only object the shared Machine ever moves: a state and the facts its guards read."""

    __slots__ = ("state", "subject")

    def __init__(self, subject: Subject) -> None:
        self.state = subject.state
        self.subject = subject


def _condition(guard: Guard) -> Any:
    def check(event: Any) -> bool:
        return bool(guard.check(event.model.subject))

    check.__name__ = guard.name
    return check


def validate_record(
    fields: tuple[Any, ...],
    rules: tuple[CrossFieldRule, ...],
    data: Any,
    subject: Subject,
    ctx: ValidationContext,
) -> dict[str, Any]:
    """Check `data` against fields and rules: InvalidData first, then DataConflict."""
    if not isinstance(data, Mapping):
        raise InvalidData({"data": ["must be an object"]})
    errors: Errors = {}
    conflicts: Errors = {}
    cleaned = clean_fields(fields, data, ctx, errors, conflicts=conflicts)
    for rule in rules:
        if any(f in errors or f in conflicts for f in rule.fields):
            continue  # a field it reads is already wrong; one message per mistake
        rule.check(cleaned, subject, ctx, conflicts if rule.conflict else errors)
    if errors:
        raise InvalidData(errors)
    if conflicts:
        raise DataConflict(conflicts)
    return cleaned


class Engine:
    """Lists, validates and fires triggers of one definition for any number of referrals."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self._triggers = {t.name: t for t in definition.triggers}
        # each state's triggers, in definition order: every read asks which are allowed now
        self._from_state: dict[str, tuple[str, ...]] = {
            state: tuple(t.name for t in definition.triggers if state in t.sources)
            for state in definition.state_names
        }
        # One Machine per definition, no models: records never carry a Machine of their own.
        self.machine = Machine(
            model=None,
            states=list(definition.state_names),
            initial=definition.initial_state,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        for t in definition.triggers:
            conditions = [_condition(g) for g in t.guards]
            for source in t.sources:
                self.machine.add_transition(t.name, source, t.dest, conditions=conditions)

    # -- questions -------------------------------------------------------------------------

    def trigger(self, name: str) -> Trigger:
        try:
            return self._triggers[name]
        except KeyError:
            raise UnknownTrigger(name, tuple(self._triggers)) from None

    def refusal(self, subject: Subject, actor: Actor, name: str) -> tuple[str, str] | None:
        """Why `actor` may not fire `name` now, as (kind, reason), or None when they may.

        kind is "state" (HTTP 409) or "actor" (HTTP 403).
        """
        t = self.trigger(name)
        if subject.state not in t.sources:
            return ("state", f"{t.name} is not possible while the referral is in {subject.state}")
        why_not = t.permission.refusal(actor, subject)
        if why_not:
            return ("actor", why_not)
        for guard in t.guards:
            if not guard.check(subject):
                return ("state", guard.description)
        return None

    def refusals(self, subject: Subject, actor: Actor) -> dict[str, str | None]:
        """Every trigger mapped to why it is refused, or None where it is allowed."""
        out: dict[str, str | None] = {}
        for name in self._triggers:
            refused = self.refusal(subject, actor, name)
            out[name] = refused[1] if refused else None
        return out

    def allowed_triggers(self, subject: Subject, actor: Actor) -> list[str]:
        candidates = self._from_state.get(subject.state, ())
        return [n for n in candidates if self.refusal(subject, actor, n) is None]

    def possible_triggers(self, state: str) -> list[str]:
        """Triggers whose source includes `state`, whoever asks."""
        return [t.name for t in self.definition.triggers if state in t.sources]

    # -- validation ------------------------------------------------------------------------

    def validate(
        self, name: str, data: Any, subject: Subject, ctx: ValidationContext
    ) -> dict[str, Any]:
        """Cleaned data for trigger `name`, or InvalidData with messages keyed by field path.

        Data that is valid on its own but conflicts with the referral as recorded raises
        DataConflict instead, once the data has no other fault.
        """
        t = self.trigger(name)
        return validate_record(t.fields, t.rules, data, subject, ctx)

    def validate_new_referral(self, data: Any, ctx: ValidationContext) -> dict[str, Any]:
        """Cleaned area, child and concern for recording a concern (paths like `child.sex`)."""
        form = self.definition.new_referral
        return validate_record(form.fields, form.rules, data, Subject(state=""), ctx)

    def validate_correction(self, data: Any, ctx: ValidationContext) -> dict[str, Any]:
        """Cleaned corrections: only the child and concern fields given are checked."""
        form = self.definition.new_referral
        correctable = tuple(f for f in form.fields if f.item_fields)
        if not isinstance(data, Mapping):
            raise InvalidData({"_schema": ["must be an object"]})
        errors: Errors = {}
        cleaned: dict[str, Any] = {}
        for key in data:
            if key not in {f.name for f in correctable}:
                errors.setdefault(str(key), []).append("is not a field of this record")
        for spec in correctable:
            if spec.name not in data:
                continue
            value = data[spec.name]
            if value is None:
                errors.setdefault(spec.name, []).append("must be an object: leave it out instead")
                continue
            if not isinstance(value, Mapping):
                errors.setdefault(spec.name, []).append("must be an object")
                continue
            if not value:
                errors.setdefault(spec.name, []).append("give at least one field to correct")
                continue
            cleaned[spec.name] = clean_fields(
                spec.item_fields, value, ctx, errors, spec.name + ".", partial=True
            )
        if not errors and not any(cleaned.values()):
            errors["_schema"] = ["give the child or concern fields to correct"]
        if errors:
            raise InvalidData(errors)
        return cleaned

    # -- firing ----------------------------------------------------------------------------

    def check(self, subject: Subject, actor: Actor, name: str) -> Trigger:
        """Raise the typed refusal if `actor` may not fire `name` on `subject` now."""
        t = self.trigger(name)
        refused = self.refusal(subject, actor, name)
        if refused is not None:
            kind, reason = refused
            if kind == "actor":
                raise ActorNotPermitted(name, reason)
            raise TriggerNotAllowed(name, subject.state, [reason])
        return t

    def fire(
        self,
        subject: Subject,
        actor: Actor,
        name: str,
        data: Any,
        ctx: ValidationContext,
        *,
        approved: bool = False,
        system: bool = False,
    ) -> Outcome:
        """Check, validate and apply `name`; raise ApprovalRequired unless `approved`.

        `system` fires a trigger no user may fire (a consequence of another record, e.g. a
        transfer completed by the receiving area): the state and the data are still checked.
        """
        t = self.trigger(name) if system else self.check(subject, actor, name)
        if system and subject.state not in t.sources:
            raise TriggerNotAllowed(name, subject.state, [f"{name} is not possible now"])
        cleaned = self.validate(name, data, subject, replace(ctx, actor_agency=actor.agency))
        if t.approval is not None and not approved:
            raise ApprovalRequired(name, cleaned, t.approval.role, t.approval.agency)
        token = _Token(subject)
        if not self.machine.events[name].trigger(token):
            # A guard refused inside the machine: never let that pass silently.
            failing = [g.description for g in t.guards if not g.check(subject)]
            raise TriggerNotAllowed(name, subject.state, failing or ["a condition refused it"])
        flags: dict[str, Any] = {}
        if t.short_notice is not None:
            when = parse_datetime(cleaned[t.short_notice[0]])
            if when - ctx.now < timedelta(days=t.short_notice[1]):
                flags["short_notice"] = True
        if t.on_behalf_field and cleaned.get(t.on_behalf_field) not in (None, actor.agency):
            flags["recorded_on_behalf_of"] = cleaned[t.on_behalf_field]
        for rule in t.flag_rules:
            value = rule.check(cleaned, subject)
            if value is not None and value is not False:
                flags[rule.name] = value
        closure = t.closure_reason
        if t.closure_reason_field:
            closure = cleaned[t.closure_reason_field]
        return Outcome(name, subject.state, token.state, cleaned, closure, flags)
