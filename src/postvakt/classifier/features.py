"""Features that suit Swedish municipal mail (and the English that arrives too).

A message's words (:class:`~postvakt.classifier.text.CitizenText`) become two bags of terms:

- **word terms**: Snowball stems (Swedish, or English when the text is English), stem
  bigrams, words marked as negated (``neg:nöjd`` for "inte nöjd"; Swedish puts the negation
  after the finite verb in a main clause, "ni svarade inte", so the verb before is marked
  too), and *cues*: exclamation marks, words in capitals, intensifiers ("helt", "extremt",
  "absolutely"), drawn-out words ("nääää"), how long something has lasted ("i tre veckor"),
  repetition ("igen", "för tredje gången"), questions, a demand that the handling be put
  right ("jag kräver en förklaring", "sort it out"), a question that reproaches ("Varför har
  ingen …?"), the length of the text, the case type a web form gives, and whether the message
  answers an earlier one;
- **character n-grams** (3–5, within words, with å/ä/ö folded to a/a/o): Swedish glues words
  together ("snöröjningen", "hemtjänstpersonalen") and people write without Swedish letters.

Personnummer, phone numbers, e-mail and web addresses are replaced by placeholders before
anything is counted, so no term is ever personal data.

The same functions serve training (as scikit-learn analyzers) and classification, so the two
can never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

from postvakt.classifier.gate import gated
from postvakt.classifier.lexicon import (
    CLAUSE_BREAK,
    EN_FUNCTION,
    INTENSIFIERS,
    NEGATION_SCOPE,
    NEGATORS,
    PHRASES,
    SV_FUNCTION,
    lexicon_cue,
    word_list,
)
from postvakt.classifier.text import CitizenText
from postvakt.privacy import EMAIL_ADDRESS, PERSONNUMMER

__all__ = [
    "DURATION",
    "FEATURES_VERSION",
    "REPEAT",
    "SINCE_MONTH",
    "Doc",
    "char_terms",
    "extract",
    "grams",
    "language",
    "word_terms",
]

FEATURES_VERSION = 7
"""Bumped whenever the terms change; part of the model's cache key."""


