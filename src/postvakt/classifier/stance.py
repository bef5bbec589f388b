"""What the writer's own words say their message is, where a model reading the words as
evidence goes astray.

**Praise that means the opposite** (:func:`ironic_praise`): "Tack för ingenting", "Riktigt
bra jobbat, verkligen" after the bus did not come.  The issue's own form of a complaint
("understatement or irony").  A model that learnt praise words as the mark of an opinion
reads such a message as one; the routines call it a complaint (dissatisfaction with how the
organisation handled something).  Two kinds:

- **Unmistakable** (:data:`_SURE`): phrases nobody writes in earnest ("tack för ingenting",
  "det är ju bara vi skattebetalare", "thanks for nothing", "är det för mycket begärt").
- **Praise that is ironic beside a shortcoming** (:data:`_BESIDE`): "Vilken service!",
  "Snyggt jobbat", "Bra jobbat, verkligen", "Brilliant planning as always", "Maybe next
  year then?" are written in earnest too ("Lysande föreställning som vanligt!"); they count
  only in a text that also names something that went wrong or is not done (the features'
  shortcoming and delay cues).

**A view or a proposal, said to be one** (:func:`states_a_view`): "Jag vill lämna en
synpunkt", "Det vore bra om …", "Jag skulle vilja se fler …", "I wish the municipality …".
A short suggestion reads much like a question; the writer's own words say it is a view
(a synpunkt), which the routines register.

**Praise of the service** (:func:`praises`): "Personalen var professionell och varm", "Thank
you for the warm welcome we received", "Tack för att ni lagade gungan på bara två dagar".
Praise is an opinion by the routines; a short thank-you that closes an errand ("Tack för
svaret, då vet jag") is not, and a model that learnt the many thank-yous of replies reads
much short praise as one.  Only praise that says what was good about the service or its
people counts, not thanks alone.

Each function only finds the words; the classifier decides what they change (see
``Classifier.classify``).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from postvakt.classifier.features import TOKEN, word_terms
from postvakt.classifier.gate import gated
from postvakt.classifier.lexicon import PRAISE_CUE

__all__ = ["SHORTCOMING_CUES", "ironic_praise", "praises", "states_a_view"]

_SURE = gated(
    r"\btack\s+för\s+(?:ingenting|inget)\b|\bthanks\s+for\s+nothing\b|"
    r"\bfortsätt\s+så[,.!]?\s+det\s+går\s+ju\s+så\s+bra\b|"
    r"\b(?:är\s+det|det\s+är\s+väl)\s+för\s+mycket\s+begärt\b|"
    r"\bdet\s+är\s+ju\s+bara\s+vi\s+skattebetalare\b",
    re.IGNORECASE,
)
_BESIDE = gated(
    r"\b(?:riktigt\s+)?bra\s+jobbat,?\s+(?:verkligen|som\s+vanligt)\b|"
    r"\btoppen,?\s+verkligen\s+toppen\b|\bsnyggt\s+jobbat\b|"
    r"\bvilken\s+(?:fantastisk\s+|underbar\s+|utmärkt\s+)?service\b(?=\s*(?:[!.…]|$|\n))|"
    r"\btack\s+(?:så\s+mycket\s+)?för\s+den\s+(?:underbara|fantastiska|utmärkta|suveräna)\s+servicen\b|"
    r"\b(?:thanks|thank\s+you)\s+(?:so\s+much\s+)?for\s+the\s+(?:wonderful|great|excellent|"
    r"fantastic)\s+service\b|"
    r"\bännu\s+en\s+fin\s+dag\b|\banother\s+(?:great|fine|wonderful|lovely)\s+day\b|"
    r"\bgrattis\b(?P<gap1>[^.!?\n]{0,40})\blyckats\b|\bvad\s+skulle\s+vi\s+göra\s+utan\s+er\b|"
    r"\blysande\s+\w+\s+som\s+vanligt\b|\b(?:brilliant|great)\s+\w+\s+as\s+always\b|"
    r"\bwell\s+done,?\s+once\s+again\b|\bgreat\s+job,?\s+really\b(?!\s+appreciate)|"
    r"\b(?:it\s+is|it['’]s)\s+going\s+so\s+well\b|"
    r"\bkul\s+att\s+se\s+att\s+allt\s+fungerar\s+som\s+vanligt\b|"
    r"\bman\s+blir\s+ju\s+så\s+glad\s+av\s+er\s+service\b|"
    r"\bdet\s+är\s+väl\s+bara\s+att\s+vänta\s+(?:några|ett\s+par|ytterligare)\b|"
    r"\bkanske\s+nästa\s+år\s+då\b|\bmaybe\s+next\s+year\s+then\b",
    re.IGNORECASE,
)

_ALONE = gated(
    r"\briktigt\s+bra\s+jobbat,?\s+verkligen\b|\bbra\s+jobbat,?\s+som\s+vanligt\b|"
    r"\btoppen,?\s+verkligen\s+toppen\b|\bgreat\s+job,?\s+really\b(?!\s+appreciate)|"
    r"\bman\s+blir\s+ju\s+så\s+glad\s+av\s+er\s+service\b|"
    r"\bdet\s+är\s+väl\s+bara\s+att\s+vänta\s+(?:några|ett\s+par|ytterligare)\b|"
    r"\bkanske\s+nästa\s+år\s+då\b|\bmaybe\s+next\s+year\s+then\b",
    re.IGNORECASE,
)
"""The phrases of :data:`_BESIDE` that are hardly written in earnest without praise of
something else in the text ("Riktigt bra jobbat, verkligen. Tack till alla i hemtjänsten."):
beside words the shortcoming lexicon does not know ("Lövblåsarna börjar klockan sex och
väcker hela kvarteret. Riktigt bra jobbat, verkligen.") they are ironic too.  Not "Vilken
service!", "Snyggt jobbat", "Tack för den underbara servicen", "Grattis …, ni har lyckats":
short earnest praise says no more than that."""

SHORTCOMING_CUES = frozenset({"!brist", "!dröjsmål"})
"""The features' cues (:func:`postvakt.classifier.features.extract`) that name something
gone wrong or not yet done: beside them, praise in :data:`_BESIDE` is ironic.  Not
repetition or duration: "öppnat igen", "i två år" are said of good things too."""


def _words(found: re.Match[str]) -> str:
    """The matched words, white space squeezed; a stretch a pattern lets vary (a name, an
    address: ``gap…`` groups) written "…", so that a reason quotes no personal data."""
    text, at, parts = found.string, found.start(), []
    for name, value in found.groupdict().items():
        if name.startswith("gap") and value:
            start, end = found.span(name)
            parts += [text[at:start], " … "]
            at = end
    parts.append(text[at : found.end()])
    return " ".join("".join(parts).split())


_TURN = re.compile(r"\b(?:men|fast|ändå|but|though|although|however|anyway)\b", re.IGNORECASE)
"""A turn from what went wrong to what went well ("Bussen var försenad men chauffören väntade
in mig"): praise beside it is meant."""


def ironic_praise(text: str, cues: Collection[str]) -> str | None:
    """The words of ``text`` (the citizen's own) that praise ironically, or None; ``cues``:
    the features' words of the same text (for :data:`SHORTCOMING_CUES`).  Praise that can be
    meant counts only without a turn (:data:`_TURN`) in the text, and beside a shortcoming;
    the phrases of :data:`_ALONE` also where nothing else in the text is praised
    (:func:`_praise_besides`)."""
    text = " ".join(text.split())
    found = _SURE.search(text)
    if found is None and not _TURN.search(text):
        if not SHORTCOMING_CUES.isdisjoint(cues):
            found = _BESIDE.search(text)
        else:
            found = _ALONE.search(text)
            if found is not None and _praise_besides(
                text[: found.start()] + " " + text[found.end() :]
            ):
                found = None
    return _words(found) if found is not None else None


def _praise_besides(rest: str) -> bool:
    """Whether ``rest`` (the text without the ironic phrase) praises something itself: a
    praise word of the features' lexicon, not negated ("inte bra"), outside the phrases of
    :data:`_BESIDE` (a second one, "Snyggt jobbat.", adds to the irony)."""
    rest = _BESIDE.sub(" ", rest)
    return PRAISE_CUE in word_terms(TOKEN.findall(rest.lower()), "sv")


_NOT_A_VIEW_BEFORE = r"(?<!\bom )(?<!\bifall )(?<!\bhur )(?<!\bnär )(?<!\bdå )(?<!\binnan )"
_ASKS_OF_US = r"(?:ringa|skicka|kontakta|höra|boka|hjälpa|svara|meddela|återkomma|bekräfta)"
_VIEW = gated(
    # Not "om jag vill lämna synpunkter" (how to), not an invitation's "vi skulle gärna vilja
    # att ni kommer", not a request of the writer's own ("det vore bra om jag fick …", "kanske
    # kan ni ringa mig"), not a case's own consultation ("synpunkter i ärende BN 2024/55"),
    # not an appeal ("jag anser att beslutet ska omprövas"): the writer gives a view here.
    _NOT_A_VIEW_BEFORE + r"\b(?:jag|vi)\s+vill\s+(?:gärna\s+)?(?:lämna|ge|framföra)\s+"
    r"(?:en\s+|ett\s+|mina\s+|några\s+|lite\s+)?(?:synpunkt\w*|förslag|medborgarförslag|beröm)\b"
    r"(?!\s+(?:i|på|om|angående)\s+(?:ärende|ärendet|ert\s+ärende|dnr|diarienummer)\b)|"
    r"\b(?:jag|vi)\s+föreslår\s+att\b|\b(?:mitt|vårt)\s+förslag\s+är\b|"
    r"\b(?:jag|vi)\s+(?:anser|tycker)\s+(?:inte\s+)?att\s+(?:kommunen|ni|man)\s+"
    r"(?:borde|bör|ska|skulle|måste)\b(?!\s+" + _ASKS_OF_US + r")|"
    r"\b(?:jag|vi)\s+anser\s+att\s+(?!(?:\w+\s+){0,3}?beslut)(?P<gap1>(?:\w+\s+){1,6}?)"
    r"(?:borde|bör|ska|skulle)\b|"
    r"\b(?:jag|vi)\s+skulle\s+(?:vilja|gärna\s+vilja|önska)\s+se\s+(?:fler|mer|färre|mindre|bättre)\b"
    r"(?!\s+(?:bilder|information|uppgifter|detaljer)\b)|"
    r"\bdet\s+(?:vore|skulle\s+vara)\s+(?:bra|fint|toppen|jättebra|bättre)\s+om\b"
    r"(?!\s+(?:jag|vi|du)\s)(?!\s+ni\s+(?:kunde|ville)\s+" + _ASKS_OF_US + r")"
    r"(?!\s+(?:hon|han|min|mitt|mina|vår|vårt|våra)\s+(?:\w+\s+)?(?:kunde|fick|får|kan|ville)\b)|"
    r"\bvarför\s+inte\s+(?:låta|införa|satsa\s+på|bygga|sätta\s+upp|ordna|öppna)\b|"
    r"\bkanske\s+kan\s+(?:kommunen|ni|man)\b(?!\s+" + _ASKS_OF_US + r")|"
    r"\b(?:jag|vi)\s+är\s+emot\s+att\b|"
    r"\bi\s+wish\s+(?:the\s+municipality|the\s+council)\s+(?:would|could|had|did|was|were|"
    r"cared|shared|put|made|built|kept|listened)\b|"
    r"\bit\s+would\s+be\s+(?:great|good|nice|better|helpful)\s+if\s+(?:the\s+municipality|"
    r"the\s+council)\b|"
    r"\bwhy\s+not\s+(?:let|introduce|build|put\s+up|open)\b|"
    r"\bi\s+(?:think|believe)\s+(?:that\s+)?(?:the\s+municipality|the\s+council)\s+should\b"
    r"(?!\s+(?:already|have)\b)|"
    r"\b(?:my|our)\s+suggestion\s+(?:is|would\s+be)\b|"
    r"\bi\s+(?:would\s+like\s+to|want\s+to)\s+(?:suggest|propose)\b"
    r"(?!\s+(?:a|an)\s+(?:meeting|time|date|call|visit)\b)|"
    r"\bi\s+am\s+(?:against|opposed\s+to)\b",
    re.IGNORECASE,
)
_ASKS_HOW = re.compile(
    r"\b(?:undrar|funderar\s+på\s+hur|hur\s+gör\s+(?:jag|man|vi)|vart\s+(?:vänder|skickar)|"
    r"wonder|how\s+do\s+i|where\s+do\s+i)\b",
    re.IGNORECASE,
)

ERRAND_CUE = "#ärende"
"""The features' cue for applications, bookings and forms: beside it, a "proposal" is
most often an offer, a nomination or a request (see :func:`states_a_view`)."""


def states_a_view(text: str, cues: Collection[str] = ()) -> str | None:
    """The words with which ``text`` (the citizen's own) gives a view or a proposal, or
    None.  None too where the text asks how to give one ("Jag undrar hur jag lämnar …") or
    is an errand (``cues``, the features' words, hold :data:`ERRAND_CUE`: an application,
    a booking, a form, a quote), unless it proposes something for everyone ("Det vore bra
    om man kunde …")."""
    text = " ".join(text.split())
    if _ASKS_HOW.search(text):
        return None
    # An errand's words ("boka tid") in a proposal for everyone ("Det vore bra om man kunde
    # boka tid via webben"): a view all the same.
    found = (_FOR_EVERYONE if ERRAND_CUE in cues else _VIEW).search(text)
    return _words(found) if found is not None else None


_FOR_EVERYONE = gated(
    r"\bdet\s+(?:vore|skulle\s+vara)\s+(?:bra|fint|toppen|jättebra|bättre)\s+om\s+man\s+"
    r"(?:kunde|fick|skulle\s+kunna)\b",
    re.IGNORECASE,
)


_GOOD_SV = (
    # whole words: not "vänligen", "trevligare förr", "varmt klädda"
    r"(?:professionell[at]?|trevlig[at]?|vänlig[at]?|hjälpsamma?|hjälpsamt|lyhörda?|varma?|"
    r"fantastisk[at]?|underbar[at]?|duktiga?|proffsig[at]?|tillmötesgående|engagerade?|"
    r"omtänksamma?|jättebra|superbra|föredömlig[at]?|utmärkta?|kunniga?)\b"
)
_GOOD_EN = (
    r"(?:professional|kind(?!\s+of\b)|helpful|friendly|warm|patient|wonderful|amazing|fantastic|"
    r"brilliant|excellent|outstanding|lovely|caring)\b"
)
_VERY = (
    r"(?:så\s+|väldigt\s+|jätte|otroligt\s+|verkligen\s+|super|so\s+|very\s+|really\s+|"
    r"incredibly\s+)?"
)
_STAFF = r"personalen|er\s+personal|hemtjänsten|handläggaren|handläggarna|lärarna|pedagogerna"
"""The municipality's people, as praise names them (each pattern below adds its own)."""
_OURS = r"(?:ni|" + _STAFF + r"|kommunen|förvaltningen|[\w-]*avdelningen|[\w-]*enheten)"
_PRAISE = gated(
    # What was good, said of the service or its people: not thanks alone ("tack för hjälpen",
    # "tack för snabbt svar" close an errand), not "så trevlig att de lade på luren".
    r"\b(?:" + _STAFF + r"|chauffören|föraren|läraren|sköterskan|sjuksköterskan|"
    r"bibliotekarien|vakten|parkeringsvakten|hemtjänstpersonalen)\s+(?:var|är|har\s+varit)\s+"
    + _VERY
    + _GOOD_SV
    + r"(?!\s+att\b)|"
    r"\b(?:your|the|all\s+the)\s+(?:staff|team|driver|bus\s+driver|teachers?|nurses?|"
    r"officer|librarian|caseworker|carers?)\s+(?:were|was|are|is|have\s+been)\s+"
    + _VERY
    + _GOOD_EN
    + r"(?!\s+(?:that|at)\b)|"
    r"\bthank\s+you\s+(?:so\s+much\s+|very\s+much\s+)?for\s+the\s+(?:warm|kind|friendly|"
    r"wonderful)\s+(?:welcome|reception|care)\b|"
    r"\btack\s+(?:så\s+mycket\s+)?för\s+(?:det\s+|ett\s+)?(?:varma|trevliga|vänliga|fina|"
    r"fantastiska)\s+(?:mottagandet|bemötandet|välkomnandet)\b|"
    r"\byou\s+(?:really\s+)?deserve\s+(?:praise|credit)\b|"
    r"\b(?:ni|" + _STAFF + r")\s+(?:verkligen\s+)?förtjänar\s+(?:beröm|en\s+eloge)\b|"
    r"\ben\s+eloge\s+till\s+(?:er|personalen|hemtjänsten|kommunen)\b|"
    r"\bbest\s+service\s+i\s+have\b|\bbästa\s+service\s+(?:jag|vi)\b|"
    r"\b(?:det\s+)?(?:snabbaste|bästa|trevligaste)\s+(?:besked|svar|bemötande|hjälp)\s+"
    r"(?:vi|jag)\s+(?:har\s+|någonsin\s+)?fått\b|"
    r"\b" + _OURS + r"\s+har\s+(?:informerat|skött|hanterat)\s+(?!sig\b)(?P<gap1>(?:\w+\s+){0,5}?)"
    r"(?:jättebra|superbra|väldigt\s+bra|fantastiskt|föredömligt|galant)\b|"
    r"\btack\s+(?:så\s+mycket\s+)?för\s+att\s+(?P<gap2>(?:[\w-]+\s+){1,6}?)"
    r"(?:lagades|åtgärdades|lagade|åtgärdade)\b"
    r"(?P<gap3>[^.!?\n]{0,60}?)\s+(?:så\s+snabbt|på\s+bara\s+\w+\s+(?:dag|dagar|timmar|veckor?))\b",
    re.IGNORECASE,
)
_NOT_BEFORE = re.compile(
    r"\b(?:inte|knappast|aldrig|ej|not|never|hardly|barely)\b(?:\W+\w+){0,3}\W*$", re.IGNORECASE
)
"""Negated praise ("Det här är inte den bästa service jag fått"): the few words before."""
_NOT_PRAISE = re.compile(
    # passing praise on; a closing errand; how long it took (most often irony: "svarade
    # efter bara fyra månader"); a seller
    r"\bvidarebefordra\b|\bforward\s+(?:this|it|my|our|the)\b|"
    r"\b(?:då|nu)\s+(?:vet|kan|kommer)\s+jag\b|\bthat\s+answers\b|\bnow\s+i\s+(?:know|can)\b|"
    r"\b(?:efter|after)\s+(?:bara\s+|hela\s+|nästan\s+|only\s+|almost\s+)?\w+\s+"
    r"(?:dagar|veckor|månader|år|days|weeks|months|years)\b|"
    r"\b(?:offert\w*|demo|gratis|kostnadsfri\w*|free\s+trial|for\s+free|why\s+choose|"
    r"varför\s+välja|vår\s+plattform|our\s+platform)\b",
    re.IGNORECASE,
)
_PRAISE_WORD = re.compile(r"\b(?:beröm\w*|feedback|compliments?|praise)\b", re.IGNORECASE)
"""With a question in the text: asks where or how to give praise ("Vart skickar jag beröm?")."""
_NOT_BESIDE = SHORTCOMING_CUES | {"!varaktighet"}
"""Beside a shortcoming, or how long something took ("efter bara fyra månader"), praise is
most often irony."""


def praises(text: str, cues: Collection[str] = ()) -> str | None:
    """The words with which ``text`` (the citizen's own) praises the service or its people,
    or None.  Not thanks alone; not negated ("inte den bästa service"); not in an errand
    (see :func:`states_a_view`), a closing thank-you ("då vet jag"), a seller's mail, or a
    text that asks how or where to give praise; and not beside a shortcoming, a duration or
    a turn ("men"): irony, or a complaint that opens kindly, which the model reads."""
    text = " ".join(text.split())
    if (
        ERRAND_CUE in cues
        or not _NOT_BESIDE.isdisjoint(cues)
        or _ASKS_HOW.search(text)
        or _TURN.search(text)
        or _NOT_PRAISE.search(text)
        or ("?" in text and _PRAISE_WORD.search(text))
    ):
        return None
    for found in _PRAISE.finditer(text):
        if not _NOT_BEFORE.search(text, max(found.start() - 60, 0), found.start()):
            return _words(found)
    return None
