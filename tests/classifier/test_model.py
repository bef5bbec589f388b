"""The trained model: verdicts on real mail, reasons, the review band, determinism, the cache."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from postvakt.classifier import Label, Verdict, classify, model_cache
from postvakt.classifier import model as model_module
from postvakt.classifier.corpus import Example, split
from postvakt.classifier.model import (
    LABELS,
    Classifier,
    LinearModel,
    cache_dir,
    compile_model,
    docs_of,
    fit,
    fit_sklearn,
    load_model,
    model_key,
    training_examples,
)
from tests.classifier.mail import DEMO_DIR, OWN, demo, eml, message

# The expected outcomes of src/postvakt/demo_messages/README.md.
DEMO = {
    "01-kontaktcenter-snorojning.eml": Label.COMPLAINT,
    "02-kontaktcenter-bibliotekets-oppettider.eml": Label.OPINION,
    "03-kontaktcenter-fraga-bygglov.eml": Label.OTHER,
    "06-anna-internt-motet-torsdag.eml": Label.OTHER,
    "07-kontaktcenter-anonymt-hemtjanst.eml": Label.COMPLAINT,
    "08-kontaktcenter-missed-garbage-collection.eml": Label.COMPLAINT,
    "10-anna-parkeringsbot.eml": Label.COMPLAINT,
    "11-anna-skolmaten.eml": Label.OPINION,
    "12-kontaktcenter-potthal-cykelvag.eml": Label.COMPLAINT,
    "14-anna-tack.eml": Label.OTHER,
}
SMALL = 320  # messages for the trainings a test does itself: enough for all labels, fast


@pytest.fixture(scope="module")
def small(corpus: list[Example]) -> list[Example]:
    return split(corpus)[0][:SMALL]


def well_formed(verdict: Verdict) -> None:
    assert isinstance(verdict.label, Label)
    assert 0 < verdict.confidence <= 1
    assert verdict.reasons and all(isinstance(r, str) and r.strip() for r in verdict.reasons)
    assert verdict.is_case == (verdict.label is not Label.OTHER)
    assert sum(p for _l, p in verdict.probabilities) == pytest.approx(1, abs=0.01)


# --------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize(("name", "label"), list(DEMO.items()))
def test_demo_messages_get_their_documented_labels(classifier: Classifier, name: str, label: Label):
    verdict = classifier.classify(demo(name))
    assert verdict.label is label, verdict
    well_formed(verdict)


@pytest.mark.parametrize(
    ("subject", "body", "label"),
    [
        ("Ingen har plogat", "Vår gata har inte plogats på en vecka. Jag vill klaga.", "complaint"),
        ("Bemötandet", "Jag blev otrevligt bemött i receptionen i går. Inte okej.", "complaint"),
        ("Sophämtningen", "nu har soporna inte hämtats på 3 veckor igen!!! skärp er", "complaint"),
        ("Förslag", "Det vore bra med fler papperskorgar längs promenaden vid sjön.", "opinion"),
        ("Tack", "Jag vill berömma personalen på äldreboendet för deras omtanke.", "opinion"),
        ("Öppettider", "Vilka öppettider har biblioteket under julen?", "other"),
        ("Hur klagar man?", "Hur gör jag för att lämna ett klagomål på hemtjänsten?", "other"),
        (
            "Street lights",
            "The street lights have not been fixed for a month. Poor service.",
            "complaint",
        ),
        ("Opening hours", "When is the library open on Saturdays?", "other"),
    ],
)
def test_plain_citizen_mail(classifier: Classifier, subject: str, body: str, label: str):
    verdict = classifier.classify(message(body, subject=subject))
    assert verdict.label.value == label, verdict
    well_formed(verdict)


def test_reasons_are_swedish_and_quote_the_words_that_weighed(classifier: Classifier):
    verdict = classifier.classify(demo("10-anna-parkeringsbot.eml"))
    first = verdict.reasons[0]
    assert first.startswith(("orden ”", "ordet ”")) and "talar för klagomål" in first
    quoted = [part.split("”")[0] for part in first.split("”")[1::2]]
    text = demo("10-anna-parkeringsbot.eml").body_text.lower()
    assert quoted and all(q in text for q in quoted)


def test_english_mail_gets_swedish_reasons(classifier: Classifier):
    verdict = classifier.classify(demo("08-kontaktcenter-missed-garbage-collection.eml"))
    assert "talar för klagomål" in verdict.reasons[0]
    assert not any(r.startswith(("says", "the word", "expresses")) for r in verdict.reasons)


def test_tone_is_a_reason(classifier: Classifier):
    verdict = classifier.classify(
        message("INGEN HAR PLOGAT PÅ TRE VECKOR!!! Skäms!!", subject="PLOGNINGEN")
    )
    assert verdict.label is Label.COMPLAINT
    assert any(r.startswith("i texten:") for r in verdict.reasons)


def test_anonymous_web_form(classifier: Classifier):
    verdict = classifier.classify(demo("07-kontaktcenter-anonymt-hemtjanst.eml"))
    assert verdict.anonymous
    assert "anonymt: inget sätt att nå avsändaren" in verdict.reasons
    assert any("ärendetyp ”Klagomål”" in r for r in verdict.reasons)


def test_staff_forward_is_judged_on_the_citizens_text(classifier: Classifier):
    verdict = Classifier(classifier.model, own_domains=OWN).classify(
        eml("21_forwarded_rfc822_hemtjanst.eml")
    )
    assert verdict.forwarded
    assert verdict.label is Label.COMPLAINT
    assert any("vidarebefordrat av personal" in r for r in verdict.reasons)


def test_empty_message_is_other(classifier: Classifier):
    verdict = classifier.classify(message("", subject=""))
    assert verdict.label is Label.OTHER
    assert verdict.reasons[0] == "meddelandet har ingen text att bedöma"


def test_same_message_same_verdict(classifier: Classifier):
    raw = demo("11-anna-skolmaten.eml")
    first = classifier.classify(raw)
    assert [classifier.classify(raw) for _ in range(3)] == [first] * 3


def test_verdict_is_a_frozen_value_with_a_json_form(classifier: Classifier):
    verdict = classifier.classify(demo("01-kontaktcenter-snorojning.eml"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.label = Label.OTHER  # type: ignore[misc]
    data = json.loads(json.dumps(verdict.as_dict(), ensure_ascii=False))
    assert data["label"] == "complaint" and data["label_sv"] == "klagomål"
    assert set(data["probabilities"]) == {"complaint", "opinion", "other"}
    assert data["reasons"] == list(verdict.reasons)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            "Biblioteket borde ha öppet längre på fredagar, det vore bra för oss som jobbar. "
            "Jag vill ha en förklaring.",
            "kräver att något rättas till",
        ),
        (
            "Jag tycker att parken borde få fler papperskorgar och bättre belysning. "
            "Jag vill härmed lämna ett klagomål.",
            "skriver att hen vill klaga",
        ),
        (  # a question that reproaches: no opinion in the corpus asks one
            "Biblioteket borde ha öppet längre. Kan ni inte ens ha öppet en kväll i veckan?",
            "en fråga som är en förebråelse",
        ),
    ],
)
def test_a_demand_for_redress_is_a_complaint_a_person_confirms(
    classifier: Classifier, body: str, said: str
):
    """The routines' line: a complaint wants the handling put right, an opinion asks for
    nothing.  The model weighs the proposal's words towards an opinion; the demand decides,
    and a person confirms since the model leaned the other way."""
    verdict = classifier.classify(message(body))
    probs = dict(verdict.probabilities)
    assert probs[Label.OPINION] > probs[Label.COMPLAINT]  # the model alone: an opinion
    assert verdict.label is Label.COMPLAINT
    assert verdict.needs_review
    assert verdict.reasons[0].startswith(said)
    assert "synpunkt" in verdict.reasons[0]
    well_formed(verdict)


@pytest.mark.parametrize(
    ("body", "subject", "reason"),
    [
        ("Hur länge till ska vi behöva vänta på att någon hämtar soporna?", "Sopor",
         "en fråga som förebrår"),
        (  # a care complaint the model alone took for annat
            "Hemtjänsten glömde ge min man hans insulin i går kväll. Han fick åka in till "
            "akuten. Hur kan det hända?\n\nKarin Ek\n",
            "Insulin",
            "en fråga som förebrår",
        ),
        # a demand that the handling be put right (a fault the writer holds us to)
        ("Webbplatsen går inte att logga in på. Sköt ert jobb!", "Webbplatsen",
         "kräver att något rättas till"),
        ("Hej, fakturan 2026-88102 gäller slamtömning. Jag vill ha pengarna tillbaka.", "Faktura",
         "kräver att något rättas till"),
    ],
)  # fmt: skip
def test_a_reproach_or_a_demand_the_model_is_unsure_of_is_a_complaint_a_person_confirms(
    classifier: Classifier, body: str, subject: str, reason: str
):
    """The issue's own form: a complaint phrased as a question, or one that demands redress.
    An unsure "annat" so written is registered for a person to decide, not dropped."""
    verdict = classifier.classify(message(body, subject=subject))
    probs = dict(verdict.probabilities)
    assert probs[Label.OTHER] == max(probs.values())  # the model alone: annat, unsure
    assert probs[Label.OTHER] < model_module.SURE_ANNAT
    assert verdict.label is Label.COMPLAINT and verdict.needs_review
    assert verdict.reasons[0].startswith(reason)
    assert "annat" in verdict.reasons[0]
    well_formed(verdict)


def test_a_plain_question_stays_annat(classifier: Classifier):
    verdict = classifier.classify(
        message("Hur länge har biblioteket öppet på lördagar?", subject="Öppettider")
    )
    assert verdict.label is Label.OTHER
    assert not any(r.startswith("en fråga som förebrår") for r in verdict.reasons)


def test_a_proposal_without_a_demand_stays_an_opinion(classifier: Classifier):
    verdict = classifier.classify(
        message("Biblioteket borde ha öppet längre på fredagar, det vore bra för oss som jobbar.")
    )
    assert verdict.label is Label.OPINION
    assert not any("rättas till" in r for r in verdict.reasons)


# --------------------------------------------------------------------------- the review band


def test_everything_in_the_band_needs_review_and_uncertain_other_becomes_a_case(
    classifier: Classifier,
):
    wide = Classifier(classifier.model, review_band=(0.0, 1.0))
    question = message("Vilka öppettider har biblioteket i jul?", subject="Öppettider")
    verdict = wide.classify(question)
    assert verdict.needs_review
    # Registered for a person to confirm instead of dropped: the likelier case label.
    probs = dict(verdict.probabilities)
    expected = Label.COMPLAINT if probs[Label.COMPLAINT] >= probs[Label.OPINION] else Label.OPINION
    assert verdict.label is expected
    assert any(r.startswith("osäker bedömning") for r in verdict.reasons)


def test_an_empty_band_never_asks_for_review(classifier: Classifier):
    none = Classifier(classifier.model, review_band=(0.0, 0.0))
    verdict = none.classify(message("Vilka öppettider har biblioteket i jul?"))
    assert not verdict.needs_review
    assert verdict.label is Label.OTHER


def test_confident_verdicts_fall_outside_the_default_band(classifier: Classifier):
    verdict = classifier.classify(demo("03-kontaktcenter-fraga-bygglov.eml"))
    assert verdict.confidence >= model_module.DEFAULT_REVIEW_BAND[1]
    assert not verdict.needs_review


@pytest.mark.parametrize("band", [(0.6, 0.4), (-0.1, 0.5), (0.2, 1.5)])
def test_a_band_outside_0_1_is_refused(classifier: Classifier, band: tuple[float, float]):
    with pytest.raises(ValueError, match="granskningsintervallet"):
        Classifier(classifier.model, review_band=band)


# --------------------------------------------------------------------------- training


def test_training_is_deterministic(small: list[Example], tmp_path: Path):
    first, second = fit(small), fit(small)
    for a, b in ((first.words, second.words), (first.chars, second.chars)):
        assert a.vocab == b.vocab
        assert np.array_equal(a.idf, b.idf)
        assert np.array_equal(a.coef, b.coef)
    assert np.array_equal(first.intercept, second.intercept)
    first.save(tmp_path / "a.npz")
    again = LinearModel.load(tmp_path / "a.npz")
    assert np.array_equal(again.words.coef, first.words.coef)
    assert again.terms_by_col == first.terms_by_col


def test_the_compiled_model_scores_exactly_as_scikit_learn(small: list[Example]):
    fitted = fit_sklearn(small)
    compiled = compile_model(fitted)
    docs = docs_of(small[:60])
    expected = fitted.model.predict_proba(fitted.matrix(docs))
    got = np.array([compiled.probabilities(d) for d in docs])[:, fitted.model.classes_]
    assert np.allclose(got, expected, atol=1e-9)


def test_the_shipped_model_learns_from_the_training_part_only(
    corpus: list[Example], trained: tuple[LinearModel, Path]
):
    train_part, held = split(corpus)
    assert trained[0].meta["messages"] == len(train_part)
    assert held and not {e.id for e in held} & {e.id for e in train_part}


# --------------------------------------------------------------------------- the cache


@pytest.fixture
def quick_training(monkeypatch: pytest.MonkeyPatch, small: list[Example]) -> list[Path | None]:
    """Train on a small part (fast), and note each training's extra folder."""
    calls: list[Path | None] = []

    def few(extra_dir: Path | None = None, corrections: Sequence[Example] = ()) -> list[Example]:
        calls.append(extra_dir)
        return [*small, *corrections]

    monkeypatch.setattr(model_cache, "training_examples", few)
    return calls