_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = EMAIL_ADDRESS  # linear: a match starts only where a run starts
_PHONE = re.compile(
    r"(?<![\d-])(?:\+46|0046|0)[ \t-]{0,2}\(?0?\)?\d{1,3}(?:[ \t-]{0,2}\d{2,4}){2,4}"
)
_NOT = re.compile(r"n['’]t\b", re.IGNORECASE)
TOKEN = re.compile(r"[^\W\d_]+|\d+|[.;:!?\n]+|,")
_QUESTION_WORD = frozenset(
    word_list(
        "hur när var vad vilken vilket vilka varför vem kan får går finns är har ska behöver "
        "undrar how when where what which why who can could is are do does may"
    )
)
DURATION = re.compile(
    r"\b(i|på|sedan|under|efter|in|for|over|after)\s+(\d+|en|ett|två|tre|fyra|fem|sex|sju|åtta|"
    r"nio|tio|flera|många|a|an|two|three|four|five|six|several|many)\s+(dag|dagar|vecka|veckor|"
    r"månad|månader|år|timme|timmar|days?|weeks?|months?|years?|hours?)\b",
)
"""How long something has lasted ("i tre veckor", "for two weeks"); also a fault report's
sign that it is no first report (:mod:`postvakt.classifier.fault_report`)."""
REPEAT = gated(
    r"\b(igen|återigen|än en gång|ännu en gång|för (andra|tredje|fjärde|femte|sjätte|\d+:?e) "
    r"gången|again|once more|yet again|for the (second|third|fourth|fifth|\w+th) time|"
    r"(\d+|två|tre|fyra|fem|sex|flera|många|otaliga|two|three|four|five|several|many|countless)"
    r"\s+(gånger|gång|times|anmälningar|påminnelser|samtal|mejl|reminders|calls|emails))\b",
)
"""Something has happened again, or been reported several times."""
SINCE_MONTH = gated(
    r"\b(sedan|sen|ända sedan|since|from)\s+(i\s+)?(januari|februari|mars|april|maj|juni|juli|"
    r"augusti|september|oktober|november|december|january|february|march|june|july|august|"
    r"october|i våras|i somras|i höstas|i vintras|förra året|last year|the summer|the spring)\b",
)
"""Since when something has gone on ("sedan i oktober", "since last year")."""
_WANTS_TO_COMPLAIN = gated(
    # Not "om jag vill klaga" / "if I want to complain": asking how, not complaining.
    r"(?<!om )\b(?:jag|vi)\s+(?:vill|måste|tänker|önskar)\s+(?:härmed\s+|tyvärr\s+)?"
    r"(?:klaga|"
    r"(?:lämna|framföra|göra|anmäla)\s+(?:ett\s+)?(?:formellt\s+)?(?:klagomål|missnöje))|"
    # Inverted after an adverb ("Därför vill jag klaga", "Däremot vill jag lämna ett
    # klagomål") — not a question ("Måste jag klaga skriftligt?", "Hur vill ni …").
    r"\b(?:därför|däremot|dessutom|nu|också|även|härmed|istället|i\s+stället)\s+"
    r"(?:vill|tänker|önskar)\s+(?:jag|vi)\s+(?:härmed\s+|också\s+|även\s+)?"
    r"(?:klaga|(?:lämna(?:\s+in)?|framföra|göra)\s+(?:ett\s+)?(?:formellt\s+)?"
    r"(?:klagomål|missnöje))|"
    r"\bhärmed\s+(?:lämnar|framför)\s+(?:jag|vi)\s+(?:ett\s+)?(?:formellt\s+)?klagomål|"
    # Says the message is to be taken as a complaint ("Jag är missnöjd med … och vill att det
    # registreras som ett klagomål", "Jag skriver för att klaga") — not asking whether it
    # may be ("Kan det registreras som ett klagomål?").
    r"(?<!om )\b(?:jag|vi|och)\s+(?:vill|önskar|begär)\s+att\s+(?:det|detta|det\s+här|mitt\s+"
    r"meddelande|mitt\s+brev)\s+(?:registreras|diarieförs|behandlas|tas\s+upp)\s+som\s+"
    r"(?:ett\s+)?(?:formellt\s+)?klagomål\b|"
    r"\b(?:jag|vi)\s+skriver\s+(?:till\s+er\s+|hit\s+)?för\s+att\s+klaga\b|"
    # Says it in the present ("Jag klagar på bemötandet") — not "om jag klagar på", "innan
    # jag klagar på", nor a question about it ("Var klagar jag på …?" has another order).
    r"(?<!om )(?<!ifall )(?<!innan )(?<!när )\b(?:jag|vi)\s+klagar\s+(?:härmed\s+|formellt\s+)?"
    r"(?:på|över)\b|"
    r"(?<!if )\bi\s+am\s+(?:hereby\s+|formally\s+)?complaining\s+about\b|"
    r"(?<!if )\bi\s+(?:want|wish|would like|am writing)\s+to\s+(?:make\s+a\s+|file\s+a\s+|lodge\s+a\s+)?"
    r"(?:formal\s+)?complain|"
    r"(?<!om )(?<!ifall )\b(?:detta|det här)\s+är\s+ett\s+(?:formellt\s+)?klagomål\b|"
    r"(?<!om )(?<!ifall )\b(?:jag|vi)\s+vill\s+(?:härmed\s+)?(?:framföra|uttrycka)\s+(?:mitt|vårt)\s+"
    r"(?:\w+\s+)?missnöje|"
    r"(?<!if )(?<!whether )(?<!sure )\bthis\s+is\s+a\s+(?:formal\s+)?complaint\b",
)
_REDRESS = gated(
    # Asks for the handling to be put right: the line between a complaint and a sharp view
    # that asks for nothing (the labelling brief).  An apology, an explanation, money back,
    # the fault mended, a responsible person in touch.  Not a question about how ("om jag
    # vill ha en förklaring …", "if I want a refund"), not an application ("jag vill ha
    # ersättning för mina utlägg": only a demand, "kräver", for compensation), not a view
    # ("jag tycker att kommunen måste …"), not the municipality's own promise ("ansvarig
    # handläggare kontaktar dig").
    r"(?<!om )(?<!ifall )\b(?:jag|vi)\s+(?:vill|kräver|förväntar\s+(?:mig|oss))\s+(?:att\s+)?"
    r"(?:ha\s+|få\s+)?(?:en\s+|ett\s+)?(?:\w+\s+)?(?:ursäkt|förklaring|rättelse)\b|"
    r"\b(?:jag|vi)\s+kräver\s+(?:\w+\s+){0,2}?(?:ersättning|kompensation|återbetalning|"
    r"skadestånd|pengarna)\b|"
    r"\b(?:tillbaka\s+(?:mina|våra)\s+pengar|pengarna\s+tillbaka|mina\s+pengar\s+tillbaka)\b|"
    r"(?<!att )\b(?:ni|kommunen)\s+(?:måste|ska|bör|borde)\s+(?:omedelbart\s+|snarast\s+|genast\s+)?"
    r"(?:åtgärda|rätta\s+till|ersätta|betala\s+tillbaka|återbetala|be\s+om\s+ursäkt|"
    r"ta\s+ansvar)\b|"
    r"\b(?:förväntar\s+(?:mig|oss)|kräver|begär|(?<!om )(?:jag|vi)\s+vill)\s+att\s+(?:ni|kommunen)\s+"
    r"(?:\w+\s+)?"
    r"(?:åtgärdar|rättar|ersätter|betalar\s+tillbaka|återbetalar|ber\s+om\s+ursäkt|tar\s+ansvar)\b|"
    r"(?:^|[.!?]\s+)(?:åtgärda|rätta\s+till)\s+(?:det|detta|felet|problemet|omedelbart|nu|snarast)\b|"
    r"\bsköt\s+ert\s+jobb\b|(?:^|[.!?]\s+)gör\s+ert\s+jobb\b|\bskärp(?:a)?\s+er\b|"
    r"\b(?:vill|kräver|begär|förväntar\s+mig|förväntar\s+oss)\s+att\s+(?:ansvarig(?:\s+chef|"
    r"\s+handläggare)?|chefen|en\s+chef|någon\s+ansvarig|enhetschefen|förvaltningschefen)\s+"
    r"(?:kontaktar|ringer|hör\s+av\s+sig|pratar\s+med\s+(?:mig|oss)(?=\s*(?:[.!]|$)))|"
    r"\bvad\s+(?:ni|kommunen)\s+tänker\s+göra|\bvad\s+tänker\s+(?:ni|kommunen)\s+göra|"
    r"(?<!if )\bi\s+(?:still\s+)?(?:want|demand|expect)\s+(?:a\s+|an\s+|my\s+|our\s+)?(?:\w+\s+)?"
    r"(?:apology|explanation|refund|compensation|money\s+back|reimbursement)\b|"
    r"\b(?:sort\s+(?:it|this)\s+out|put\s+(?:it|this|things)\s+right|make\s+(?:it|this)\s+right)\b|"
    r"\b(?:refund|compensate|reimburse)\s+(?:me|us)\b|"
    r"\b(?:the|a)\s+(?:manager|person\s+responsible)\s+to\s+(?:contact|call|get\s+in\s+touch)\b|"
    r"\bwhat\s+(?:are\s+you|you\s+are|you're)\s+going\s+to\s+do\s+about",
)
_REPROACH = gated(
    # A question that is a reproach, not a request for information: "Varför har ingen …?",
    # "Hur länge till ska vi …?", "Hur kan det få hända?", "Is it too much to ask …?".  Not a
    # proposal ("Varför inte …?", "Varför kan man inte ha …?", "Why don't you …?") nor a
    # question for a reason ("Vet ni varför sopbilen inte kom?").
    r"(?<!undrar )(?<!vet ni )(?<!förstår )(?<!förstå )\bvarför\s+"
    r"(?!inte\b|(?:kan|skulle|kunde)\s+(?:man|vi|ni)\s+inte\b)(?:\w+\s+){0,3}?"
    r"(?:fortfarande\s+|ännu\s+)?(?:inte|ingen|ingenting|inget|inga|aldrig|ej)\b|"
    r"\bhur\s+länge\s+(?:till|ännu)\s+(?:ska|måste|behöver|tänker)\s+(?:vi|jag|man|ni)\b|"
    r"\bhur\s+länge\s+(?:ska|måste)\s+(?:vi|jag|man)\s+(?:behöva|acceptera|stå\s+ut)\b|"
    r"\b(?:ska|måste)\s+(?:man|vi|jag)\s+(?:verkligen\s+)?(?:behöva|acceptera|finna\s+sig|tjata|jaga)|"
    r"\b(?:någon\s+som|inte|ingen|ens)\b[^.?!\n]{0,80}?\böver\s*huvud\s*taget\b|"
    r"\bhur\s+(?:kan|får|kunde)\s+(?:det|ni|man|någon)\s+(?:få\s+)?(?:vara|hända|gå|låta|behandla|"
    r"tillåta|glömma|missa|tro)\b|"
    r"\bär\s+det\s+(?:för\s+mycket\s+begärt|verkligen\s+så\s+svårt|så\s+svårt)|"
    r"(?<!know )(?<!wonder )\bwhy\s+(?!not\b|(?:don't|can't|couldn't|won't|wouldn't)\s+(?:you|we)\b)"
    r"(?:\w+\s+){0,3}?(?:no\s+one|nobody|nothing|not|never|\w+n[\'’]t)\b|"
    r"\bhow\s+(?:many\s+more\s+times|much\s+longer)\b|"
    r"\bis\s+it\s+(?:too\s+much\s+to\s+ask|really\s+so\s+hard|so\s+difficult|so\s+hard)\b|"
    # Asking for the least ("Kan ni åtminstone sätta upp en skylt?"): what should have been
    # done was not.
    r"\b(?:kan|kunde|skulle)\s+ni\s+(?:inte\s+)?(?:åtminstone|i\s+alla\s+fall|iallafall|ens)\b|"
    r"\b(?:can|could|would)\s+you\s+(?:please\s+)?at\s+least\b|"
    r"\bhow\s+(?:can|could)\s+(?:this|it|you|anyone)\s+(?:happen|be\s+allowed|treat|let|forget)\b",
)


