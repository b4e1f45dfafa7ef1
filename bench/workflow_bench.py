"""Benchmark the workflow engine: cost per fire against a bare `transitions` Machine, and memory.

Run from the repository root:

    .venv/bin/python bench/workflow_bench.py [--fires N] [--subjects N] [--json PATH]

(a) Speed. The same sequence of fires (by default 100,000 over 10,000 subjects) goes through
    `workflow.engine().fire` with valid data, and through one bare `transitions.Machine` with
    the same states and transitions (model=None, auto_transitions=False, no guards), fired with
    `machine.events[name].trigger(obj)` on tiny objects that carry only a state. Each subject
    walks a cycle of triggers from a concern to de-registration and then starts again (a new
    referral about the same child); subjects start at staggered points of the cycle, so every
    trigger of the cycle is fired about equally often. Both loops build one small object per fire
    (a `Subject` snapshot for the engine, a tiny state holder for the bare machine) and keep
    only each subject's current state string. Best of 3 runs, time.perf_counter.

(b) Memory. tracemalloc measures the memory still allocated after firing one or more triggers
    for each of 1,000 and then 100,000 subjects (each with its own data text), once the
    benchmark has dropped its own references (every Outcome, Subject and data dict). Memory the
    engine kept per subject would show up as growth between the two; the service-side list of
    current state strings is reported separately.

The last line printed is the results as JSON; --json PATH also writes them to a file.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import transitions
from transitions import Machine

import workflow
from workflow import Actor, Engine, Subject, ValidationContext
from workflow.fields import FieldType

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # a Tuesday, clear of public holidays


def iso(delta: timedelta) -> str:
    return (NOW + delta).isoformat()


USERS = {
    "pc.morgan": "police",
    "dr.shah": "health",
    "sw.reid": "social_work",
    "sw.chair": "social_work",
    "teacher.ng": "education",
}


class FakeDirectory:
    """What validation asks of the outside world: a user's agency, whether an area exists."""

    def agency_of(self, username: str) -> str | None:
        return USERS.get(username)

    def area_exists(self, slug: str) -> bool:
        return slug in ("west-dunbartonshire", "highland")


CTX = ValidationContext(now=NOW, directory=FakeDirectory())

POLICE = Actor("pc.morgan", "police", "practitioner")
HEALTH = Actor("dr.shah", "health", "practitioner")
SOCIAL_WORKER = Actor("sw.reid", "social_work", "practitioner")
CHAIR = Actor("sw.chair", "social_work", "practitioner")

PAST = iso(-timedelta(hours=2))
VIEWS = {"childs_views": "Wants to stay with gran."}
CORE = ["police", "health", "social_work"]
ATTENDEES = [
    {"agency": "police", "name": "DS Morgan", "role": "detective sergeant"},
    {"agency": "health", "name": "Dr Shah", "role": "paediatrician"},
    {"agency": "social_work", "name": "S Reid", "role": "social worker"},
]
MEETING = {"held_at": PAST, "attendees": ATTENDEES, **VIEWS, "decision_rationale": "Risk reduced."}
INITIAL_CPPM_DUE = (NOW + timedelta(days=20)).date()


def conference(kind: str) -> dict[str, Any]:
    return {
        "conference_type": kind,
        "scheduled_for": iso(timedelta(days=10)),
        "chair": "sw.chair",
        "invitees": [{"agency": "health", "name": "Dr Shah"}],
    }


@dataclass(frozen=True)
class Step:
    """One fire of the cycle: the trigger, who fires it, its data and the subject's facts."""

    trigger: str
    actor: Actor
    data: dict[str, Any]
    conference_type: str | None = None

    def facts(self) -> tuple[Any, ...]:
        """Subject fields after `state`, in order, as a service would load them."""
        return (
            False,  # unborn
            self.conference_type,
            "sw.chair",  # chair
            False,  # last_meeting_inquorate
            ("pc.morgan", "sw.reid"),  # interviewers
            frozenset({"health"}),  # core_group_agencies
            INITIAL_CPPM_DUE,
        )


