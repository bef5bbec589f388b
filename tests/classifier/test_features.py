"""Features for Swedish: stems, negation, intensity and lexicon cues, character n-grams."""

from __future__ import annotations

from collections import Counter

import pytest

from postvakt.classifier.corpus import Example
from postvakt.classifier.features import (
    char_terms,
    extract,
    grams,
    language,
    mask,
    word_terms,
)
from postvakt.classifier.letter_hints import letter_hints
from postvakt.classifier.lexicon import lexicon_cue
from postvakt.classifier.model import Classifier
from postvakt.classifier.text import citizen_text
from tests.classifier.mail import message


def terms(body: str, subject: str = "") -> list[str]:
    return extract(citizen_text(message(body, subject=subject))).words


def test_swedish_stems():
    found = word_terms(["plogat", "plogade", "hemtjänsten", "missnöjda"], "sv")
    assert {"plog", "hemtjänst", "missnöjd"} <= set(found)


def test_english_is_stemmed_as_english():
    tokens = ["the", "bins", "were", "not", "collected", "and", "i", "am", "disappointed"]
    assert language(tokens) == "en"
    assert "disappoint" in word_terms(tokens, "en")


def test_negation_marks_the_words_after_it():
    found = terms("Jag är inte nöjd med er service.")
    assert "neg:nöjd" in found
    assert "nöjd" not in found


def test_negation_after_the_finite_verb_marks_the_verb():
    # Swedish main clauses put the negation after the verb: "ni svarade inte".
    found = terms("Ni svarade inte på mitt mejl.")
    assert "neg:svar" in found


def test_negation_stops_at_the_end_of_the_clause():
    found = terms("Snön är inte borta. Plogbilen kom i dag.")
    assert "neg:bort" in found
    assert "plogbil" in found and "neg:plogbil" not in found


def test_english_contractions_are_negations():
    found = terms("The bins haven't been emptied.")
    assert "neg:empti" in found


@pytest.mark.parametrize(
    ("body", "cue"),
    [
        ("Det här är HELT OACCEPTABELT!!!", "!versaler"),
        ("Det här är helt oacceptabelt!!!", "!utrop_flera"),
        ("Det är verkligen extremt dåligt.", "!förstärkning"),
        ("Nääää, inte igen.", "!förlängt"),
        ("Vi har väntat i tre veckor.", "!varaktighet"),
        ("Nu har det hänt för tredje gången.", "!upprepning"),
        ("Jag vill härmed lämna ett klagomål.", "!vill_klaga"),
        ("Soporna står fortfarande kvar.", "!dröjsmål"),
        ("Hur ansöker man om bygglov?", "?inleder_fråga"),
    ],
)
def test_tone_cues(body: str, cue: str):
    assert cue in terms(body)


@pytest.mark.parametrize(
    "body",
    [
        "Jag kräver en förklaring!",
        "Jag vill ha en ursäkt.",
        "Vi vill ha pengarna tillbaka för de tre söndagarna.",
        "Jag förväntar mig att ni ersätter kostnaden.",
        "Jag vill att ansvarig chef kontaktar mig.",
        "Jag vill att chefen pratar med mig.",
        "Jag vill veta vad ni tänker göra åt saken.",
        "Barnen blev ledsna, sköt ert jobb!",
        "The crossing has no lighting. Sort it out.",
        "I still want a refund for the three Sundays.",
        "I want the manager to contact me.",
        "Jag kräver en ordentlig förklaring.",
        "I demand a full refund.",
        "Jag vill ha tillbaka mina pengar.",
        "Ni borde be om ursäkt.",
        "Vad tänker ni göra åt saken?",
        "Jag vill att ni åtgärdar detta omedelbart.",
        "Vi vill att kommunen rättar till fakturan.",
        "Nu får ni faktiskt skärpa er!",
    ],
)
def test_asking_for_the_handling_to_be_put_right_is_a_cue(body: str):
    # The line between a complaint and a sharp view that asks for nothing put right.
    assert "!kräver_rättelse" in terms(body)


@pytest.mark.parametrize(
    "body",
    [
        "Kan ni åtgärda lampan vid busshållplatsen?",  # a fault report asks, it does not demand
        "Jag vill ha en lekplats i Norrby.",
        "Jag vill ha en blankett för bostadsanpassning.",
        "Could you explain how the fee is calculated?",
        "Jag vill ha ersättning för mina utlägg, bifogar kvitton.",  # an application
        "I would like a refund of the deposit since we cancelled in time.",
        "Om jag vill ha en förklaring, vem ska jag kontakta?",  # asks how
        "What do I do if I want a refund?",
        "Tack för att ni tar ansvar för parken!",  # praise
        "Jag tycker att kommunen måste åtgärda trafiksituationen, bygg en rondell.",  # a view
        "Tack, ni gör ert jobb fantastiskt bra!",
        "The manager called me yesterday and was very helpful.",
        "Ansvarig handläggare kontaktar dig inom två veckor.",  # the municipality's promise
        "Jag vill gärna prata med chefen om en praktikplats.",
        "Jag vill att enhetschefen pratar med mig om en plats på förskolan.",
        "Om jag vill att ni åtgärdar det, hur gör jag då?",  # asks how
        "Jag vill att ni kommer på mötet.",
    ],
)
def test_a_request_is_not_a_demand_for_redress(body: str):
    assert "!kräver_rättelse" not in terms(body)


