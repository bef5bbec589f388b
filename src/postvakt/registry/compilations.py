"""The yearly compilation's record of sending: who sent which year's compilation, to whom
and when (``postvakt report annual --send``, the Sammanställning page).

The compilation job reminds the owner weekly until a row for the year exists.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from postvakt.registry.models import Base

__all__ = ["CompilationSent"]


class CompilationSent(Base):
    """One sending of a year's compilation (the whole organisation's, or one unit's)."""

    __tablename__ = "compilations_sent"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    unit: Mapped[str | None] = mapped_column(String(200))
    """The unit whose compilation was sent; None for the whole organisation."""
    sent_to: Mapped[str] = mapped_column(String(320))
    sent_by: Mapped[str] = mapped_column(String(320))
    sent_at: Mapped[datetime]
    cases: Mapped[int] = mapped_column(Integer)
    """How many cases it listed."""
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The names of the attached files."""
