"""The words the features know by meaning, Swedish and English: negators, intensifiers, a
small evaluative lexicon (shortcomings, praise, suggestions, question words, politics,
errands) with its two-word phrases, function words, and what each cue term means in the
reasons a registrar reads.  :mod:`postvakt.classifier.features` turns a message into terms
with them: a change to a word list changes the terms, so it goes with a bump of
:data:`~postvakt.classifier.features.FEATURES_VERSION`.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = [
    "CLAUSE_BREAK",
    "CUE_NAMES",
    "EN_FUNCTION",
    "INTENSIFIERS",
    "LEXICON",
    "NEGATION_SCOPE",
    "NEGATORS",
    "PHRASES",
    "PRAISE_CUE",
    "SV_FUNCTION",
    "lexicon_cue",
    "word_list",
]


def word_list(text: str) -> list[str]:
    """A word list written as running text: easier to read and extend than one literal a line."""
    return text.split()


NEGATORS = frozenset(
    {"inte", "ej", "aldrig", "ingen", "inget", "inga", "icke", "knappt", "varken", "int"}
    | {"not", "never", "no", "nobody", "nothing", "nowhere", "neither", "nor", "cannot"}
)
NEGATION_SCOPE = 3
"""Words after a negator that it marks, up to the end of the clause."""
CLAUSE_BREAK = frozenset({"men", "but", "utan", "fast", "however", "although"})

INTENSIFIERS = frozenset(
    {
        "väldigt",
        "mycket",
        "extremt",
        "otroligt",
        "fruktansvärt",
        "förfärligt",
        "hemskt",
        "helt",
        "totalt",
        "fullständigt",
        "absolut",
        "verkligen",
        "jätte",
        "sjukt",
        "oerhört",
        "enormt",
        "vansinnigt",
        "really",
        "very",
        "extremely",
        "absolutely",
        "totally",
        "completely",
        "utterly",
        "incredibly",
        "terribly",
        "seriously",
    }
)

# A small evaluative lexicon, Swedish and English.  Each hit adds a cue term, so that the
# model can generalise from "otrevlig" to "oförskämd" even when training saw only one of
# them.  Entries ending in "-" are prefixes ("glömd-" covers glömde, glömt, glömda).
# A negated praise word ("inte nöjd", "not good") counts as a shortcoming; a negated
# shortcoming ("inte dålig") counts as nothing.
LEXICON: dict[str, tuple[str, ...]] = {
    "!brist": word_list(
        "otrevlig- oförskämd- nonchalant- nedlåtande arrogant- dålig- sämre sämst usel- urdålig- "
        "bedrövlig- katastrof- skandal- oacceptab- orimlig- felaktig- fel trasig- sönder smutsig- "
        "äcklig- försen- glömd- glömt- glömde tappat tappade försvunn- försvann inställ- uteblev "
        "utebliv- ignorer- struntar skäms skam pinsam- farlig- livsfarlig- otrygg- besvik- "
        "missnöj- upprörd- förbannad- rasande stökig- kaos- bristande brister slarv- strul- "
        "krångl- obegriplig- halkade skadade bröt luktar stinker mögel- läcker läckt- översvämm- "
        "oväsen störande orättvis- diskrimin- kränk- trakasser- mobb- utfryst- förnedr- vanvård- "
        "värdelös- hopplös- olåst olämplig- illa uselt hungrig- otillräcklig- överfull- "
        "elak- snäsig- snorkig- ohövlig- respektlös- ointresserad- inkompetent- "
        "oprofessionell- ovänlig- hånfull- nedvärderande hotfull- aggressiv- "
        "rude- unacceptab- terribl- awful appall- disgrac- ridiculous useless worse worst broken "
        "dirty filthy delay- forgot- missed cancelled ignor- dangerous unsafe scared upset "
        "disappoint- dissatisf- furious angry chaos mess impossibl- smell- stink- mould- leak- "
        "flood- noise noisy unfair bulli- humiliat- shame- late poor wrong impolite "
        "unprofessional incompetent unfriendly disrespectful aggressive condescending dismissive"
    ),
    "+beröm": word_list(
        "fantastisk- underbar- toppen jättebra utmärkt- föredömlig- suverän- proffsig- vänlig- "
        "trevlig- hjälpsam- omtänksam- tålmodig- tacksam- beröm- eloge uppskatt- godaste magisk- "
        "snäll snällt jättesnäll- "
        "älskar ängel perfekt- glädje lysande imponer- bra fint fin god goda nöjd nöjda glad glada "
        "trygg trygga snabbt smidig- okej ok acceptabel- rimlig- godtagbar- tillfreds- "
        "fantastic wonderful great excellent amazing brilliant kind helpful friendly patient "
        "grateful prais- love lovely perfect- happy satisfied good best safe quick- acceptable "
        "reasonable"
    ),
    "+förslag": word_list(
        "förslag- föreslå- önskar önskemål- borde idé- tycker tycka anser emot invänd- "
        "medborgarförslag tips rekommender- suggest- propos- idea- should wish recommend- "
        "opinion"
    ),
    "?frågeord": word_list(
        "undrar undra hur när vilka vilken vilket varifrån vart how when where which wondering "
        "whether"
    ),
    "+politik": word_list(
        "beslut- beslöt beslutat politiker- politik- nämnd- fullmäktige kommunstyrelse- budget- "
        "satsa- satsning- prioriter- skattepengar skattebetalar- slöseri slösa- nedläggning- "
        "detaljplan- planerna planen översiktsplan- taxa taxan taxehöjning- "
        "skattehöjning- besparing- spara sparkrav- investering- decision- politician- council- "
        "councillor- budget- priorit- taxpayer- waste spending invest- plan planning policy"
    ),
    "#ärende": word_list(
        "ansök- ansökan boka bokning- avboka- bifoga- bifogar blankett- intyg- beställ- förnya- "
        "kopia tillstånd- uppsägning- apply applying application book booking attach- "
        "register renew- permit- form"
    ),
}
PHRASES: dict[tuple[str, str], str] = {
    ("för", "sent"): "!brist",
    ("ingen", "svarar"): "!brist",
    ("inget", "svar"): "!brist",
    ("ställde", "in"): "!brist",
    ("ställer", "in"): "!brist",
    ("trött", "på"): "!brist",
    ("har", "väntat"): "!brist",
    ("fed", "up"): "!brist",
    ("bra", "jobbat"): "+beröm",
    ("tack", "till"): "+beröm",
    ("stort", "tack"): "+beröm",
    # "snälla" alone is most often "please"; after a verb or "så" it says someone was kind
    ("är", "snälla"): "+beröm",
    ("var", "snälla"): "+beröm",
    ("så", "snälla"): "+beröm",
    ("gör", "skillnad"): "+beröm",
    ("well", "done"): "+beröm",
    ("thank", "you"): "+beröm",
    ("vore", "bra"): "+förslag",
    ("vore", "fint"): "+förslag",
    ("skulle", "vara"): "+förslag",
    ("varför", "inte"): "+förslag",
    ("kanske", "kan"): "+förslag",
    ("kanske", "kunde"): "+förslag",
    ("skulle", "vilja"): "+förslag",
    ("would", "be"): "+förslag",
    ("why", "not"): "+förslag",
    ("i", "think"): "+förslag",
    ("kan", "man"): "?frågeord",
    ("får", "man"): "?frågeord",
    ("behöver", "jag"): "?frågeord",
    ("måste", "jag"): "?frågeord",
    ("kan", "jag"): "?frågeord",
    ("går", "det"): "?frågeord",
    ("can", "i"): "?frågeord",
    ("do", "i"): "?frågeord",
    ("säga", "upp"): "#ärende",
}
_LEX_EXACT: dict[str, str] = {}
_LEX_PREFIX: list[tuple[str, str]] = []
for _cue, _words in LEXICON.items():
    for _w in _words:
        if _w.endswith("-"):
            _LEX_PREFIX.append((_w[:-1], _cue))
        else:
            _LEX_EXACT.setdefault(_w, _cue)
_PREFIXES = tuple(p for p, _ in _LEX_PREFIX)


@lru_cache(maxsize=200_000)
def lexicon_cue(token: str) -> str | None:
    """The lexicon cue of a lower-cased word, or None."""
    found = _LEX_EXACT.get(token)
    if found is not None or not token.startswith(_PREFIXES):
        return found
    best = max((p for p in _LEX_PREFIX if token.startswith(p[0])), key=lambda p: len(p[0]))
    return best[1]


SV_FUNCTION = frozenset(
    word_list(
        "och att det är jag inte har på en ett som för med till av min mitt ni er vi om kan vill "
        "den så hej mvh också eller men nu då var hur när vad"
    )
)
EN_FUNCTION = frozenset(
    word_list(
        "the and is are was not have has i my you your to of it this that for with be please would "
        "could hello dear regards since been they we our"
    )
)

PRAISE_CUE = "+beröm"
"""The cue of a praise word, not negated (a negated one is a shortcoming)."""

CUE_NAMES = {
    "!utrop": "utropstecken",
    "!utrop_flera": "flera utropstecken i rad (upprörd ton)",
    "!versaler": "ord skrivna med versaler (skrikande ton)",
    "!versaler_mycket": "mycket text skriven med versaler (skrikande ton)",
    "!förstärkning": "förstärkningsord som ”helt”, ”extremt”, ”verkligen”",
    "!förlängt": "utdragna ord (”nääää”)",
    "!varaktighet": "anger hur länge något har pågått",
    "!upprepning": "något har hänt igen",
    "!vill_klaga": "skriver att hen vill klaga",
    "!kräver_rättelse": "kräver att något rättas till, ersätts eller förklaras",
    "!retorisk_fråga": "en fråga som är en förebråelse (”Varför har ingen …?”)",
    "!dröjsmål": "något har ännu inte gjorts (”fortfarande”)",
    "!utan_besked": "något gjordes utan att någon sade till, eller ingen hörde av sig",
    "?fråga": "frågetecken",
    "!brist": "ord om brister",
    "+beröm": "berömmande ord",
    "+förslag": "ord för förslag och åsikter",
    "?frågeord": "frågeord",
    "#ärende": "ord för ansökningar, bokningar och blanketter",
    "+politik": "ord om beslut, budget och prioriteringar",
    "?inleder_fråga": "börjar med en fråga",
    "#svar_i_tråd": "svar på ett tidigare meddelande",
    "#språk_en": "skrivet på engelska",
    "#längd_0": "mycket kort text",
    "#längd_1": "kort text",
    "#längd_2": "medellång text",
    "#längd_3": "lång text",
}
"""What each cue term means, for the reasons a registrar reads."""
