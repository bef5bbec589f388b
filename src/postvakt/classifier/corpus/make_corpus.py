"""Write the labelled corpus the complaint classifier learns from.

Run ``python make_corpus.py`` to (re)write the ``*.jsonl`` files beside this script, or
``python make_corpus.py --check`` to verify that the committed files are exactly what the
script writes (exit status 1 if not).  Standard library only; the output is deterministic.

**What goes in.**  ``fragments/*.toml`` hold hand-written Swedish and English text: for each
municipal service area the failures people complain about, the proposals, objections and
praise they send, and the questions and errands that are neither; ``fragments/gemensamt.toml``
holds what every area shares (how angry, polite or sarcastic people sound, demands, staff
notes, answers from the municipality, follow-ups, thanks, spam, invoices, job applications …);
``fragments/helbrev.toml`` holds whole messages written as one piece (long letters, rambling
ones, sarcasm, hard cases).

**How messages are made.**  A message is put together from fragments: a greeting, one or two
statements, a stance in the chosen tone, a demand, a sign-off with a name and sometimes a
phone number, address or personnummer — then sent by one of the channels a municipality
sees: plain e-mail, a web-form submission from a no-reply gateway (sometimes anonymous,
sometimes with a case type that does not match the text), a forward by staff (attached as
message/rfc822 or written inline as Outlook, Gmail, Apple Mail and Thunderbird write it), or
a reply in a case thread with the municipality's answer quoted below.  About 15% are English.

**The held-out part never shares a sentence with training.**  Every label-bearing fragment
is given to one of five folds (by a hash of its text, balanced within its pool), and a
message of fold *f* is made only of fragments of fold *f*.  Fold 4 is the held-out part;
folds 0–3 are the training part and the folds of cross-validation.  Names, greetings,
sign-offs and streets are shared: they carry no label.

All people, addresses and numbers are invented; mobile numbers are from the 070-174 06 xx
series kept free for fiction, personnummer are made up and not valid.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# A script beside its parts (run, or loaded from its file by the tests): not a package.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from mallar_delar import (
    FOLDS,
    FRAGMENTS,
    HERE,
    INLINE_STYLES,
    Area,
    Draft,
    Pool,
    Shared,
    _digest,
    _load_toml,
    fake_personnummer,
    fill,
    inline_forward,
    join,
    letter,
    load_areas,
    make_person,
    no_swedish_letters,
    ramble,
    shout,
    staff_member,
    typo,
    web_form,
)

SEED = 20261123
HELD_OUT = 4

# Messages per fold and label (before whole letters are added).
PER_FOLD = {"complaint": 132, "opinion": 96, "other": 126}
FOLLOWUPS_PER_FOLD = {"complaint": 16, "other": 9}
ENGLISH_SHARE = 0.19
CHANNELS = {  # share of composed messages per channel
    "email": 0.69,
    "webform": 0.17,
    "forward-attached": 0.07,
    "forward-inline": 0.07,
}
PERSONAL_DATA_SHARE = 0.06

Record = dict[str, Any]


# --------------------------------------------------------------------------- composing


class Composer:
    def __init__(self, rng: random.Random, shared: Shared, fold: int):
        self.rng, self.shared, self.fold = rng, shared, fold

    # helpers ---------------------------------------------------------------

    def frag(self, pool: Pool | None) -> str | None:
        if pool is None or not pool.has(self.fold):
            return None
        return fill(pool.pick(self.rng, self.fold), self.rng, self.shared)

    def shared_frag(self, lang: str, kind: str) -> str | None:
        return self.frag(self.shared.pool(lang, kind))

    def maybe(self, p: float, lang: str, kind: str) -> str | None:
        return self.shared_frag(lang, kind) if self.rng.random() < p else None

    def subject(self, area: Area, lang: str, label: str) -> str:
        r = self.rng.random()
        if r < 0.55:
            own = self.frag(area.pool(lang, f"{label}_subjects"))
            if own:
                return own
        if r < 0.78:
            generic = self.shared_frag(lang, f"{label}_subjects")
            if generic:
                return generic.replace("{tjänst}", area.service)
        neutral = self.shared.any(self.rng, lang, "neutral_subjects")
        return neutral.replace("{tjänst}", area.service)

    # labels ----------------------------------------------------------------

    def complaint(self, area: Area, lang: str) -> Draft | None:
        rng = self.rng
        problems = area.pool(lang, "problems")
        if problems is None or not problems.has(self.fold):
            return None
        tone = rng.choices(
            ("artig", "arg", "sarkastisk", "kort", "svamlig", "saklig", "uppgiven"),
            (26, 20, 11, 14, 10, 12, 7),
        )[0]
        # A fault is a complaint only when it was reported before and is still not put right
        # (the routines' line): a fault fragment here comes with a sentence saying so.
        faults = area.pool(lang, "faults")
        share = len(faults.by_fold[self.fold]) if faults is not None else 0
        if share and rng.random() < share / (share + len(problems.by_fold[self.fold])):
            first = join(self.frag(faults), self.shared_frag(lang, "reported_before"))
        else:
            first = self.frag(problems) or ""
        second = None
        if rng.random() < 0.3 and tone != "kort":
            other = [p for p in problems.by_fold[self.fold] if fill(p, rng, self.shared) != first]
            if other:
                second = fill(rng.choice(other), rng, self.shared)
        if tone not in ("kort", "sarkastisk", "svamlig") and rng.random() < 0.2:
            opener = self.shared_frag(lang, "complaint_openers")
            first = join((opener or "").replace("{tjänst}", area.service), first)
        if tone == "kort":
            # The whole fragment: the first of its sentences is often the setting alone ("Vi
            # ansökte om skolskjuts i maj."), which no reader takes for a complaint.
            core = join(first, self.maybe(0.5, lang, "stance_short"))
        elif tone == "svamlig":
            core = join(
                self.maybe(0.7, lang, "context"),
                self.maybe(0.8, lang, "digressions"),
                first,
                self.maybe(0.6, lang, "digressions"),
                second,
                self.maybe(0.6, lang, "consequences"),
                self.maybe(0.6, lang, "stance_angry"),
            )
            core = ramble(core, rng)
        elif tone == "sarkastisk":
            core = join(
                self.shared_frag(lang, "stance_sarcastic_open") if rng.random() < 0.5 else None,
                first,
                second,
                self.shared_frag(lang, "stance_sarcastic"),
            )
        elif tone == "arg":
            core = join(
                first,
                second,
                self.maybe(0.5, lang, "consequences"),
                self.shared_frag(lang, "stance_angry"),
                self.maybe(0.5, lang, "demands"),
            )
            if rng.random() < 0.6:
                core = shout(core, rng)
            if rng.random() < 0.05:
                core = core.upper()
        elif tone == "uppgiven":
            core = join(
                self.maybe(0.4, lang, "context"),
                first,
                second,
                self.shared_frag(lang, "stance_resigned"),
            )
        elif tone == "saklig":
            core = join(
                self.maybe(0.3, lang, "context"),
                first,
                second,
                self.maybe(0.8, lang, "demands"),
            )
        else:  # artig
            core = join(
                self.maybe(0.4, lang, "context"),
                first,
                second,
                self.maybe(0.5, lang, "consequences"),
                self.shared_frag(lang, "stance_polite"),
                self.maybe(0.4, lang, "demands"),
            )
        return Draft(
            "complaint",
            lang,
            area,
            tone,
            "missnöje",
            self.subject(area, lang, "complaint"),
            core,
            formal=tone in ("artig", "saklig"),
        )

    def opinion(self, area: Area, lang: str) -> Draft | None:
        rng = self.rng
        # A sharp view of a general decision (closing a branch, a fee level) that asks for
        # nothing to be put right in the writer's own matter is an opinion, however angry.
        views = area.pool(lang, "policy_views")
        sharp = views is not None and views.has(self.fold)
        kind = rng.choices(("förslag", "beröm", "skarp"), (70, 30, 25 if sharp else 0))[0]
        if kind == "skarp":
            tone = rng.choice(("arg", "saklig", "uppgiven"))
            core = join(
                self.maybe(0.4, lang, "context"),
                self.frag(views),
                self.shared_frag(lang, "stance_policy"),
            )
            if tone == "arg" and rng.random() < 0.5:
                core = shout(core, rng)
            subject = self.subject(area, lang, "opinion")
            return Draft("opinion", lang, area, tone, kind, subject, core, formal=tone == "saklig")
        pool = area.pool(lang, "proposals" if kind == "förslag" else "praise")
        if rng.random() < 0.2:  # not tied to one service
            pool = self.shared.pool(
                lang, "proposals_generic" if kind == "förslag" else "praise_generic"
            )
        statement = self.frag(pool)
        if statement is None:
            return None
        tone = rng.choices(("vänlig", "saklig", "entusiastisk", "kort"), (45, 25, 15, 15))[0]
        if kind == "beröm":
            core = join(
                statement,
                self.maybe(0.5, lang, "praise_elaborations") if tone != "kort" else None,
                self.maybe(0.3, lang, "opinion_closings") if tone != "kort" else None,
            )
        elif tone == "kort":
            core = statement
        else:
            core = join(
                self.maybe(0.5, lang, "opinion_framings"),
                statement,
                self.maybe(0.45, lang, "opinion_elaborations"),
                self.maybe(0.4, lang, "opinion_closings"),
            )
        if tone == "entusiastisk":
            core = re.sub(r"\.(\s|$)", lambda m: "!" + m[1], core, count=2)
        return Draft(
            "opinion",
            lang,
            area,
            tone,
            kind,
            self.subject(area, lang, "opinion"),
            core,
            formal=tone == "saklig",
        )

    def other(self, area: Area, lang: str) -> Draft | None:
        rng = self.rng
        # A fault reported for the first time, a tip with no grievance, is annat.
        faults = area.pool(lang, "faults")
        tip = faults is not None and faults.has(self.fold)
        kind = rng.choices(("fråga", "ärende", "felanmälan"), (70, 30, 15 if tip else 0))[0]
        if kind == "felanmälan":
            core = join(self.frag(faults), self.maybe(0.7, lang, "fault_tips"))
            subject = self.subject(area, lang, "other")
            return Draft("other", lang, area, "saklig", kind, subject, core)
        pool = area.pool(lang, "questions" if kind == "fråga" else "errands")
        first = self.frag(pool)
        if first is None:
            return None
        second = None
        if kind == "fråga" and rng.random() < 0.25:
            second = self.frag(pool)
            if second == first:
                second = None
        tone = rng.choices(("vänlig", "saklig", "kort"), (50, 35, 15))[0]
        core = join(
            first,
            second,
            self.maybe(0.45, lang, "other_closings") if tone != "kort" else None,
        )
        return Draft(
            "other",
            lang,
            area,
            tone,
            kind,
            self.subject(area, lang, "other"),
            core,
            formal=tone == "saklig",
        )

    def generic_other(self, lang: str, general: Area) -> Draft | None:
        """Mail that is not about one service: thanks, spam, invoices, applications …"""
        rng = self.rng
        kinds = [k for k in self.shared.pools[lang] if k.startswith("misc_")]
        kinds = [k for k in kinds if self.shared.pool(lang, k).has(self.fold)]
        if not kinds:
            return None
        kind = rng.choice(sorted(kinds))
        item = self.shared.pool(lang, kind).pick(rng, self.fold)
        subject, body = item["subject"], fill(item["body"], rng, self.shared)
        return Draft("other", lang, general, "saklig", kind.removeprefix("misc_"), subject, body)


# --------------------------------------------------------------------------- the corpus


class Builder:
    def __init__(self, seed: int = SEED) -> None:
        """``seed``: the committed files are drawn with :data:`SEED`; another draws other
        messages from the same fragments (``scripts/mallar_draws.py`` measures the spread)."""
        self.rng = random.Random(seed)  # noqa: S311 — seeded for reproducible data, not secrets
        self.shared = Shared(_load_toml(FRAGMENTS / "gemensamt.toml"))
        self.areas = load_areas()
        self.general = Area("allmant", "kommunen allmänt", "kontaktcenter@exempel.se")
        self.records: dict[str, list[Record]] = {}
        wholes = _load_toml(FRAGMENTS / "helbrev.toml")["brev"]
        self.wholes = Pool("helbrev", wholes)

    def area_for(self, composer_method: Callable[..., Draft | None], lang: str, fold: int):
        """Areas in a random order, so that the first with fragments in this fold is used."""
        order = list(self.areas)
        self.rng.shuffle(order)
        for area in order:
            draft = composer_method(area, lang)
            if draft is not None:
                return draft
        return None

    def add(self, area_key: str, record: Record) -> None:
        items = self.records.setdefault(area_key, [])
        record["id"] = f"{area_key}-{len(items) + 1:04d}"
        record["source"] = SOURCE
        items.append(record)

    def build(self) -> dict[str, list[Record]]:
        for fold in range(FOLDS):
            composer = Composer(self.rng, self.shared, fold)
            for label, count in PER_FOLD.items():
                for _ in range(count):
                    self.compose_one(composer, label, fold)
            for _ in range(FOLLOWUPS_PER_FOLD["complaint"]):
                self.followup(composer, fold, satisfied=False)
            for _ in range(FOLLOWUPS_PER_FOLD["other"]):
                self.followup(composer, fold, satisfied=True)
            for whole in self.wholes.by_fold[fold]:
                self.whole(whole, fold)
        return self.records

    def compose_one(self, composer: Composer, label: str, fold: int) -> None:
        rng = self.rng
        lang = "en" if rng.random() < ENGLISH_SHARE else "sv"
        if label == "other" and rng.random() < 0.32:
            draft = composer.generic_other(lang, self.general)
        else:
            method = getattr(composer, label)
            draft = self.area_for(method, lang, fold)
        if draft is None:
            return
        if lang == "sv" and rng.random() < 0.04:
            draft.core = no_swedish_letters(draft.core)
        elif rng.random() < 0.03:
            draft.core = typo(draft.core, rng)
        self.send(draft, fold)

    def send(self, draft: Draft, fold: int) -> None:
        rng = self.rng
        person = make_person(rng, self.shared, draft.lang)
        personnummer = fake_personnummer(rng) if rng.random() < PERSONAL_DATA_SHARE else None
        channel = rng.choices(list(CHANNELS), list(CHANNELS.values()))[0]
        if draft.kind in ("skräppost", "faktura", "nyhetsbrev", "leverantör"):
            channel = "email"
        sender = f"{person.name} <{person.email}>"
        record: Record = {
            "fold": fold,
            "label": draft.label,
            "lang": draft.lang,
            "service": draft.area.service,
            "tone": draft.tone,
            "channel": channel,
            "anonymous": False,
            "followup": False,
            "personal_data": personnummer is not None,
            "from": sender,
            "to": draft.area.mailbox,
            "subject": draft.subject,
            "body": "",
            "headers": {},
            "forwarded": None,
        }
        if draft.kind in ("skräppost", "faktura", "nyhetsbrev", "leverantör"):
            record["from"] = self.shared.any(rng, "sv", "company_senders")
        if channel == "webform":
            anonymous = rng.random() < 0.4
            gateway, subject, body = web_form(rng, self.shared, draft, person, anonymous)
            if personnummer:
                body = body.rstrip("\n") + f" Mitt personnummer är {personnummer}.\n"
            record.update({"from": gateway, "subject": subject, "body": body})
            record["anonymous"] = anonymous
        else:
            body = letter(rng, self.shared, draft, person, personnummer)
            if channel == "email":
                record["body"] = body
            else:
                name, address = staff_member(rng, self.shared)
                note = self.shared.any(rng, "sv", "staff_notes").replace(
                    "{tjänst}", draft.area.service
                )
                note = f"{note}\n\n{name.split()[0]}\n{name}\nExempel kommun"
                prefix = rng.choice(("VB: ", "VB: ", "Fwd: ", "FW: ", "Vb: "))
                record["from"] = f"{name} <{address}>"
                record["to"] = "kontaktcenter@exempel.se"
                record["subject"] = prefix + draft.subject
                if channel == "forward-attached":
                    record["body"] = note
                    record["forwarded"] = {
                        "from": sender,
                        "to": address,
                        "subject": draft.subject,
                        "body": body,
                    }
                else:
                    style = rng.choice(INLINE_STYLES)
                    record["body"] = (
                        note
                        + "\n\n"
                        + inline_forward(
                            rng, style, sender, address, draft.subject or "(inget ämne)", body
                        )
                    )
        if personnummer is not None:
            # A short letter may have dropped the signature that carried it.
            inner = record["forwarded"]["body"] if record["forwarded"] else ""
            record["personal_data"] = personnummer in record["body"] + inner
        record["individual_care"] = individual_care(record, draft.area.key, draft.kind)
        self.add(_file_key(draft.area), record)

    def followup(self, composer: Composer, fold: int, *, satisfied: bool) -> None:
        """A citizen's reply in a case thread, with the municipality's answer quoted below."""
        rng = self.rng
        lang = "en" if rng.random() < ENGLISH_SHARE else "sv"
        kind = "followup_satisfied" if satisfied else "followup_not_satisfied"
        text = composer.shared_frag(lang, kind)
        if text is None:
            return
        area = rng.choice(self.areas)
        person = make_person(rng, self.shared, lang)
        answer = self.shared.any(rng, lang, "municipal_answers").replace("{tjänst}", area.service)
        number = f"KS 2026/{rng.randint(100, 2400)}"
        subject = rng.choice(
            (
                f"SV: Ditt ärende {number}",
                f"Re: Ditt ärende {number}",
                f"SV: Svar på ditt meddelande om {area.service}",
                f"Sv: {number}",
                f"RE: Ditt ärende {number}",
            )
        )
        answer_id = f"<{_digest(text + number)[:20]}@exempel.se>"
        quote_style = rng.choice(("gmail", "outlook", "plain"))
        if quote_style == "gmail":
            quoted = "\n".join("> " + line if line else ">" for line in answer.split("\n"))
            quote = f"Den fre 20 nov. 2026 kl 10:12 skrev {area.service.capitalize()}, Exempel kommun <{area.mailbox}>:\n{quoted}"
            if lang == "en":
                quote = f"On Fri, 20 Nov 2026 at 10:12, Exempel kommun <{area.mailbox}> wrote:\n{quoted}"
        elif quote_style == "outlook":
            quote = (
                f"Från: Exempel kommun <{area.mailbox}>\nSkickat: den 20 november 2026 10:12\n"
                f"Till: {person.name} <{person.email}>\nÄmne: Ditt ärende {number}\n\n{answer}"
            )
        else:
            quote = f"-----Ursprungligt meddelande-----\nFrån: {area.mailbox}\nSkickat: den 20 november 2026 10:12\nÄmne: Ditt ärende {number}\n\n{answer}"
        sign = rng.choice((person.first, person.name, f"Mvh {person.name}", f"/{person.first}"))
        body = f"{fill(text, rng, self.shared)}\n\n{sign}\n\n{quote}\n"
        record: Record = {
            "fold": fold,
            "label": "other" if satisfied else "complaint",
            "lang": lang,
            "service": area.service,
            "tone": "svar",
            "channel": "reply",
            "anonymous": False,
            "followup": not satisfied,
            "personal_data": False,
            "from": f"{person.name} <{person.email}>",
            "to": area.mailbox,
            "subject": subject,
            "body": body,
            "headers": {"In-Reply-To": answer_id, "References": answer_id},
            "forwarded": None,
        }
        record["individual_care"] = individual_care(record, area.key, "svar")
        self.add(area.key, record)

    def whole(self, item: dict[str, Any], fold: int) -> None:
        rng = self.rng
        lang = item.get("lang", "sv")
        person = make_person(rng, self.shared, lang)
        body = fill(item["body"], rng, self.shared).replace("{namn}", person.name)
        body = body.replace("{förnamn}", person.first)
        area_key = item.get("area", "allmant")
        area = next((a for a in self.areas if a.key == area_key), self.general)
        record: Record = {
            "fold": fold,
            "label": item["label"],
            "lang": lang,
            "service": area.service,
            "tone": item.get("tone", "helbrev"),
            "channel": "email",
            "anonymous": False,
            "followup": bool(item.get("followup", False)),
            "personal_data": False,
            "from": item.get("from") or f"{person.name} <{person.email}>",
            "to": area.mailbox,
            "subject": item.get("subject", ""),
            "body": body,
            "headers": item.get("headers", {}),
            "forwarded": None,
        }
        record["individual_care"] = bool(item.get("individual_care", False)) or individual_care(
            record, area.key, item.get("kind", "helbrev")
        )
        self.add(_file_key(area), record)


def _file_key(area: Area) -> str:
    return area.key


SOURCE = "mallar"
"""This corpus's name among the sources the model learns from (see ``corpus.py``)."""
CARE_AREAS = frozenset({"aldreboende", "hemtjanst", "lss"})
_RELATIVE = re.compile(
    r"\b(?:min|mina|vår|my|our)\s+(?:\w+\s+)?(?:mamma|pappa|mor|far|mors|fars|farmor|mormor|"
    r"farfar|morfar|make|maka|son|dotter|bror|syster|man|fru|mother|father|mum|mom|dad|son|"
    r"daughter|brother|sister|husband|wife|grandmother|grandfather)\b|\b(?:mamma|pappa)\b",
    re.IGNORECASE,
)


