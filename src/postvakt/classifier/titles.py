"""The citizen's own title says "Klagomål": the subject line they wrote, or the first line of
their own text ("Klagomål: snöröjningen är dålig").

A model that learnt the corpus's questions about how to complain weighs the word itself
towards annat; a writer who titles the message so means it as a complaint.  The model
(:mod:`postvakt.classifier.model`) registers such a message for a person to decide when it is
unsure, and shows it in Granska when it is sure.
"""

from __future__ import annotations

import re

from postvakt.classifier.text import CitizenText

__all__ = ["body_says_complaint", "subject_says_complaint", "title_of"]

_COMPLAINT_SUBJECT = re.compile(
    r"^\W*(?:\[[^\]]{0,30}\]\W*)*(?:formell[at]?\s+|formal\s+)?"
    r"(?:klagomål|klagomal|klagan|complaint)\b"
    r"(?!\s*(?:och|eller|&|/|\+|and|or)\s)"
    r"(?!\s+(?:department|form|handling|procedure|process|policy|team|office)\b)",
    re.IGNORECASE,
)
"""A subject the citizen opens with "Klagomål" / "Complaint" ("Klagomål på hemtjänsten"),
after any tag a mail gateway adds ("[EXTERN]"); not an e-service's name ("Klagomål och
synpunkter") nor a department's ("Complaint department")."""

_COMPLAINT_HEADING = re.compile(
    r"^\W*(?:formell[at]?\s+|formal\s+)?(?:klagomål|klagomal|klagan|complaint)"
    r"\s*(?::|–|—|-\s)",
    re.IGNORECASE,
)
"""A first line of the citizen's text that is a title: the word, then a colon or a dash
("Klagomål: …", "Klagomål – …"); not a sentence that begins with the word ("Klagomål har
jag inga, men …", "Klagomålet jag skickade …")."""


def subject_says_complaint(citizen: CitizenText) -> bool:
    """The citizen's own subject line (:attr:`CitizenText.own_subject`) opens with the word
    complaint."""
    opens = _COMPLAINT_SUBJECT.match(citizen.message.subject or "")
    return opens is not None and citizen.own_subject is not None  # the body's look last


def body_says_complaint(citizen: CitizenText) -> bool:
    """The citizen's own text (quotes cut off) opens with the word complaint as its title.
    Not a web form's fields (the form's case type is read by :mod:`.webform`)."""
    return not citizen.from_form and _COMPLAINT_HEADING.match(_first_line(citizen)) is not None


def title_of(citizen: CitizenText) -> tuple[str, str] | None:
    """Where the citizen titled the message a complaint, and the words: ("subject", the
    subject line) or ("text", the first line of their text); None when they did not.  The
    caller quotes the words (a personnummer masked) in the reason a person reads."""
    if subject_says_complaint(citizen):
        return "subject", citizen.subject or ""
    if body_says_complaint(citizen):
        return "text", _first_line(citizen)
    return None


def _first_line(citizen: CitizenText) -> str:
    """The first line of the citizen's own text that is not blank ("" for none)."""
    return next((line for line in citizen.body.splitlines() if line.strip()), "")