CYCLE: tuple[Step, ...] = (
    Step(
        "convene_ird",
        POLICE,
        {"started_at": PAST, "reason": "Disclosure at school", "participants": ATTENDEES},
    ),
    Step(
        "add_ird_contribution",
        HEALTH,
        {
            "agency": "health",
            "information_shared": "Seen at A&E twice this year",
            "lawful_basis": "UK GDPR 6(1)(e); DPA 2018 Sch 1 para 18",
        },
    ),
    Step(
        "start_investigation",
        SOCIAL_WORKER,
        {
            "investigation_type": "joint",
            "decision_rationale": "Disclosure of assault.",
            "jii_required": True,
            "medical_examination": "paediatric",
            "interim_safety_plan": "Child stays with gran; seen daily at school.",
            "lead_professional": "sw.reid",
            **VIEWS,
            "parents_informed": False,
            "parents_not_informed_reason": "Could jeopardise the police investigation.",
            "agencies_agreed": CORE,
        },
    ),
    Step(
        "extend_timescale",  # needs a senior manager's approval: fired with approved=True
        SOCIAL_WORKER,
        {
            "new_due_date": (NOW + timedelta(days=40)).date().isoformat(),
            "reason": "Awaiting the medical report",
            "interim_safety_plan_confirmed": True,
        },
    ),
    Step(
        "plan_jii",
        POLICE,
        {
            "planned_for": iso(timedelta(days=2)),
            "interviewers": ["pc.morgan", "sw.reid"],
            "aims": "The child's account of the incident.",
        },
    ),
    Step(
        "record_jii",
        POLICE,
        {
            "conducted_at": PAST,
            "outcome": "case_conference",
            "recording_reference": "JII-2026-118",
            "salient_points": "Consistent account.",
        },
    ),
    Step("schedule_case_conference", SOCIAL_WORKER, conference("initial")),
    Step(
        "record_inquorate",
        CHAIR,
        {"absent_agencies": ["health"], "rescheduled_for": iso(timedelta(days=7))},
        conference_type="initial",
    ),
    Step(
        "register",
        CHAIR,
        {
            **MEETING,
            "areas_of_concern": ["neglect", "domestic_abuse"],
            "core_group": [{"agency": "health", "name": "HV Lee"}],
            "plan_outline": "Weekly visits.",
            "reporter_referral": True,
            "lead_professional": "sw.reid",
        },
        conference_type="initial",
    ),
    Step(
        "record_core_group",
        HEALTH,
        {
            "held_at": PAST,
            "attendees": ATTENDEES,
            "significant_change": False,
            "notes": "Plan on track.",
        },
    ),
    Step("schedule_case_conference", SOCIAL_WORKER, conference("review")),
    Step(
        "continue_registration",
        CHAIR,
        {**MEETING, "plan_outline": "Continue visits."},
        conference_type="review",
    ),
    Step("schedule_case_conference", SOCIAL_WORKER, conference("review")),
    Step(
        "deregister",
        CHAIR,
        {**MEETING, "deregistration_reason": "Risk reduced."},
        conference_type="review",
    ),
)

#: After the cycle's last step the child's next referral starts again from a concern.
RESTART = {"closed": "concern"}

#: One fire: (subject index, trigger, actor, data, subject facts, approved)
Fire = tuple[int, str, Actor, dict[str, Any], tuple[Any, ...], bool]


class Tiny:
    """The smallest model a bare Machine can move: just a state."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class Token:
    """What the engine's machine moves (as workflow.engine does): a state and the subject."""

    __slots__ = ("state", "subject")

    def __init__(self, subject: Subject) -> None:
        self.state = subject.state
        self.subject = subject


def source_states(engine: Engine) -> list[str]:
    """The state each step of the cycle fires from, checked against the definition."""
    state = engine.definition.initial_state
    sources = []
    for step in CYCLE:
        trigger = engine.trigger(step.trigger)
        assert state in trigger.sources, (step.trigger, state)
        sources.append(state)
        state = RESTART.get(trigger.dest, trigger.dest)
    assert state == sources[0], "the cycle must come back to where it starts"
    return sources