def individual_care(record: Record, area_key: str, kind: str) -> bool:
    """A complaint, or praise of how someone was cared for, from a care area's user or
    relative: what the care system's deviation module takes."""
    if area_key not in CARE_AREAS or record["label"] == "other":
        return False
    if record["label"] == "complaint":
        return True
    text = record["body"] + (record["forwarded"] or {}).get("body", "")
    return kind == "beröm" and bool(_RELATIVE.search(text))


# --------------------------------------------------------------------------- output


def render(records: dict[str, list[Record]]) -> dict[str, str]:
    files: dict[str, str] = {}
    for key in sorted(records):
        lines = [json.dumps(r, ensure_ascii=False, sort_keys=False) for r in records[key]]
        files[f"{key}.jsonl"] = "\n".join(lines) + "\n"
    return files


def main(argv: list[str]) -> int:
    files = render(Builder().build())
    if "--check" in argv:
        stale = [
            name
            for name, text in files.items()
            if not (HERE / name).is_file() or (HERE / name).read_text(encoding="utf-8") != text
        ]
        extra = sorted({p.name for p in HERE.glob("*.jsonl")} - set(files))
        for name in stale + extra:
            print(f"{name}: differs from what make_corpus.py writes", file=sys.stderr)  # noqa: T201 — a script reporting
        return 1 if stale or extra else 0
    for path in HERE.glob("*.jsonl"):
        if path.name not in files:
            path.unlink()
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")
    total = sum(text.count("\n") for text in files.values())
    print(f"wrote {total} messages in {len(files)} files to {HERE}")  # noqa: T201 — a script reporting
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
