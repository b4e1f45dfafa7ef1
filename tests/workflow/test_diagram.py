"""The lifecycle diagrams say exactly what the definition says."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

import workflow
from workflow.definition import Definition
from workflow.diagram import mermaid, svg

SVG_NS = "{http://www.w3.org/2000/svg}"
EDGE_RE = re.compile(r"^\s*(\w+) --> (\w+): (\w+)( \(approval\))?$")


@pytest.fixture(scope="module")
def definition() -> Definition:
    return workflow.definition()


@pytest.fixture(scope="module")
def mermaid_text(definition: Definition) -> str:
    return mermaid(definition)


@pytest.fixture(scope="module")
def svg_root(definition: Definition) -> ET.Element:
    return parse(svg(definition))


def parse(document: str) -> ET.Element:
    # the document is our own output, not untrusted input: xml.etree is what a reader would use
    return ET.fromstring(document.encode("utf-8"))  # noqa: S314


def svg_texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


def mermaid_edges(text: str) -> list[tuple[str, str, str, bool]]:
    edges = []
    for line in text.splitlines():
        m = EDGE_RE.match(line)
        if m:
            edges.append((m[1], m[2], m[3], m[4] is not None))
    return edges


# -- Mermaid -----------------------------------------------------------------------------------


def test_mermaid_is_a_state_diagram_with_start_and_end(
    definition: Definition, mermaid_text: str
) -> None:
    lines = mermaid_text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert f"    [*] --> {definition.initial_state}" in lines
    assert "    closed --> [*]" in lines
    # exactly the states with no way out end the diagram
    leaving = {s for t in definition.triggers for s in t.sources}
    ends = {line.split()[0] for line in lines if line.rstrip().endswith("--> [*]")}
    assert ends == set(definition.state_names) - leaving


def test_mermaid_names_every_state_and_trigger(definition: Definition, mermaid_text: str) -> None:
    words = set(re.findall(r"\w+", mermaid_text))
    assert set(definition.state_names) <= words
    assert set(definition.trigger_names) <= words


def test_mermaid_edges_are_exactly_the_definitions(
    definition: Definition, mermaid_text: str
) -> None:
    expected_pairs = {(s, t.dest or s) for t in definition.triggers for s in t.sources}
    expected_edges = Counter(
        (s, t.dest or s, t.name) for t in definition.triggers for s in t.sources
    )
    drawn = mermaid_edges(mermaid_text)
    assert {(src, dest) for src, dest, _, _ in drawn} == expected_pairs
    assert Counter((src, dest, name) for src, dest, name, _ in drawn) == expected_edges
    # lines that look like edges but did not parse would hide a mistake
    arrows = [line for line in mermaid_text.splitlines() if "-->" in line and "[*]" not in line]
    assert len(arrows) == len(drawn)


def test_mermaid_marks_exactly_the_approval_triggers(
    definition: Definition, mermaid_text: str
) -> None:
    needs_approval = {t.name for t in definition.triggers if t.approval is not None}
    assert needs_approval  # the profile has four-eyes decisions to show
    for _src, _dest, name, marked in mermaid_edges(mermaid_text):
        assert marked == (name in needs_approval), name


# -- SVG ---------------------------------------------------------------------------------------


def test_svg_is_a_titled_svg_document(definition: Definition, svg_root: ET.Element) -> None:
    assert svg_root.tag == f"{SVG_NS}svg"
    assert svg_root.get("version") == "1.1"
    title = svg_root.find(f"{SVG_NS}title")
    assert title is not None
    assert definition.title in (title.text or "")
    marker = svg_root.find(f".//{SVG_NS}marker")
    assert marker is not None


def test_svg_is_self_contained(definition: Definition) -> None:
    text = svg(definition)
    for forbidden in ("<script", "<style", "@import", "href=", "<foreignObject"):
        assert forbidden not in text


def test_svg_has_one_rounded_box_per_state(definition: Definition, svg_root: ET.Element) -> None:
    groups = [g for g in svg_root.iter(f"{SVG_NS}g") if g.get("class") == "state"]
    assert sorted(g.get("id", "") for g in groups) == sorted(
        f"state-{name}" for name in definition.state_names
    )
    for g in groups:
        rects = g.findall(f"{SVG_NS}rect")
        assert len(rects) == 1
        assert float(rects[0].get("rx", "0")) > 0
        name = (g.get("id") or "").removeprefix("state-")
        assert name in svg_texts(g)
        assert definition.states[definition.state_names.index(name)].label in svg_texts(g)


def test_svg_draws_every_transition_with_an_arrow_and_label(
    definition: Definition, svg_root: ET.Element
) -> None:
    groups = [g for g in svg_root.iter(f"{SVG_NS}g") if g.get("class") == "edge"]
    expected = sorted(f"edge-{s}-{t.name}" for t in definition.triggers for s in t.sources)
    assert sorted(g.get("id") or "" for g in groups) == expected
    needs_approval = {t.name for t in definition.triggers if t.approval is not None}
    for g in groups:
        path = g.find(f"{SVG_NS}path")
        assert path is not None
        assert path.get("marker-end") == "url(#arrow)"
        [label] = svg_texts(g)
        name = label.split()[0]
        assert name in definition.trigger_names
        assert label.endswith("(approval)") == (name in needs_approval)
    texts = " ".join(svg_texts(svg_root))
    assert set(definition.trigger_names) <= set(texts.split())


def test_svg_self_loops_are_loops(definition: Definition, svg_root: ET.Element) -> None:
    loops = [(s, t.name) for t in definition.triggers for s in t.sources if s == t.dest]
    assert loops
    for state, name in loops:
        g = svg_root.find(f".//{SVG_NS}g[@id='edge-{state}-{name}']")
        assert g is not None
        path = g.find(f"{SVG_NS}path")
        assert path is not None
        d = path.get("d", "").split()
        assert d[0] == "M"
        assert "C" in d
        start, end = (float(d[1]), float(d[2])), (float(d[-2]), float(d[-1]))
        # leaves and returns to the same side of the box, at two different points
        assert start[1] == end[1]
        assert start[0] != end[0]


def test_svg_labels_are_not_drawn_on_top_of_each_other(svg_root: ET.Element) -> None:
    positions = [
        (t.get("x"), t.get("y"))
        for g in svg_root.iter(f"{SVG_NS}g")
        if g.get("class") == "edge"
        for t in g.iter(f"{SVG_NS}text")
    ]
    assert len(positions) == len(set(positions))


def test_svg_escapes_text() -> None:
    base = workflow.definition()
    odd = dataclasses.replace(base, title='Fish & <chips> "quoted"')
    root = parse(svg(odd))
    title = root.find(f"{SVG_NS}title")
    assert title is not None
    assert 'Fish & <chips> "quoted"' in (title.text or "")
