"""Record-reading templates as data: themes, questions, scales, guidance and quality indicators.

A template is versioned like a workflow profile: an exercise records the id and version it
was read against, and a version, once registered, is never replaced. The built-in templates
are below; a deployment registers more, without code, as JSON files in a directory (see
`template_from_dict` for the shape and `TemplateRegistry.load_directory`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

SIX_POINT = "six_point"
YES_NO_PARTLY = "yes_no_partly"
SCALES: tuple[str, ...] = (SIX_POINT, YES_NO_PARTLY)
#: the six-point scale of the Care Inspectorate's quality framework
GRADES: dict[int, str] = {
    6: "excellent",
    5: "very good",
    4: "good",
    3: "adequate",
    2: "weak",
    1: "unsatisfactory",
}
ANSWERS: tuple[str, ...] = ("yes", "partly", "no")
#: a yes/no/partly answer as a share of "yes": what its mean is taken over
ANSWER_SCORES: dict[str, float] = {"yes": 1.0, "partly": 0.5, "no": 0.0}
#: two submitted grades this far apart (or further) go to moderation
MODERATION_GAP = 2

RECORD = "record"  # read by two readers against a referral
FEEDBACK = "feedback"  # answered by a child or parents and carers
KINDS: tuple[str, ...] = (RECORD, FEEDBACK)

DEFAULT_TEMPLATE = "ird-quality"
FEEDBACK_TEMPLATE = "family-feedback"


class TemplateError(ValueError):
    """A template's data is not a valid template (or clashes with one registered)."""


class UnknownTemplate(LookupError):
    pass


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    scale: str
    indicator: str
    guidance: str = ""


@dataclass(frozen=True)
class Theme:
    id: str
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Template:
    id: str
    version: int
    title: str
    themes: tuple[Theme, ...]
    #: quality indicator id -> its title
    indicators: Mapping[str, str] = field(default_factory=dict)
    kind: str = RECORD
    description: str = ""

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise TemplateError(f"template {self.id!r} v{self.version}: " + "; ".join(problems))

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for theme in self.themes for q in theme.questions)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def theme_of(self, question_id: str) -> Theme | None:
        return next((t for t in self.themes if any(q.id == question_id for q in t.questions)), None)


def _problems(t: Template) -> list[str]:
    problems = []
    if not t.id or not t.title or t.version < 1:
        problems.append("needs an id, a title and a version of 1 or more")
    if t.kind not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}")
    if not t.themes:
        problems.append("needs at least one theme")
    ids = [q.id for q in t.questions]
    if len(ids) != len(set(ids)):
        problems.append("question ids must be unique")
    if len({th.id for th in t.themes}) != len(t.themes):
        problems.append("theme ids must be unique")
    for theme in t.themes:
        if not theme.questions:
            problems.append(f"theme {theme.id!r} has no questions")
    for q in t.questions:
        if q.scale not in SCALES:
            problems.append(f"question {q.id!r}: scale must be one of {', '.join(SCALES)}")
        if q.indicator not in t.indicators:
            problems.append(f"question {q.id!r}: indicator {q.indicator!r} is not listed")
        if not q.text:
            problems.append(f"question {q.id!r} has no text")
    return problems


def template_from_dict(data: Mapping[str, Any]) -> Template:
    """A template from JSON-shaped data:

    {"id", "version", "title", "kind" ("record" or "feedback"), "description",
     "indicators": {id: title},
     "themes": [{"id", "title", "questions": [{"id", "text", "scale", "indicator", "guidance"}]}]}
    """
    try:
        return Template(
            id=str(data["id"]),
            version=int(data["version"]),
            title=str(data["title"]),
            kind=str(data.get("kind", RECORD)),
            description=str(data.get("description", "")),
            indicators={str(k): str(v) for k, v in dict(data.get("indicators", {})).items()},
            themes=tuple(
                Theme(
                    id=str(theme["id"]),
                    title=str(theme["title"]),
                    questions=tuple(
                        Question(
                            id=str(q["id"]),
                            text=str(q["text"]),
                            scale=str(q["scale"]),
                            indicator=str(q["indicator"]),
                            guidance=str(q.get("guidance", "")),
                        )
                        for q in theme["questions"]
                    ),
                )
                for theme in data["themes"]
            ),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, TemplateError):
            raise
        raise TemplateError(f"not a template: {exc!r}") from None


