"""A first fault report: something out in the municipality is broken, and the writer finds no
fault with how the municipality has handled it.

"Gatlyktan utanför förskolan har slutat lysa. Ville bara meddela." is a felanmälan: the
municipality has not yet had a chance to handle anything, so by the routines' definition
(dissatisfaction with how the organisation handled something) it is annat.  "The
streetlight has been out for three weeks and I have reported it twice" is a complaint.  The
corpus's authors put that line in different places, and the model, learning from some of
them, calls many first reports complaints on mail it has not seen, and is sure of it.  So a
case the model makes of a first fault report is registered for a person to confirm
(``needs_review``), with the reason.

A rule, not a learnt weight: a defect named, and none of the signs that the writer finds
fault with the handling — it has gone on (weeks, months, "sedan i höstas"), it was said
before ("igen", "fortfarande", "jag har ringt"), nobody acts, or the dissatisfaction is
said outright (strong words, a demand, the words complaint or disappointed).
"""

from __future__ import annotations

import re

from postvakt.classifier.features import DURATION, REPEAT, SINCE_MONTH
from postvakt.classifier.gate import gated

__all__ = ["fault_report"]

_START = r"(?<![\wåäöÅÄÖ])"
_END = r"(?![\wåäöÅÄÖ])"

_BINS = (
    r"(?:papperskorg\w*|soptunn\w*|sopkärl\w*|kärl\w*|container\w*|återvinning\w*|"
    r"sopstation\w*|bins?|litter bins?|containers?|recycling \w+)"
)
_GLASS = r"(?:glas\w*|rut(?:a|an|or|orna)|fönst\w+|busskur\w*)"
_DEFECT = gated(
    _START + r"(?:trasig\w*|sönder|ur funktion|fungerar inte|funkar inte|"
    r"slutat (?:lysa|fungera|funka|gå)|lyser inte|blinkar|blåst (?:ner|omkull)|"
    r"vält(?:e|es|a|s)?|omkullvält\w*|hål i (?:vägen|gatan|asfalten|gångvägen|cykelbanan)|"
    r"läcker|läckage|stopp i (?:avlopp\w*|brunn\w*|ledning\w*|toalett\w*|dagvatten\w*|rör\w*)|"
    r"översvämm\w*|(?:död|döda) "
    r"(?:säl|fågel|fåglar|djur|katt|rådjur|räv|grävling|hjort)|nedklottra\w*|klottrat|"
    # water, leaks, drains
    r"droppar (?:från|i|genom) taket|läcker in|vattenläcka|vattenläckan|"
    r"vattnet (?:\w+ ){0,3}(?:är|har blivit|har varit|blev) (?:\w+ )?"
    r"(?:brunt|ljusbrunt|missfärgat|grumligt|gult)|"
    r"(?:brunt|missfärgat|grumligt) vatten|inget vatten i kranen|lågt vattentryck|"
    r"luktar avlopp|"
    # loose, fallen (not "jag har lossnat i nacken")
    r"(?<!jag har )(?<!vi har )(?<!jag )(?<!vi )(?:har )?lossnat|sitter löst|hänger löst|"
    r"har ramlat (?:ner|av)|(?:träd|trädet|ett träd|en gren|grenen|grenar) (?:\w+ ){0,2}?"
    r"har (?:fallit|blåst omkull)|nedfall(?:en|et|na) (?:träd|gren|grenar)|"
    # snow and ice (not "en hög halt på 400 Bq", "vi gjorde halt vid rastplatsen")
    r"(?:är|blivit|väldigt|mycket|livsfarligt|så|extremt|jätte) ?halt (?:på|vid|utanför|längs)|"
    r"halkigt|isgata|igensnöa\w*|behöver sandas|behövs det sandas|borde sandas|"
    # graffiti, damage, litter (not a proposal to lessen graffiti, nor weedkiller sprayed)
    r"(?<!minskar )(?<!mindre )(?<!mot )(?<!förebygga )(?<!förebygger )klotter (?:på|i|vid)|"
    r"klottret|(?:sprayat|sprejat) (?:\w+ ){0,3}?"
    r"(?:klotter|ord|bokstäver|tags|färg|på (?:väggen|busskuren|fasaden|gaveln|muren))|"
    r"vandaliser\w*|sönderslag\w*|krossat glas|"
    rf"krossa\w* (?:\w+ ){{0,3}}?{_GLASS}|{_GLASS} (?:\w+ ){{0,6}}?(?:är|har blivit|blev) "
    r"(?:\w+ )?krossa\w*|"
    r"nedskräpa\w*|någon (?:har )?dumpat|har någon dumpat|"
    r"dumpa(?:t|ts|de) (?:\w+ ){0,3}?(?:skräp|avfall|byggavfall|möbler|sopor|kylskåp|däck|"
    r"soffa|madrass\w*|säckar)|"
    rf"{_BINS} (?:\w+ ){{0,5}}?(?:är|var|har varit) (?:\w+ )?överfull\w*|överfull\w* {_BINS}|"
    # signals, sight, a gate left open
    r"slår inte om|skymmer sikten|skymmer utsikten för|ser inte bilar|vuxit igen|"
    r"vuxit sig (?:så )?(?:höga|stora)|"
    r"(?:grind|grinden|dörr|dörren|luckan|bommen) (?:\w+ ){0,5}?står öppen|"
    r"knocked over|broken|not working|(?:doesn't|does not|isn't|is not|aren't) working|"
    r"out of order|blown (?:down|over)|pothole\w*|leaking|flickering|"
    r"(?:came|has come|have come) loose|has come off|"
    r"fallen (?:tree|trees|branch|branches)|(?:tree|branch|branches) (?:has|have) fallen|"
    rf"{_BINS} (?:\w+ ){{0,5}}?(?:is|are|was|were|has been|have been) (?:\w+ )?overflowing|"
    rf"overflowing {_BINS}|fly[- ]?tip\w*|vandali[sz]ed|"
    r"smashed|(?:brown|discoloured|discolored) water|blocks the view|overgrown|"
    r"(?:very )?(?:icy|slippery) (?:on|outside|at|along)|(?:is|are) (?:very |really )?(?:icy|slippery))"
    + _END,
    re.IGNORECASE,
)
"""Something physical named as broken or out of order."""

