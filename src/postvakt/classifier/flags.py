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


_THANKS = re.compile(
    r"\b(?:tack|tackar|tacksam|tacksamma|thanks|thank\s+you|thx|cheers)\b", re.IGNORECASE
)
_PUT_RIGHT = gated(
    # "Då är det ur världen", "nu fungerar det igen", "brunnen är lagad", "ni kan avsluta
    # ärendet", "it's warm again", "problem solved", "you can close the case".
    r"\bdå\s+är\s+(?:det|saken|allt)\s+(?:ur\s+världen|löst|klart|ordnat|utrett|fixat|bra)\b|"
    r"\bnu\s+(?:fungerar|funkar|går|lyser|rinner)\s+(?:det|den|de|allt)\s+(?:igen|som\s+det\s+ska|bra)\b|"
    r"\bnu\s+är\s+(?:det|den|allt)\s+(?:löst|ordnat|fixat|klart|lagat|lagad|åtgärdat|bra|"
    r"sandat|plogat|tömt|städat)\b|"
    r"\b(?:det|allt)\s+(?:fungerar|funkar)\s+(?:igen|som\s+det\s+ska)\b|"
    r"\b(?:det|allt)\s+(?:fungerar|funkar|är\s+löst|är\s+ordnat|är\s+bra)\s+nu\b(?!\s+(?:inte|ej))|"
    r"\b(?:problemet|felet|saken|ärendet)\s+är\s+(?:löst|åtgärdat|fixat|ordnat|ur\s+världen)\b|"
    r"\bär\s+(?:nu\s+)?(?:lagad|lagat|lagade|åtgärdad|åtgärdat|fixad|fixat)\b|"
    r"\bhar\s+(?:nu\s+)?(?:åtgärdats|lagats|fixats|ordnats|blivit\s+lagad|blivit\s+lagat)\b|"
    r"\bdet\s+(?:löste|har\s+löst)\s+sig\b|"
    r"\b(?:ni|du)\s+kan\s+(?:stänga|avsluta|avskriva)\s+(?:det\s+här\s+)?ärendet\b|"
    r"\bärendet\s+kan\s+(?:avslutas|stängas)\b|"
    r"\b(?:it['’]s|it\s+is|everything\s+is|all\s+is)\s+(?:fixed|sorted|solved|fine\s+now|"
    r"(?:warm|working|open|back|clear|clean|running|fine)\s+(?:again|now))\b|"
    r"\b(?:it|that|everything)\s+(?:works|is\s+working)\s+(?:again|now|fine)\b|"
    r"\bis\s+working\s+again\b|"
    r"\ball\s+sorted\b|"
    r"\b(?:problem|issue)\s+(?:is\s+|has\s+been\s+)?(?:solved|resolved|fixed|sorted)\b|"
    r"\b(?:has\s+been|was|got)\s+(?:fixed|repaired|sorted)\b|"
    r"\b(?:you\s+can|please)\s+close\s+(?:the|this|my)(?:\s+(?:case|ticket|errand|complaint))?\b",
    re.IGNORECASE,
)
_NOT_RIGHT = re.compile(
    # Before the words, in the same sentence: they are denied or only reported ("Ingenting
    # har åtgärdats", "Ni skrev att problemet är löst", "Nothing has been fixed").
    r"\b(?:inte|ej|aldrig|ingenting|inget|ingen|nothing|not|never|no\s+one|nobody|"
    r"skrev|påstår|påstod|sa|sade|lovade|said|claimed|promised|wrote)\b[^.!?\n]*$",
    re.IGNORECASE,
)
_BUT = re.compile(
    r"\b(?:men|fast|däremot|tyvärr|dessvärre|but|however|though|although|unfortunately)\b",
    re.IGNORECASE,
)
CLOSING_LENGTH = 400
"""A reply longer than this (its own words) is more than a closing thanks."""


def closes_thread(own_words: str, *, reply: bool) -> str | None:
    """The words with which a short reply thanks for a matter put right and closes it
    ("Tack för att ni rättade det så snabbt. Då är det ur världen.", "Got it, thanks! …
    it's warm again."), or None.  Such a message closes the case it answers rather than
    opening one.  Only in a reply (``reply``; ``own_words`` without the quoted thread),
    with thanks, of at most :data:`CLOSING_LENGTH` characters, without a question, without
    a denial or a report of someone else's words before the words in their sentence
    ("Ingenting har åtgärdats", "Ni skrev att problemet är löst") and without a "men",
    "fast", "but", "though" … anywhere in it (a matter put right, but …).  The caller
    decides what it means: a person confirms (see ``Classifier.classify``)."""
    if not reply or len(own_words) > CLOSING_LENGTH or "?" in own_words:
        return None
    if not _THANKS.search(own_words) or _BUT.search(own_words):
        return None
    for match in _PUT_RIGHT.finditer(own_words):
        if _NOT_RIGHT.search(own_words, 0, match.start()):
            continue
        return " ".join(match.group().split())
    return None


