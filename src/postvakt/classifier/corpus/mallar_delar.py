"""The parts ``make_corpus.py`` builds messages from: fragment pools and service areas, the
invented people who write, and the text helpers (fill-ins, shouting, rambling, typos).

Kept apart from the composing so that each file stays readable; run ``make_corpus.py``, not
this.
"""

from __future__ import annotations

import hashlib
import random
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FRAGMENTS = HERE / "fragments"
FOLDS = 5

# --------------------------------------------------------------------------- pools


class Pool:
    """Fragments of one kind, each given to one fold (balanced, by a hash of its text)."""

    def __init__(self, name: str, items: Sequence[Any]):
        self.name = name
        ranked = sorted(items, key=lambda item: _digest(f"{name}\0{_text_of(item)}"))
        self.by_fold: list[list[Any]] = [ranked[f::FOLDS] for f in range(FOLDS)]
        self.all = list(items)
        self.uses = [0] * len(ranked)
        self._index = {id(item): i for i, item in enumerate(ranked)}

    def has(self, fold: int) -> bool:
        return bool(self.by_fold[fold])

    def pick(self, rng: random.Random, fold: int) -> Any:
        """A random one of the least used fragments: every fragment is used about as often."""
        items = self.by_fold[fold]
        fewest = min(self.uses[self._index[id(i)]] for i in items)
        choice = rng.choice([i for i in items if self.uses[self._index[id(i)]] == fewest])
        self.uses[self._index[id(choice)]] += 1
        return choice

    def sample(self, rng: random.Random, fold: int, k: int) -> list[Any]:
        items = self.by_fold[fold]
        return rng.sample(items, min(k, len(items)))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text_of(item: Any) -> str:
    return item["body"] if isinstance(item, dict) else str(item)


@dataclass
class Area:
    key: str
    service: str
    mailbox: str
    pools: dict[str, dict[str, Pool]] = field(default_factory=dict)  # lang -> kind -> pool

    def pool(self, lang: str, kind: str) -> Pool | None:
        return self.pools.get(lang, {}).get(kind)


def _load_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def load_areas() -> list[Area]:
    areas: list[Area] = []
    for path in sorted(FRAGMENTS.glob("*.toml")):
        if path.stem in ("gemensamt", "helbrev"):
            continue
        data = _load_toml(path)
        area = Area(key=path.stem, service=data["service"], mailbox=data["mailbox"])
        for lang in ("sv", "en"):
            for kind, items in data.get(lang, {}).items():
                area.pools.setdefault(lang, {})[kind] = Pool(f"{path.stem}.{lang}.{kind}", items)
        areas.append(area)
    return areas


class Shared:
    """The pools every area uses (``gemensamt.toml``)."""

    def __init__(self, data: dict[str, Any]):
        self.fixed: dict[str, dict[str, list[Any]]] = {}
        self.pools: dict[str, dict[str, Pool]] = {}
        for lang in ("sv", "en"):
            for kind, items in data[lang].items():
                if kind in data["fixed"]:
                    self.fixed.setdefault(lang, {})[kind] = items
                else:
                    self.pools.setdefault(lang, {})[kind] = Pool(f"gemensamt.{lang}.{kind}", items)
        self.names: dict[str, list[str]] = data["names"]

    def pool(self, lang: str, kind: str) -> Pool:
        return self.pools[lang][kind]

    def any(self, rng: random.Random, lang: str, kind: str) -> Any:
        return rng.choice(self.fixed[lang][kind])


# --------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str
    phone: str
    street: str
    postal: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


_ASCII = str.maketrans("åäöéüÅÄÖÉÜ", "aaoeuAAOEU")
_MAIL_DOMAINS = (
    "example.net",
    "example.com",
    "example.org",
    "exempelpost.se",
    "mejl.example",
    "bredband.example",
)


def make_person(rng: random.Random, shared: Shared, lang: str) -> Person:
    names = shared.names
    if lang == "en":
        first, last = rng.choice(names["en_first"]), rng.choice(names["en_last"])
    else:
        first, last = rng.choice(names["sv_first"]), rng.choice(names["sv_last"])
    local = rng.choice(
        (
            f"{first}.{last}",
            f"{first}{last}",
            f"{first[0]}{last}",
            f"{first}.{last}{rng.randint(1, 99)}",
            f"{first}{rng.randint(40, 99)}",
        )
    )
    local = re.sub(r"[^a-z0-9.]", "", local.lower().translate(_ASCII))
    street = f"{rng.choice(names['streets'])} {rng.randint(1, 60)}"
    town = rng.choice(names["towns"])
    return Person(
        first=first,
        last=last,
        email=f"{local}@{rng.choice(_MAIL_DOMAINS)}",
        phone=rng.choice(
            (
                f"070-174 06 {rng.randint(10, 99)}",
                f"070-1740{rng.randint(600, 699)}",
                f"+46 70 174 06 {rng.randint(10, 99)}",
            )
        ),
        street=street,
        postal=f"{rng.randint(120, 129)} {rng.randint(30, 79)} {town}",
    )


