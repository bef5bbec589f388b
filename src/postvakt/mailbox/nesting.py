"""How much of a message's MIME structure the parser may read: a budget against deep nesting.

The standard library's parser tests every line against the boundary of every multipart it
is inside, so its work is lines times depth: 20 MB of text 50 multiparts deep took half a
minute for one message.  :func:`nesting_cut` says where to stop it to stay within
:data:`NESTING_BUDGET`; an ordinary message, however large, is never cut.  Linear.
"""

from __future__ import annotations

import re

__all__ = ["NESTING_BUDGET", "nesting_cut"]

NESTING_BUDGET = 4_000_000
"""Lines times open multiparts the MIME parser may go through (some two seconds); a message
over it has its structure read only as far as the budget goes (the whole message is kept)."""

_DECLARED = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]*)"|([^\s;"]+))', re.IGNORECASE)
_MARKS_READ = 100_000
"""Delimiter lines and boundary parameters looked at one by one; past that, the number of
boundary parameters is taken as the depth."""


def _positions(data: bytes, needle: bytes, limit: int) -> list[int]:
    found: list[int] = []
    at = data.find(needle)
    while at >= 0 and len(found) <= limit:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


def nesting_cut(raw: bytes) -> int | None:
    """Where to stop the MIME parser to stay within :data:`NESTING_BUDGET`, or None.

    Linear, and all in C for an ordinary message.  Otherwise: a ``boundary=`` opens a
    multipart, its closing delimiter ``--b--`` ends it (and any opened inside it), and
    each line costs as many tests as multiparts are open.
    """
    lower = raw.lower()
    declared = lower.count(b"boundary")
    if raw.count(b"\n") * declared <= NESTING_BUDGET:
        return None  # not even every multipart open at once would cost that
    marks = sorted(
        [(at, True) for at in _positions(lower, b"boundary", _MARKS_READ)]
        + [(at + 1, False) for at in _positions(raw, b"\n--", _MARKS_READ)]
    )
    if len(marks) > _MARKS_READ:
        return _after_lines(raw, 0, NESTING_BUDGET // declared)
    open_: list[bytes] = []
    cost, last = 0, 0
    for at, is_parameter in marks:
        lines = raw.count(b"\n", last, at)
        if cost + lines * len(open_) > NESTING_BUDGET:
            return _after_lines(raw, last, (NESTING_BUDGET - cost) // len(open_))
        cost += lines * len(open_)
        last = at
        if is_parameter:
            parameter = _DECLARED.match(raw, at)
            if parameter:
                open_.append(parameter[1] if parameter[1] is not None else parameter[2])
            continue
        end = raw.find(b"\n", at, at + 1000)
        closing = raw[at + 2 : end if end >= 0 else at + 1000].rstrip()
        if closing.endswith(b"--") and closing[:-2] in open_:
            del open_[open_.index(closing[:-2]) :]
    if cost + raw.count(b"\n", last) * len(open_) <= NESTING_BUDGET:
        return None
    return _after_lines(raw, last, (NESTING_BUDGET - cost) // len(open_))


def _after_lines(raw: bytes, start: int, lines: int) -> int:
    """The offset just after the ``lines``-th line end from ``start``."""
    at = start
    for _ in range(lines):
        at = raw.index(b"\n", at) + 1
    return at
