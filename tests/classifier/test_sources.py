"""Leave one source out: the corpus's sources, the arithmetic, and the figures each held-out
source reaches (the model trained on the other sources only)."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from postvakt.classifier.corpus import Example
from postvakt.classifier.sources import (
    CONFIDENT,
    TARGETS,
    LeaveOneSourceOut,
    Outcome,
    calibration_error,
    expected_calibration_error,
    figures_for,
)
from postvakt.classifier.verdict import Label

C, OP, X = Label.COMPLAINT, Label.OPINION, Label.OTHER

# The forms that failed on mail written independently of the corpus (issue 16, item 4).
FAILING_FORMS = (
    "complaint-question",
    "complaint-request",
    "complaint-understatement",
    "complaint-in-thread",
    "complaint-english",
    "complaint-simple",
    "opinion-sharp",
    "other-complaint-words",
)


def test_the_corpus_has_three_independent_sources_of_400(corpus: list[Example]):
    sizes = Counter(e.source for e in corpus)
    assert "" not in sizes  # every example records its source
    big = {name for name, n in sizes.items() if n >= 400}
    assert len(big) >= 3, sizes
    assert "mallar" in big  # the template generator is one of them, not the only one
    for name in big:
        labels = Counter(e.label for e in corpus if e.source == name)
        assert min(labels[C], labels[OP], labels[X]) >= 60, (name, labels)


def test_ids_are_unique_across_sources(corpus: list[Example]):
    ids = Counter(e.id for e in corpus)
    assert not [i for i, n in ids.items() if n > 1]


def test_each_failing_form_has_examples_in_more_than_one_source(corpus: list[Example]):
    where: dict[str, Counter[str]] = defaultdict(Counter)
    for e in corpus:
        if e.category:
            where[e.category][e.source] += 1
    for form in FAILING_FORMS:
        sources = {s for s, n in where[form].items() if n >= 10}
        assert len(sources) >= 2, (form, dict(where[form]))
    # The labels of the forms are what the form says.
    for e in corpus:
        if e.category.startswith("complaint-"):
            assert e.label is C, e.id
        elif e.category.startswith("opinion-"):
            assert e.label is OP, e.id
        elif e.category.startswith("other-"):
            assert e.label is X, e.id


def test_care_is_labelled_in_every_source(corpus: list[Example]):
    for name in {e.source for e in corpus}:
        care = Counter(e.individual_care for e in corpus if e.source == name)
        assert care[True] >= 30, (name, care)
        assert all(e.label is not X for e in corpus if e.source == name and e.individual_care), name


def test_expected_calibration_error_by_hand():
    # Two bins: 0.9 (4 messages, 3 right: |0.75 - 0.9| = 0.15) and 0.6 (2, both right: 0.4).
    pairs = [(0.9, True), (0.9, True), (0.9, True), (0.9, False), (0.6, True), (0.6, True)]
    assert expected_calibration_error(pairs) == pytest.approx((4 * 0.15 + 2 * 0.4) / 6)
    assert expected_calibration_error([(1.0, True), (0.0, False)]) == pytest.approx(0.0)
    assert expected_calibration_error([]) == 0.0


def _o(truth: Label, given: Label, case_p: float, **kw) -> Outcome:
    confidence = max(case_p, 1 - case_p)
    return Outcome("x", truth, given, given, confidence, case_p, False, False, **kw)


def test_a_confident_error_is_the_wrong_side_at_ninety_percent():
    assert _o(C, X, 1 - CONFIDENT).confident_error  # 90 % "annat" for a complaint
    assert not _o(C, X, 1 - CONFIDENT + 0.01).confident_error
    assert _o(X, OP, CONFIDENT).confident_error
    assert not _o(OP, C, 0.99).confident_error  # the right side: opinion and complaint are cases
    # A rule (the reply says the answer did not satisfy) made it a complaint against the
    # model's 95 % "annat": decided right, so no error.
    assert not _o(C, C, 0.05).confident_error
    screened = Outcome("s", C, X, X, 0.0, 0.0, False, True)
    assert screened.confident_error  # a complaint put aside as machine mail: no review sees it


def test_a_sure_error_sent_to_review_is_not_a_confident_error():
    # 97 % "complaint" for a question, but the web form said "Fråga": a person decides.
    reviewed = Outcome("r", X, C, C, 0.97, 0.97, True, False)
    assert reviewed.sure_error
    assert not reviewed.confident_error
    decided = Outcome("d", X, C, C, 0.97, 0.97, False, False)
    assert decided.sure_error and decided.confident_error
    figures = figures_for("k", ["a"], [reviewed, decided])
    assert [o.id for o in figures.confident_errors] == ["d"]
    assert [o.id for o in figures.sure_errors] == ["r", "d"]
    shown = figures.as_dict()
    assert shown["confident_errors"] == 1
    assert shown["sure_errors_including_review"] == 2
    assert shown["sure_error_ids_sent_to_review"] == ["r"]


def test_figures_for_one_source_by_hand():
    found = [
        _o(C, C, 0.95, category="complaint-question"),
        _o(C, X, 0.05, category="complaint-question"),
        _o(OP, OP, 0.8, care_truth=True, care_given=True),
        _o(X, X, 0.2, care_truth=False, care_given=True),
    ]
    figures = figures_for("prov", ["a", "b"], found)
    assert figures.complaint_recall == 0.5
    assert [o.truth for o in figures.confident_errors] == [C]
    assert figures.categories == {"complaint-question": (1, 2)}
    assert figures.care == {"precision": 0.5, "recall": 1.0, "actual": 1, "flagged": 2}
    assert not figures.meets_targets
    text = str(LeaveOneSourceOut((figures,), 0.1, {"prov": 4}))
    assert "prov" in text and "klagomål → annat" in text and "kalib" in text


# Measured leave-one-source-out figures (see the README) sit above these floors.  With
# thirteen sources the targets (TARGETS: 0.92 / 0.97 / no confident error / 0.05 on
# every source) are met for calibration and macro F1 on every source, complaint recall on
# eleven (not mallar: 0.931, nor kvarter: 0.965), and all four on seven (bruket, bygden,
# kanaler, kusten, omskrivning, postlada, stadsdel); a change that falls below the floors is
# a regression.  The ceilings are each source's confident errors as measured plus three.
F1_FLOOR, RECALL_FLOOR, ECE_CEILING = 0.91, 0.90, 0.06
CONFIDENT_ERRORS_CEILING = {
    "bruket": 3,
    "bygden": 3,
    "fjallet": 5,
    "handskrivet": 5,
    "kanaler": 3,
    "kusten": 3,
    "kvarter": 3,
    "mallar": 5,
    "omskrivning": 3,
    "pendling": 6,
    "postlada": 3,
    "stadsdel": 3,
    "vardag": 5,
}


def test_every_held_out_source_stays_above_the_floors(loso: LeaveOneSourceOut):
    assert {s.source for s in loso.sources} >= set(CONFIDENT_ERRORS_CEILING)
    for s in loso.sources:
        ceiling = CONFIDENT_ERRORS_CEILING.get(s.source, 10)
        assert s.source not in s.trained_on  # the held-out source never trains its model
        assert s.decided.macro_f1 >= F1_FLOOR, str(loso)
        assert s.complaint_recall >= RECALL_FLOOR, str(loso)
        assert s.ece <= ECE_CEILING, str(loso)
        assert len(s.confident_errors) <= ceiling, str(loso)
    assert loso.pooled_ece <= TARGETS["ece"]


def test_each_failing_form_holds_on_every_source_that_was_held_out(loso: LeaveOneSourceOut):
    for s in loso.sources:
        for form in FAILING_FORMS:
            right, n = s.categories.get(form, (0, 0))
            if n:
                assert right / n >= 0.75, (s.source, form, right, n)


def test_calibration_makes_probabilities_mean_what_they_say(corpus: list[Example]):
    """Without calibration the model is surer than it is right on a source it never saw;
    calibrated across sources, the gap shrinks (measured on the hand-written source)."""
    from postvakt.classifier.model import Classifier
    from postvakt.classifier.sources import outcomes
    from postvakt.classifier.training import Settings, fit

    train = [e for e in corpus if e.source != "handskrivet" and e.fold != 4]
    held = [e for e in corpus if e.source == "handskrivet"]
    ece = {}
    for kind in ("none", "sigmoid"):
        model = fit(train, Settings(calibration=kind))
        assert (model.calibration is None) == (kind == "none")
        found = outcomes(Classifier(model, review_band=(0.0, 0.0)), held)
        ece[kind] = calibration_error(found)
    assert ece["sigmoid"] < ece["none"], ece
    assert ece["sigmoid"] <= 0.05, ece


def test_the_paraphrase_source_is_what_its_script_writes():
    import subprocess
    import sys

    from postvakt.classifier.corpus import CORPUS_DIR

    script = CORPUS_DIR / "omskrivning" / "make_omskrivning.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


CARE = [
    "Hej. Min mamma bor på Solbacken. I söndags fick hon sin kvällsmedicin två gånger, och "
    "ingen märkte det förrän jag kom dit på måndagen. Hur kan sådant hända?",
    "Pappa har hemtjänst fyra gånger om dagen men i går kom ingen på kvällen. Han satt i "
    "rullstolen till morgonen. Jag vill veta vad ni gör åt det.",
]
NOT_CARE = [
    "Hej, hur ansöker man om hemtjänst till min pappa? Vilka blanketter behövs?",
    "Jag tycker att kommunen borde bygga fler äldreboenden i stället för en ny idrottshall.",
    "Sopkärlet på Granvägen 4 har inte tömts på tre veckor. Det luktar förfärligt.",
]


def test_the_care_head_flags_a_relatives_complaint_and_not_questions_or_policy(
    classifier,
):
    from tests.classifier.mail import message

    for text in CARE:
        verdict = classifier.classify(message(text, subject="Omsorgen"))
        assert verdict.individual_care and verdict.care_probability >= 0.5, (text, verdict)
        assert any("enskilds vård och omsorg" in r for r in verdict.reasons)
    for text in NOT_CARE:
        verdict = classifier.classify(message(text, subject="Fråga"))
        assert not verdict.individual_care, (text, verdict)
        assert verdict.as_dict()["individual_care"] is False


def test_a_case_is_flagged_for_care_from_the_threshold_a_missed_one_sets():
    from postvakt.classifier.verdict import CARE_MISS_COST, CARE_THRESHOLD, Verdict, is_care_case

    # Flag when p * cost of a miss > (1 - p) * cost of a needless flag: p > 1 / (1 + cost).
    assert abs(CARE_THRESHOLD - 1 / (1 + CARE_MISS_COST)) < 1e-9 and CARE_THRESHOLD < 0.5
    just_over, just_under = CARE_THRESHOLD + 0.01, CARE_THRESHOLD - 0.01
    assert is_care_case(Label.COMPLAINT, just_over) and is_care_case(Label.OPINION, just_over)
    assert not is_care_case(Label.COMPLAINT, just_under)
    assert not is_care_case(Label.OTHER, 0.99)  # no case, no routing: shown in Granska instead
    annat = Verdict(label=Label.OTHER, confidence=0.97, reasons=(), care_probability=just_over)
    assert annat.shown_though_annat
    assert not Verdict(
        label=Label.OTHER, confidence=0.97, reasons=(), care_probability=just_under
    ).shown_though_annat


def test_an_organisation_sets_its_own_care_threshold(classifier, tmp_path) -> None:
    """``[classifier] care_threshold`` (default the cost-set CARE_THRESHOLD) moves the flag,
    the Granska line and the wording; the same message, the same probability."""
    from postvakt.classifier.model import Classifier
    from postvakt.classifier.verdict import CARE_THRESHOLD
    from postvakt.config.organisation import ClassifierConfig
    from tests.classifier.mail import message

    assert ClassifierConfig().care_threshold == CARE_THRESHOLD  # one default, two places
    # A message the care head is unsure of (about 30 % with the shipped corpus).
    texts = ["Jag vill klaga på att maten på äldreboendet alltid är kall.", *CARE]
    found = [
        (m, v)
        for m in (message(t, subject="Synpunkt") for t in texts)
        if 0.1 < (v := classifier.classify(m)).care_probability < 0.9 and v.is_case
    ]
    assert found, "no message the care head is unsure of"
    msg, verdict = found[0]
    p = verdict.care_probability
    above = Classifier(classifier.model, care_threshold=p + 0.05).classify(msg)
    below = Classifier(classifier.model, care_threshold=p - 0.05).classify(msg)
    assert above.care_probability == below.care_probability == p
    assert not above.individual_care and above.care_threshold == p + 0.05
    assert below.individual_care and below.is_case
    said = next(r for r in below.reasons if "vård och omsorg" in r)
    assert said.startswith("kan röra" if p < 0.5 else "rör troligen"), said
    assert not any("vård och omsorg" in r for r in above.reasons)
    with pytest.raises(ValueError, match="vårdgränsen"):
        Classifier(classifier.model, care_threshold=1.0)


def test_classifier_evaluate_json_reports_each_source_held_out(
    corpus: list[Example], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    import json

    from postvakt.classifier import evaluate
    from postvakt.cli import main

    # Every fifth message of each source keeps the run short; the figures are the same kind.
    small = [e for n, e in enumerate(corpus) if n % 5 == 0]
    monkeypatch.setattr(evaluate, "load_corpus", lambda: small)
    assert main(["classifier", "evaluate", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    loso = figures["leave_one_source_out"]
    names = {e.source for e in small}
    assert {s["source"] for s in loso["sources"]} == names
    for s in loso["sources"]:
        assert s["source"] not in s["trained_on"] and set(s["trained_on"]) == names - {s["source"]}
        assert s["n"] == sum(e.source == s["source"] for e in small)
        assert 0 <= s["expected_calibration_error"] <= 1 and 0 <= s["macro_f1"] <= 1
        assert len(s["confident_error_ids"]) == s["confident_errors"]
    assert loso["targets"]["macro_f1"] == 0.92
    # The same-corpus figure stays, labelled as such.
    assert figures["same_corpus_held_out"]["n"] == sum(e.fold == 4 for e in small)
    assert main(["classifier", "evaluate"]) == 0
    text = capsys.readouterr().out
    assert text.index("Lämna en källa utanför") < text.index("Samma korpus (smickrande")


def test_saying_you_want_to_complain_is_never_dropped_as_annat(classifier):
    from tests.classifier.mail import message

    for text in (
        "Jag vill lämna ett klagomål om skolmaten.",
        "Jag vill klaga på vårdcentralens väntetider.",
        # the model alone takes this for a sure annat ("klagomål", "registreras", "missnöjd"
        # are words of the corpus's questions about how to complain)
        "Jag är missnöjd med arbetsmarknad och vill att det registreras som ett klagomål. "
        "Det finns inga tider kvar för studie- och yrkesvägledning förrän i mars.",
        "Jag skriver för att klaga. Bokningssystemet för idrottshallarna dubbelbokar tider.",
    ):
        verdict = classifier.classify(message(text, subject="Hej"))
        assert verdict.label is C, (text, verdict)
        # ... but the model alone was not sure: a person confirms it.
        assert verdict.needs_review or verdict.confidence >= 0.55, (text, verdict)
    for asking in (
        "Hur gör jag för att klaga på snöröjningen?",
        "Hur går jag tillväga om jag vill lämna ett klagomål? Finns det en blankett?",
    ):
        assert classifier.classify(message(asking)).label is X, asking


def test_a_subject_that_says_complaint_is_shown_to_a_person(classifier):
    from postvakt.classifier.text import citizen_text
    from postvakt.classifier.titles import subject_says_complaint
    from tests.classifier.mail import message

    # The model takes a short report for "annat", but not surely; the citizen's own title
    # says it is a complaint: registered for a person to decide, with the reason first.
    text = "Belysningen på cykelvägen vid Storgatan är släckt. /Björn"
    plain = classifier.classify(message(text, subject="Belysningen"))
    assert plain.label is X and plain.confidence < 0.9 and not plain.titled_complaint, plain
    titled = classifier.classify(message(text, subject="Klagomål – belysningen"))
    assert titled.label is C and titled.needs_review and titled.titled_complaint, titled
    assert titled.reasons[0].startswith("ämnesraden ”Klagomål – belysningen” säger klagomål")
    assert titled.reasons[0].endswith("registrerat som klagomål så att en person avgör")
    # A question the model is sure of stays annat whatever its title: no diary number for
    # one word; a person sees it in Granska (the intake flags it) and dismisses it.
    asking = "Hur lämnar jag ett klagomål på skolan? Finns det en blankett?"
    how = classifier.classify(message(asking, subject="Klagomål – hur gör man?"))
    assert how.label is X and how.titled_complaint and how.shown_though_annat, how
    assert how.reasons[0].endswith("en person ser efter om det är ett ärende")
    assert how.as_dict()["titled_complaint"] is True
    # What opens the citizen's own subject counts: not a word inside it, not an e-service's
    # or a department's name, not a forward's or a reply's subject (an earlier message's).
    for subject, says in (
        ("Complaint about the bus stop", True),
        ("Formellt klagomål på handläggningen", True),
        ("[EXTERN] Klagomål på snöröjningen", True),
        ("Klagomålet jag skickade", False),
        ("Fwd: Klagomål", False),
        ("VB: SV: Klagomål om snöröjningen", False),
        ("Fråga om klagomål", False),
        ("Klagomål och synpunkter – nytt ärende", False),
        ("Complaint department newsletter", False),
        ("Klagomålshantering – nyhetsbrev", False),
    ):
        citizen = citizen_text(message("Se nedan.", subject=subject))
        assert subject_says_complaint(citizen) is says, subject
    # A web form's subject is the form system's, whatever it says.
    form = "Ärendetyp: Fråga\nNamn:\nE-post:\nTelefon:\nMeddelande: Gatlampan lyser inte.\n"
    assert not subject_says_complaint(citizen_text(message(form, subject="Klagomål – ny")))
    # A reply without threading headers or "SV:" that quotes the earlier answer.
    quoted = (
        "Tack, då vet jag.\n\nDen 3 feb. 2027 kl. 09:12 skrev Gatuenheten <g@exempel.se>:\n> Hej"
    )
    assert not subject_says_complaint(citizen_text(message(quoted, subject="Klagomål – gata")))
    # A reply's subject is the earlier message's: it says nothing of this one.
    reply = message(
        "Tack, då vet jag.\n\n> Hej, vi har tagit emot ditt klagomål.",
        subject="SV: Klagomål om snöröjningen",
        headers={"In-Reply-To": "<k-1@exempel.se>"},
    )
    assert not subject_says_complaint(citizen_text(reply))


def test_a_text_titled_complaint_is_shown_to_a_person(classifier):
    from postvakt.classifier.text import citizen_text
    from postvakt.classifier.titles import body_says_complaint
    from tests.classifier.mail import message

    # The model weighs the word itself towards annat (the corpus's questions about how to
    # complain); a writer who titles their text "Klagomål:" means one: a person decides.
    text = "Klagomål: snöröjningen är dålig!!!"
    verdict = classifier.classify(message(text, subject="Trasig bilaga om snöröjningen"))
    assert verdict.label is C and verdict.needs_review and verdict.titled_complaint, verdict
    assert verdict.reasons[0].startswith("texten börjar med rubriken ”Klagomål: snöröjningen")
    # Its personnummer is masked in the reason, as a subject's is.
    masked = classifier.classify(message("Klagomål – hemtjänsten för 450312-1234\nSe ovan."))
    assert "450312-1234" not in masked.reasons[0]
    for body, says in (
        ("Klagomål: gatlyktan är släckt sedan i oktober.", True),
        ("\n\nKlagomål – parkeringen vid skolan\nBilar står överallt.", True),
        ("Formellt klagomål: handläggningen av mitt bygglov", True),
        ("Complaint: the bins were not emptied", True),
        ("Klagomål har jag inga, men en fråga om taxan.", False),
        ("Klagomålet jag skickade i går gäller inte längre.", False),
        ("Klagomål och synpunkter tas emot av kontaktcenter?", False),
        ("Hej! Klagomål: inga.", False),
    ):
        assert body_says_complaint(citizen_text(message(body, subject="Hej"))) is says, body
    # A web form's fields are the form's: its case type is read on its own.
    form = "Ärendetyp: Fråga\nNamn:\nE-post:\nTelefon:\nMeddelande: Klagomål: ingen.\n"
    assert not body_says_complaint(citizen_text(message(form, subject="Nytt ärende")))


def test_a_web_form_type_against_the_model_sends_the_message_to_a_person(classifier):
    from tests.classifier.mail import message

    def form(kind: str, text: str, field: str = "Ärendetyp"):
        body = f"{field}: {kind}\nNamn:\nE-post:\nTelefon:\nMeddelande: {text}\n"
        return classifier.classify(message(body, subject="Nytt ärende från e-tjänsten"))

    complaint = (
        "Hemtjänsten har inte kommit på tre dagar fast mamma ska ha hjälp varje morgon. "
        "Ingen svarar när jag ringer. Det är oacceptabelt, jag vill att ni rättar till det."
    )
    agreed = form("Klagomål", complaint)
    assert agreed.label is C and agreed.confidence >= 0.9
    assert not agreed.needs_review and not agreed.disputed_by_form
    # The citizen picked "Fråga" for the same complaint: the model's label stays (it is
    # registered, not dropped), a person confirms it, and the first reason says why —
    # naming both, and not calling a sure verdict uncertain.
    disputed = form("Fråga", complaint)
    assert disputed.label is C and disputed.needs_review and disputed.disputed_by_form
    assert disputed.reasons[0].startswith("webbformulärets ärendetyp är ”Fråga”, men modellen")
    assert "klagomål" in disputed.reasons[0]
    assert not any("osäker" in r for r in disputed.reasons), disputed.reasons
    # A plain question sent as "Klagomål": it stays annat (no number, no letter, no care
    # routing before a person has said it is a case); the intake flags it for Granska.
    question = "Vilka tider har återvinningscentralen öppet på lördagar?"
    plain = form("Övrigt", question)
    assert plain.label is X and not plain.disputed_by_form
    asked = form("Klagomål", question)
    assert asked.label is X and asked.disputed_by_form and not asked.needs_review
    assert asked.reasons[0].startswith("modellen bedömer meddelandet som annat")
    assert asked.as_dict()["disputed_by_form"] is True  # postvakt classify --json
    assert "”Klagomål”" in asked.reasons[0]
    # English forms: "Type:" is the case type too; a service area under "Kategori" is not.
    assert form("Question", complaint, "Type").disputed_by_form
    assert not form("Gator och vägar", complaint, "Kategori").disputed_by_form
    # A personnummer typed into the type field is not repeated in the reason.
    odd = form("Fråga 450312-1234", complaint)
    assert odd.disputed_by_form and "450312-1234" not in odd.reasons[0]


def test_a_form_reason_for_an_uncertain_annat_made_a_case_names_both_probabilities():
    import numpy as np

    from postvakt.classifier.model import _form_reason

    probs = np.array([0.40, 0.05, 0.55])  # complaint, opinion, other: the band made it a case
    reason = _form_reason("Fråga", C, probs, model_label=X, banded=True)
    assert reason.startswith("webbformulärets ärendetyp är ”Fråga”, och modellen är osäker")
    assert "annat 55 %" in reason and "klagomål 40 %" in reason
    assert "registrerat som klagomål" in reason
    # A rule, not the band, made a sure annat a case ("Jag vill klaga …"): never "osäker".
    ruled = _form_reason("Fråga", C, np.array([0.02, 0.01, 0.97]), model_label=X)
    assert "osäker" not in ruled and "registreras som klagomål enligt skälen nedan" in ruled
    assert "(modellen: annat 97 %)" in ruled
    # The model's own label: one probability, as before.
    sure = _form_reason("Fråga", C, np.array([0.95, 0.03, 0.02]), model_label=C)
    assert sure.endswith("klagomål (95 %): en person avgör")
