"""The classifier's answer: a label, how sure, why, and the flags beside the label."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

CARE_MISS_COST = 3.0
"""How much worse a missed care complaint is than one routed needlessly.  A missed one is a
lex Sarah or lex Maria report nobody considered and a deviation never registered; a needless
one costs the deviation function a look and a person a click to clear the flag."""

CARE_THRESHOLD = 1.0 / (1.0 + CARE_MISS_COST)
"""A case whose care probability is at least this (a quarter) is flagged ``individual_care``:
with calibrated probabilities, flagging at ``p`` is worth it when ``p · cost of a miss``
exceeds ``(1 - p) · cost of a needless flag``.  Not fitted to any source's results."""

__all__ = ["CARE_THRESHOLD", "LABEL_SV", "Label", "Verdict", "is_care_case"]


class Label(enum.StrEnum):
    COMPLAINT = "complaint"  # klagomål: not satisfied with how a service was done, its level, or its absence
    OPINION = "opinion"  # synpunkt: a view, proposal, objection or praise
    OTHER = "other"  # questions, applications, invoices, social thanks …


LABEL_SV = {Label.COMPLAINT: "klagomål", Label.OPINION: "synpunkt", Label.OTHER: "annat"}
"""The labels as a registrar reads them."""


@dataclass(frozen=True)
class Verdict:
    label: Label
    confidence: float
    """0..1: how sure the classifier is of ``label``."""
    reasons: tuple[str, ...]
    """In words a registrar understands: the phrases and rules that weighed most."""
    needs_review: bool = False
    """A case a person must confirm: the confidence fell in the review band, or a rule (the
    citizen writes they want to complain; the web form's case type says annat) disagrees.

    An uncertain message that would otherwise be ``other`` gets the likelier case label, so
    it is registered for review instead of silently dropped."""
    disputed_by_form: bool = False
    """The web form's case type says the other side of case/annat than the model did.  A case
    so disputed ``needs_review``; an ``other`` so disputed stays no case, and the intake shows
    it in Granska for a person to register or dismiss."""
    titled_complaint: bool = False
    """The citizen's own subject opens with "Klagomål" / "Complaint" but the model read
    annat.  Unsure (annat under 90 %) it is registered as a complaint that ``needs_review``;
    sure, it stays no case (no diary number on the strength of one word) and the intake shows
    it in Granska."""
    states_a_view: bool = False
    """The writer says the message gives a view or a proposal ("Jag vill lämna en synpunkt",
    "Det vore bra om …"), or praises the service or its people ("Personalen var varm och
    lyhörd"), but the model read annat.  Unsure (annat under 90 %) it is
    registered as an opinion that ``needs_review``; sure, it stays no case and the intake
    shows it in Granska."""
    withdraws_complaint: bool = False
    """The writer withdraws a complaint made before: not a new case (no number, no letter),
    but shown in Granska so that a person notes it on the case it concerns."""
    disowns_complaint: bool = False
    """The writer says they never made the complaint they got a letter about (perhaps a
    letter to the wrong person).  A person finds the case it concerns and checks who its
    letters went to: an ``other`` is shown in Granska, a case the model was sure of is
    registered for review (the flag never turns it into ``other``)."""
    anonymous: bool = False
    """No usable way to reach the sender: no reply address (or a no-reply gateway) and no
    phone number, e-mail or postal address in the text."""
    followup_not_satisfied: bool = False
    """A reply in a thread saying the answer or the measures taken did not satisfy them.  In an
    existing case this calls for a new review by the nearest superior manager."""
    personal_data: bool = False
    """A personnummer (or samordningsnummer) in the text: mask it in logs and summaries."""
    forwarded: bool = False
    """Only the citizen's message forwarded by staff was read, not the forwarding note."""
    probabilities: tuple[tuple[Label, float], ...] = ()
    """The model's probability per label, for the record; empty for rule-made verdicts."""
    individual_care: bool = False
    """A complaint or opinion from a user or a relative about that person's own care (elderly
    care, home care, LSS, medication, a fall, neglect): it belongs in the care system's
    deviation module and goes to the deviation function (``[organisation] care_deviation``)."""
    care_probability: float = 0.0
    """How sure the care detector is (0..1); 0 for rule-made verdicts."""
    care_threshold: float = CARE_THRESHOLD
    """From what care probability a case is flagged (``[classifier] care_threshold``)."""
    letter: tuple[Any, Any, tuple[str, ...]] | None = field(default=None, compare=False, repr=False)
    """The citizen's text the model read, its letter hints and the domains it read it with
    (:class:`~postvakt.classifier.text.CitizenText`,
    :class:`~postvakt.classifier.letter_hints.LetterHints`, the organisation's own), so that
    the intake need not read the same words again; None for rule-made verdicts."""

    @property
    def is_case(self) -> bool:
        return self.label is not Label.OTHER

    @property
    def flags(self) -> tuple[str, ...]:
        """The names of the flags that are set, in a fixed order."""
        names = (
            "needs_review",
            "anonymous",
            "followup_not_satisfied",
            "personal_data",
            "individual_care",
        )
        return tuple(name for name in names if getattr(self, name))

    @property
    def shown_though_annat(self) -> bool:
        """An ``other`` a person is still shown (Granska), however sure the model was: the web
        form's case type or the citizen's subject disputes it, the writer says it gives a view,
        withdraws a complaint or says they never made one (a person notes it on its case), or
        it may be about a person's own care (a missed care complaint is a missed lex Sarah)."""
        return self.label is Label.OTHER and (
            self.disputed_by_form
            or self.titled_complaint
            or self.states_a_view
            or self.withdraws_complaint
            or self.disowns_complaint
            or self.care_probability >= self.care_threshold
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``postvakt classify --json``)."""
        return {
            "label": self.label.value,
            "label_sv": LABEL_SV[self.label],
            "confidence": self.confidence,
            "needs_review": self.needs_review,
            "anonymous": self.anonymous,
            "followup_not_satisfied": self.followup_not_satisfied,
            "personal_data": self.personal_data,
            "forwarded": self.forwarded,
            "individual_care": self.individual_care,
            "care_probability": self.care_probability,
            "disputed_by_form": self.disputed_by_form,
            "titled_complaint": self.titled_complaint,
            "states_a_view": self.states_a_view,
            "withdraws_complaint": self.withdraws_complaint,
            "disowns_complaint": self.disowns_complaint,
            "probabilities": {label.value: p for label, p in self.probabilities},
            "reasons": list(self.reasons),
        }


def is_care_case(label: Label, care_probability: float, threshold: float = CARE_THRESHOLD) -> bool:
    """Whether a message given ``label`` is flagged ``individual_care``: a case (complaint or
    opinion) the care detector puts at ``threshold`` (:data:`CARE_THRESHOLD` unless the
    organisation set its own) or above."""
    return label is not Label.OTHER and bool(care_probability >= threshold)