def template_to_dict(t: Template) -> dict[str, Any]:
    return {
        "id": t.id,
        "version": t.version,
        "title": t.title,
        "kind": t.kind,
        "description": t.description,
        "indicators": dict(t.indicators),
        "themes": [
            {
                "id": theme.id,
                "title": theme.title,
                "questions": [
                    {
                        "id": q.id,
                        "text": q.text,
                        "scale": q.scale,
                        "indicator": q.indicator,
                        "guidance": q.guidance,
                    }
                    for q in theme.questions
                ],
            }
            for theme in t.themes
        ],
    }


def _q(qid: str, text: str, scale: str, indicator: str, guidance: str) -> Question:
    return Question(qid, text, scale, indicator, guidance)


#: DOMAIN.md section 10: the IRD quality questions, grouped into themes. Only QI 2.1 is a
#: confirmed indicator of the Care Inspectorate's quality framework; the others are this
#: template's own headings until the framework's list is verified (DOMAIN.md section 9, gap 5).
IRD_QUALITY_V1 = Template(
    id=DEFAULT_TEMPLATE,
    version=1,
    title="IRD quality (multi-agency record reading)",
    description="The default record-reading questions on inter-agency referral discussions.",
    indicators={
        "timely_response": "Timely, inter-agency response to the concern",
        "information_sharing": "Information shared and used",
        "decision_making": "Reasoned decisions about risk",
        "safety_planning": "Safety planning and lead professional",
        "qi_2_1": "QI 2.1 Impact on children and young people",
    },
    themes=(
        Theme(
            "response",
            "Response to the concern",
            (
                _q(
                    "ird_timely",
                    "Was the IRD convened timeously after the concern was received?",
                    YES_NO_PARTLY,
                    "timely_response",
                    "As soon as reasonably practicable; out of hours, a full IRD normally the "
                    "next working day (NG2021 3.15, Appendix D).",
                ),
                _q(
                    "core_agencies",
                    "Did all core agencies (police, health, social work) take part?",
                    YES_NO_PARTLY,
                    "timely_response",
                    "Police, health and social work must all participate (NG2021 3.23, 3.31).",
                ),
            ),
        ),
        Theme(
            "information",
            "Information and history",
            (
                _q(
                    "information_recorded",
                    "Is the information each agency shared recorded?",
                    SIX_POINT,
                    "information_sharing",
                    "Look for each agency's contribution, not a single summary (NG2021 3.19, "
                    "3.30).",
                ),
                _q(
                    "chronology_used",
                    "Was a chronology used to understand the history?",
                    YES_NO_PARTLY,
                    "information_sharing",
                    "Past concerns seen together, not each in isolation (NG2021 3.172-3.177).",
                ),
            ),
        ),
        Theme(
            "decisions",
            "Decisions about risk",
            (
                _q(
                    "decision_rationale",
                    "Is the decision recorded with a reasoned, evidenced rationale?",
                    SIX_POINT,
                    "decision_making",
                    "A reasoned and evidenced inter-agency decision; reasons for no "
                    "investigation where none (NG2021 3.32, 3.35).",
                ),
                _q(
                    "other_children",
                    "Were siblings and other children in the same context considered?",
                    YES_NO_PARTLY,
                    "decision_making",
                    "Siblings and other children in the household or context (NG2021 3.16).",
                ),
            ),
        ),
        Theme(
            "child",
            "The child at the centre",
            (
                _q(
                    "childs_views",
                    "Were the child's views sought and recorded, or the reason they were not?",
                    SIX_POINT,
                    "qi_2_1",
                    "The child's feelings and views, in their words where possible (NG2021 3.39).",
                ),
                _q(
                    "kept_safe",
                    "Overall, how well does the record show that the child was kept safe?",
                    SIX_POINT,
                    "qi_2_1",
                    "Your overall judgement of the impact on the child (QI 2.1).",
                ),
            ),
        ),
        Theme(
            "safety",
            "Safety planning",
            (
                _q(
                    "interim_safety_plan",
                    "Where risk was identified, is an interim safety plan recorded in plain "
                    "language?",
                    SIX_POINT,
                    "safety_planning",
                    "Plain language, who does what, how the child is seen and heard (NG2021 "
                    "3.110).",
                ),
                _q(
                    "lead_professional",
                    "Is a lead professional (qualified social worker) named before closure?",
                    YES_NO_PARTLY,
                    "safety_planning",
                    "The IRD record should name the lead professional before closure (NG2021 "
                    "3.40).",
                ),
            ),
        ),
    ),
)