def plan(engine: Engine, fires: int, subjects: int) -> tuple[list[Fire], list[str]]:
    """The fire sequence, round-robin over subjects, and each subject's starting state."""
    sources = source_states(engine)
    n = len(CYCLE)
    needs_approval = {t.name for t in engine.definition.triggers if t.approval is not None}
    steps = [(s.trigger, s.actor, s.data, s.facts(), s.trigger in needs_approval) for s in CYCLE]
    seq: list[Fire] = []
    for i in range(fires):
        subject = i % subjects
        seq.append((subject, *steps[(subject + i // subjects) % n]))
    return seq, [sources[s % n] for s in range(subjects)]


def bare_machine(engine: Engine) -> Machine:
    """One shared Machine with the definition's states and transitions, and nothing else."""
    d = engine.definition
    machine = Machine(
        model=None, states=list(d.state_names), initial=d.initial_state, auto_transitions=False
    )
    for t in d.triggers:
        for source in t.sources:
            machine.add_transition(t.name, source, t.dest)
    return machine


# -- (a) speed -------------------------------------------------------------------------------


def run_engine(engine: Engine, seq: list[Fire], start: list[str]) -> tuple[float, list[str]]:
    states = list(start)
    fire, restart = engine.fire, RESTART
    began = time.perf_counter()
    for s, name, actor, data, facts, approved in seq:
        out = fire(Subject(states[s], *facts), actor, name, data, CTX, approved=approved)
        state = out.to_state
        states[s] = restart.get(state, state)
    return time.perf_counter() - began, states


def run_check_and_machine(
    engine: Engine, seq: list[Fire], start: list[str]
) -> tuple[float, list[str]]:
    """Engine.check (state, actor, guards) and the shared machine's fire: no data validation."""
    states = list(start)
    check, events, restart = engine.check, engine.machine.events, RESTART
    began = time.perf_counter()
    for s, name, actor, _data, facts, _approved in seq:
        subject = Subject(states[s], *facts)
        check(subject, actor, name)
        token = Token(subject)
        if not events[name].trigger(token):
            raise RuntimeError(f"{name} refused by the machine in {subject.state}")
        state = token.state
        states[s] = restart.get(state, state)
    return time.perf_counter() - began, states


def run_bare(machine: Machine, seq: list[Fire], start: list[str]) -> tuple[float, list[str]]:
    states = list(start)
    events, restart = machine.events, RESTART
    began = time.perf_counter()
    for s, name, _actor, _data, _facts, _approved in seq:
        obj = Tiny(states[s])
        events[name].trigger(obj)
        state = obj.state
        states[s] = restart.get(state, state)
    return time.perf_counter() - began, states


def best_of(
    runs: int, fn: Callable[[Any, list[Fire], list[str]], tuple[float, list[str]]], *args: Any
) -> tuple[float, list[str]]:
    best, states = float("inf"), list[str]()
    for _ in range(runs):
        gc.collect()
        elapsed, states = fn(*args)
        best = min(best, elapsed)
    return best, states


def per_trigger(engine: Engine, machine: Machine, reps: int, runs: int) -> list[dict[str, Any]]:
    """Cost per fire of each step of the cycle on its own: engine.fire vs the bare machine."""
    sources = source_states(engine)
    needs_approval = {t.name for t in engine.definition.triggers if t.approval is not None}
    rows: list[dict[str, Any]] = []
    for step, state in zip(CYCLE, sources, strict=True):
        if any(r["trigger"] == step.trigger and r["from"] == state for r in rows):
            continue
        subject = Subject(state, *step.facts())
        approved = step.trigger in needs_approval
        fire, event = engine.fire, machine.events[step.trigger]
        best_engine = best_bare = float("inf")
        for _ in range(runs):
            began = time.perf_counter()
            for _ in range(reps):
                fire(subject, step.actor, step.trigger, step.data, CTX, approved=approved)
            best_engine = min(best_engine, time.perf_counter() - began)
            began = time.perf_counter()
            for _ in range(reps):
                event.trigger(Tiny(state))
            best_bare = min(best_bare, time.perf_counter() - began)
        rows.append(
            {
                "trigger": step.trigger,
                "from": state,
                "engine_us": best_engine / reps * 1e6,
                "bare_us": best_bare / reps * 1e6,
                "ratio": best_engine / best_bare,
            }
        )
    return rows


# -- (b) memory ------------------------------------------------------------------------------


def own_data(engine: Engine, step: Step, subject: int) -> dict[str, Any]:
    """The step's data with its first text field made unique to the subject."""
    data = dict(step.data)
    for f in engine.trigger(step.trigger).fields:
        if f.type is FieldType.TEXT and f.name in data:
            data[f.name] = f"{data[f.name]} (child {subject})"
            break
    return data


def fire_subjects(engine: Engine, subjects: int, fires_each: int) -> list[str]:
    """Fire `fires_each` triggers for each subject; return only their current states."""
    sources = source_states(engine)
    needs_approval = {t.name for t in engine.definition.triggers if t.approval is not None}
    n = len(CYCLE)
    states = [sources[s % n] for s in range(subjects)]
    for r in range(fires_each):
        for s in range(subjects):
            step = CYCLE[(s + r) % n]
            out = engine.fire(
                Subject(states[s], *step.facts()),
                step.actor,
                step.trigger,
                own_data(engine, step, s),
                CTX,
                approved=step.trigger in needs_approval,
            )
            states[s] = RESTART.get(out.to_state, out.to_state)
    return states


def memory(engine: Engine, subjects: int, fires_each: int) -> dict[str, Any]:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    began = time.perf_counter()
    states = fire_subjects(engine, subjects, fires_each)
    elapsed = time.perf_counter() - began
    gc.collect()
    with_states = tracemalloc.get_traced_memory()[0] - baseline
    del states
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "subjects": subjects,
        "fires": subjects * fires_each,
        "held_with_state_list_mb": with_states / 2**20,
        "retained_by_engine_mb": (current - baseline) / 2**20,
        "peak_during_fires_mb": (peak - baseline) / 2**20,
        "seconds_under_tracemalloc": elapsed,
    }


# -- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--fires", type=int, default=100_000, help="fires to time (100000)")
    parser.add_argument("--subjects", type=int, default=10_000, help="subjects to time (10000)")
    parser.add_argument("--runs", type=int, default=3, help="take the best of this many runs")
    parser.add_argument("--memory-small", type=int, default=1_000, help="subjects (1000)")
    parser.add_argument("--memory-large", type=int, default=100_000, help="subjects (100000)")
    parser.add_argument(
        "--memory-fires-each", type=int, default=1, help="fires per subject in the memory test"
    )
    parser.add_argument("--per-trigger-reps", type=int, default=1_000)
    parser.add_argument("--json", metavar="PATH", help="also write the results here as JSON")
    args = parser.parse_args(argv)

    engine = workflow.engine()
    machine = bare_machine(engine)
    seq, start = plan(engine, args.fires, args.subjects)

    # warm up: first fires fill lazy caches (holiday years, calendar, transitions internals)
    run_engine(engine, seq[: 10 * len(CYCLE)], start)
    fire_subjects(engine, 2 * len(CYCLE), 2)

    engine_s, engine_states = best_of(args.runs, run_engine, engine, seq, start)
    check_s, check_states = best_of(args.runs, run_check_and_machine, engine, seq, start)
    bare_s, bare_states = best_of(args.runs, run_bare, machine, seq, start)
    assert engine_states == bare_states == check_states, "the three loops disagree"
    rows = per_trigger(engine, machine, args.per_trigger_reps, args.runs)

    small = memory(engine, args.memory_small, args.memory_fires_each)
    large = memory(engine, args.memory_large, args.memory_fires_each)
    growth = large["retained_by_engine_mb"] - small["retained_by_engine_mb"]

    fires = len(seq)
    results: dict[str, Any] = {
        "python": platform.python_version(),
        "transitions": transitions.__version__,
        "speed": {
            "fires": fires,
            "subjects": args.subjects,
            "runs": args.runs,
            "bare_us_per_fire": bare_s / fires * 1e6,
            "engine_fire_us_per_fire": engine_s / fires * 1e6,
            "check_and_machine_us_per_fire": check_s / fires * 1e6,
            "ratio_engine_fire_to_bare": engine_s / bare_s,
            "ratio_check_and_machine_to_bare": check_s / bare_s,
            "validation_share_of_engine_fire": max(engine_s - check_s, 0.0) / engine_s,
            "target_ratio": 3.0,
            "per_trigger": rows,
        },
        "memory": {
            "small": small,
            "large": large,
            "engine_growth_mb": growth,
            "target_growth_mb": 10.0,
            "machine_models": len(engine.machine.models),
        },
    }
    report(results)
    text = json.dumps(results, sort_keys=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            out.write(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(text)
    return results


def report(r: dict[str, Any]) -> None:
    sp, mem = r["speed"], r["memory"]
    verdict = "within" if sp["ratio_engine_fire_to_bare"] <= sp["target_ratio"] else "OVER"
    print(f"workflow bench: Python {r['python']}, transitions {r['transitions']}")
    print()
    print(
        f"(a) speed: {sp['fires']:,} fires over {sp['subjects']:,} subjects, "
        f"best of {sp['runs']} runs"
    )
    print(f"    {'loop':<52} {'us/fire':>8} {'x bare':>7}")
    print(
        f"    {'bare transitions.Machine (no guards, no data)':<52} {sp['bare_us_per_fire']:>8.2f}"
    )
    print(
        f"    {'Engine.fire (check + validate data + machine)':<52} "
        f"{sp['engine_fire_us_per_fire']:>8.2f} {sp['ratio_engine_fire_to_bare']:>6.1f}x"
    )
    print(
        f"    {'Engine.check + machine fire, NO data validation':<52} "
        f"{sp['check_and_machine_us_per_fire']:>8.2f} "
        f"{sp['ratio_check_and_machine_to_bare']:>6.1f}x"
    )
    print(
        f"    target engine/bare <= {sp['target_ratio']:.0f}x: Engine.fire is {verdict} it; "
        f"data validation is {sp['validation_share_of_engine_fire']:.0%} of Engine.fire"
    )
    print()
    print("    per trigger, fired alone on one subject (us/fire):")
    print(f"    {'trigger':<26} {'from':<16} {'engine':>8} {'bare':>6} {'ratio':>6}")
    for row in sp["per_trigger"]:
        print(
            f"    {row['trigger']:<26} {row['from']:<16} {row['engine_us']:>8.1f} "
            f"{row['bare_us']:>6.1f} {row['ratio']:>5.1f}x"
        )
    print()
    small, large = mem["small"], mem["large"]
    print("(b) memory (tracemalloc): allocations still live after firing, own references dropped")
    print(f"    {'subjects':>9} {'fires':>9} {'engine kept MB':>15} {'+ state list MB':>16}")
    for m in (small, large):
        print(
            f"    {m['subjects']:>9,} {m['fires']:>9,} {m['retained_by_engine_mb']:>15.3f} "
            f"{m['held_with_state_list_mb']:>16.3f}"
        )
    verdict = "within" if mem["engine_growth_mb"] < mem["target_growth_mb"] else "OVER"
    print(
        f"    growth from {small['subjects']:,} to {large['subjects']:,} subjects: "
        f"{mem['engine_growth_mb']:+.3f} MB ({verdict} the {mem['target_growth_mb']:.0f} MB "
        f"target); models attached to the shared Machine: {mem['machine_models']}"
    )
    print(
        "    'engine kept' = traced memory after the fires minus before, once every Outcome,\n"
        "    Subject and data dict is dropped: what the engine, its Machine and any cache keep.\n"
        "    '+ state list' also counts the one list of current state strings a service would\n"
        "    hold (8 bytes a subject; the strings themselves are shared)."
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