def test_first_use_trains_then_the_cache_is_used(tmp_path: Path, quick_training: list):
    model, path = load_model(directory=tmp_path)
    assert path.parent == tmp_path and path.is_file()
    assert len(quick_training) == 1
    stamp = path.stat().st_mtime_ns
    again, same = load_model(directory=tmp_path)
    assert same == path and path.stat().st_mtime_ns == stamp
    assert len(quick_training) == 1  # not trained again
    assert np.array_equal(again.chars.coef, model.chars.coef)
    assert model.meta["key"] == model_key()


def test_rebuild_trains_again(tmp_path: Path, quick_training: list):
    load_model(directory=tmp_path)
    load_model(directory=tmp_path, rebuild=True)
    assert len(quick_training) == 2


def test_a_damaged_cache_file_is_trained_again(tmp_path: Path, quick_training: list):
    _model, path = load_model(directory=tmp_path)
    path.write_bytes(b"not a model")
    model, again = load_model(directory=tmp_path)
    assert again == path and len(quick_training) == 2
    assert LinearModel.load(path).words.vocab == model.words.vocab


def test_models_of_other_corpora_or_libraries_are_removed(tmp_path: Path, quick_training: list):
    stale = tmp_path / "klassificerare-0000000000000000deadbeef.npz"
    stale.write_bytes(b"old")
    load_model(directory=tmp_path)
    assert not stale.exists()


