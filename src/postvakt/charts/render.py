"""Drawing a :class:`~postvakt.charts.Chart`: inline SVG for the web panel, PNG for Word.

Both come from one matplotlib figure, so the panel and the compilation show the same chart.
Matplotlib rather than pygal: it writes SVG and PNG from the same drawing with no system
library (pygal's PNG needs CairoSVG and libcairo), and its SVG carries no script.

The SVG is made fit for the panel's page:

- no script, no ``<style>`` and no ``style`` attribute — the page's Content-Security-Policy
  (``default-src 'self'``) refuses inline styles, so every style becomes the SVG
  presentation attribute of the same name (``fill``, ``stroke``, ``font-size`` …);
- ``role="img"`` with the chart's title as its accessible name and as a ``<title>``;
  every bar has a ``<title>`` too ("Klagomål, mars: 3"), shown when the pointer rests on
  it; the figures themselves are in the table the page puts beside the chart;
- every id is prefixed with the chart's key, so several charts can share a page;
- no fixed width or height: it scales to its column (a phone's too) by its ``viewBox``.

Matplotlib's settings are process-wide, so drawing is serialised by a lock (a chart takes
a few hundredths of a second).
"""

from __future__ import annotations

import functools
import io
import re
import threading
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from postvakt.charts import Chart

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["BAR_ID", "png", "svg"]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
BAR_ID = "bar-"
"""How each drawn bar's group id starts, after the chart's key: ``per-manad-bar-0-3``."""

# Colours with at least 3:1 contrast against white (WCAG 1.4.11), told apart by hatching
# too so the chart reads in greyscale and for those who do not see the difference.
COLOURS = ("#1f5f8b", "#b8500f", "#3f6f22")
HATCHES = ("", "///", "...")
GRID = "#d0d0d0"
WIDTH = 6.4
"""Inches: narrow enough that the text stays readable where a phone shrinks the picture."""

_LOCK = threading.Lock()
_SETTINGS = {
    "svg.fonttype": "none",  # text stays text: smaller, and the browser's own font
    "font.family": "DejaVu Sans",  # shipped with matplotlib: å, ä and ö in the PNG
    "font.size": 12,
    "hatch.linewidth": 1.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_REF = re.compile(r"url\(#([^)]+)\)")

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


def _figure(chart: Chart) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    count = len(chart.categories)
    several = len(chart.series)
    # A bar chart of units grows with them; months fit a fixed landscape strip.
    height = max(2.4, 1.2 + 0.36 * count * max(1, several)) if chart.horizontal else 3.6
    figure = Figure(figsize=(WIDTH, height), layout="constrained")
    axes = figure.add_subplot()
    axes.set_axisbelow(True)
    width = 0.8 / max(1, several)
    for s, series in enumerate(chart.series):
        places = [i - 0.4 + width * (s + 0.5) for i in range(count)]
        heights = [v or 0 for v in series.values]
        draw = axes.barh if chart.horizontal else axes.bar
        bars = draw(
            places,
            heights,
            width,
            label=series.name,
            color=COLOURS[s % len(COLOURS)],
            hatch=HATCHES[s % len(HATCHES)] or None,
            edgecolor="white",
            linewidth=0.5,
        )
        for i, bar in enumerate(bars):
            bar.set_gid(f"{BAR_ID}{s}-{i}")
            # Nothing to show is no bar at all (a zero-high bar is still a shape in the SVG).
            bar.set_visible(bool(series.values[i]))
        axes.bar_label(
            bars,
            labels=[chart.text(v) if v else "" for v in series.values],
            padding=2,
            fontsize=10,
        )
    value_axis = axes.xaxis if chart.horizontal else axes.yaxis
    if chart.percent:
        (axes.set_xlim if chart.horizontal else axes.set_ylim)(0, 110)
        value_axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f} %"))
        value_axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
    else:
        value_axis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        top = max((v or 0 for s in chart.series for v in s.values), default=0)
        (axes.set_xlim if chart.horizontal else axes.set_ylim)(0, max(1.0, top * 1.15))
    if chart.horizontal:
        axes.set_yticks(range(count), chart.ticks)
        axes.invert_yaxis()  # the first category at the top, as in the table
        axes.grid(axis="x", color=GRID, linewidth=0.6)
    else:
        axes.set_xticks(range(count), chart.ticks)
        axes.grid(axis="y", color=GRID, linewidth=0.6)
    if chart.axis_label:
        (axes.set_ylabel if chart.horizontal else axes.set_xlabel)(chart.axis_label)
    if several > 1:  # above the bars, never over them; drawn keys (a bar may be hidden)
        keys = [
            Patch(
                facecolor=COLOURS[s % len(COLOURS)],
                hatch=HATCHES[s % len(HATCHES)] or None,
                edgecolor="white",
                label=series.name,
            )
            for s, series in enumerate(chart.series)
        ]
        figure.legend(handles=keys, frameon=False, loc="outside upper left", ncols=several)
    return figure