_SENTENCE_END = re.compile(r"[.!?\n]")


def _reproaches(low: str) -> bool:
    """A reproaching form in a sentence that ends in a question mark."""
    for match in _REPROACH.finditer(low):
        end = _SENTENCE_END.search(low, match.end())
        if end is not None and end.group() == "?":
            return True
    return False


_STILL = gated(
    r"\b(?:fortfarande|ännu inte|ännu ingen|ännu inget|står kvar|har dröjt|dröjer|still|not yet|"
    r"so far nothing)\b",
)
_UNTOLD = gated(
    # The handling left the writer uninformed: done without a word, or never answered.  In
    # every source of the corpus, a message that says so is a complaint.
    r"\butan\s+(?:förvarning|föregående\s+besked|att\s+(?:någon\s+)?(?:meddela|informera|"
    r"säga\s+till|höra\s+av\s+sig|förvarna)|(?:någon\s+|ett\s+ord\s+|en\s+|all\s+)?"
    r"(?:information|förklaring))\b|"
    r"\bwithout\s+(?:any\s+)?(?:warning|notice|information|explanation|telling)\b|"
    r"\b(?:we|i)\s+(?:got|were\s+given|received)\s+no\s+(?:warning|notice|information)\b|"
    r"\bingen\s+(?:har\s+)?(?:återkom\w*|hört\s+av\s+sig|hör\s+av\s+sig|ringt\s+tillbaka|"
    r"ringde\s+tillbaka)\b|\bingen\s+återkoppling\b|"
    r"\b(?:nobody|no\s+one)\s+(?:has\s+)?(?:got\s+back|gotten\s+back|called\s+(?:me\s+)?back|"
    r"replied|answered)\b",
)
_ELONGATED = re.compile(r"([a-vx-zåäöA-VX-ZÅÄÖ])\1\1")  # not "www"
_MARKS = re.compile(r"!+|\?+")
_CAPS_WORD = re.compile(r"\b[A-ZÅÄÖ]{4,}\b")
_FOLD = str.maketrans("åäöéèüæø", "aaoeeuao")
_PUNCT = frozenset(".;:!?\n,")