_MONTHS = (
    "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december|"
    "january|february|march|may|june|july|august|october"
)
_GRIEVANCE = re.compile(
    _START + r"(?:"
    # it has gone on: time since, or for how long
    r"(?:sen|sedan) (?:jul|påsk|midsommar|nyår|i (?:somras|våras|varas|höstas|vintras)|"
    rf"(?:slutet av |början av |mitten av |den )?(?:\d{{1,2}}:?e? )?(?:{_MONTHS})|förra (?:veckan|månaden|året)|"
    r"(?:ett par |några |\d+ )?(?:veckor|månader|månad|år))|"
    r"(?:flera|två|tre|fyra|fem|sex|många|ett par|några) (?:veckor|månader|år)|"
    r"(?:i )?(?:en|ett) (?:hel )?(?:månad|år)|hur länge|"
    rf"since (?:autumn|summer|spring|winter|christmas|last \w+|(?:{_MONTHS}))|"
    r"for (?:weeks|months|years)|"
    r"for (?:like |about |over |almost )?(?:\d+|two|three|four|five|several|many) "
    r"(?:days|weeks|months)|"
    r"(?:the|over the|in the|for the) (?:last|past) (?:few |couple of |several |two |three |"
    r"four |five |\d+ )?(?:days|weeks|months)|"
    r"(?:på )?hela (?:veckan|helgen|julhelgen|vintern|månaden)|"
    # said before and not put right
    r"fortfarande|ännu inte|trots|hur många gånger|"
    r"redan (?:anmält|ringt|mejlat|mailat|skrivit|klagat|påpekat|sagt)|"
    r"(?:jag|vi) (?:har )?(?:skrev|skrivit|ringde|ringt|anmälde|anmält|felanmälde|felanmält|"
    r"mejlade|mejlat|mailade|mailat|påpekade|påpekat|sa till|sagt till)|"
    r"(?:flera|två|tre|många) felanmälningar|gång på gång|"
    r"anmäl(?:de|t) (?:det|detta)|inte hört något|"
    r"still|already (?:reported|called|written|told)|several times|"
    r"(?:i|we) (?:have |had )?(?:reported|called|wrote|written|emailed|told)|"
    r"(?:have|has|had) not heard|haven't heard|"
    # nobody acts
    r"ingen har|ingen gör|ingen bryr sig|ingen verkar|inget har hänt|ingenting har hänt|"
    r"inget händer|ingenting händer|ingen åtgärd|ni har inte|varför har ni|"
    r"nobody has|no one has|nothing has|you have not|you haven't|"
    # dissatisfaction said outright, or a demand
    r"oacceptab\w*|skandal\w*|kräver|förväntar|bemötande|handläggar\w*|ni borde|"
    r"inte ok|inte okej|not ok|inte första gången|för mycket begärt|skärpning|skärp er|"
    r"inte acceptabelt|orimligt|inte rimligt|under all kritik|pinsamt|respektlöst|oansvarigt|"
    r"vägrar|ursäkt|hur svårt|sedan ni|(?:andra|tredje|fjärde|femte|\d+:?e) gången|"
    r"(?:nobody|no one) (?:has|have|had|came|comes|cares|bothers|answers|responds|seems|"
    r"did|does|is doing|from)|not the first time|terrible|awful|disgrace\w*|ridiculous|"
    r"shocking|apolog\w*|"
    r"tänker inte betala|vem betalar|ersätt\w*|trött på|nog nu|vara nog|"
    r"rasande|skäms|vilken service|besvike\w*|missnöj\w*|klaga\w*|klagomål\w*|"
    r"(?:dåligt|illa|uselt|slarvigt) (?:skött|underhåll\w*|skött\w*)|missköt\w*|"
    r"(?:sköts|underhålls) (?:inte|dåligt|illa)(?! av\b)|slarv\w*|"
    r"unacceptable|disappointed|expect\w*|level of service|complain\w*|"
    r"(?:badly|poorly) (?:maintained|managed|kept)|neglected"
    r")" + _END,
    re.IGNORECASE,
)
"""A sign that the writer finds fault with how the municipality has handled it."""


def fault_report(text: str) -> str | None:
    """The defect ``text`` names when it reads as a first fault report (a defect, no sign
    of dissatisfaction with the handling), or None."""
    text = " ".join(text.replace("’", "'").split())
    defect = _DEFECT.search(text)
    if defect is None or _GRIEVANCE.search(text):
        return None
    low = text.lower()
    # The model's own cues for "it has gone on" and "said before" (its reasons name them):
    # "i tre veckor", "for a month", "igen", "för andra gången", "två gånger", "sedan mars".
    if DURATION.search(low) or REPEAT.search(low) or SINCE_MONTH.search(low):
        return None
    return defect.group()
