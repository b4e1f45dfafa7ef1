"""Draw a workflow definition's lifecycle as Mermaid text or a self-contained SVG document."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from workflow.definition import Definition

# -- the graph -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Edge:
    source: str
    dest: str
    trigger: str
    approval: bool

    @property
    def label(self) -> str:
        return f"{self.trigger} (approval)" if self.approval else self.trigger


def _edges(definition: Definition) -> list[_Edge]:
    """One edge per (source, trigger), in definition order."""
    return [
        _Edge(source, t.dest or source, t.name, t.approval is not None)
        for t in definition.triggers
        for source in t.sources
    ]


def _final_states(definition: Definition, edges: list[_Edge]) -> list[str]:
    """States nothing leaves: the lifecycle ends there."""
    leaving = {e.source for e in edges}
    return [s for s in definition.state_names if s not in leaving]


# -- Mermaid ---------------------------------------------------------------------------------


def _mermaid_text(value: str) -> str:
    return value.replace('"', "'").replace("\n", " ")


def mermaid(definition: Definition) -> str:
    """A Mermaid `stateDiagram-v2` of the lifecycle: one line per (source, trigger)."""
    edges = _edges(definition)
    lines = [
        "stateDiagram-v2",
        f"    %% {_mermaid_text(definition.title)} "
        f"(profile {definition.profile}, version {definition.version})",
    ]
    for state in definition.states:
        lines.append(f'    state "{_mermaid_text(state.label)}" as {state.name}')
    lines.append(f"    [*] --> {definition.initial_state}")
    for e in edges:
        lines.append(f"    {e.source} --> {e.dest}: {e.label}")
    for state_name in _final_states(definition, edges):
        lines.append(f"    {state_name} --> [*]")
    return "\n".join(lines) + "\n"


# -- SVG layout ------------------------------------------------------------------------------

BOX_W = 150.0
BOX_H = 52.0
COL_GAP = 190.0  # horizontal space between boxes, room for edge labels
ROW_GAP = 130.0
FINAL_ROW_GAP = 200.0  # extra drop before the final states: many edges converge there
MARGIN = 40.0
PARALLEL_SPACING = 34.0  # control-point offset between parallel edges (labels sit at half)
FONT_SIZE = 11.0
CHAR_W = FONT_SIZE * 0.62  # rough advance of one character, to size label backgrounds
LINE_H = FONT_SIZE + 4.0


@dataclass(frozen=True)
class _Box:
    name: str
    label: str
    x: float  # top-left corner
    y: float

    @property
    def cx(self) -> float:
        return self.x + BOX_W / 2

    @property
    def cy(self) -> float:
        return self.y + BOX_H / 2


def _layout(definition: Definition, edges: list[_Edge]) -> dict[str, _Box]:
    """Columns by distance from the initial state; side branches above; final states below."""
    finals = set(_final_states(definition, edges))
    order = {name: i for i, name in enumerate(definition.state_names)}
    depth: dict[str, int] = {definition.initial_state: 0}
    frontier = [definition.initial_state]
    while frontier:
        nxt: list[str] = []
        for state in frontier:
            for e in edges:
                if e.source == state and e.dest not in depth and e.dest not in finals:
                    depth[e.dest] = depth[state] + 1
                    nxt.append(e.dest)
        frontier = sorted(nxt, key=order.__getitem__)
    unreached = [s for s in definition.state_names if s not in depth and s not in finals]
    last = max(depth.values(), default=0)
    for i, state in enumerate(unreached, start=1):
        depth[state] = last + i

    # In each column the state that leads further on sits on the main row; side branches
    # (states that only return to earlier columns, or close) sit above it, half a column back
    # toward where they are entered, so that edges from the main row down to the final states
    # never cross them.
    def leads_on(state: str) -> bool:
        return any(e.source == state and depth.get(e.dest, -1) > depth[state] for e in edges)

    columns: dict[int, list[str]] = defaultdict(list)
    for state in sorted(depth, key=lambda s: (not leads_on(s), order[s])):
        columns[depth[state]].append(state)
    labels = {s.name: s.label for s in definition.states}
    boxes: dict[str, _Box] = {}
    step = BOX_W + COL_GAP
    for col, names in columns.items():
        for rank, state in enumerate(names):
            x = MARGIN + col * step - (step / 2 if rank else 0.0)
            boxes[state] = _Box(state, labels[state], x, -rank * (BOX_H + ROW_GAP))

    n_cols = max(columns, default=0) + 1
    final_names = [s for s in definition.state_names if s in finals]
    span = n_cols * BOX_W + (n_cols - 1) * COL_GAP
    used = len(final_names) * BOX_W + max(len(final_names) - 1, 0) * COL_GAP
    x0 = MARGIN + (span - used) / 2
    for i, state in enumerate(final_names):
        boxes[state] = _Box(state, labels[state], x0 + i * step, BOX_H + FINAL_ROW_GAP)
    return boxes


def _boundary(box: _Box, toward_x: float, toward_y: float) -> tuple[float, float]:
    """Where the ray from the box's centre toward a point leaves the box."""
    dx, dy = toward_x - box.cx, toward_y - box.cy
    if dx == 0 and dy == 0:
        return box.cx, box.cy
    scale = min(
        (BOX_W / 2) / abs(dx) if dx else math.inf,
        (BOX_H / 2) / abs(dy) if dy else math.inf,
    )
    return box.cx + dx * scale, box.cy + dy * scale


