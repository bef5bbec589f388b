"""The required-literal gate in front of the cue and flag patterns: a text the pattern
matches always passes the gate, and the classifier's patterns are gated."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from postvakt.classifier import fault_report, features, flags, stance
from postvakt.classifier.gate import Gated, gated, required_literals
from tests.support.bounded import Bounded


def test_the_most_selective_literal_of_a_sequence_is_required():
    # common words weigh little: "ursäkt" says more than "jag vill ha"
    assert required_literals(re.compile(r"(?<!om )\bjag\s+vill\s+ha\s*(?:en\s+)?ursäkt\b")) == {
        "ursäkt"
    }
    assert required_literals(re.compile(r"\bfor\s+the\s+\d+\s+(?:time|occasion)\b")) == {
        " time",
        " occasion",
    }


def test_literals_run_on_over_blanks_and_the_text_is_read_with_its_blanks_squeezed():
    pattern = gated(r"\bjag\s+vill\s+ha\s+en\s+ursäkt\b")
    assert pattern.literals == ("jag vill ha en ursäkt",)
    assert pattern.search("nu\njag  vill\tha en\r\nursäkt!") is not None
    assert not pattern.may_match("jag vill ha en förklaring, ingen ursäkt")


def test_a_small_alternation_is_spelt_out_and_a_large_one_ends_the_run():
    pattern = gated(r"\bhur\s+(?:kan|får|kunde)\s+(?:ni|man)\b")
    assert set(pattern.literals) == {
        "hur kan ni",
        "hur kan man",
        "hur får ni",
        "hur får man",
        "hur kunde ni",
        "hur kunde man",
    }
    assert pattern.may_match("Hur\nfår man göra så?".lower())
    assert not pattern.may_match("hur mår ni? kan man komma?")
    many = "|".join(f"{letter}ord" for letter in "abcdefghijklmnopqrst")
    assert required_literals(re.compile(rf"\bhejsan\s+(?:{many})")) == {"hejsan "}


def test_each_alternative_gives_one_and_a_literal_holding_another_adds_nothing():
    pattern = re.compile(r"\bkräver\s+ersättning|(?:enhets)?chefen\s+ringer|tillbaka")
    assert required_literals(pattern) == {"kräver ersättning", "chefen ringer", "tillbaka"}


def test_optional_parts_are_not_required_and_repeats_of_one_or_more_are():
    assert required_literals(re.compile(r"(?:förklaring\s+)?pengarna")) == {"pengarna"}
    assert required_literals(re.compile(r"(?:hejsan)+\s+x")) == {"hejsan"}
    assert required_literals(re.compile(r"(?:hejsan)*\s+xy")) is None


def test_no_gate_when_an_alternative_needs_no_literal():
    assert required_literals(re.compile(r"ursäkt|\d{6,}")) is None
    assert gated(r"ursäkt|\d{6,}").may_match("inget här")


def test_a_case_blind_pattern_is_tested_on_the_folded_text():
    pattern = gated(r"\btrasig\w*", re.IGNORECASE)
    assert pattern.literals == ("trasig",)
    assert pattern.search("Gungan är TRASIG sedan i går").group() == "TRASIG"
    assert pattern.search("Gungan är hel") is None


def test_the_turkish_i_is_an_i_to_a_case_blind_pattern():
    """A Turkish keyboard types ı where a Swedish one has i."""
    pattern = gated(r"\btrasig\b", re.IGNORECASE)
    for text in ("GUNGAN ÄR TRASİG", "Lampan är trasıg.", "TRASIG"):
        assert re.search(r"\btrasig\b", text, re.IGNORECASE)
        assert pattern.search(text) is not None, text


def test_the_gated_pattern_answers_as_the_pattern():
    pattern = gated(r"\b(?:jag|vi)\s+kräver\s+(\w+)")
    text = "vi kräver ersättning. jag kräver svar."
    assert [m.group(1) for m in pattern.finditer(text)] == ["ersättning", "svar"]
    assert pattern.findall(text) == ["ersättning", "svar"]
    assert pattern.sub("X", text) == "X. X."
    assert pattern.findall("Inget krav här.") == []
    assert pattern.sub("X", "Inget krav här.") == "Inget krav här."
    assert pattern.pattern.startswith(r"\b(?:jag|vi)")


# Random patterns and texts over a small alphabet: whatever the pattern matches, the gate
# lets through.  The pieces are those the classifier's patterns are made of.
_WORDS = ["abc", "bca", "cab", "abca", "ab", "c", "dis", "sik", "si"]
_atom = st.one_of(
    st.sampled_from(_WORDS).map(re.escape),
    st.sampled_from(
        [
            r"\s+",
            r"\w+",
            r"[ab]",
            r"\b",
            r"\s",
            r".",
            r"[^c]{0,3}",
            r"\B",
            "$",
            " ",
            r"\s*",
            "[ \t]",
        ]
    ),
)


def _compose(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(children, min_size=1, max_size=4).map("".join),
        st.lists(children, min_size=2, max_size=3).map(lambda a: "(?:" + "|".join(a) + ")"),
        children.map(lambda a: f"(?:{a})?"),
        children.map(lambda a: f"(?:{a})+"),
        children.map(lambda a: f"(?:{a}){{1,2}}"),
        children.map(lambda a: f"(?:{a})*?"),
        children.map(lambda a: f"({a})"),
        st.tuples(st.sampled_from(["(?<!a )", "(?<!b)", "(?=c)", "(?!ab)"]), children).map("".join),
        children.map(lambda a: f"(?>{a})"),
        children.map(lambda a: f"(?:{a})++"),
        children.map(lambda a: f"(?i:{a})"),
        children.map(lambda a: f"(?-i:{a})"),
        st.tuples(children, children).map(lambda a: f"({a[0]})?(?(1){a[1]}|c)"),
        children.map(lambda a: f"({a})\\1"),
    )


_patterns = st.recursive(_atom, _compose, max_leaves=8)
# Letters a case-blind pattern takes for others: the Turkish i's, the long s, the Kelvin sign.
_texts = st.lists(
    st.sampled_from(
        [
            *_WORDS,
            " ",
            "  ",
            "C",
            "AB",
            "\n",
            "\t",
            "\r\n",
            "\xa0",
            "DİS",
            "dıs",
            "ſık",
            "\u212ais",
            "SI",
        ]
    ),
    max_size=12,
).map("".join)


def _verdicts(source: str, text: str, ignore_case: bool) -> tuple[bool, bool, bool, str]:
    """In the helper process: does the pattern match, does the gate let the text through,
    does the gated search match; the gate's literals, for the message of a failure."""
    pattern = re.compile(source, re.IGNORECASE if ignore_case else 0)
    gate = Gated(pattern)
    found = pattern.search(text) is not None
    return found, gate.may_match(text), gate.search(text) is not None, repr(gate.literals)