_STEMMERS = {
    "sv": snowballstemmer.stemmer("swedish"),
    "en": snowballstemmer.stemmer("english"),
}


@lru_cache(maxsize=200_000)
def _stem(word: str, lang: str) -> str:
    return _STEMMERS[lang].stemWord(word)


@lru_cache(maxsize=200_000)
def grams(word: str) -> tuple[str, ...]:
    padded = f" {word.translate(_FOLD)} "
    if len(padded) <= 3:
        return (padded,)
    out: list[str] = []
    for n in (3, 4, 5):
        if len(padded) < n:
            break
        out.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return tuple(out)


@dataclass
class Doc:
    """The terms of one message, and where the word terms came from (for the reasons)."""

    words: list[str]
    chars: list[str]
    surface: dict[str, str] = field(default_factory=dict)
    """word term -> the words of the message it stands for (first occurrence)"""
    tokens: list[str] = field(default_factory=list)
    """The message's word tokens, lower-cased, in order."""
    lang: str = "sv"


_LONG_NUMBER = re.compile(r"\d[\d \t+-]{5,}\d")


def mask(text: str) -> str:
    """Personal data and addresses out, placeholders in.

    Each pattern runs only when the text can hold what it looks for: most mail has no
    web address, and many have no long number.
    """
    if "@" in text:
        text = _EMAIL.sub(" epostadress ", text)
    if "www." in text or "://" in text:
        text = _URL.sub(" webbadress ", text)
    if _LONG_NUMBER.search(text):
        text = PERSONNUMMER.sub(" pnr ", text)
        text = _PHONE.sub(" telefonnummer ", text)
    return text


