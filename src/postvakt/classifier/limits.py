"""How much of a message is read to decide what it is: the first 200,000 characters.

The first pages say what a message is about.  Reading all of an 8 MB body would only let one
huge message hold up the intake of every mailbox; with the text cut, every step after
parsing costs a bounded time whatever arrives.  A cut message says so: a defect on its
record, and a reason on its case for the person who reads it (the original, whole, stays on
the case).
"""

from __future__ import annotations

import dataclasses

from postvakt.mailbox.message import HTML_CUT, IncomingMessage

__all__ = ["SUBJECT_LIMIT", "TEXT_CUT_REASON", "TEXT_LIMIT", "cap_text"]

TEXT_LIMIT = 200_000
"""Characters of a message's text (about 200 kB) that screening, classification and contact
extraction read."""
SUBJECT_LIMIT = 2_000
"""Characters of the subject read (RFC 5322 lines end at 998 characters; folded ones may
run longer, but no real subject does)."""
TEXT_CUT_REASON = (
    "Texten var för lång: bara de första 200 kB bedömdes (läs hela meddelandet i originalet)."
)
"""The review reason on a case whose message was cut."""


def cap_text(msg: IncomingMessage) -> tuple[IncomingMessage, bool]:
    """``msg`` with its text, its subject and those of the messages it forwards cut to
    :data:`TEXT_LIMIT` and :data:`SUBJECT_LIMIT`; and whether anything was cut (here, or
    already by the parser, which turns at most ``HTML_LIMIT`` characters of HTML into text).

    A message cut here carries a defect saying how long the text was.
    """
    html_cut = any(d.startswith(HTML_CUT) for d in msg.defects)
    forwarded = [cap_text(inner) for inner in msg.forwarded]
    inner_cut = any(cut for _inner, cut in forwarded)
    body_cut = len(msg.body_text) > TEXT_LIMIT
    subject_cut = len(msg.subject) > SUBJECT_LIMIT
    if not (body_cut or subject_cut or inner_cut):
        return msg, html_cut
    defects = list(msg.defects)
    if body_cut:
        defects.append(f"text of {len(msg.body_text)} characters; the first {TEXT_LIMIT} were read")
    if subject_cut:
        defects.append(
            f"subject of {len(msg.subject)} characters; the first {SUBJECT_LIMIT} were read"
        )
    if inner_cut:
        defects.append(f"a forwarded message's text was cut to {TEXT_LIMIT} characters")
    capped = dataclasses.replace(
        msg,
        body_text=msg.body_text[:TEXT_LIMIT],
        subject=msg.subject[:SUBJECT_LIMIT],
        forwarded=tuple(inner for inner, _cut in forwarded),
        defects=tuple(defects),
    )
    return capped, True
