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
_last: dict[tuple[bool, bool], tuple[str, str]] = {}


def _squeeze(text: str) -> str:
    """Every run of white space one blank (the one at either end kept as one)."""
    squeezed = " ".join(text.split())
    if text[:1].isspace():
        squeezed = " " + squeezed if squeezed else " "
    if text[-1:].isspace() and squeezed != " ":
        squeezed += " "
    return squeezed


def _fold(text: str) -> str:
    """``text`` as a case-blind pattern sees it: the Turkish dotted and dotless i made
    plain "i" (``translate`` is slow: only when there is one), then case-folded."""
    if "\u0130" in text or "\u0131" in text:
        text = text.translate(_TURKISH_I)
    return text.casefold()


def _prepared(text: str, case_blind: bool, spaced: bool) -> str:
    """``text`` as the literal test reads it: folded for a case-blind pattern, its white
    space squeezed when a literal holds a blank.  The patterns test the same text one after
    the other: the last one of each kind is kept (a tuple, replaced whole, so threads see
    one or the other)."""
    if not case_blind and not spaced:
        return text
    key = (case_blind, spaced)
    last = _last.get(key)
    if last is not None and last[0] == text:
        return last[1]
    done = _fold(text) if case_blind else text
    if spaced:
        done = _squeeze(done)
    _last[key] = (text, done)
    return done


def _shortest(literals: Requirement) -> Requirement:
    """``literals`` without those that hold another ("chef" covers "enhetschefen")."""
    return frozenset(s for s in literals if not any(o != s and o in s for o in literals))


def _best(candidates: list[Requirement]) -> Requirement | None:
    """The most selective of a sequence's requirements: the heaviest lightest literal (see
    :func:`_weight`), then the fewest literals."""
    usable = [_shortest(c) for c in candidates if c and _length(c) >= _MIN_LENGTH]
    if not usable:
        return None
    return max(usable, key=lambda c: (min(_ENOUGH, *map(_weight, c)), -len(c)))


def _length(literals: Requirement) -> int:
    """The shortest literal's letters (blanks at its ends do not count)."""
    return min(len(s.replace(_BLANK, " ").strip()) for s in literals)


_ENOUGH = 8
"""A literal this selective is selective enough: fewer literals then count for more (each
one is a scan of the text)."""
_COMMON = frozenset(
    [
        "jag",
        "vi",
        "ni",
        "du",
        "han",
        "hon",
        "den",
        "det",
        "de",
        "är",
        "var",
        "har",
        "hade",
        "vill",
        "ska",
        "kan",
        "att",
        "och",
        "i",
        "på",
        "till",
        "för",
        "som",
        "en",
        "ett",
        "med",
        "om",
        "av",
        "inte",
        "så",
        "nu",
        "då",
        "man",
        "min",
        "mitt",
        "mina",
        "er",
        "ert",
        "era",
        "vår",
        "vårt",
        "the",
        "a",
        "an",
        "to",
        "we",
        "you",
        "is",
        "are",
        "was",
        "it",
        "of",
        "for",
        "and",
        "in",
        "on",
        "my",
        "our",
        "your",
        "have",
        "has",
        "be",
        "not",
        "this",
        "that",
    ]
)
"""Words in nearly every message: a literal made of them says little ("jag vill")."""


def _weight(literal: str) -> int:
    """How selective a literal is: the letters of its words, a common word counting one."""
    words = literal.replace(_BLANK, " ").split()
    return sum(1 if word in _COMMON else len(word) for word in words)


_PRODUCT = 16
"""At most this many strings a run of literals stands for ("hur kan", "hur får", …)."""
_BLANK = "\x00"
"""While a pattern is read: white space of any kind and length (``\\s+``), which the text
matches only once its white space is squeezed (:func:`_squeeze`)."""


