"""Charts where people would rather look than read: the figures, drawn without JavaScript.

A :class:`Chart` holds what a chart shows — categories (months, units, age groups) and one
or more :class:`Series` of figures with, where there is one, the address of the list behind
each figure.  :mod:`postvakt.charts.render` draws it as inline SVG for the web panel (no
script, no style attributes the page's Content-Security-Policy would refuse, a title for
screen readers) and as PNG for the yearly compilation's Word document;
:mod:`postvakt.charts.figures` makes the charts from the registry's counts.  The figures
are never counted here: they come from :mod:`postvakt.registry.case_query` and
:mod:`postvakt.registry.report`, so a chart agrees with the tables and lists beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Chart", "Series"]


@dataclass(frozen=True)
class Series:
    """One set of figures, one per category (``None``: nothing to show, e.g. no case judged)."""

    name: str
    values: tuple[float | None, ...]
    links: tuple[str | None, ...] = ()
    """The address of the list behind each figure (same order as ``values``), or none."""

    def link(self, index: int) -> str | None:
        return self.links[index] if index < len(self.links) else None


@dataclass(frozen=True)
class Chart:
    """What one chart shows, and how its text alternative (a table) is headed."""

    key: str
    """Letters, digits and hyphens: the chart's id on a page and its picture's name."""
    title: str
    """What is counted, said in full: 'Klagomål och synpunkter per månad 2026'."""
    category_heading: str
    """The heading of the table's first column: 'Månad', 'Enhet', 'Ålder'."""
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    short: tuple[str, ...] = ()
    """Shorter names for the picture's axis ('jan'), one per category; none: the same."""
    axis_label: str = ""
    """What the picture's category axis says under its names ('dagar sedan de kom in')."""
    percent: bool = False
    """The figures are shares in per cent (0–100), not counts."""
    horizontal: bool = False
    """Bars run left to right (for long category names such as units)."""
    note: str = ""
    """A sentence said under the chart (how the figures were counted)."""
    details: tuple[str, ...] = ()
    """Optional words per category for the table's last column (e.g. '5 av 6')."""
    detail_heading: str = ""
    """That column's heading ('Underlag')."""

    def __post_init__(self) -> None:
        for series in self.series:
            if len(series.values) != len(self.categories):
                raise ValueError(f"{self.key}: {series.name} has the wrong number of figures")
        if self.short and len(self.short) != len(self.categories):
            raise ValueError(f"{self.key}: the short names do not match the categories")

    @property
    def ticks(self) -> tuple[str, ...]:
        """What the picture's axis says for each category."""
        return self.short or self.categories

    @property
    def empty(self) -> bool:
        """Nothing to draw: no category, or every figure zero or missing."""
        return not any(v for s in self.series for v in s.values)

    def text(self, value: float | None) -> str:
        """A figure as the table and the bar's tooltip say it: '12', '83 %', '–'."""
        if value is None:
            return "–"
        if self.percent:
            return f"{round(value)} %"
        return f"{value:g}"