_OWN_MAIL = gated(
    # The writer's own mail went to the wrong receiver: "this was supposed to go to the ski
    # school", "sent this to the wrong email", "wrong recipient", "jag skickade det till fel
    # adress", "mejlet skulle till skolan".
    r"\b(?:this|it|that|my\s+(?:e-?mail|message|mail))\s+was\s+(?:supposed|meant|intended)\s+"
    r"to\s+go\s+to\b|"
    r"\b(?:this|it|that|my\s+(?:e-?mail|message|mail))\s+(?:was|is)\s+(?:meant|intended)\s+for\b|"
    r"\bi\s+(?:have\s+)?sent\s+(?:this|it|that|my\s+\w+)\s+to\s+the\s+wrong\b|"
    r"\bsent\s+(?:this|it)\s+to\s+the\s+wrong\s+(?:e-?mail|address|person|recipient)\b|"
    r"\bwrong\s+(?:recipient|e-?mail\s+address|e-?mail)\b|"
    r"\b(?:jag|vi)\s+(?:har\s+)?(?:skickade|skickat)\s+(?:\w+\s+){0,3}?till\s+fel\s+"
    r"(?:adress|mejladress|mailadress|e-?post\w*|mottagare|person|kommun|ställe|skola|"
    r"myndighet|avdelning|förvaltning)\b|"
    r"\b(?:mejlet|mailet|meddelandet|det\s+här|detta)\s+(?:skulle|var\s+tänkt\s+att)\s+"
    r"(?:ha\s+)?(?:gå|gått\s+)?till\b|"
    r"\b(?:mejlet|mailet|meddelandet|det\s+här)\s+var\s+(?:avsett|menat|tänkt)\s+för\b|"
    r"\bfel\s+mottagare\b(?!\s+(?:av|för)\b)",
    re.IGNORECASE,
)
_DISREGARD = gated(
    # The writer asks that an earlier message of theirs not be read.
    r"\b(?:ignore|disregard)\s+(?:my|the|this)\s+(?:last\s+|previous\s+|earlier\s+)?"
    r"(?:e-?mail|message|mail)\b|"
    r"\bbortse\s+från\s+(?:mitt|föregående|det\s+förra)\s+(?:förra\s+|senaste\s+|tidigare\s+)?"
    r"(?:mejl|mail|meddelande|brev)\b",
    re.IGNORECASE,
)
_THEIR_MAIL = gated(
    # The municipality sent something to the wrong person: perhaps the complaint itself, or
    # a personal data breach.
    r"\b(?:ni|du|kommunen|de|dom)\s+(?:har\s+)?(?:skickade|skickat|skickar)\s+(?:\w+\s+){0,4}?"
    r"till\s+fel\s+(?:adress|person|mottagare|familj|hushåll)\b|"
    r"\b(?:skickades|skickats|gick|har\s+gått|hamnade|har\s+hamnat)\s+(?:\w+\s+){0,3}?"
    r"(?:till|hos)\s+fel\s+(?:adress|person|mottagare|familj|hushåll)\b|"
    r"\b(?:you|they|the\s+council)\s+(?:have\s+|keep\s+)?(?:sent|sending|send)\s+(?:\w+\s+){0,4}?"
    r"to\s+the\s+wrong\s+(?:address|person|recipient|household|family)\b",
    re.IGNORECASE,
)
_RECEIVED_THEIRS = gated(
    # The writer got the municipality's letter meant for someone else: "Jag har fått ett mejl
    # från er som nog var tänkt till någon annan", "I got a letter that was meant for someone
    # else".  Looked for before the writer's own mail, whose "… was meant for" it holds.
    r"\b(?:fått|fick)\s+(?:ett\s+|en\s+|två\s+|flera\s+)?(?:mejl|mail|brev|e-?post\w*|meddelande\w*|"
    r"sms|faktur\w+)\s+(?:från\s+(?:er|kommunen)\s+)?som\s+(?:nog\s+|troligen\s+|uppenbarligen\s+)?"
    r"(?:var\s+(?:tänkt|tänkta|menat|menad|menade|avsett|avsedd|avsedda)|skulle\s+(?:ha\s+)?(?:gå|gått))\s+"
    r"(?:till|för)\s+(?:någon\s+annan|en\s+annan\s+person|andra)\b|"
    r"\b(?:received|got)\s+(?:an?\s+|two\s+)?(?:e-?mails?|letters?|messages?|invoices?|texts?)\s+"
    r"(?:from\s+you\s+)?(?:that\s+(?:was|were)\s+|which\s+(?:was|were)\s+)?(?:clearly\s+|obviously\s+)?"
    r"(?:meant|intended|addressed)\s+(?:for|to)\s+(?:someone|somebody)\s+else\b",
    re.IGNORECASE,
)


def went_elsewhere(text: str) -> tuple[str, str] | None:
    """What the text says went to the wrong receiver, and the words: ``("own", …)`` the
    writer's own mail ("this was supposed to go to the ski school", "sorry, wrong
    recipient"), ``("disregard", …)`` an earlier message of theirs not to be read ("please
    ignore my last email"), ``("theirs", …)`` a letter the municipality sent to the wrong
    person ("ni har skickat det till fel person") — which may be the complaint itself, or a
    personal data breach.  None when the text says nothing of the kind.  The caller only
    asks a person to look (see ``Classifier.classify``)."""
    joined = " ".join(text.split())
    for kind, pattern in (
        ("theirs", _RECEIVED_THEIRS),
        ("own", _OWN_MAIL),
        ("disregard", _DISREGARD),
        ("theirs", _THEIR_MAIL),
    ):
        match = pattern.search(joined)
        if match is not None:
            return kind, match.group()
    return None