#: the short questions a child, and parents or carers, from the sample are asked
FAMILY_FEEDBACK_V1 = Template(
    id=FEEDBACK_TEMPLATE,
    version=1,
    kind=FEEDBACK,
    title="Children's and families' feedback",
    description="Asked of the child and of the parents or carers of each sampled record.",
    indicators={"qi_2_1": "QI 2.1 Impact on children and young people"},
    themes=(
        Theme(
            "experience",
            "Your experience",
            (
                _q(
                    "understood",
                    "Did you understand what was happening and why?",
                    YES_NO_PARTLY,
                    "qi_2_1",
                    "",
                ),
                _q(
                    "listened_to",
                    "Did people listen to what you had to say?",
                    YES_NO_PARTLY,
                    "qi_2_1",
                    "",
                ),
                _q(
                    "kept_informed",
                    "Were you kept informed about decisions?",
                    YES_NO_PARTLY,
                    "qi_2_1",
                    "",
                ),
                _q("safer", "Do you feel things are safer now?", YES_NO_PARTLY, "qi_2_1", ""),
            ),
        ),
    ),
)

BUILT_IN: tuple[Template, ...] = (IRD_QUALITY_V1, FAMILY_FEEDBACK_V1)


class TemplateRegistry:
    """Every template this deployment knows, by id and version; a version is never replaced."""

    def __init__(self, templates: Iterable[Template] = BUILT_IN) -> None:
        self._templates: dict[tuple[str, int], Template] = {}
        for t in templates:
            self.register(t)

    def register(self, template: Template) -> None:
        key = (template.id, template.version)
        if key in self._templates:
            raise TemplateError(f"template {template.id!r} v{template.version} already exists")
        self._templates[key] = template

    def load_directory(self, directory: Path) -> None:
        """Register every `*.json` template in `directory` (sorted by file name)."""
        for path in sorted(directory.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise TemplateError(f"{path.name}: {exc}") from None
            self.register(template_from_dict(data))

    def all(self, kind: str | None = None) -> list[Template]:
        found = sorted(self._templates.values(), key=lambda t: (t.id, t.version))
        return [t for t in found if kind is None or t.kind == kind]

    def get(self, template_id: str, version: int | None = None) -> Template:
        if version is None:
            versions = [v for i, v in self._templates if i == template_id]
            if not versions:
                raise UnknownTemplate(f"no template {template_id!r}")
            version = max(versions)
        try:
            return self._templates[(template_id, version)]
        except KeyError:
            raise UnknownTemplate(f"no template {template_id!r} v{version}") from None


@cache
def registry(directory: str | None = None) -> TemplateRegistry:
    """The built-in templates plus those in `directory` (a deployment's setting), loaded once."""
    found = TemplateRegistry()
    if directory:
        found.load_directory(Path(directory))
    return found
