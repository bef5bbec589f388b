"""The classifier's answer: a label, how sure, and why."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Label", "Verdict"]


class Label(enum.StrEnum):
    COMPLAINT = "complaint"  # klagomål: not satisfied with how a service was done, its level, or its absence
    OPINION = "opinion"  # synpunkt: a view, proposal, objection or praise
    OTHER = "other"  # questions, applications, invoices, social thanks …


@dataclass(frozen=True)
class Verdict:
    label: Label
    confidence: float
    """0..1: how sure the classifier is of ``label``."""
    reasons: tuple[str, ...]
    """In words a registrar understands: the phrases and rules that weighed most."""

    @property
    def is_case(self) -> bool:
        return self.label is not Label.OTHER
