"""Charts for the /reports page: SVG drawn on the server by pygal.

pygal is pure Python and writes SVG itself (no numpy, no image backend, no network: its
JavaScript tooltips are switched off). Each chart is readable without colour: one colour per
chart with each bar's number written on it, and trend lines told apart by dash pattern and
marker as well as by colour, named in a legend. The page embeds each chart as an `<img>`
(a data: URL, which the Content-Security-Policy's img-src allows; the SVG's own styles stay
inside the image) with a text alternative, beside its table of numbers.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Sequence
from functools import cache
from types import ModuleType
from typing import Any


@cache
def _pygal() -> tuple[ModuleType, dict[str, Any]]:
    """pygal, and the options every chart shares. Imported on the first chart, not with the
    app: its import reads every installed package's entry points, a tenth of the start-up of
    each command and worker that never draws one."""
    import pygal
    from pygal.style import Style

    # pygal appends a legacy import hook for its map plugins (unused here) to sys.meta_path;
    # it lacks find_spec, so every later failed import warns (an error under the test suite's
    # warning filter). Take it out again.
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != "pygal"]
    # GOV.UK Frontend's text colour and blue; the dark blue passes contrast on white
    style = Style(
        background="white",
        plot_background="white",
        foreground="#0b0c0c",
        foreground_strong="#0b0c0c",
        foreground_subtle="#505a5f",
        colors=("#1d70b8", "#0b0c0c", "#505a5f"),
        font_family="Arial, sans-serif",
        label_font_size=13,
        major_label_font_size=13,
        value_font_size=13,
        value_label_font_size=13,
        legend_font_size=14,
        title_font_size=16,
    )
    common = {
        "style": style,
        "js": [],  # no script: pygal would fetch its tooltips from the internet
        "disable_xml_declaration": True,
        "width": 640,
        "height": 320,
        "explicit_size": True,
        "print_values": True,
        "include_x_axis": True,
    }
    return pygal, common


#: pygal writes its configuration as an inline script even with no scripts to load
SCRIPT = re.compile(rb"<script\b.*?</script>", re.S)


def _data_url(svg: str | bytes) -> str:
    raw = SCRIPT.sub(b"", svg.encode() if isinstance(svg, str) else svg)
    return "data:image/svg+xml;base64," + base64.b64encode(raw).decode("ascii")


def bars(title: str, labels: Sequence[str], values: Sequence[float | None]) -> str:
    """A bar chart (horizontal when there are many bars); None draws no bar (suppressed)."""
    pygal, common = _pygal()
    chart_type = pygal.HorizontalBar if len(labels) > 6 else pygal.Bar
    height = max(320, 40 * len(labels) + 80) if len(labels) > 6 else 320
    chart = chart_type(title=title, show_legend=False, **{**common, "height": height})
    if chart_type is pygal.HorizontalBar:
        chart.x_labels = list(reversed(labels))
        chart.add(title, list(reversed(values)))
    else:
        chart.x_labels = list(labels)
        chart.add(title, list(values))
    return _data_url(chart.render())


def lines(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int | None]]]
) -> str:
    """Trend lines, each with its own dash pattern and marker as well as colour."""
    pygal, common = _pygal()
    chart = pygal.Line(
        title=title,
        show_legend=True,
        legend_at_bottom=True,
        x_label_rotation=30,
        dots_size=4,
        **{**common, "height": 360},
    )
    chart.x_labels = list(labels)
    dashes = ("", "8,4", "2,4")
    for i, (name, values) in enumerate(series):
        stroke = {"width": 3, "dasharray": dashes[i % len(dashes)]}
        chart.add(name, list(values), stroke_style=stroke)
    return _data_url(chart.render())
