"""A cheap test in front of a costly pattern: words the text must hold for it to match.

The cue and flag patterns are long alternations that open with a look-behind or ``\\b``, so
Python's engine cannot skip ahead to a likely start: it tries every alternative at every
position, about 0.1-0.2 ms per pattern on a message of a few hundred characters, on every
message, while most messages hold none of the words any alternative needs.
:func:`gated` reads the pattern's parse tree once and finds, for each alternative, a
literal it cannot match without ("ursäkt" in "jag vill ha en ursäkt"); a search first asks
whether any of those literals is in the text (``str.__contains__``, fast) and runs the
pattern only when one is.  The literals are taken from the pattern itself, so the test
cannot fall out of step with it: a text the pattern matches always holds one of them.
Where no such literal can be found (an alternative made only of classes and repeats),
the pattern runs as it is.

Case-insensitive patterns are tested against the case-folded text with case-folded
literals, the Turkish dotted and dotless i first made plain "i" (the engine takes i, I, İ
and ı for one letter; ``str.casefold`` does not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

try:  # Python 3.11+: the parser behind ``re``; its tree is stable across 3.11-3.13
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - an interpreter without it: no gates, same results
    _c = _p = None

__all__ = ["Gated", "gated", "required_literals"]

_MIN_LENGTH = 3
"""A literal shorter than this is in too many texts to be worth testing."""

Requirement = frozenset[str]

_TURKISH_I = str.maketrans({"\u0130": "i", "\u0131": "i"})
_last_fold: tuple[str, str] = ("", "")


def _fold(text: str) -> str:
    """``text`` as a case-blind pattern sees it, for the literal test.  The flag patterns
    test the same text one after the other: the last fold is kept (a tuple, replaced whole,
    so threads see one or the other)."""
    global _last_fold
    last = _last_fold
    if last[0] == text:
        return last[1]
    folded = text
    if "\u0130" in folded or "\u0131" in folded:  # translate is slow: only when needed
        folded = folded.translate(_TURKISH_I)
    folded = folded.casefold()
    _last_fold = (text, folded)
    return folded


def _shortest(literals: Requirement) -> Requirement:
    """``literals`` without those that hold another ("chef" covers "enhetschefen")."""
    return frozenset(s for s in literals if not any(o != s and o in s for o in literals))


def _best(candidates: list[Requirement]) -> Requirement | None:
    """The most selective of a sequence's requirements: the longest shortest literal, then
    the fewest literals."""
    usable = [_shortest(c) for c in candidates if c and _length(c) >= _MIN_LENGTH]
    if not usable:
        return None
    return max(usable, key=lambda c: (_length(c), -len(c)))


def _length(literals: Requirement) -> int:
    """How selective ``literals`` are: the shortest one's letters (spaces do not count)."""
    return min(len(s.strip()) for s in literals)


def _sequence(items: Any) -> Requirement | None:
    """A set of literals one of which every match of the sequence ``items`` contains."""
    candidates: list[Requirement] = []
    run: list[str] = []

    def close() -> None:
        if run:
            candidates.append(frozenset({"".join(run)}))
            run.clear()

    for op, arg in items:
        if op is _c.LITERAL:
            run.append(chr(arg))
            continue
        close()
        if op is _c.SUBPATTERN:
            _group, add_flags, _del_flags, sub = arg
            if add_flags & (_c.SRE_FLAG_IGNORECASE | _c.SRE_FLAG_VERBOSE):
                continue  # a local flag changes what its literals mean: not used
            req = _sequence(sub)
        elif op is _c.BRANCH:
            req = _branch(arg[1])
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            low, _high, sub = arg
            req = _sequence(sub) if low >= 1 else None
        elif op is _c.ATOMIC_GROUP:
            req = _sequence(arg)
        else:  # classes, anchors, look-arounds, back-references: no literal required
            req = None
        if req is not None:
            candidates.append(req)
    close()
    return _best(candidates)


def _branch(alternatives: Any) -> Requirement | None:
    out: set[str] = set()
    for alternative in alternatives:
        req = _sequence(alternative)
        if req is None:
            return None
        out |= req
    return frozenset(out)


def required_literals(pattern: re.Pattern[str]) -> Requirement | None:
    """Literals one of which is in every text ``pattern`` matches (case-folded when the
    pattern ignores case), or None when the pattern has no such set worth testing."""
    if _p is None or not isinstance(pattern.pattern, str):
        return None
    try:
        tree = _p.parse(pattern.pattern, pattern.flags)
    except Exception:  # a parser change: run the pattern ungated
        return None
    req = _sequence(tree)
    if req is None:
        return None
    if pattern.flags & re.IGNORECASE:
        req = frozenset(_fold(s) for s in req)
    return _shortest(req)


class Gated:
    """``pattern``, searched only in a text that holds one of its required literals.

    Offers the methods the classifier uses (``search``, ``match``, ``fullmatch``,
    ``finditer``, ``findall``, ``sub``); other attributes are the pattern's own.
    """

    __slots__ = ("_case_blind", "_literals", "pattern_object")

    def __init__(self, pattern: re.Pattern[str]):
        self.pattern_object = pattern
        literals = required_literals(pattern)
        self._literals = tuple(sorted(literals, key=len, reverse=True)) if literals else None
        self._case_blind = bool(pattern.flags & re.IGNORECASE)

    @property
    def literals(self) -> tuple[str, ...] | None:
        """The literals tested, or None when the pattern always runs."""
        return self._literals

    def may_match(self, text: str) -> bool:
        """False only when ``text`` cannot match: none of the literals is in it."""
        if self._literals is None:
            return True
        if self._case_blind:
            text = _fold(text)
        return any(s in text for s in self._literals)

    def search(self, text: str, *args: int) -> re.Match[str] | None:
        return self.pattern_object.search(text, *args) if self.may_match(text) else None

    def match(self, text: str, *args: int) -> re.Match[str] | None:
        return self.pattern_object.match(text, *args) if self.may_match(text) else None

    def fullmatch(self, text: str, *args: int) -> re.Match[str] | None:
        return self.pattern_object.fullmatch(text, *args) if self.may_match(text) else None

    def finditer(self, text: str, *args: int) -> Iterator[re.Match[str]]:
        return self.pattern_object.finditer(text, *args) if self.may_match(text) else iter(())

    def findall(self, text: str, *args: int) -> list[Any]:
        return self.pattern_object.findall(text, *args) if self.may_match(text) else []

    def sub(self, repl: Any, text: str, count: int = 0) -> str:
        return self.pattern_object.sub(repl, text, count) if self.may_match(text) else text

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pattern_object, name)

    def __repr__(self) -> str:
        return f"Gated({self.pattern_object!r}, literals={self._literals!r})"


def gated(pattern: str, flags: int = 0) -> Gated:
    """``re.compile(pattern, flags)`` behind its required-literal test."""
    return Gated(re.compile(pattern, flags))