@pytest.fixture(scope="module")
def bounded():
    """A random pattern may nest repeats that backtrack for hours on a text it does not
    match (``(?:(?:\\w+)+)+``): Python's ``re`` has no time limit, so each example runs in a
    helper process that is killed after a few seconds."""
    runner = Bounded(seconds=5.0)
    yield runner
    runner.close()


@settings(max_examples=1500, deadline=None)
@given(_patterns, _texts, st.booleans())
def test_whatever_the_pattern_matches_passes_the_gate(bounded, source, text, ignore_case):
    try:
        re.compile(source, re.IGNORECASE if ignore_case else 0)
    except re.error:  # a back-reference or condition naming a group still open
        assume(False)
    verdicts = bounded(_verdicts, source, text, ignore_case)
    assume(verdicts is not None)  # backtracked past the limit: says nothing about the gate
    found, passes, gated_found, literals = verdicts
    if found:
        assert passes, (source, text, literals)
    assert gated_found == found, (source, text, literals)


def test_a_call_that_overruns_is_cut_off_and_the_next_one_runs():
    runner = Bounded(seconds=0.5)
    try:
        catastrophic = r"(?:(?:\w+)+)+!"  # every split of the word is tried before it fails
        assert runner(_verdicts, catastrophic, "a" * 40, False) is None
        assert runner.overruns == 1
        expected = _verdicts(r"\bhej\b", "ja hej då", False)
        assert expected[:3] == (True, True, True)
        assert runner(_verdicts, r"\bhej\b", "ja hej då", False) == expected
    finally:
        runner.close()


@pytest.mark.parametrize(
    "module, name",
    [
        (features, "_REDRESS"),
        (features, "_REPROACH"),
        (features, "_WANTS_TO_COMPLAIN"),
        (features, "REPEAT"),
        (features, "_STILL"),
        (features, "_UNTOLD"),
        (stance, "_ALONE"),
        (flags, "_NOT_SATISFIED"),
        (flags, "_WITHDRAWS"),
        (flags, "_NEVER_SENT"),
        (features, "SINCE_MONTH"),
        (flags, "_SATISFIED"),
        (flags, "_OWN_WORDS"),
        (flags, "_DISMISSES"),
        (flags, "_THEIR_LETTER"),
        (fault_report, "_DEFECT"),
    ],
)
def test_the_costly_patterns_are_gated(module, name):
    pattern = getattr(module, name)
    assert isinstance(pattern, Gated)
    assert pattern.literals, f"{name} has no literal to test: it runs on every message"
    assert not pattern.may_match("hej, kan ni skicka blanketten till mig? tack")


@pytest.mark.parametrize(
    ("source", "text"),
    [
        # a repeat of optional white space may match none at all (found by review)
        (r"\bjag(?:\s?)+vill", "jagvill"),
        (r"\bjag(?:\s*)+vill", "jagvill"),
        (r"abc(?:[ \t]?){2,}def", "abcdef"),
        # the pattern's own NUL is not the analysis's mark for white space
        ("abc\x00def", "abc\x00def"),
        ("abc[\x00x]def", "abc\x00def"),
        # white space at either end of the text, of every kind
        (r"\svatten", "\u00a0vatten"),
        (r"vatten\s", "vatten\r\n"),
        (r"for the\s+\d+\s+times", "for the\t3\n\ntimes"),
    ],
)
def test_white_space_edge_cases_pass_the_gate(source: str, text: str) -> None:
    pattern = re.compile(source)
    assert pattern.search(text) is not None
    assert Gated(pattern).may_match(text), Gated(pattern).literals
