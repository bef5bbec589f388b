"""How often people correct the classifier, and what into what (``classifier evaluate``).

- **Per month**: the messages the classifier judged that month (``messages`` rows with a
  label, by the time they were processed) and the messages people corrected that month; the
  correction rate is the one over the other.  A message counts once, in the month of its last
  correction (:func:`~postvakt.classifier.learning.latest_per_message`): corrected when the
  person's label differs from what the classifier said, confirmed when it is the same.
- **From → to**: for every corrected message, what the classifier said (or that it never
  judged the message: screened or internal mail a person registered) and what the person
  said it is.
- **Retrainings**: the last few, with their figures and whether they were taken into use.

Months are the organisation's (Europe/Stockholm by default).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.classifier.learning import latest_per_message
from postvakt.clock import STOCKHOLM
from postvakt.registry.models import ClassifierModel, Correction, MessageRecord
from postvakt.wording import count

__all__ = ["CorrectionReport", "MonthFigures", "RetrainingFigures", "correction_report", "tally"]

KINDS = ("complaint", "opinion", "other")
KIND_SV = {"complaint": "klagomål", "opinion": "synpunkt", "other": "annat", None: "inte bedömt"}
RETRAININGS_SHOWN = 5


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %".replace(".", ",")


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}".replace(".", ",")


@dataclass(frozen=True)
class MonthFigures:
    month: str
    """YYYY-MM."""
    classified: int
    corrected: int
    confirmed: int

    @property
    def rate(self) -> float | None:
        """Corrected / classified; None for a month in which nothing was classified."""
        return self.corrected / self.classified if self.classified else None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "rate": self.rate}


@dataclass(frozen=True)
class RetrainingFigures:
    """One row of ``classifier_models``, as shown."""

    trained_at: datetime
    accepted: bool
    macro_f1: float
    complaint_recall: float
    current_macro_f1: float | None
    current_complaint_recall: float | None
    examples: int
    corrections: int
    note: str

    @classmethod
    def of(cls, row: ClassifierModel) -> RetrainingFigures:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "trained_at": self.trained_at.isoformat()}


@dataclass(frozen=True)
class CorrectionReport:
    months: tuple[MonthFigures, ...]
    changes: tuple[tuple[str | None, str, int], ...]
    """(what the classifier said — None: it never judged —, what the person said, how many),
    for every pair that occurred, the confirmations (the same label) included."""
    retrainings: tuple[RetrainingFigures, ...] = ()
    """The last few, newest first."""
    tz: tzinfo = STOCKHOLM

    def count(self, before: str | None, after: str) -> int:
        return next((n for b, a, n in self.changes if b == before and a == after), 0)

    def __str__(self) -> str:
        lines = ["Rättelser av klassificeraren per månad", ""]
        if not self.months:
            lines.append("Inga meddelanden har klassificerats och inget har rättats ännu.")
        else:
            lines.append(
                f"{'månad':<9}{'bedömda':>9}{'rättade':>9}{'bekräftade':>12}{'andel rättade':>15}"
            )
            for m in self.months:
                lines.append(
                    f"{m.month:<9}{m.classified:>9}{m.corrected:>9}{m.confirmed:>12}"
                    f"{_pct(m.rate):>15}"
                )
        lines += [
            "",
            "Vad som rättades till vad (rad = Postvakts bedömning, kolumn = personens):",
            f"{'':<13}" + "".join(f"{KIND_SV[k]:>10}" for k in KINDS),
        ]
        for before in (*KINDS, None):
            counts = [self.count(before, after) for after in KINDS]
            if before is None and not any(counts):
                continue
            lines.append(f"{KIND_SV[before]:<13}" + "".join(f"{n:>10}" for n in counts))
        lines.append("På diagonalen: bedömningar som en person bekräftade.")
        if self.retrainings:
            lines += [
                "",
                "Senaste omträningarna (mätta på korpusens utvärderingsdel och rättelser som "
                "hålls utanför träningen):",
            ]
            for r in self.retrainings:
                decision = "tagen i bruk" if r.accepted else "inte tagen i bruk"
                lines.append(
                    f"{r.trained_at.astimezone(self.tz):%Y-%m-%d %H:%M}  {decision}: makro-F1 "
                    f"{_num(r.macro_f1)} (i bruk {_num(r.current_macro_f1)}), täckning för "
                    f"klagomål {_num(r.complaint_recall)} (i bruk "
                    f"{_num(r.current_complaint_recall)}), {count(r.corrections, 'rättelse', 'rättelser')}"
                )
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "months": [m.as_dict() for m in self.months],
            "changes": [
                {"from": before, "to": after, "count": n}
                for before, after, n in self.changes
                if before != after
            ],
            "confirmed": [
                {"label": after, "count": n} for before, after, n in self.changes if before == after
            ],
            "retrainings": [r.as_dict() for r in self.retrainings],
        }


def _month(value: datetime, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m")


def tally(
    classified_at: Iterable[datetime], corrections: Sequence[Correction], tz: tzinfo
) -> tuple[tuple[MonthFigures, ...], tuple[tuple[str | None, str, int], ...]]:
    """The months and the from → to counts of :class:`CorrectionReport`."""
    classified = Counter(_month(at, tz) for at in classified_at)
    corrected: Counter[str] = Counter()
    confirmed: Counter[str] = Counter()
    pairs: Counter[tuple[str | None, str]] = Counter()
    for row in latest_per_message(corrections):
        month = _month(row.at, tz)
        if row.predicted == row.label:
            confirmed[month] += 1
        else:
            corrected[month] += 1
        pairs[(row.predicted, row.label)] += 1
    months = tuple(
        MonthFigures(month, classified[month], corrected[month], confirmed[month])
        for month in sorted(set(classified) | set(corrected) | set(confirmed))
    )
    order = {k: i for i, k in enumerate((*KINDS, None))}
    changes = tuple(
        (before, after, n)
        for (before, after), n in sorted(
            pairs.items(), key=lambda p: (order.get(p[0][0], 9), order.get(p[0][1], 9))
        )
    )
    return months, changes


def correction_report(session: Session, tz: tzinfo) -> CorrectionReport:
    """The figures from the database (``tz``: the organisation's time zone)."""
    classified_at = session.scalars(
        select(MessageRecord.processed_at)
        .where(MessageRecord.label.is_not(None))
        .execution_options(yield_per=5000)
    )
    corrections = list(session.scalars(select(Correction)))
    months, changes = tally(classified_at, corrections, tz)
    retrainings = tuple(
        RetrainingFigures.of(row)
        for row in session.scalars(
            select(ClassifierModel)
            .order_by(ClassifierModel.trained_at.desc(), ClassifierModel.id.desc())
            .limit(RETRAININGS_SHOWN)
        )
    )
    return CorrectionReport(months, changes, retrainings, tz)