def _draw(chart: Chart, fmt: str, **options: Any) -> bytes:
    from matplotlib import rc_context

    buffer = io.BytesIO()
    with _LOCK, rc_context({**_SETTINGS, "svg.hashsalt": chart.key}):
        _figure(chart).savefig(buffer, format=fmt, **options)
    return buffer.getvalue()


def png(chart: Chart, *, dpi: int = 200) -> bytes:
    """The chart as a PNG picture (for the Word document)."""
    return _draw(chart, "png", dpi=dpi, metadata={"Software": None})


def _attributes(element: ET.Element) -> None:
    """The element's ``style`` as presentation attributes of the same names."""
    style = element.attrib.pop("style", None)
    if not style:
        return
    for declaration in style.split(";"):
        name, _sep, value = declaration.partition(":")
        name, value = name.strip(), value.strip()
        if name == "font-family":
            value += ", sans-serif"  # where the reader has no DejaVu Sans
        if name and value:
            element.set(name, value)


def _prefix(element: ET.Element, key: str) -> None:
    """Every id and every reference to one, prefixed with ``key-``."""
    if "id" in element.attrib:
        element.set("id", f"{key}-{element.get('id')}")
    for name, value in element.attrib.items():
        if name == f"{{{XLINK_NS}}}href" and value.startswith("#"):
            element.set(name, f"#{key}-{value[1:]}")
        elif "url(#" in value:
            element.set(name, _REF.sub(lambda m: f"url(#{key}-{m.group(1)})", value))


def _tooltip(element: ET.Element, chart: Chart) -> None:
    """A ``<title>`` for a bar's group: 'Klagomål, mars: 3'."""
    s, _sep, i = element.get("id", "")[len(chart.key) + 1 + len(BAR_ID) :].partition("-")
    series = chart.series[int(s)]
    value = series.values[int(i)]
    title = ET.Element(f"{{{SVG_NS}}}title")
    title.text = f"{series.name}, {chart.categories[int(i)]}: {chart.text(value)}"
    element.insert(0, title)


@functools.lru_cache(maxsize=64)
def svg(chart: Chart) -> Markup:
    """The chart as an ``<svg>`` element to put in a page as it is (see the module's notes).
    The same figures give the same picture, so pictures are kept for the next page."""
    text = _draw(chart, "svg", metadata={"Date": None, "Creator": None}).decode("utf-8")
    root = ET.fromstring(text)  # noqa: S314 - matplotlib's output of our own figures
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{{{SVG_NS}}}metadata", f"{{{SVG_NS}}}style"):
                parent.remove(child)
    bar = f"{chart.key}-{BAR_ID}"
    for element in root.iter():
        _attributes(element)
        _prefix(element, chart.key)
        if element.tag == f"{{{SVG_NS}}}g" and element.get("id", "").startswith(bar):
            _tooltip(element, chart)
    for name in ("width", "height"):
        root.attrib.pop(name, None)
    # What the removed <style> said, as attributes every shape inherits.
    root.set("stroke-linejoin", "round")
    root.set("stroke-linecap", "butt")
    root.set("class", "chart-picture")
    root.set("role", "img")
    root.set("aria-label", chart.title)
    root.set("focusable", "false")
    title = ET.Element(f"{{{SVG_NS}}}title")
    title.text = chart.title
    root.insert(0, title)
    return Markup(ET.tostring(root, encoding="unicode"))  # noqa: S704 - escaped by ElementTree