def _strings(items: Any) -> frozenset[str] | None:
    """The few strings a sequence of literals, white space, small alternations and optional
    parts can match (white space of any length as :data:`_BLANK`), or None when it can match
    more."""
    found = frozenset({""})
    for op, arg in items:
        if op is _c.LITERAL:
            if chr(arg) == _BLANK:  # the pattern's own NUL: not told from a blank
                return None
            part = frozenset({chr(arg)})
        elif op is _c.IN and arg == [(_c.CATEGORY, _c.CATEGORY_SPACE)]:
            part = frozenset({_BLANK})
        elif op is _c.IN and arg and all(o is _c.LITERAL and chr(a) != _BLANK for o, a in arg):
            part = frozenset(chr(a) for _o, a in arg)
        elif op is _c.BRANCH:
            alternatives = [_strings(a) for a in arg[1]]
            if any(a is None for a in alternatives):
                return None
            part = frozenset().union(*alternatives)  # type: ignore[arg-type]
        elif op is _c.SUBPATTERN and not arg[1] and not arg[2]:
            part = _strings(arg[3])
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            low, high, sub = arg
            inner = _strings(sub)
            if inner is None:
                return None
            if all(not s.replace(_BLANK, " ").strip() for s in inner):
                # white space repeated: any length of it
                # (none at all where a repeat may match nothing: "(?:\\s?)+")
                part = (
                    frozenset({_BLANK}) if low >= 1 and "" not in inner else frozenset({"", _BLANK})
                )
            elif low == high == 1:
                part = inner
            elif low == 0 and high == 1:
                part = inner | {""}
            else:
                return None
        else:
            return None
        if part is None or len(found) * len(part) > _PRODUCT:
            return None
        found = _concat(found, part)
    return found


def _concat(heads: frozenset[str], tails: frozenset[str]) -> frozenset[str]:
    """Every string of ``heads`` followed by every one of ``tails``."""
    return frozenset(_squeeze_inner(a + b) for a in heads for b in tails)


def _squeeze_inner(text: str) -> str:
    """Two :data:`_BLANK` that meet made one."""
    while _BLANK + _BLANK in text:
        text = text.replace(_BLANK + _BLANK, _BLANK)
    return text


def _sequence(items: Any) -> Requirement | None:
    """A set of literals one of which every match of the sequence ``items`` contains.

    Literals run on over white space (``\\s+``: the test then squeezes the text's white
    space) and over small alternations ("hur (kan|får) ni" gives "hur kan ni" and
    "hur får ni"), as long as the run stands for at most :data:`_PRODUCT` strings."""
    candidates: list[Requirement] = []
    run: frozenset[str] = frozenset({""})

    def close() -> None:
        nonlocal run
        if run != {""}:
            candidates.append(run)
        run = frozenset({""})

    for item in items:
        op, arg = item
        part = _strings([item])
        if part is not None and len(run) * len(part) <= _PRODUCT:
            if "" in part and part != {""}:
                # optional: the run so far is required, what follows starts anew
                close()
                continue
            run = _concat(run, part)
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
    pattern ignores case; white space squeezed where the gate squeezes it), or None when the
    pattern has no such set worth testing."""
    return _requirement(pattern)[0]


def _requirement(pattern: re.Pattern[str]) -> tuple[Requirement | None, bool]:
    """:func:`required_literals`, and whether the text's white space must be squeezed to
    test them: when one of them runs over ``\\s`` (any white space of any length), all of
    them are tested in squeezed form; otherwise as the pattern has them, and the text as
    it is."""
    if _p is None or not isinstance(pattern.pattern, str):
        return None, False
    try:
        tree = _p.parse(pattern.pattern, pattern.flags)
    except Exception:  # a parser change: run the pattern ungated
        return None, False
    req = _sequence(tree)
    if req is None:
        return None, False
    squeeze = any(_BLANK in s for s in req)
    if squeeze:
        req = frozenset(_squeeze(s.replace(_BLANK, " ")) for s in req)
    if pattern.flags & re.IGNORECASE:
        req = frozenset(_fold(s) for s in req)
    return _shortest(req), squeeze


class Gated:
    """``pattern``, searched only in a text that holds one of its required literals.

    Offers the methods the classifier uses (``search``, ``match``, ``fullmatch``,
    ``finditer``, ``findall``, ``sub``); other attributes are the pattern's own.
    """

    __slots__ = ("_case_blind", "_literals", "_spaced", "pattern_object")

    def __init__(self, pattern: re.Pattern[str]):
        self.pattern_object = pattern
        literals, self._spaced = _requirement(pattern)
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
        text = _prepared(text, self._case_blind, self._spaced)
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
