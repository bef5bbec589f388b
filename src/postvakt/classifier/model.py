"""The trained complaint / opinion / other model: training, the cache on disk, classifying.

**Training** (:func:`fit`, in :mod:`postvakt.classifier.training`) is scikit-learn:
TF-IDF over word terms and character n-grams, a multinomial logistic regression calibrated
across the corpus's independent sources, and a care head.  It is deterministic.  The shipped
model learns from the training part of every source (folds 0–3), so the held-out fold
measures it; an organisation's own labelled messages are added to the training part.  How
it holds on phrasing it never saw is measured by leaving one source out
(:mod:`postvakt.classifier.sources`).

**The model on disk** is not a pickle.  Training ends by *compiling* the fitted pipeline to
plain arrays — each vocabulary with its IDF weights and coefficients — stored in one ``.npz``
file (:class:`~postvakt.classifier.linear.LinearModel`).  Classifying needs only NumPy and
the feature code; it never imports scikit-learn, so loading takes a fraction of a second and
a new scikit-learn never meets a stale pickle.  Where the file is kept, its key, and when a
new model is trained: :mod:`postvakt.classifier.model_cache`.

**Classifying** (:class:`Classifier`, :func:`classify`): screening is the caller's; this
reads the citizen's words (:mod:`postvakt.classifier.text`), scores them, applies the review
band and the follow-up rule, sets the flags, and explains the verdict in Swedish
(:mod:`postvakt.classifier.reasons`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from postvakt.classifier.corpus import (
    LabelledText,
)
from postvakt.classifier.fault_report import fault_report
from postvakt.classifier.features import extract
from postvakt.classifier.flags import (
    closes_thread,
    disowns_complaint,
    earlier_answer,
    is_anonymous,
    not_satisfied,
    personal_data,
    went_elsewhere,
    withdraws_complaint,
)
from postvakt.classifier.lexicon import CUE_NAMES
from postvakt.classifier.linear import LinearModel
from postvakt.classifier.model_cache import (
    MODEL_FORMAT,
    cache_dir,
    load_model,
    model_key,
    model_path,
    store_model,
    training_examples,
)
from postvakt.classifier.stance import ironic_praise, praises, states_a_view
from postvakt.classifier.text import CitizenText, citizen_text
from postvakt.classifier.titles import title_of
from postvakt.classifier.training import (
    LABELS,
    Fitted,
    Settings,
    compile_model,
    docs_of,
    fit,
    fit_sklearn,
)
from postvakt.classifier.verdict import CARE_THRESHOLD, LABEL_SV, Label, Verdict, is_care_case
from postvakt.classifier.webform import form_says_complaint, form_side
from postvakt.mailbox.message import IncomingMessage
from postvakt.privacy import mask_personnummer

__all__ = [
    "DEFAULT_REVIEW_BAND",
    "DISOWNED_REASON",
    "MODEL_FORMAT",
    "WITHDRAWAL_REASON",
    "Classifier",
    "Fitted",
    "LinearModel",
    "Settings",
    "cache_dir",
    "classify",
    "compile_model",
    "default_classifier",
    "docs_of",
    "fit",
    "fit_sklearn",
    "load_model",
    "model_key",
    "model_path",
    "store_model",
    "train",
    "training_examples",
]

log = logging.getLogger("postvakt.classifier")

DEFAULT_REVIEW_BAND = (0.0, 0.55)
"""A verdict less sure than 55 % is registered for a person to confirm."""
WANTS_TO_COMPLAIN = "!vill_klaga"
"""The cue of a message saying that its writer wants to complain."""
REPROACH = "!retorisk_fråga"
"""The cue of a question that is a reproach ("Varför har ingen …?")."""
DEMANDS_REDRESS = "!kräver_rättelse"
"""The cue of a message demanding that the handling be put right (an apology, an
explanation, money back, the fault mended)."""
WITHDRAWAL_REASON = "skriver att ett klagomål tas tillbaka"
"""How the reason of a message that withdraws a complaint begins (Granska and
``cases attach`` recognise it by this)."""
DISOWNED_REASON = "skriver att hen aldrig har lämnat det klagomål som kommunen skrivit om"
"""How the reason of a message disowning a complaint begins (as :data:`WITHDRAWAL_REASON`)."""
SURE_ANNAT = 0.9
"""An annat at least this sure stays no case whatever its subject says (it is shown in
Granska); the same line as a confident error's."""


