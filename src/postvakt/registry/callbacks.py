"""Callback requests (återuppringningar): a citizen who looked for someone who was not there
is to be called back by that person within the policy's ``callback`` time.

A row is made by ``postvakt callbacks add``, the page Återuppringningar, or a phone message
noted in a case that asks to be called back; it is done once, with who, when and a note.
The logic is in :mod:`postvakt.callbacks`; the deadline is reminded by the reminder job.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postvakt.registry.models import Base

if TYPE_CHECKING:
    from postvakt.registry.models import Case, Unit

__all__ = ["CallbackRequest"]


class CallbackRequest(Base):
    """One citizen to be called back by one person, by a date."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    for_address: Mapped[str] = mapped_column(String(320), index=True)
    """Who is to call back (a person or unit head in the config)."""
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    """Their unit when the request was made: its head sees the request and hears of a breach."""
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    """The case the call is about, when there is one: the callback is noted there when done."""
    name: Mapped[str | None] = mapped_column(String(500))
    """The citizen's name, if they gave it."""
    phone: Mapped[str] = mapped_column(String(100))
    about: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(String(320))
    """Who took the message."""
    due: Mapped[date]
    """The last day to call: the policy's ``callback`` time from the day the message was taken."""
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(Text)
    """What came of the call."""

    unit: Mapped[Unit | None] = relationship()
    case: Mapped[Case | None] = relationship()