def language(tokens: list[str]) -> str:
    sv = en = 0
    for token in tokens[:200]:
        if token in SV_FUNCTION:
            sv += 1
        elif token in EN_FUNCTION:
            en += 1
    return "en" if en > sv else "sv"


def _cues(raw: str, body: str, citizen: CitizenText | None) -> list[str]:
    cues: list[str] = []
    marks = _MARKS.findall(raw)
    exclaims = [m for m in marks if m[0] == "!"]
    cues += ["!utrop"] * min(len(exclaims), 3)
    if any(len(e) > 1 for e in exclaims):
        cues.append("!utrop_flera")
    cues += ["?fråga"] * min(len(marks) - len(exclaims), 3)
    caps = _CAPS_WORD.findall(raw)
    if len(caps) >= 2:
        cues.append("!versaler")
        words = len(re.findall(r"\b\w{4,}\b", raw))
        if len(caps) >= 4 and len(caps) >= 0.3 * max(words, 1):
            cues.append("!versaler_mycket")
    if _ELONGATED.search(raw):
        cues.append("!förlängt")
    low = raw.lower()  # the phrase patterns are lower-case: faster than IGNORECASE
    cues += ["!varaktighet"] * min(len(DURATION.findall(low)) + len(SINCE_MONTH.findall(low)), 2)
    if REPEAT.search(low):
        cues.append("!upprepning")
    if _WANTS_TO_COMPLAIN.search(low):
        cues.append("!vill_klaga")
    if _REDRESS.search(low):
        cues.append("!kräver_rättelse")
    if "?" in raw and _reproaches(low):
        cues.append("!retorisk_fråga")
    cues += ["!dröjsmål"] * min(len(_STILL.findall(low)), 2)
    if _UNTOLD.search(low):
        cues.append("!utan_besked")
    first = re.split(r"(?<=[.!?\n])", body.strip(), maxsplit=1)[0].strip().lower()
    opens_with_question = first.endswith("?") or (first.split() or [""])[0].strip(",") in (
        _QUESTION_WORD
    )
    if opens_with_question and "?" in body:
        cues.append("?inleder_fråga")
    size = len(body)
    cues.append(f"#längd_{0 if size < 100 else 1 if size < 300 else 2 if size < 800 else 3}")
    if citizen is not None:
        if citizen.reply:
            cues.append("#svar_i_tråd")
        if citizen.form_type:
            kind = re.sub(r"[^\wåäö]+", "_", citizen.form_type.strip().lower())[:24]
            cues.append(f"#ärendetyp_{kind}")
    return cues