class _Labels:
    """Places edge labels, nudging each until its (estimated) box overlaps no earlier one."""

    def __init__(self) -> None:
        self.placed: list[tuple[float, float, float, float]] = []

    def place(self, text: str, x: float, y: float) -> tuple[float, float, float, float]:
        """(centre x, baseline y, width, height) of the label's final position."""
        width = len(text) * CHAR_W + 6
        height = LINE_H
        step = 0
        while True:
            # try just below, then just above, then further out, alternating
            shift = ((step + 1) // 2) * LINE_H * (1 if step % 2 else -1)
            cy = y + shift
            rect = (x - width / 2, cy - height / 2, x + width / 2, cy + height / 2)
            if not any(_overlap(rect, other) for other in self.placed):
                self.placed.append(rect)
                return x, cy + FONT_SIZE * 0.35, width, height
            step += 1


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _label_svg(text: str, x: float, baseline: float, width: float, height: float) -> list[str]:
    return [
        f'    <rect x="{_num(x - width / 2)}" y="{_num(baseline - FONT_SIZE * 0.35 - height / 2)}" '
        f'width="{_num(width)}" height="{_num(height)}" rx="3" ry="3" '
        'fill="#ffffff" fill-opacity="0.85" stroke="none"/>',
        f'    <text x="{_num(x)}" y="{_num(baseline)}" text-anchor="middle" '
        f'font-family="sans-serif" font-size="{_num(FONT_SIZE)}" fill="#222222">'
        f"{escape(text)}</text>",
    ]


def svg(definition: Definition) -> str:
    """A self-contained SVG 1.1 document: a rounded box per state, a labelled arrow per trigger."""
    edges = _edges(definition)
    boxes = _layout(definition, edges)
    labels = _Labels()
    for box in boxes.values():  # labels keep clear of the state boxes
        labels.placed.append((box.x, box.y, box.x + BOX_W, box.y + BOX_H))
    extent = [math.inf, math.inf, -math.inf, -math.inf]

    def grow(x0: float, y0: float, x1: float, y1: float) -> None:
        extent[0], extent[1] = min(extent[0], x0), min(extent[1], y0)
        extent[2], extent[3] = max(extent[2], x1), max(extent[3], y1)

    for box in boxes.values():
        grow(box.x, box.y, box.x + BOX_W, box.y + BOX_H)

    # Parallel edges between the same two states bend apart by different amounts.
    groups: dict[tuple[str, str], list[_Edge]] = defaultdict(list)
    for e in edges:
        groups[(e.source, e.dest)].append(e)

    body: list[str] = []
    for (source, dest), group in groups.items():
        a, b = boxes[source], boxes[dest]
        for i, e in enumerate(group):
            stroke = 'stroke="#444444" stroke-width="1.3" fill="none"'
            if e.approval:
                stroke += ' stroke-dasharray="6,3"'
            body.append(f'  <g class="edge" id={quoteattr(f"edge-{e.source}-{e.trigger}")}>')
            body.append(f"    <title>{escape(f'{e.source} -> {e.dest}: {e.label}')}</title>")
            if source == dest:
                # a small loop over the left of the box's top (edges from side branches
                # arrive nearer the middle), bigger for each further self-loop
                rise = 34.0 + 18.0 * i
                half = 20.0 + 6.0 * i
                mid = a.x + BOX_W * 0.3
                x0, x1, top = mid - half, mid + half, a.y
                d = (
                    f"M {_num(x0)} {_num(top)} C {_num(x0 - 10)} {_num(top - rise)} "
                    f"{_num(x1 + 10)} {_num(top - rise)} {_num(x1)} {_num(top)}"
                )
                lx, ly = mid, top - rise * 0.75 - LINE_H / 2
                grow(x0 - 10, top - rise, x1 + 10, top)
            else:
                reverse = (dest, source) in groups
                n = len(group)
                offset = (i + 1 if reverse else i - (n - 1) / 2) * PARALLEL_SPACING
                dx, dy = b.cx - a.cx, b.cy - a.cy
                length = math.hypot(dx, dy)
                nx, ny = -dy / length, dx / length  # left-hand normal of source -> dest
                mx, my = (a.cx + b.cx) / 2, (a.cy + b.cy) / 2
                cx, cy = mx + nx * offset, my + ny * offset
                sx, sy = _boundary(a, cx, cy)
                ex, ey = _boundary(b, cx, cy)
                d = f"M {_num(sx)} {_num(sy)} Q {_num(cx)} {_num(cy)} {_num(ex)} {_num(ey)}"
                # the curve's own midpoint (t = 0.5) carries the label
                lx = 0.25 * sx + 0.5 * cx + 0.25 * ex
                ly = 0.25 * sy + 0.5 * cy + 0.25 * ey
                grow(min(sx, cx, ex), min(sy, cy, ey), max(sx, cx, ex), max(sy, cy, ey))
            body.append(f'    <path d="{d}" {stroke} marker-end="url(#arrow)"/>')
            tx, baseline, width, height = labels.place(e.label, lx, ly)
            grow(tx - width / 2, baseline - height, tx + width / 2, baseline + height / 2)
            body.extend(_label_svg(e.label, tx, baseline, width, height))
            body.append("  </g>")

    states: list[str] = []
    initial = boxes[definition.initial_state]
    finals = set(_final_states(definition, edges))
    for state in definition.states:
        box = boxes[state.name]
        fill = "#e8f0fb" if state.name not in finals else "#eeeeee"
        stroke_w = "2.5" if state.name == definition.initial_state else "1.5"
        states += [
            f'  <g class="state" id={quoteattr(f"state-{state.name}")}>',
            f"    <title>{escape(f'{state.name}: {state.description}')}</title>",
            f'    <rect x="{_num(box.x)}" y="{_num(box.y)}" width="{_num(BOX_W)}" '
            f'height="{_num(BOX_H)}" rx="10" ry="10" fill="{fill}" stroke="#1f4e8c" '
            f'stroke-width="{stroke_w}"/>',
            f'    <text x="{_num(box.cx)}" y="{_num(box.cy - 3)}" text-anchor="middle" '
            f'font-family="sans-serif" font-size="13" font-weight="bold" fill="#111111">'
            f"{escape(state.label)}</text>",
            f'    <text x="{_num(box.cx)}" y="{_num(box.cy + 13)}" text-anchor="middle" '
            f'font-family="monospace" font-size="10" fill="#555555">{escape(state.name)}</text>',
            "  </g>",
        ]
    # the start marker: a filled dot pointing at the initial state
    dot_x, dot_y = initial.x + 14.0, initial.y - 30.0
    start = [
        '  <g class="start">',
        f'    <circle cx="{_num(dot_x)}" cy="{_num(dot_y)}" r="6" fill="#111111"/>',
        f'    <path d="M {_num(dot_x)} {_num(dot_y + 6)} L {_num(dot_x)} {_num(initial.y)}" '
        'stroke="#111111" stroke-width="1.3" fill="none" marker-end="url(#arrow)"/>',
        "  </g>",
    ]
    grow(dot_x - 6, dot_y - 6, dot_x + 6, dot_y + 6)

    min_x, min_y = extent[0] - MARGIN, extent[1] - MARGIN
    width, height = extent[2] - extent[0] + 2 * MARGIN, extent[3] - extent[1] + 2 * MARGIN
    title = f"{definition.title}: referral lifecycle (profile {definition.profile}, " + (
        f"version {definition.version})"
    )
    head = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
        f'width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="{_num(min_x)} {_num(min_y)} {_num(width)} {_num(height)}">',
        f"  <title>{escape(title)}</title>",
        "  <desc>States are rounded boxes; each arrow is a trigger. Dashed arrows need "
        "approval (four-eyes) before they apply.</desc>",
        "  <defs>",
        '    <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" markerUnits="strokeWidth" orient="auto">',
        '      <path d="M 0 0 L 10 5 L 0 10 z" fill="#444444"/>',
        "    </marker>",
        "  </defs>",
        f'  <rect x="{_num(min_x)}" y="{_num(min_y)}" width="{_num(width)}" '
        f'height="{_num(height)}" fill="#ffffff"/>',
    ]
    return "\n".join([*head, *body, *states, *start, "</svg>"]) + "\n"
