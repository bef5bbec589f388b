"""What the classifier learns from: people's corrections kept as labelled examples, and each
retraining with whether it was taken into use.  Re-exported by :mod:`postvakt.registry.models`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postvakt.registry.models import Base

__all__ = ["ClassifierModel", "Correction"]


class Correction(Base):
    """A person's correction of the classifier, kept as a labelled example.

    The text is what the classifier read (the citizen's subject and text, capped like the
    intake's); ``label`` is the person's ('complaint', 'opinion', 'other').  Training uses
    these beside the shipped corpus; evaluation counts them per month.
    """

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    by: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(20))
    """confirm | reclassify | withdraw | register | merge"""
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    message_record_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    predicted: Mapped[str | None] = mapped_column(String(20))
    """What the classifier said ('complaint', 'opinion', 'other'); None when it never judged."""
    label: Mapped[str] = mapped_column(String(20))
    """What the person says it is."""
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)


class ClassifierModel(Base):
    """One retraining of the classifier and whether it was taken into use."""

    __tablename__ = "classifier_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    trained_at: Mapped[datetime]
    model_key: Mapped[str] = mapped_column(String(100))
    examples: Mapped[int] = mapped_column(Integer)
    corrections: Mapped[int] = mapped_column(Integer)
    macro_f1: Mapped[float] = mapped_column(Float)
    complaint_recall: Mapped[float] = mapped_column(Float)
    current_macro_f1: Mapped[float | None] = mapped_column(Float)
    current_complaint_recall: Mapped[float | None] = mapped_column(Float)
    accepted: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
