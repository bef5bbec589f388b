"""Deciding what a message is: screening of machine mail, then complaint / opinion / other.

Nothing here writes anything: every function returns a decision with its reasons.

- :func:`screen` — machine mail (automatic replies, bounces, bulk mail), by rules;
  :func:`internal` — colleagues' mail from the own domains, unless it forwards a citizen's;
- :func:`classify` — the trained model (:mod:`postvakt.classifier.model`): a
  :class:`Verdict` with label, confidence, reasons in Swedish, ``needs_review`` and the flags
  ``anonymous``, ``followup_not_satisfied`` and ``personal_data``;
- :func:`forwards_citizen` — the citizen's message inside a forward by staff;
- :func:`find_contact` — how the sender can be reached.
"""

from postvakt.classifier.contact import Contact, find_contact
from postvakt.classifier.forwarded import forwards_citizen
from postvakt.classifier.model import Classifier, classify, default_classifier, train
from postvakt.classifier.screening import Screening, internal, screen
from postvakt.classifier.verdict import Label, Verdict

__all__ = [
    "Classifier",
    "Contact",
    "Label",
    "Screening",
    "Verdict",
    "classify",
    "default_classifier",
    "find_contact",
    "forwards_citizen",
    "internal",
    "screen",
    "train",
]