@pytest.mark.parametrize(
    "body",
    [
        "Varför har ingen hört av sig?",
        "Varför har vi fortfarande inte fått någon förskoleplats?",
        "Hur länge till ska vi behöva vänta?",
        "Ska man verkligen behöva jaga er för allt?",
        "Är det någon som plogar cykelvägarna över huvud taget i år?",
        "Hur kan det få hända?",
        "Är det för mycket begärt att få ett svar?",
        "Why has nobody called us back?",
        "Why hasn't the bin been emptied?",
        "Is it too much to ask for a cleared path?",
        "Varför gör ni ingenting åt hålet i vägen?",
        "Kan ni åtminstone sätta upp en skylt innan någon skadar sig?",
        "Kunde ni inte ens ringa och säga att ni inte kommer?",
        "Could you at least put up some bollards?",
    ],
)
def test_a_question_that_reproaches_is_a_cue(body: str):
    assert "!retorisk_fråga" in terms(body)


@pytest.mark.parametrize(
    "body",
    [
        "Varför inte bygga en lekplats vid skolan?",  # a proposal
        "Why not open the library on Sundays?",
        "Varför är taxan högre i år?",  # no negation: asks for the reason
        "Varför har ingen hört av sig.",  # no question asked
        "Hur länge tar det att få bygglov?",
        "Varför kan man inte ha en hundrastgård vid parken? Det vore toppen.",
        "Why don't you open the library on Sundays? It would be great.",
        "Hur länge måste jag vänta på beslut om bygglov, ungefär?",
        "How long do I have to wait for a decision, roughly?",
        "Finns det över huvud taget möjlighet att boka lokalen på söndagar?",
        "Vet ni varför sopbilen inte kom i dag?",
        # the question mark belongs to another sentence
        "Jag förstår varför ni inte kan komma på fredag. Vilken dag passar i stället?",
        "Kan ni skicka blanketten till mig?",
        "Could you at least tell me which form to use.",  # no question asked
    ],
)
def test_a_plain_question_or_a_proposal_is_not_a_reproach(body: str):
    assert "!retorisk_fråga" not in terms(body)


@pytest.mark.parametrize(
    ("body", "wants"),
    [
        ("Detta är ett klagomål. Soporna hämtades inte.", True),
        ("Jag vill framföra mitt missnöje med bemötandet.", True),
        ("This is a formal complaint about the bus stop.", True),
        ("Jag vill framföra mitt starka missnöje med bemötandet.", True),
        ("Jag vet inte om detta är ett klagomål, men soporna hämtades inte.", False),
        ("Om jag vill framföra mitt missnöje med skolskjutsen, vart vänder jag mig?", False),
        ("Not sure whether this is a complaint.", False),
        # Swedish word order after an adverb
        ("Däremot vill jag klaga på att ni skickar brev till fel person.", True),
        ("Därför vill vi härmed lämna ett formellt klagomål.", True),
        ("Därför vill jag lämna in ett klagomål.", True),
        ("Måste jag klaga skriftligt, eller räcker det att ringa?", False),
        ("Vill jag klaga, vart skickar jag det?", False),
        # asks for the message to be taken as a complaint, or says it is written to complain
        ("Jag är missnöjd med parkeringen och vill att det registreras som ett klagomål.", True),
        ("Jag begär att detta behandlas som ett formellt klagomål.", True),
        ("Jag skriver för att klaga på bemötandet i receptionen.", True),
        ("Vi skriver till er för att klaga på skolskjutsen.", True),
        ("Kan det registreras som ett klagomål, eller måste jag ringa?", False),
        ("Om jag vill att det registreras som ett klagomål, vad skriver jag då?", False),
        ("Jag skriver för att fråga hur man klagar.", False),
        # says it in the present
        ("Jag klagar på bemötandet i hemtjänsten, det är oacceptabelt.", True),
        ("Vi klagar härmed över beslutet om skolskjuts.", True),
        ("I am complaining about the bins that were not emptied.", True),
        ("Om jag klagar på beslutet, vad händer då?", False),
        ("Innan jag klagar på det vill jag fråga om taxan.", False),
        ("Jag klagar inte, men undrar över fakturan.", False),
    ],
)
def test_saying_it_is_a_complaint_is_wanting_to_complain(body: str, wants: bool):
    assert ("!vill_klaga" in terms(body)) is wants


