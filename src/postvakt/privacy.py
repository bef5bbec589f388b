"""Personal data that must not travel: personal identity numbers (personnummer) and, in
logs, e-mail addresses.

One personnummer pattern, used wherever text may leave the case it belongs to: logs, case
headings and summaries, the classifier's features.  Every pattern here is linear in the
length of the text: fixed-width parts, or runs that cannot overlap the part after them.
"""

from __future__ import annotations

import re

__all__ = [
    "EMAIL_ADDRESS",
    "PERSONNUMMER",
    "has_personnummer",
    "mask_addresses",
    "mask_personnummer",
]

# YYMMDD-NNNN, YYMMDD+NNNN (over 100), YYYYMMDD-NNNN, YYYYMMDDNNNN, YYMMDDNNNN, with a space
# instead of the hyphen or around it (YYMMDD NNNN, YYMMDD - NNNN), and samordningsnummer
# (day + 60).
PERSONNUMMER = re.compile(
    r"(?<![\d-])(?:19|20)?\d{2}(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01]|[6-8]\d|9[01])"
    r"(?: ?[-+] ?| )?\d{4}(?![\d-])"
)
# An e-mail address (or anything shaped like one: a Message-ID too).  A match starts only
# where a run of local-part characters starts, and no part can give characters to the next,
# so a failed attempt costs at most the run it looked at.
EMAIL_ADDRESS = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ADDRESS_MASK = "[e-post]"


def mask_personnummer(text: str) -> str:
    return PERSONNUMMER.sub("ÅÅMMDD-XXXX", text)


def has_personnummer(text: str) -> bool:
    return PERSONNUMMER.search(text) is not None


def mask_addresses(text: str) -> str:
    """``text`` with every e-mail address replaced by ``[e-post]``."""
    return EMAIL_ADDRESS.sub(ADDRESS_MASK, text)
