"""The flags beside the label: anonymous, not satisfied with the answer, personal data.

Each is a rule with a reason a registrar reads; none of them changes what the text says.

- ``anonymous``: no usable way to reach the sender (:mod:`postvakt.classifier.contact`).
- ``followup_not_satisfied``: a reply in a thread (or a message that points at an earlier
  answer or a diary number) saying the answer or the measures did not satisfy them.  The
  routines then ask the nearest superior manager for a new review (Örebro: "Ifall den
  klagande inte är nöjd med det svar som getts, gör närmaste chef en ny prövning").
- ``personal_data``: a personnummer or samordningsnummer in the text, so that logs and
  summaries mask it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import chain

from postvakt.classifier.contact import find_contact, is_no_reply
from postvakt.classifier.gate import gated
from postvakt.mailbox.message import IncomingMessage
from postvakt.privacy import has_personnummer

__all__ = [
    "closes_thread",
    "disowns_complaint",
    "earlier_answer",
    "is_anonymous",
    "not_satisfied",
    "personal_data",
    "went_elsewhere",
    "withdraws_complaint",
]

# An identity number written with a label but in a shape the strict pattern leaves alone
# ("pnr 450312 1234", "personnummer: 19450312 1234").
_LABELLED_ID = re.compile(
    r"\b(personnummer|personnr|pers\.? ?nr|p-?nr|samordningsnummer|födelsenummer|"
    r"personal identity number|swedish id number)\b[\s:.]*(?:19|20)?\d{6}[\s-]?\d{4}\b",
    re.IGNORECASE,
)


def personal_data(text: str) -> bool:
    return has_personnummer(text) or bool(_LABELLED_ID.search(text))


def is_anonymous(msg: IncomingMessage, own_addresses: Iterable[str] = ()) -> bool:
    own = tuple(own_addresses)
    reply = msg.reply_address
    if reply is not None and not is_no_reply(reply.address) and reply.address not in own:
        return False  # an answer can be sent: no need to look for details in the text
    return find_contact(msg, own).anonymous


_NOT_SATISFIED = gated(
    "|".join(
        (
            # Swedish: "inte nöjd med svaret", "svaret duger inte", "vill att en chef …"
            r"\b(inte|ej|icke|långt ifrån|inte alls|absolut inte)\s+(alls\s+)?"
            r"(nöjd|nöjda|tillfreds|tillfredsställd|tillfredsställda|belåten)\b",
            r"\b(ert|ditt|erat|svaret|svar|beskedet|beslutet|förklaringen|åtgärden|åtgärderna|"
            r"det ni skriver|det du skriver)\b[^.!?\n]{0,60}\b(räcker inte|duger inte|"
            r"håller inte|är inte (tillräckligt|godtagbart|acceptabelt|rimligt|okej|ok|"
            r"tillfredsställande)|är otillräckligt|är inget svar|svarar inte på)",
            r"\b(ni|du) har (inte|ej|aldrig) svarat på (min|mina|det|frågan|det jag)",
            r"\b(ny prövning|pröva[rs]? (ärendet |det )?(igen|på nytt|om)|"
            r"pröva[rs]? (min |mitt |vår |vårt |er |ert )?(ansökan|beslutet|saken|frågan|"
            r"begäran|ansökningen) (igen|på nytt)|omprövning|ompröva|"
            r"överordnad chef|närmaste chef|närmast överordnad|din chef|er chef|högre chef|"
            r"högre upp|ta (det|ärendet) vidare|(vill|kräver att få) (tala|prata) med (en )?chef)",
            r"\b(fortfarande|ändå|trots (ert|ditt) (svar|löfte))\b[^.!?\n]{0,40}"
            r"\b(inte|ej|ingen|inget|inga|aldrig)\b",
            r"\b(inget|ingenting) har (hänt|gjorts|ändrats|blivit bättre)",
            # English
            r"\bnot (at all )?(satisfied|happy|content)\b",
            r"\b(your|the) (answer|reply|response|decision|explanation)\b[^.!?\n]{0,40}"
            r"\b(is|was) (not|n't|hardly) (good enough|acceptable|satisfactory|an answer)",
            r"\b(does|did) not (answer|address) (my|the) (question|complaint|concern)",
            r"\b(escalate|speak to (a|your) (manager|supervisor)|review (it|my case|the case|"
            r"the decision) again|a new review)\b",
            r"\bstill (not|hasn't|haven't|isn't|no|nothing)\b",
            r"\bnothing has (happened|changed|been done)\b",
        )
    ),
    re.IGNORECASE,
)
_SATISFIED = gated(
    r"\b(jag är|vi är|nu är jag|då är jag)\s+(mycket |väldigt |helt )?nöjd|"
    r"\b(i am|i'm|we are) (very |quite )?(satisfied|happy) with",
    re.IGNORECASE,
)
_EARLIER_ANSWER = re.compile(
    r"\b(ert svar|ditt svar|svaret (jag|vi) fick|svaret från|beskedet (jag|vi) fick|"
    r"ert beslut|diarienummer|ärendenummer|ärende(nr|nummer)?\s*[A-ZÅÄÖ]{1,5}[ -]?\d{4}|"
    r"[A-ZÅÄÖ]{2,5} \d{4}/\d+|your (reply|answer|response)|the (reply|answer|response) "
    r"(i|we) (got|received)|case (number|no\.?|reference))\b",
    re.IGNORECASE,
)


def not_satisfied(text: str) -> str | None:
    """The phrase saying the answer did not satisfy them, or None."""
    match = _NOT_SATISFIED.search(text)
    if match is None:
        return None
    if _SATISFIED.search(text) and not re.search(r"\b(men|but)\b", text, re.IGNORECASE):
        return None
    return match.group().strip()


_EARLIER_HINTS = (
    "svar",
    "besked",
    "beslut",
    "nummer",
    "ärende",
    "/",
    "reply",
    "answer",
    "response",
    "case",
)


def earlier_answer(text: str) -> bool:
    """The text points at an answer already given or at a case number."""
    low = text.lower()
    if not any(hint in low for hint in _EARLIER_HINTS):
        return False  # the common case, without running the pattern
    return bool(_EARLIER_ANSWER.search(text))


_SV_WITHDRAW = (
    r"(?:ta|tar|dra|drar|tagit|dragit|tog|drog)\s+(?:\w+\s+){0,2}?tillbaka|"
    r"återkalla\w*|återta\w*"
)
_WITHDRAWN = r"(?:\w+\s+){0,3}?(?:klagomål\w*|anmälan|överklagande\w*|complaint|appeal)"
_WITHDRAWS = gated(
    # The writer withdraws it: "jag vill ta tillbaka mitt klagomål", "vi drar härmed tillbaka
    # klagomålet", "föreningen återkallar härmed klagomålet", "härmed drar jag tillbaka …",
    # "I would like to withdraw my complaint", "please withdraw my complaint" — not "ni
    # försöker få mig att ta tillbaka …" nor "kommunen återkallade tillståndet".
    rf"\b(?:(?:jag|vi|föreningen|bolaget|företaget)\s+(?:\w+\s+){{0,3}}?(?:{_SV_WITHDRAW})"
    rf"|(?:härmed|därför|nu|så)\s+(?:tar|drar|återkallar|återtar)\s+(?:jag|vi)"
    rf"(?:\s+(?:\w+\s+){{0,1}}?tillbaka)?"
    r"|(?:i|we)\s+(?:\w+\s+){0,3}?(?:withdraw|retract)\w*"
    r"|please\s+(?:withdraw|retract|cancel)\w*)"
    rf"\s+{_WITHDRAWN}",
    re.IGNORECASE,
)
_THE_COMPLAINT = (
    r"\s+(?:mitt|vårt|det|detta|det\s+där|my|our|the)\s+(?:klagomål\w*|överklagande\w*)"
)
_OWN_WORDS = gated(
    # In the writer's own words, and only with the complaint right after: "du kan stryka det
    # klagomålet", "Strunta i mitt klagomål" opening a line or a sentence — not "Ni verkar
    # strunta i …", "Ni kan inte bara strunta i …", "Stryk mitt namn från klagomålet".
    r"\b(?:ni|du)\s+kan\s+(?:stryka|glömma|bortse\s+från|avskriva|strunta\s+i)"
    + _THE_COMPLAINT
    + r"|(?:^|(?<=[.!?,:]\s))[ \t]*(?:strunta\s+i|glöm|stryk)"
    + _THE_COMPLAINT
    + r"|\bplease\s+(?:ignore|disregard)\s+(?:my|our|the)\s+(?:\w+\s+)?(?:complaint|appeal)\b",
    re.IGNORECASE | re.MULTILINE,
)
_NEGATED = re.compile(
    r"\b(?:inte|ej|aldrig|icke|knappast|ingen avsikt|vägrar|not|never|won't|n't|no intention|"
    r"refuse)\b",
    re.IGNORECASE,
)
_ASKS_HOW = re.compile(
    r"\b(?:kan|hur|om|ifall|får|if|can|could|how|may)\s+(?:\w+\s+)?$", re.IGNORECASE
)
"""Just before the words: asking whether or how to withdraw ("Kan jag återkalla …?")."""
_DISMISSES = gated(
    r"\b(?:glöm\w*|forget|drömma\s+om|dream\s+on)\s+(?:(?:about\s+)?it\s+)?(?:att|that)?\s*$",
    re.IGNORECASE,
)
"""Just before the words: saying it will never happen ("Ni kan glömma att jag tar tillbaka
…", "Forget that I withdraw …")."""
_ON_CONDITION = re.compile(
    r"^\W{0,3}(?:om ni vill|men\b|if you (?:want|like)|but\b)", re.IGNORECASE
)
"""Just after them: a condition or an objection ("… om ni vill, men jag går till JO")."""


def withdraws_complaint(text: str) -> str | None:
    """The words with which the writer withdraws a complaint made before ("jag vill ta
    tillbaka mitt klagomål", "please withdraw my complaint", "du kan stryka det klagomålet"),
    or None.  Such a message is about a case already made, not a new complaint.  Not when a
    negation comes with it ("jag tänker inte ta tillbaka …", "I refuse to withdraw …"), when
    the writer asks how ("Kan jag återkalla mitt överklagande?"), or sets a condition ("… om
    ni vill, men …")."""
    joined = " ".join(text.split())
    # the own-words forms on the lines as written (they open a line), the rest on one line
    for match in chain(_OWN_WORDS.finditer(text), _WITHDRAWS.finditer(joined)):
        where, words = match.string, match.group()
        before = where[max(0, match.start() - 30) : match.start()]
        after = where[match.end() : match.end() + 25]
        if (
            _NEGATED.search(before)
            or _NEGATED.search(words)
            or _ASKS_HOW.search(before)
            or _DISMISSES.search(before)
            or _ON_CONDITION.search(after)
        ):
            continue
        return " ".join(words.split())
    return None


_NEVER_SENT = gated(
    # "Jag har inte skickat något klagomål", "jag har aldrig lämnat in någon anmälan", "vi
    # har inte klagat", "I have never sent any complaint", "I didn't make a complaint".
    r"\b(?:jag|vi)\s+har\s+(?:(?:faktiskt|alltså|ju)\s+)?(?:inte|aldrig)\s+"
    r"(?:(?:skickat|lämnat|skrivit|gjort|anmält)\s+(?:in\s+)?(?:något|någon|några|ett|en|nåt)\s+"
    r"(?:klagomål|synpunkt\w*|anmälan)|klagat)"
    r"|\b(?:jag|vi)\s+(?:skickade|lämnade|skrev|gjorde)\s+(?:aldrig|inte)\s+(?:in\s+)?"
    r"(?:något|någon|några|ett|en|nåt)\s+(?:klagomål|synpunkt\w*|anmälan)"
    r"|\b(?:i|we)(?:\s+have|['’]ve)?\s+(?:never|not|did\s+not|didn't|haven't)\s+"
    r"(?:sent|send|made|make|filed|file|submitted|submit|written|write|lodged|lodge)\s+"
    r"(?:any|a|an|one)\s+(?:\w+\s+)?complaint"
    r"|\b(?:i|we)(?:\s+have|['’]ve)?\s+(?:never|not|did\s+not|didn't|haven't)\s+complained",
    re.IGNORECASE,
)
_BEFORE_NOW = re.compile(
    r"^\W{0,3}(?:[\w-]+\s+){0,5}?(?:förut|tidigare|innan|förr|förrän|ännu|hittills|"
    r"(?:i|på)\s+(?:alla|många|\w+)\s+år|before|until|yet|so\s+far|in\s+(?:all|many|\w+)\s+years)\b",
    re.IGNORECASE,
)
"""Soon after the words: "… aldrig klagat på något förut …" opens a complaint."""
_BUT_NOW = re.compile(
    r"^[^.!?]{0,80}?\b(?:men|but)\s+(?:\w+\s+){0,2}?(?:nu|den\s+här\s+gången|denna\s+gång|"
    r"this\s+time|now)\b",
    re.IGNORECASE,
)
"""In the same sentence: "…, men nu får det vara nog", "… but this time …"."""
_THEIR_LETTER = gated(
    r"\b(?:brev(?:et)?|bekräftelse\w*|kvitto\w*|diarienummer|ärendenummer|letter|confirmation|"
    r"case\s+number)\b|\b(?:ditt|ert)\s+klagomål|\byour\s+complaint",
    re.IGNORECASE,
)
"""A letter or confirmation the writer got about the complaint."""


def disowns_complaint(text: str) -> str | None:
    """The words with which the writer says they never made the complaint the municipality
    wrote to them about ("I dag fick jag ett brev om mitt klagomål … Jag har inte skickat något
    klagomål"), or None.  Such a message is about a case already made — perhaps a letter
    to the wrong person.  Only with a letter, a confirmation or "ditt klagomål" named in the
    same text, and not "jag har aldrig klagat på något förut, men …" or "… men nu …" (the
    opening of a complaint).  The caller decides what it means: it never makes a complaint
    the model is sure of into annat on its own (see ``Classifier.classify``)."""
    joined = " ".join(text.split())
    # The common case returns at the first test: no word _NEVER_SENT needs (its gate).
    if not _NEVER_SENT.may_match(joined) or not _THEIR_LETTER.search(joined):
        return None
    for match in _NEVER_SENT.finditer(joined):
        after = joined[match.end() : match.end() + 120]
        if _BEFORE_NOW.search(after) or _BUT_NOW.search(after):
            continue
        return match.group()
    return None


_THANKS = re.compile(r"\b(?:tack|tackar|thanks|thank\s+you|cheers)\b", re.IGNORECASE)
_PUT_RIGHT = gated(
    # "Då är det ur världen", "nu fungerar det igen", "brunnen är lagad", "ni kan avsluta
    # ärendet", "it's warm again", "problem solved", "you can close the case".
    r"\bdå\s+är\s+(?:det|saken|allt)\s+(?:ur\s+världen|löst|klart|ordnat|utrett|fixat|bra)\b|"
    r"\bnu\s+(?:fungerar|funkar|går|är)\s+(?:det|allt)\s+(?:igen|som\s+det\s+ska|bra)\b|"
    r"\b(?:det|allt)\s+(?:fungerar|funkar)\s+(?:igen|nu|som\s+det\s+ska)\b|"
    r"\b(?:problemet|felet|saken|ärendet)\s+är\s+(?:löst|åtgärdat|fixat|ordnat|ur\s+världen)\b|"
    r"\bär\s+(?:nu\s+)?(?:lagad|lagat|lagade|åtgärdad|åtgärdat|fixad|fixat)\b|"
    r"\bdet\s+löste\s+sig\b|"
    r"\b(?:ni|du)\s+kan\s+(?:stänga|avsluta|avskriva)\s+ärendet\b|"
    r"\b(?:it['’]s|it\s+is|everything\s+is|all\s+is)\s+(?:\w+\s+)?(?:again|fixed|sorted|"
    r"solved|working\s+(?:again|now))\b|"
    r"\b(?:it|that|everything)\s+(?:works|is\s+working)\s+(?:again|now)\b|"
    r"\b(?:problem|issue)\s+(?:is\s+|has\s+been\s+)?(?:solved|resolved|fixed|sorted)\b|"
    r"\b(?:has\s+been|was|got)\s+(?:fixed|repaired|sorted)\b|"
    r"\byou\s+can\s+close\s+(?:the|this|my)\s+(?:case|ticket|errand|complaint)\b",
    re.IGNORECASE,
)
_BUT = re.compile(r"\b(?:men|but|however|dock)\b", re.IGNORECASE)
CLOSING_LENGTH = 400
"""A reply longer than this (its own words) is more than a closing thanks."""


def closes_thread(own_words: str, *, reply: bool) -> str | None:
    """The words with which a short reply thanks for a matter put right and closes it
    ("Tack för att ni rättade det så snabbt. Då är det ur världen.", "Got it, thanks! …
    it's warm again."), or None.  Such a message closes the case it answers rather than
    opening one.  Only in a reply (``reply``; ``own_words`` without the quoted thread),
    with thanks, of at most :data:`CLOSING_LENGTH` characters, without a question and
    without a "men"/"but" after the words (a matter put right, but …).  The caller
    decides what it means: a person confirms (see ``Classifier.classify``)."""
    if not reply or len(own_words) > CLOSING_LENGTH or "?" in own_words:
        return None
    if not _THANKS.search(own_words):
        return None
    match = _PUT_RIGHT.search(own_words)
    if match is None or _BUT.search(own_words, match.end()):
        return None
    return " ".join(match.group().split())


_ELSEWHERE = gated(
    # The writer's mail, or a letter, went to the wrong receiver: "this was supposed to go to
    # the ski school", "please ignore my last email", "jag skickade det till fel kommun",
    # "bortse från mitt förra mejl".
    r"\b(?:was|is|were)\s+(?:supposed|meant)\s+to\s+go\s+to\b|"
    r"\bto\s+the\s+wrong\s+(?:address|person|recipient|municipality|council|department)\b|"
    r"\b(?:ignore|disregard)\s+my\s+(?:last|previous|earlier)\s+(?:e-?mail|message|mail)\b|"
    r"\bbortse\s+från\s+mitt\s+(?:förra|senaste|tidigare)\s+(?:mejl|mail|meddelande|brev)\b|"
    r"\btill\s+fel\s+(?:adress|mottagare|person|kommun|avdelning|förvaltning)\b|"
    r"\b(?:det|detta|mejlet|mailet|brevet)\s+(?:skulle|var\s+tänkt\s+att)\s+gå\s+till\b",
    re.IGNORECASE,
)


def went_elsewhere(text: str) -> str | None:
    """The words saying that the writer's message (or a letter) went to the wrong receiver
    ("this was supposed to go to the ski school", "please ignore my last email", "ni har
    skickat det till fel person"), or None.  Such a message is most often no errand of the
    municipality's; a letter to the wrong person may still be a complaint, so the caller
    only asks a person to look (see ``Classifier.classify``)."""
    joined = " ".join(text.split())
    match = _ELSEWHERE.search(joined)
    return None if match is None else match.group()
