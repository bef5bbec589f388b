"""Service areas (verksamhetsområden): which area a citizen's message concerns, and which unit
answers for it.

Deciding only, with the reason in Swedish for the case page.  In order:

1. **The web form's field** (``[organisation] web_form_fields``, e.g. "Verksamhet: Förskola"):
   the unit area it names — the same words, or a word of it that is an area's ("Avfall och
   återvinning" -> avfall; "Grundskola" -> skola) — else the form's own words as the area.
2. **The text**: a plain keyword match against the units' areas (``[[units]] areas``).  A word
   of the subject or the message matches an area when it holds the area's word in any
   inflection or compound ("förskolan", "förskolor", "skolgården", "grundskolan"); a word is
   counted for the longest area word it holds, so "förskolan" is förskola, not skola.  The
   area with the most matching words wins; a tie decides nothing.
3. **The receiving unit's only area**, when it has exactly one.

:func:`find_area` returns the area, the unit that has it (``None`` when no unit does) and why.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from postvakt.classifier.webform import form_value
from postvakt.config import Config, UnitConfig

__all__ = ["AreaFinding", "area_words", "find_area"]

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_FILLERS = frozenset({"och", "samt", "för", "med", "i", "på", "av", "the", "and", "of"})
_VOWELS = "aeiouyåäö"
_MAX_AREA = 60  # Case.service_area's length


@dataclass(frozen=True)
class AreaFinding:
    area: str
    """The area as the unit names it (lower case), or the form's own words."""
    unit: str | None
    """The unit that answers for the area; None when no unit has it."""
    reason: str
    """Why, in Swedish: which field or which words."""


def _stem(word: str) -> str:
    # "skola" -> "skol" finds skolan, skolor, skolgården; short words are kept whole.
    return word[:-1] if len(word) >= 4 and word[-1] in _VOWELS else word


@lru_cache(maxsize=1024)
def area_words(area: str) -> tuple[str, ...]:
    """The stems a word of the text is matched against: the area's words without fillers."""
    words = [w for w in _WORD.findall(area.lower()) if w not in _FILLERS and len(w) >= 3]
    return tuple(dict.fromkeys(_stem(w) for w in words))


def _matches(token: str, stem: str) -> bool:
    # An inflection or a compound that begins with the area word ("skolgården"), or — for
    # words long enough not to turn up by chance — a compound that ends with it ("grundskolan").
    return token.startswith(stem) or (len(stem) >= 4 and stem in token)


def _best_area(token: str, stems: Sequence[tuple[str, str]]) -> str | None:
    """The area whose longest stem ``token`` holds; None when none, or two areas tie."""
    found = [(len(stem), area) for stem, area in stems if _matches(token, stem)]
    if not found:
        return None
    longest = max(length for length, _ in found)
    areas = {area for length, area in found if length == longest}
    return areas.pop() if len(areas) == 1 else None


_MEMO_LIMIT = 100_000
"""Words remembered per set of area stems before the memory starts over."""


@lru_cache(maxsize=16)
def _area_of(stems: tuple[tuple[str, str], ...]) -> Callable[[str], str | None]:
    """:func:`_best_area` for ``stems``, remembering each word's answer: a pass reads the
    same few thousand words in message after message."""
    memo: dict[str, str | None] = {}

    def area(token: str) -> str | None:
        try:
            return memo[token]
        except KeyError:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            found = memo[token] = _best_area(token, stems)
            return found

    return area


def _unit_areas(config: Config) -> list[tuple[str, UnitConfig]]:
    return [(area, unit) for unit in config.units for area in unit.areas]


def _from_form(config: Config, value: str, field: str) -> AreaFinding:
    wanted = " ".join(value.split()).lower()
    known = _unit_areas(config)
    exact = next(((a, u) for a, u in known if a == wanted), None)
    if exact is not None:
        return AreaFinding(
            exact[0],
            exact[1].name,
            f'verksamhetsområde {exact[0]}: webbformulärets fält {field} ("{value}")',
        )
    stems = [(stem, area) for area, _ in known for stem in area_words(area)]
    votes = Counter(a for token in _WORD.findall(wanted) if (a := _best_area(token, stems)))
    top = votes.most_common(2)
    if top and (len(top) == 1 or top[0][1] > top[1][1]):
        area = top[0][0]
        unit = next(u for a, u in known if a == area)
        return AreaFinding(
            area, unit.name, f'verksamhetsområde {area}: webbformulärets fält {field} ("{value}")'
        )
    return AreaFinding(
        wanted[:_MAX_AREA],
        None,
        f'verksamhetsområde från webbformulärets fält {field} ("{value}"); ingen enhet har det '
        "området",
    )


def _from_text(config: Config, text: str) -> AreaFinding | None:
    known = _unit_areas(config)
    stems = tuple((stem, area) for area, _ in known for stem in area_words(area))
    if not stems:
        return None
    area_of = _area_of(stems)
    words: dict[str, Counter[str]] = {}
    for token in _WORD.findall(text.lower()):
        area = area_of(token)
        if area is not None:
            words.setdefault(area, Counter())[token] += 1
    ranked = sorted(words.items(), key=lambda item: -sum(item[1].values()))
    if not ranked:
        return None
    if len(ranked) > 1 and sum(ranked[0][1].values()) == sum(ranked[1][1].values()):
        return None  # as many words for two areas: a person decides
    area, found = ranked[0]
    listed = ", ".join(f"{w} ({n})" if n > 1 else w for w, n in found.most_common(5))
    unit = next(u for a, u in known if a == area)
    return AreaFinding(area, unit.name, f"verksamhetsområde {area}: orden {listed} i texten")


def find_area(
    config: Config, *, form_text: str, text: str, own_unit: str | None
) -> AreaFinding | None:
    """The service area of a message: from the web form in ``form_text`` (the message's
    body), else from the words of ``text`` (subject and the citizen's text), else the only
    area of ``own_unit`` (the receiving mailbox's unit).  None when nothing tells."""
    found = form_value(form_text, config.organisation.web_form_fields)
    if found is not None:
        field, value = found
        return _from_form(config, value, field)
    inferred = _from_text(config, text)
    if inferred is not None:
        return inferred
    unit = config.unit(own_unit) if own_unit else None
    if unit is not None and len(unit.areas) == 1:
        return AreaFinding(
            unit.areas[0],
            unit.name,
            f"verksamhetsområde {unit.areas[0]}: enhetens område ({unit.name})",
        )
    return None
