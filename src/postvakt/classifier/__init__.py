"""Deciding what a message is: screening of machine mail, then complaint / opinion / other.

Nothing here writes anything: every function returns a decision with its reasons.
"""

from postvakt.classifier.contact import Contact, find_contact
from postvakt.classifier.screening import Screening, screen
from postvakt.classifier.verdict import Label, Verdict

__all__ = ["Contact", "Label", "Screening", "Verdict", "find_contact", "screen"]