def train(
    extra_dir: Path | None = None,
    *,
    directory: Path | None = None,
    corrections: Sequence[LabelledText] = (),
) -> Path:
    """Rebuild the model (``postvakt classifier train``) and return where it was written."""
    _model, path = load_model(extra_dir, directory=directory, rebuild=True, corrections=corrections)
    _DEFAULT.clear()
    return path


# --------------------------------------------------------------------------- classifying


class Classifier:
    """Classifies one message at a time; cheap to call, safe to share between threads.

    ``review_band`` is ``(low, high)``: a confidence in ``[low, high)`` means a person must
    confirm the verdict (``needs_review``), and an uncertain ``other`` becomes the likelier
    case label so that it is registered rather than dropped.  ``own_domains`` tell staff
    (whose forwarding notes are not read) from citizens; ``own_addresses`` are ignored as
    contact details.
    """

    def __init__(
        self,
        model: LinearModel,
        *,
        review_band: tuple[float, float] = DEFAULT_REVIEW_BAND,
        own_domains: Sequence[str] = (),
        own_addresses: Sequence[str] = (),
        care_threshold: float = CARE_THRESHOLD,
    ):
        low, high = review_band
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(
                f"granskningsintervallet {review_band} måste ligga inom 0–1, lägst först"
            )
        if not 0.0 < care_threshold < 1.0:
            raise ValueError(f"vårdgränsen {care_threshold} måste ligga mellan 0 och 1")
        self.model = model
        self.review_band = (float(low), float(high))
        self.care_threshold = float(care_threshold)
        """From what care probability a case is flagged ``individual_care``."""
        self.own_domains = tuple(own_domains)
        self.own_addresses = tuple(own_addresses)

    @classmethod
    def load(
        cls,
        *,
        extra_dir: Path | None = None,
        directory: Path | None = None,
        review_band: tuple[float, float] | None = None,
        own_domains: Sequence[str] = (),
        own_addresses: Sequence[str] = (),
        corrections: Sequence[LabelledText] = (),
        care_threshold: float = CARE_THRESHOLD,
    ) -> Classifier:
        """The model for the corpus (with ``extra_dir`` and ``corrections``), from the cache
        or trained now."""
        model, _path = load_model(extra_dir, directory=directory, corrections=corrections)
        return cls(
            model,
            review_band=DEFAULT_REVIEW_BAND if review_band is None else review_band,
            own_domains=own_domains,
            own_addresses=own_addresses,
            care_threshold=care_threshold,
        )

    def __call__(self, msg: IncomingMessage) -> Verdict:
        return self.classify(msg)

    def classify(self, msg: IncomingMessage) -> Verdict:
        from postvakt.classifier.letter_hints import letter_hints
        from postvakt.classifier.reasons import explain

        citizen = citizen_text(msg, self.own_domains)
        doc = extract(citizen, explain=True, chars=False)
        scores, wvec, cvec = self.model.decision(doc)
        probs = self.model.probabilities_of(scores)
        best = int(np.argmax(probs))
        label = model_label = LABELS[best]
        confidence = float(probs[best])
        low, high = self.review_band
        needs_review = low <= confidence < high
        banded = needs_review and label is Label.OTHER
        if banded:
            # Uncertain: register for a person to confirm rather than drop silently.
            label = Label.COMPLAINT if probs[0] >= probs[1] else Label.OPINION
        elif label is Label.OTHER and WANTS_TO_COMPLAIN in doc.words:
            # "Jag vill klaga på …" is never dropped as "annat" by the model alone: the
            # corpus's questions about how to complain pull such words towards "annat".
            label, needs_review = Label.COMPLAINT, True
        reproach = (
            label is Label.OTHER
            and (REPROACH in doc.words or DEMANDS_REDRESS in doc.words)
            and confidence < SURE_ANNAT
        )
        if reproach:
            # "Är det någon som plogar över huvud taget?": a question that is a reproach, the
            # issue's own form of a complaint, is not dropped as an unsure "annat" either;
            # nor is a demand that the handling be put right ("Sköt ert jobb!").
            label, needs_review = Label.COMPLAINT, True
        # The routines' line between the two case labels: a complaint wants the handling put
        # right, an opinion asks for nothing.  A message whose writer says they complain or
        # demands redress or asks a question that reproaches ("Could you at least …?"; no
        # opinion in the corpus does) is a complaint whatever the model weighed (its
        # sarcastic praise, its policy words); the model leaned the other way, so a person
        # confirms it.
        cue = next(
            (c for c in (WANTS_TO_COMPLAIN, DEMANDS_REDRESS, REPROACH) if c in doc.words), ""
        )
        redress = label is Label.OPINION and cue != ""
        if redress:
            label = Label.COMPLAINT
            needs_review = needs_review or probs[0] < high
        # Praise that means the opposite ("Tack för ingenting", "Bra jobbat, verkligen" beside
        # a shortcoming): a complaint, which a model that learnt praise words reads as an
        # opinion.  An unsure "annat" so written is registered for a person to decide.
        irony = None
        if label is Label.OPINION or (label is Label.OTHER and confidence < SURE_ANNAT):
            irony = ironic_praise(citizen.text, doc.words)
        if irony is not None:
            irony_from = model_label  # the model's own side, not the review band's
            needs_review = needs_review or label is Label.OTHER or probs[0] < high
            label = Label.COMPLAINT
        care = self.model.care_probability(wvec, cvec)
        unsatisfied = None
        if citizen.reply or earlier_answer(citizen.body):
            unsatisfied = not_satisfied(citizen.body)
        # "Jag har inte skickat något klagomål" after a letter about one: about that case
        # (perhaps a letter to the wrong person).  It never turns the model's case into
        # annat — too many complaints open "jag har aldrig klagat …" — but puts it before a
        # person with the reason; an annat stays no case and is shown in Granska.  Before a
        # withdrawal in the same text: withdrawing a complaint one never made asks for the
        # letters to be checked, not for the case to be closed.
        disowns = disowns_complaint(citizen.text)
        if disowns is not None and (
            unsatisfied or WANTS_TO_COMPLAIN in doc.words or DEMANDS_REDRESS in doc.words
        ):
            disowns = None  # it complains as well: decided as any complaint
        if disowns is not None and banded:
            # made a case only because the model was unsure: it is shown in Granska anyway
            label, needs_review = Label.OTHER, False
        elif disowns is not None and label is not Label.OTHER:
            needs_review = True
        # "Jag vill ta tillbaka mitt klagomål": about a case already made, not a new one.
        # No number, no letter; a person sees it in Granska and notes it on its case.  Not
        # where the same text also complains, says the answer did not satisfy, or may
        # concern someone's own care: then it stays a case as decided.
        withdraws = None if disowns is not None else withdraws_complaint(citizen.text)
        if withdraws is not None and (
            unsatisfied or WANTS_TO_COMPLAIN in doc.words or care >= self.care_threshold
        ):
            withdraws = None
        if withdraws is not None:
            label, needs_review = Label.OTHER, False
        about_a_case = withdraws is not None or disowns is not None
        title = title_of(citizen) if label is Label.OTHER and not about_a_case else None
        titled = title is not None
        if titled and confidence < SURE_ANNAT:
            # Nor is a message whose writer titled it "Klagomål …" (its subject, or the first
            # line of its text: "Klagomål: snöröjningen är dålig") while the model is unsure:
            # registered for a person to decide.  A sure annat so titled ("Klagomål – hur gör
            # man?") stays no case and is shown in Granska: no diary number for one word.
            label, needs_review = Label.COMPLAINT, True
        # Nor is one whose writer says it gives a view or a proposal ("Jag vill lämna en
        # synpunkt", "Det vore bra om …"), or praises the service ("Personalen var varm och
        # lyhörd"; praise is an opinion): unsure, registered as an opinion for a person to
        # confirm; sure, or asking something besides ("… vart skickar jag det?"), it stays
        # no case and is shown in Granska.
        viewed = praised = None
        if label is Label.OTHER and not about_a_case and not titled:
            viewed = states_a_view(citizen.text, doc.words)
            if viewed is None:
                viewed = praised = praises(citizen.text, doc.words)
        if viewed is not None and confidence < SURE_ANNAT and "?" not in citizen.body:
            label, needs_review = Label.OPINION, True
        # A complaint in a reply is a follow-up; an uncertain message made a case only for
        # review is not (yet) one.
        followup = not about_a_case and (
            bool(unsatisfied) or (citizen.reply and model_label is Label.COMPLAINT)
        )
        if unsatisfied and label is not Label.COMPLAINT:
            label, needs_review = Label.COMPLAINT, needs_review or probs[0] < high
        if unsatisfied:
            viewed = None  # "jag anser att beslutet ska …" in a reply: a follow-up, not a view
        # A first fault report (a defect, no fault found with the handling) is annat by the
        # routines; the model, learning from authors who draw that line in different places,
        # is often sure it is a complaint: a person confirms the case it made.  Not a possible
        # care matter: no invitation to dismiss a lex Sarah as a fault report.
        fault = None
        if (
            label is not Label.OTHER
            and not needs_review
            and not followup
            and not titled
            and care < self.care_threshold
        ):
            # the citizen's own words: a form system's subject ("Synpunkter och klagomål –
            # webbformulär") is no sign of dissatisfaction
            fault = fault_report(citizen.own_text)
            needs_review = fault is not None
        # A short reply thanking for a matter put right ("Då är det ur världen"), or a message
        # saying it went to the wrong receiver ("please ignore my last email"): most often no
        # new errand, but the model reads the thread's or the mix-up's words as a complaint. A
        # person confirms the case it made; not where the same text complains.
        # Not a possible care matter either: no invitation to dismiss a lex Sarah.
        closing = elsewhere = None
        if (
            label is not Label.OTHER
            and not needs_review
            and not about_a_case
            and not unsatisfied
            and care < self.care_threshold
            and not {WANTS_TO_COMPLAIN, DEMANDS_REDRESS, REPROACH} & set(doc.words)
        ):
            if "!brist" not in doc.words:  # thanks after "oacceptabelt …" closes nothing
                closing = closes_thread(citizen.body, reply=citizen.reply)
            elsewhere = None if closing is not None else went_elsewhere(citizen.text)
            needs_review = closing is not None or elsewhere is not None
            if closing is not None:
                followup = False  # a thank-you reopens no case for a new review
        # What the reasons call uncertain: not a review a rule asked for while the model
        # itself was sure (its own reason says why).
        ruled = (
            redress or reproach or irony is not None or viewed is not None or disowns is not None
        )
        uncertain = (
            needs_review
            and fault is None
            and closing is None
            and elsewhere is None
            and (not ruled or low <= confidence < high)
        )
        # The citizen chose the form's case type: where it says the other side of case/annat
        # than the decision, a person decides (a confident model is no reason to overrule
        # the citizen, nor the type a reason to overrule the model: citizens pick a wrong
        # type too).  A case is registered for review; an "annat" stays no case and is shown
        # in Granska (the intake flags it): a number, a letter and a care routing only after
        # a person has said it is a case.
        declared = form_side(citizen.form_type)
        disputed = declared is not None and declared != (label is not Label.OTHER)
        # "Klagomål" chosen for what the model reads as an opinion: a person says which (a
        # complaint's stricter clock is not the model's to drop, nor the type's to impose).
        disputed = disputed or (label is Label.OPINION and form_says_complaint(citizen.form_type))
        if disputed and label is not Label.OTHER:
            needs_review = True
        anonymous = is_anonymous(citizen.message, self.own_addresses)
        inner = citizen.message
        personal = personal_data(f"{msg.subject}\n{msg.body_text}") or (
            inner is not msg and personal_data(f"{inner.subject}\n{inner.body_text}")
        )
        reasons = explain(
            self.model,
            doc,
            citizen,
            label=label,
            probs=probs,
            wvec=wvec,
            cvec=cvec,
            needs_review=uncertain,
            followup_phrase=unsatisfied if followup else None,
            followup=followup,
            anonymous=anonymous,
            personal_data=personal,
        )
        if reproach and label is Label.COMPLAINT:
            annat = round(float(probs[LABELS.index(Label.OTHER)]) * 100)
            said = (
                "en fråga som förebrår, som ”Varför har ingen …?”,"
                if REPROACH in doc.words
                else CUE_NAMES[DEMANDS_REDRESS]
            )
            reasons = (
                f"{said} och modellen är osäker (annat {annat} %): registrerat som klagomål "
                "så att en person avgör",
                *reasons,
            )
        if redress and label is Label.COMPLAINT:
            said = CUE_NAMES[cue]
            opinion = round(float(probs[LABELS.index(Label.OPINION)]) * 100)
            reasons = (
                f"{said}: ett klagomål, inte en synpunkt, fast modellen lutade åt synpunkt "
                f"({opinion} %); en person bekräftar",
                *reasons,
            )
        if irony is not None and label is Label.COMPLAINT:
            side = LABEL_SV[irony_from]
            share = round(float(probs[LABELS.index(irony_from)]) * 100)
            reasons = (
                f"ironi (”{_quoted(irony)}”): läses som missnöje – ett klagomål, fast modellen "
                f"lutade åt {side} ({share} %); en person bekräftar",
                *reasons,
            )
        if disowns is not None:
            kind = {Label.COMPLAINT: "ett klagomål", Label.OPINION: "en synpunkt"}.get(label)
            still = f", och om detta ändå är {kind}" if kind else ""
            reasons = (
                f"{DISOWNED_REASON} (”{_quoted(disowns)}”): en person ser efter vilket "
                f"ärende brevet gällde och vem ärendets brev gick till (Hör till ett ärende){still}",
                *reasons,
            )
        if withdraws is not None:
            reasons = (
                f"{WITHDRAWAL_REASON} (”{_quoted(withdraws)}”): inget nytt "
                "ärende; en person knyter det till ärendet det gäller (Hör till ett ärende)",
                *reasons,
            )
        if fault is not None:
            reasons = (
                f"läser som en första felanmälan (”{fault}”) utan missnöje med hur "
                "kommunen har skött saken: en person avgör om det är "
                f"{'ett klagomål' if label is Label.COMPLAINT else 'en synpunkt'} eller en "
                "felanmälan (annat)",
                *reasons,
            )
        if closing is not None:
            reasons = (
                f"ett kort svar i tråden som tackar för att saken är ordnad (”{_quoted(closing)}”): "
                "troligen inget nytt ärende; en person avgör om det hör till ett befintligt "
                "ärende",
                *reasons,
            )
        if elsewhere is not None:
            kind, words = elsewhere
            said = {
                "own": "skriver att meddelandet gick till fel mottagare",
                "disregard": "ber att ett tidigare meddelande inte ska läsas",
                "theirs": "skriver att kommunen har skickat något till fel mottagare",
            }[kind]
            then = (
                "kan vara ett klagomål eller en personuppgiftsincident; en person avgör"
                if kind == "theirs"
                else "en person avgör om meddelandet är ett ärende för kommunen"
            )
            reasons = (f"{said} (”{_quoted(words)}”): {then}", *reasons)
        if title is not None:
            where, words = title
            said = (
                f"ämnesraden ”{_quoted(words)}” säger klagomål"
                if where == "subject"
                else f"texten börjar med rubriken ”{_quoted(words)}”"
            )
            reasons = (_said_otherwise(said, label, Label.COMPLAINT, probs), *reasons)
        if viewed is not None:
            said = (
                "berömmer med egna ord verksamheten eller dess personal"
                if praised is not None
                else "uttrycker med egna ord en synpunkt eller ett förslag"
            ) + f" (”{_quoted(viewed)}”)"
            reasons = (_said_otherwise(said, label, Label.OPINION, probs), *reasons)
        if disputed:
            reasons = (
                _form_reason(citizen.form_type or "", label, probs, model_label, banded=banded),
                *reasons,
            )
        individual_care = is_care_case(label, care, self.care_threshold)
        if individual_care:
            reasons = (
                *reasons,
                # Flagged from a quarter by default (a miss costs more than a needless
                # routing): below even odds it says "may", not "probably".
                f"{'rör troligen' if care >= 0.5 else 'kan röra'} enskilds vård och omsorg "
                f"({round(care * 100)} %): hör hemma i verksamhetssystemets avvikelsemodul.",
            )
        return Verdict(
            label=label,
            confidence=round(float(probs[LABELS.index(label)]), 3),
            reasons=reasons,
            # Plain bools: a numpy bool (from comparing numpy floats) is neither JSON nor a
            # value psycopg can send.
            needs_review=bool(needs_review),
            anonymous=bool(anonymous),
            followup_not_satisfied=bool(followup),
            personal_data=bool(personal),
            forwarded=citizen.forwarded,
            probabilities=tuple(
                (lab, round(float(p), 3)) for lab, p in zip(LABELS, probs, strict=True)
            ),
            individual_care=individual_care,
            care_probability=round(care, 3),
            care_threshold=self.care_threshold,
            disputed_by_form=disputed,
            titled_complaint=titled,
            states_a_view=viewed is not None,
            withdraws_complaint=withdraws is not None,
            disowns_complaint=disowns is not None,
            letter=(citizen, letter_hints(citizen, doc), self.own_domains),
        )

    def probabilities(self, citizen: CitizenText) -> np.ndarray:
        return self.model.probabilities(extract(citizen))