def fake_personnummer(rng: random.Random) -> str:
    year = rng.randint(1930, 2005)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    tail = rng.randint(1000, 9999)
    if rng.random() < 0.5:
        return f"{year}{month:02d}{day:02d}-{tail}"
    return f"{year % 100:02d}{month:02d}{day:02d}-{tail}"


# --------------------------------------------------------------------------- text helpers

_FILLERS = {
    "gata": "streets",
    "ort": "towns",
    "skola": "schools",
    "förskola": "preschools",
    "boende": "care_homes",
    "park": "parks",
    "dag": "days_sv",
    "day": "days_en",
}


def fill(text: str, rng: random.Random, shared: Shared) -> str:
    def repl(match: re.Match[str]) -> str:
        key = match[1]
        return rng.choice(shared.names[_FILLERS[key]]) if key in _FILLERS else match[0]

    return re.sub(r"\{(\w+)\}", repl, text)


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def shout(text: str, rng: random.Random) -> str:
    """An angry writer: capitals for one sentence, exclamation marks for full stops."""
    parts = sentences(text)
    if not parts:
        return text
    i = rng.randrange(len(parts))
    parts[i] = parts[i].upper()
    return " ".join(re.sub(r"\.$", rng.choice(("!", "!!", "!!!")), p) for p in parts)


def ramble(text: str, rng: random.Random) -> str:
    """A rambling writer: lower case, sentences run together with 'och' and 'så'."""
    out = []
    for part in sentences(text):
        part = part[0].lower() + part[1:] if part else part
        if rng.random() < 0.5 and part.endswith("."):
            part = part[:-1] + rng.choice((" och", " så", ",", " alltså", " men"))
        out.append(part)
    return " ".join(out)


def no_swedish_letters(text: str) -> str:
    return text.translate(str.maketrans("åäöÅÄÖ", "aaoAAO"))


def typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(2):
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 4 and w.isalpha():
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def join(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


# --------------------------------------------------------------------------- drafts


@dataclass
class Draft:
    """A composed message before it is sent by a channel."""

    label: str
    lang: str
    area: Area
    tone: str
    kind: str
    subject: str
    core: str
    """The citizen's statement, without greeting and sign-off (what a web form carries)."""
    formal: bool = False
    followup: bool = False


# --------------------------------------------------------------------------- channels


def greeting(rng: random.Random, shared: Shared, lang: str, formal: bool) -> str:
    kind = "greetings_formal" if formal else "greetings"
    return shared.any(rng, lang, kind)


def signature(
    rng: random.Random, shared: Shared, person: Person, lang: str, *, personnummer: str | None
) -> str:
    lines = [shared.any(rng, lang, "signoffs")]
    name = rng.choice((person.name, person.name, person.first, f"/{person.first}"))
    lines.append(name)
    r = rng.random()
    if r < 0.3:
        lines.append(("Tel. " if lang == "sv" else "Phone: ") + person.phone)
    elif r < 0.42:
        lines += [person.street, person.postal]
    elif r < 0.5:
        lines += [person.street, person.postal, person.phone]
    if personnummer:
        lines.append(rng.choice(("Personnummer: ", "Pnr ", "Personnr: ")) + personnummer)
    if rng.random() < 0.05:
        lines.append("")
        lines.append("Skickat från min iPhone" if lang == "sv" else "Sent from my iPhone")
    return "\n".join(line for line in lines if line is not None)


def letter(
    rng: random.Random,
    shared: Shared,
    draft: Draft,
    person: Person,
    personnummer: str | None,
) -> str:
    core = draft.core
    if personnummer and rng.random() < 0.4:
        mention = shared.any(rng, draft.lang, "personnummer_mentions").replace(
            "{pnr}", personnummer
        )
        core = join(core, mention)
        personnummer = None
    parts = []
    if not (draft.tone == "kort" and rng.random() < 0.5):
        parts.append(greeting(rng, shared, draft.lang, draft.formal))
    parts.append(_paragraphs(core, rng))
    if not (draft.tone == "kort" and rng.random() < 0.3):
        parts.append(signature(rng, shared, person, draft.lang, personnummer=personnummer))
    else:
        parts.append(person.first)
    return "\n\n".join(p for p in parts if p)


def _paragraphs(text: str, rng: random.Random) -> str:
    parts = sentences(text)
    if len(parts) <= 2:
        return text
    out: list[str] = []
    current: list[str] = []
    for part in parts:
        current.append(part)
        if len(current) >= 2 and rng.random() < 0.5:
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return "\n\n".join(out)


FORM_TYPES = {
    "complaint": ("Klagomål",),
    "förslag": ("Synpunkt", "Förslag", "Synpunkt"),
    "beröm": ("Beröm", "Synpunkt"),
    # an angry view of a decision is often sent as a complaint
    "skarp": ("Synpunkt", "Synpunkt", "Klagomål"),
    "other": ("Fråga", "Övrigt", "Fråga"),
    "felanmälan": ("Felanmälan", "Felanmälan", "Övrigt"),
}
ALL_FORM_TYPES = ("Klagomål", "Synpunkt", "Fråga", "Övrigt", "Beröm", "Förslag", "Felanmälan")


def web_form(
    rng: random.Random, shared: Shared, draft: Draft, person: Person, anonymous: bool
) -> tuple[str, str, str]:
    """(sender, subject, body) of a web-form submission."""
    key = draft.kind if draft.label == "opinion" or draft.kind == "felanmälan" else draft.label
    # Citizens pick the wrong case type now and then: one in five picks at random.
    form_type = rng.choice(FORM_TYPES[key] if rng.random() < 0.8 else ALL_FORM_TYPES)
    if draft.lang == "en" and rng.random() < 0.5:
        lines = [
            f"Type: {form_type}",
            f"Service: {draft.area.service}",
            f"Name: {'' if anonymous else person.name}",
            f"Email: {'' if anonymous else person.email}",
            f"Phone: {'' if anonymous or rng.random() < 0.5 else person.phone}",
            f"Message: {draft.core}",
        ]
    else:
        lines = [
            f"Ärendetyp: {form_type}",
            f"Verksamhet: {draft.area.service.capitalize()}",
            f"Namn: {'' if anonymous else person.name}",
            f"E-post: {'' if anonymous else person.email}",
            f"Telefon: {'' if anonymous or rng.random() < 0.5 else person.phone}",
            f"Meddelande: {draft.core}",
        ]
    sender = shared.any(rng, "sv", "gateways")
    subject = shared.any(rng, "sv", "gateway_subjects")
    return sender, subject, "\n".join(line.rstrip() for line in lines) + "\n"


def staff_member(rng: random.Random, shared: Shared) -> tuple[str, str]:
    first, last = rng.choice(shared.names["sv_first"]), rng.choice(shared.names["sv_last"])
    address = re.sub(r"[^a-z.]", "", f"{first}.{last}".lower().translate(_ASCII))
    return f"{first} {last}", f"{address}@exempel.se"


INLINE_STYLES = ("outlook-sv", "outlook-en", "outlook-web", "gmail-sv", "gmail-en", "apple-sv",
                 "apple-en", "thunderbird-sv")  # fmt: skip


def inline_forward(
    rng: random.Random, style: str, sender: str, to: str, subject: str, body: str
) -> str:
    date_sv = "den 20 november 2026 14:32"
    date_en = "Friday, November 20, 2026 2:32 PM"
    if style == "outlook-sv":
        head = (
            "-----Ursprungligt meddelande-----\n"
            f"Från: {sender}\nSkickat: {date_sv}\nTill: {to}\nÄmne: {subject}"
        )
    elif style == "outlook-en":
        head = (
            "-----Original Message-----\n"
            f"From: {sender}\nSent: {date_en}\nTo: {to}\nSubject: {subject}"
        )
    elif style == "outlook-web":
        name, _, addr = sender.partition(" <")
        head = (
            "________________________________\n"
            f"Från: {name} <{addr.rstrip('>')}>\nSkickat: fredag, 20 november 2026 14:32\n"
            f"Till: {to}\nÄmne: {subject}"
        )
    elif style == "gmail-sv":
        head = (
            "---------- Vidarebefordrat meddelande ---------\n"
            f"Från: {sender}\nDate: fre 20 nov. 2026 kl 14:32\nSubject: {subject}\nTo: {to}"
        )
    elif style == "gmail-en":
        head = (
            "---------- Forwarded message ---------\n"
            f"From: {sender}\nDate: Fri, Nov 20, 2026 at 2:32 PM\nSubject: {subject}\nTo: {to}"
        )
    elif style == "apple-sv":
        head = (
            "Början på vidarebefordrat brev:\n\n"
            f"Från: {sender}\nÄmne: {subject}\nDatum: 20 november 2026 14:32:10 CET\nTill: {to}"
        )
    elif style == "apple-en":
        head = (
            "Begin forwarded message:\n\n"
            f"From: {sender}\nSubject: {subject}\nDate: 20 November 2026 at 14:32:10 CET\nTo: {to}"
        )
    else:  # thunderbird-sv
        head = (
            "-------- Vidarebefordrat meddelande --------\n"
            f"Ämne: \t{subject}\nDatum: \tFri, 20 Nov 2026 14:32:10 +0100\nFrån: \t{sender}\n"
            f"Till: \t{to}"
        )
    return f"{head}\n\n{body}"
