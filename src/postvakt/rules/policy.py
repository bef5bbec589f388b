"""Policies: how long each promise to a citizen may take.

A policy names each deadline and its length.  The presets come from the routines in the
seeds folder; an organisation overrides single values in ``[deadlines]`` of its config.

| deadline           | orebro           | linkoping   | timra            |
|--------------------|------------------|-------------|------------------|
| reply              | 5 working days   | 7 days      | 7 days (a week)  |
| complaint_ack      | 5 working days   | 7 days      | 3 working days   |
| complaint_answer   | 5 working days   | 7 days      | 7 days           |
| callback           | 2 working days   | 2 working d.| 2 working days   |
| compilation date   | 15 February      | 15 February | 15 February      |
| ack counts (below) | yes              | no          | no               |
| promised_answer    | 10 working days  | –           | –                |
| daily-open personal| yes              | no          | no               |

Örebro: "Brev och e-post ska besvaras inom fem arbetsdagar", the complainant gets an answer
"inom fem arbetsdagar" (which may say we are working on it), callers are contacted "inom två
arbetsdagar".  Linköping: "återkoppling inom 7 dagar", compilation "senast den 15 februari".
Timrå: "senast inom en vecka" for letters and e-mail, complaint feedback "senast inom 3
arbetsdagar".  Where a routine is silent the Örebro value is used.

Örebro also says the answer within five working days "behöver inte betyda slutlig lösning,
utan kan vara en upplysning om att vi arbetar med ärendet": an acknowledgement that says when
the answer will come fulfils the duty (``ack_counts_as_answer``).  Its letter then promises the
final answer by ``promised_answer`` after receipt — the routine names no time for it; ten
working days is Postvakt's proposal, changed in ``[deadlines]`` or in the letter itself before
it is sent.  And "Den personliga brevlådan ska öppnas dagligen (arbetsdagar)": personal
mailboxes are checked every working day as function mailboxes are (``daily_open_personal``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from postvakt.rules.calendar import WorkingCalendar

__all__ = ["PRESETS", "Duration", "Policy", "parse_duration"]

Unit = Literal["working_days", "days"]


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: Unit

    def due(self, start: date, calendar: WorkingCalendar) -> date:
        """The last day to keep the promise, counted from ``start`` (the day of receipt)."""
        return calendar.due(start, self.amount, self.unit)

    def __str__(self) -> str:
        if self.unit == "working_days":
            return f"{self.amount} arbetsdag" + ("ar" if self.amount != 1 else "")
        return f"{self.amount} dag" + ("ar" if self.amount != 1 else "")


_DURATION = re.compile(
    r"^\s*(\d+)\s*(arbetsdag(?:ar)?|working[ _-]?days?|dag(?:ar)?|days?|veck(?:a|or)|weeks?)\s*$",
    re.IGNORECASE,
)


def parse_duration(text: str) -> Duration:
    """'5 arbetsdagar', '5 working days', '7 dagar', '7 days', '1 vecka' -> Duration."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(
            f'{text!r} är ingen tidsfrist; skriv t.ex. "5 arbetsdagar", "7 dagar" eller "1 vecka"'
        )
    amount, word = int(match[1]), match[2].lower()
    if word.startswith(("arbetsdag", "working")):
        return Duration(amount, "working_days")
    if word.startswith(("veck", "week")):
        return Duration(amount * 7, "days")
    return Duration(amount, "days")


@dataclass(frozen=True)
class Policy:
    name: str
    reply: Duration
    complaint_ack: Duration
    complaint_answer: Duration
    callback: Duration
    compilation_month_day: tuple[int, int] = (2, 15)
    ack_counts_as_answer: bool = False
    """A sent acknowledgement that says when the answer comes fulfils the duty to reply:
    the reply clock stops at it and the case's answer clock runs to the promised date."""
    promised_answer: Duration | None = None
    """With ``ack_counts_as_answer``: how long after receipt the acknowledgement promises
    the final answer (never earlier than the case's own answer deadline)."""
    daily_open_personal: bool = False
    """Personal mailboxes are checked every working day unless a mailbox says otherwise."""

    def compilation_due(self, year: int) -> date:
        """The compilation of ``year``'s complaints is due on this date of the following year."""
        month, day = self.compilation_month_day
        try:
            return date(year + 1, month, day)
        except ValueError:  # 29 February in an ordinary year: the last day of February
            return date(year + 1, month, day - 1)

    def case_deadlines(
        self, kind: str, received: date, calendar: WorkingCalendar
    ) -> tuple[date | None, date | None]:
        """(acknowledge by, answer by) for a case of ``kind`` that arrived on ``received``.

        A complaint is acknowledged and answered by the complaint rules; an opinion has no
        acknowledgement clock and is answered by the rule for every citizen's message.
        """
        if kind == "complaint":
            return (
                self.complaint_ack.due(received, calendar),
                self.complaint_answer.due(received, calendar),
            )
        return None, self.reply.due(received, calendar)

    def promised_date(self, kind: str, received: date, calendar: WorkingCalendar) -> date | None:
        """The date an acknowledgement promises the final answer by, when acknowledgements
        count as the answer (else None: the letter names the case's answer deadline)."""
        if not self.ack_counts_as_answer or self.promised_answer is None:
            return None
        answer_due = self.case_deadlines(kind, received, calendar)[1]
        promised = self.promised_answer.due(received, calendar)
        return max(promised, answer_due) if answer_due else promised

    def with_overrides(
        self,
        *,
        reply: str | None = None,
        complaint_ack: str | None = None,
        complaint_answer: str | None = None,
        callback: str | None = None,
        compilation_date: str | None = None,
        promised_answer: str | None = None,
        ack_counts_as_answer: bool | None = None,
        daily_open_personal: bool | None = None,
    ) -> Policy:
        changes: dict[str, object] = {}
        for key, value in (
            ("reply", reply),
            ("complaint_ack", complaint_ack),
            ("complaint_answer", complaint_answer),
            ("callback", callback),
            ("promised_answer", promised_answer),
        ):
            if value is not None:
                changes[key] = parse_duration(value)
        if compilation_date is not None:
            month, day = compilation_date.split("-")
            changes["compilation_month_day"] = (int(month), int(day))
        if ack_counts_as_answer is not None:
            changes["ack_counts_as_answer"] = ack_counts_as_answer
        if daily_open_personal is not None:
            changes["daily_open_personal"] = daily_open_personal
        return replace(self, **changes) if changes else self


_WD = "working_days"
PRESETS: dict[str, Policy] = {
    "orebro": Policy(
        name="orebro",
        reply=Duration(5, _WD),
        complaint_ack=Duration(5, _WD),
        complaint_answer=Duration(5, _WD),
        callback=Duration(2, _WD),
        ack_counts_as_answer=True,
        promised_answer=Duration(10, _WD),
        daily_open_personal=True,
    ),
    "linkoping": Policy(
        name="linkoping",
        reply=Duration(7, "days"),
        complaint_ack=Duration(7, "days"),
        complaint_answer=Duration(7, "days"),
        callback=Duration(2, _WD),
    ),
    "timra": Policy(
        name="timra",
        reply=Duration(7, "days"),
        complaint_ack=Duration(3, _WD),
        complaint_answer=Duration(7, "days"),
        callback=Duration(2, _WD),
    ),
}
