"""Personal data that must not travel: personal identity numbers (personnummer).

One pattern, used wherever text may leave the case it belongs to: logs, case headings and
summaries, and the contact finder (which must not read a personnummer as a phone number).
"""

from __future__ import annotations

import re

__all__ = ["PERSONNUMMER", "has_personnummer", "mask_personnummer"]

# YYMMDD-NNNN, YYMMDD+NNNN (over 100), YYYYMMDDNNNN, and samordningsnummer (day + 60).
PERSONNUMMER = re.compile(
    r"(?<![\d-])(?:19|20)?\d{2}(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01]|[6-8]\d|9[01])[-+]?\d{4}(?![\d-])"
)


def mask_personnummer(text: str) -> str:
    return PERSONNUMMER.sub("ÅÅMMDD-XXXX", text)


def has_personnummer(text: str) -> bool:
    return PERSONNUMMER.search(text) is not None