def test_the_key_follows_corpus_extra_messages_and_libraries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    base = model_key()
    assert model_key() == base
    extra = tmp_path / "egna"
    extra.mkdir()
    (extra / "labels.csv").write_text("file,label\n", encoding="utf-8")
    assert model_key(extra) != base
    monkeypatch.setattr(
        model_cache, "_versions", lambda: {"scikit-learn": "99.0", "numpy": "1", "scipy": "1"}
    )
    assert model_key() != base


def test_organisations_own_messages_are_added_to_training(tmp_path: Path):
    extra = tmp_path / "egna"
    extra.mkdir()
    (extra / "a.eml").write_bytes((DEMO_DIR / "01-kontaktcenter-snorojning.eml").read_bytes())
    (extra / "labels.csv").write_text("file,label\na.eml,klagomål\n", encoding="utf-8")
    shipped = training_examples()
    with_extra = training_examples(extra)
    assert len(with_extra) == len(shipped) + 1
    assert with_extra[-1].label is Label.COMPLAINT and with_extra[-1].id == "a.eml"


def test_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("POSTVAKT_CACHE_DIR", str(tmp_path / "här"))
    assert cache_dir() == tmp_path / "här"
    monkeypatch.delenv("POSTVAKT_CACHE_DIR")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "postvakt"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "postvakt"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cache_dir() == Path.home() / "Library" / "Caches" / "postvakt"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert cache_dir() == tmp_path / "local" / "postvakt" / "Cache"


def test_default_classify_uses_the_cached_model(trained: tuple[LinearModel, Path]):
    verdict = classify(demo("01-kontaktcenter-snorojning.eml"))
    assert verdict.label is Label.COMPLAINT
    assert model_module.default_classifier().model.meta["key"] == trained[0].meta["key"]


def test_classifying_never_imports_scikit_learn(trained: tuple[LinearModel, Path]):
    code = (
        "import sys\n"
        "from postvakt.classifier import classify\n"
        "from postvakt.mailbox.message import parse_message\n"
        f"raw = open({str(DEMO_DIR / '01-kontaktcenter-snorojning.eml')!r}, 'rb').read()\n"
        "print(classify(parse_message(raw)).label.value, 'sklearn' in sys.modules)\n"
    )
    env = dict(os.environ, POSTVAKT_CACHE_DIR=str(trained[1].parent))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.split() == ["complaint", "False"]


def test_labels_are_in_a_fixed_order():
    assert LABELS == (Label.COMPLAINT, Label.OPINION, Label.OTHER)