def _quoted(words: str, width: int = 60) -> str:
    """A citizen's words (a subject, a form's case type) as a reason repeats them: on one
    line, a personnummer masked, cut to ``width``."""
    text = mask_personnummer(" ".join(words.split()))
    return text if len(text) <= width else text[: width - 1] + "…"


def _said_otherwise(said: str, label: Label, case: Label, probs: np.ndarray) -> str:
    """Why a person looks at what the writer ``said`` against the model's annat: registered
    as ``case`` (``label`` is it) or shown in Granska."""
    annat = round(float(probs[LABELS.index(Label.OTHER)]) * 100)
    then = (
        f"registrerat som {LABEL_SV[case]} så att en person avgör"
        if label is case
        else "en person ser efter om det är ett ärende"
    )
    return f"{said}, men modellen bedömer meddelandet som annat ({annat} %): {then}"


def _form_reason(
    form_type: str,
    label: Label,
    probs: np.ndarray,
    model_label: Label | None = None,
    *,
    banded: bool = False,
) -> str:
    """Why a person decides: the citizen's case type against the decision, both named.
    ``model_label``: the model's own top label; when the decision is another, the reason
    says why: the review band made an uncertain annat a case (``banded``: both
    probabilities), or a rule did (the model's verdict, and the rules among the reasons)."""
    kind = _quoted(form_type)
    sure = round(float(probs[LABELS.index(label)]) * 100)
    if model_label is not None and model_label is not label:
        top = round(float(probs[LABELS.index(model_label)]) * 100)
        if banded:
            return (
                f"webbformulärets ärendetyp är ”{kind}”, och modellen är osäker "
                f"({LABEL_SV[model_label]} {top} %, {LABEL_SV[label]} {sure} %): "
                f"registrerat som {LABEL_SV[label]} så att en person avgör"
            )
        return (
            f"webbformulärets ärendetyp är ”{kind}”, men meddelandet registreras som "
            f"{LABEL_SV[label]} enligt skälen nedan (modellen: {LABEL_SV[model_label]} "
            f"{top} %): en person avgör"
        )
    if label is Label.OTHER:
        return (
            f"modellen bedömer meddelandet som annat ({sure} %), men webbformulärets ärendetyp "
            f"är ”{kind}”: en person ser efter om det är ett ärende"
        )
    return (
        f"webbformulärets ärendetyp är ”{kind}”, men modellen bedömer meddelandet som "
        f"{LABEL_SV[label]} ({sure} %): en person avgör"
    )


_DEFAULT: dict[str, Classifier] = {}
_DEFAULT_LOCK = threading.Lock()


def default_classifier() -> Classifier:
    """The classifier for the shipped corpus with the default review band, loaded once."""
    with _DEFAULT_LOCK:
        found = _DEFAULT.get("default")
    if found is None:
        model, _path = load_model()
        found = Classifier(model)
        with _DEFAULT_LOCK:
            _DEFAULT.setdefault("default", found)
    return found


def classify(msg: IncomingMessage) -> Verdict:
    """Complaint, opinion or other, with flags and reasons (the default model)."""
    return default_classifier().classify(msg)