@pytest.mark.parametrize(
    ("body", "untold"),
    [
        ("Vår förening blev av med sina tider i idrottshallen utan förvarning.", True),
        ("De byter tider hela tiden utan att meddela oss.", True),
        ("Skolan stängde utan någon information till föräldrarna.", True),
        ("Jag ansökte i oktober och ingen har återkommit.", True),
        ("Jag har mejlat tre gånger men ingen hör av sig.", True),
        ("We got no warning that the water would be turned off.", True),
        ("Nobody has got back to me about the fence.", True),
        ("Kan jag få information om öppettiderna?", False),
        ("Tack för att ni hörde av er så snabbt.", False),
        ("Jag vill ha information utan kostnad om kurserna.", False),
    ],
)
def test_being_left_uninformed_is_a_cue(body: str, untold: bool):
    assert ("!utan_besked" in terms(body)) is untold


def test_calm_text_has_no_shouting_cues():
    found = terms("Hej, när öppnar biblioteket på lördag?")
    assert not {"!versaler", "!utrop_flera", "!vill_klaga"} & set(found)


@pytest.mark.parametrize(
    ("word", "cue"),
    [
        ("otrevlig", "!brist"),
        ("otrevliga", "!brist"),
        ("glömde", "!brist"),
        ("fantastiska", "+beröm"),
        ("förslaget", "+förslag"),
        ("undrar", "?frågeord"),
        ("ansökan", "#ärende"),
        ("disappointed", "!brist"),
        ("wonderful", "+beröm"),
        ("gata", None),
        # how staff behaved: the commonest complaint about handling
        ("ohövliga", "!brist"),
        ("nedvärderande", "!brist"),
        ("ointresserad", "!brist"),
        ("unprofessional", "!brist"),
        ("snäll", "+beröm"),
        ("snälla", None),  # "Kan ni snälla ringa?": please, not praise
    ],
)
def test_lexicon(word: str, cue: str | None):
    assert lexicon_cue(word) == cue


def test_negated_praise_is_a_shortcoming_and_negated_shortcoming_is_nothing():
    surface: dict[str, str] = {}
    tokens = ["jag", "är", "inte", "nöjd", ",", "och", "det", "var", "inte", "dåligt"]
    found = word_terms(tokens, "sv", surface)
    assert found.count("!brist") == 1
    assert "+beröm" not in found
    assert surface["!brist"] == "inte nöjd"


def test_unkind_staff_is_a_shortcoming_and_kind_staff_praise():
    found = word_terms(["hon", "var", "inte", "snäll", "mot", "mig"], "sv")
    assert "!brist" in found and "+beröm" not in found
    assert "+beröm" in word_terms(["personalen", "är", "snälla"], "sv")
    assert "+beröm" in word_terms(["de", "var", "så", "snälla"], "sv")
    please = word_terms(["kan", "ni", "snälla", "ringa", "mig"], "sv")
    assert "+beröm" not in please and "!brist" not in please


def test_personal_data_and_addresses_never_become_terms():
    body = (
        "Mitt personnummer är 19450312-1234, ring 070-174 06 12 eller mejla "
        "karin.ek@example.net. Se www.example.net/sida."
    )
    masked = mask(body)
    assert "1234" not in masked and "174" not in masked and "karin" not in masked
    doc = extract(citizen_text(message(body)))
    words = [t for t in doc.words if not t.startswith("#")]  # "#längd_2" is a cue
    assert not any(ch.isdigit() for t in words if t != "0" for ch in t)
    assert {"pnr", "telefonnummer", "epostadress", "webbadress"} <= set(doc.tokens)


def test_character_ngrams_fold_swedish_letters():
    # People without a Swedish keyboard write "snorojning": the n-grams meet.
    assert set(grams("snöröjning")) == set(grams("snorojning"))
    assert " sn" in grams("snöröjning") and "ning " in grams("snöröjning")
    assert char_terms(["hej", "!", "12"]) == list(grams("hej"))


def test_extract_records_where_terms_came_from():
    doc = extract(citizen_text(message("Ingen har plogat vår gata.")), explain=True)
    assert doc.surface["neg:plog"] == "ingen … plogat"
    assert doc.surface["plog vår"] == "plogat vår"


def test_the_verdict_carries_the_letter_hints_a_fresh_reading_gives(
    classifier: Classifier, corpus: list[Example]
) -> None:
    """The intake takes the letters' language and praise from the classifier's own reading
    of the words (no second reading): for every message of the corpus they are what reading
    the citizen's text afresh gives, English and praise among them."""
    seen = Counter()
    for example in corpus:
        verdict = classifier.classify(example.message)
        assert verdict.letter is not None
        citizen, hints, domains = verdict.letter
        assert domains == classifier.own_domains  # what the intake checks before it trusts them
        assert citizen == citizen_text(example.message, classifier.own_domains)
        assert hints == letter_hints(citizen), example.id
        seen[hints.language, hints.praise] += 1
    assert seen["en", False] and seen["sv", True] and seen["sv", False]