def word_terms(tokens: list[str], lang: str, surface: dict[str, str] | None = None) -> list[str]:
    """Stems, negation-marked stems and stem bigrams of a token list (see module docstring)."""
    terms: list[str] = []
    add = terms.append
    negator = ""
    scope = 0
    since = 0
    prev = prev_token = ""
    for token in tokens:
        if token in _PUNCT or token[0] in _PUNCT:
            scope, prev, prev_token = 0, "", ""
            continue
        if token in CLAUSE_BREAK:
            scope = 0
        if token in NEGATORS:
            add(token)
            if prev:
                # V2: "ni svarade inte" — the finite verb before the negation.
                term = "neg:" + prev
                add(term)
                if surface is not None:
                    surface.setdefault(term, f"{prev_token} {token}")
                add(prev + " " + token)
            negator, scope, since = token, NEGATION_SCOPE, 0
            prev, prev_token = token, token
            continue
        stem = "0" if token.isdigit() else _stem(token, lang)
        since += 1
        cue = PHRASES.get((prev_token, token)) or lexicon_cue(token)
        if cue is not None:
            if scope and cue == "+beröm":
                cue = "!brist"  # "inte nöjd", "inte okej", "not good"
            elif scope and cue == "!brist":
                cue = None  # "inte dålig"
        if cue is not None:
            add(cue)
            if surface is not None:
                seen = surface.get(cue)
                negated = scope and cue == "!brist" and lexicon_cue(token) == "+beröm"
                phrase = f"{negator} {token}" if negated else token
                if seen is None:
                    surface[cue] = phrase
                elif seen.count("|") < 3 and phrase not in seen.split("|"):
                    surface[cue] = f"{seen}|{phrase}"
        if scope:
            term = "neg:" + stem
            scope -= 1
            if surface is not None:
                gap = " " if since == 1 else " … "
                surface.setdefault(term, f"{negator}{gap}{token}")
        else:
            term = stem
            if surface is not None:
                surface.setdefault(term, token)
        add(term)
        if prev:
            bigram = prev + " " + stem
            add(bigram)
            if surface is not None:
                surface.setdefault(bigram, f"{prev_token} {token}")
        prev, prev_token = stem, token
    return terms


def char_terms(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        if token[0] not in _PUNCT and not token.isdigit():
            out.extend(grams(token))
    return out


def extract(citizen: CitizenText, *, explain: bool = False, chars: bool = True) -> Doc:
    """The terms of a message's words.

    ``explain`` also records where word terms came from; ``chars=False`` leaves the
    character n-grams out (the compiled model builds them from the tokens itself).
    """
    raw = citizen.text
    masked = mask(raw)
    tokens = TOKEN.findall(_NOT.sub(" not", masked).lower())
    words_only = [t for t in tokens if t[0] not in _PUNCT]
    lang = language(words_only)
    surface: dict[str, str] | None = {} if explain else None
    words = word_terms(tokens, lang, surface)
    words += _cues(raw, citizen.body, citizen)
    words += ["!förstärkning"] * min(sum(t in INTENSIFIERS for t in words_only), 3)
    if lang == "en":
        words.append("#språk_en")
    return Doc(
        words=words,
        chars=char_terms(words_only) if chars else [],
        surface=surface or {},
        tokens=words_only,
        lang=lang,
    )
