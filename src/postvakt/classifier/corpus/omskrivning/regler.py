"""Paraphrase building blocks for make_omskrivning.py: clauses, noise, people, dates.

A :class:`Clause` holds a Swedish statement as subject, finite verb, rest and a movable
adverbial, so that word order can be rewritten by rule: main clause, fronted adverbial
(V2 inversion), why-question, subordinate clause (sentence adverbs before the verb) and a
learner's order.  The noise rules rewrite spelling (no å/ä/ö, typos, SMS style, dialect).
"""

from __future__ import annotations

import random
import re
import string
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any

CET = timezone(timedelta(hours=1))
START = datetime(2026, 11, 2, 7, 0, tzinfo=CET)

# Sentence adverbials that stand before the finite verb in a subordinate clause.
SENTENCE_ADVERBS = {"inte", "aldrig", "fortfarande", "ännu", "alltid", "ofta", "redan"}
SENTENCE_ADVERBS |= {"knappt", "sällan", "längre", "heller", "ens", "bara", "ju", "nästan"}
MONTHS = "januari februari mars april maj juni juli augusti september oktober november december"
DAYS = ["mån", "tis", "ons", "tors", "fre", "lör", "sön"]
EMOJI = ["😡", "🙄", "😤", "😞", "🤬", "😒"]
GLAD_EMOJI = ["👍", "🙏", "❤️", "😊", "🌟"]


class Ctx(dict):
    """Frame fields; a field the seed lacks formats as empty."""

    def __missing__(self, key: str) -> str:
        return ""


def fields_of(frame: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(frame) if name]


def usable(frame: str, ctx: Ctx) -> bool:
    """A frame may leave out a trailing context field, never one it starts with or needs."""
    optional = {"extra", "extra_en", "detail", "why", "en_why"}
    for i, name in enumerate(fields_of(frame)):
        if not ctx.get(name) and (name not in optional or i == 0):
            return False
    return True


def tidy(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" +([.,?!:])", r"\1", text)
    text = re.sub(r"(?<!\.)\.\.(?!\.)", ".", text)
    text = re.sub(r"([?!])\.", r"\1", text)
    return "\n".join(line.strip() for line in text.strip().split("\n"))


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def fill(frame: str, ctx: Ctx) -> str:
    return tidy(frame.format_map(ctx))


class Clause:
    """A Swedish statement as subject, finite verb, rest and a movable adverbial."""

    def __init__(self, parts: list[str]) -> None:
        self.subj, self.fin, self.rest = parts[0], parts[1], parts[2]
        self.adv = parts[3] if len(parts) > 3 else ""

    def _neg_split(self) -> tuple[str, str]:
        words = self.rest.split()
        i = 0
        while i < len(words) and words[i] in SENTENCE_ADVERBS:
            i += 1
        return " ".join(words[:i]), " ".join(words[i:])

    def main(self, *, topicalise: bool = False) -> str:
        if topicalise and self.adv:  # V2: the fronted adverbial pushes the subject after the verb
            return tidy(f"{self.adv} {self.fin} {self.subj} {self.rest}")
        return tidy(f"{self.subj} {self.fin} {self.rest} {self.adv}")

    def sub(self) -> str:
        neg, rest = self._neg_split()
        return tidy(f"{self.subj} {neg} {self.fin} {rest} {self.adv}")

    def inverted(self) -> str:
        return tidy(f"{self.fin} {self.subj} {self.rest} {self.adv}")

    def l2_main(self) -> str:
        """A learner's order: no inversion after a fronted adverbial, or BIFF misapplied."""
        if self.adv:
            return tidy(f"{self.adv} {self.subj} {self.fin} {self.rest}")
        return self.sub()


# ---------------------------------------------------------------- surface noise rules


def strip_accents(text: str) -> str:
    return text.translate(str.maketrans("åäöÅÄÖé", "aaoAAOe"))


def substitute(text: str, pairs: list[list[str]], rng: random.Random, limit: int = 9) -> str:
    """Replace whole words or phrases (keeping a leading capital) by the first alternative
    that fits, at most ``limit`` of the listed entries, in a seeded random order."""
    entries = [p for p in pairs if re.search(rf"\b{re.escape(p[0])}\b", text, re.IGNORECASE)]
    rng.shuffle(entries)
    for entry in entries[:limit]:
        word, choice = entry[0], rng.choice(entry[1:])

        def repl(m: re.Match[str], choice: str = choice) -> str:
            return cap(choice) if m.group(0)[:1].isupper() else choice

        text = re.sub(rf"\b{re.escape(word)}\b", repl, text, flags=re.IGNORECASE)
    return text


def typos(text: str, rng: random.Random, count: int) -> str:
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    for i in rng.sample(spots, min(count, len(spots))):
        w, k = words[i], rng.randrange(1, len(words[i]) - 2)
        words[i] = rng.choice(
            [w[:k] + w[k] + w[k:], w[:k] + w[k + 1 :], w[:k] + w[k + 1] + w[k] + w[k + 2 :]]
        )
    return " ".join(words)


def lower_all(text: str) -> str:
    return text.lower()


def no_final_stop(text: str) -> str:
    return re.sub(r"\.(\s|$)", r"\1", text)


# ---------------------------------------------------------------- people and dates


def ascii_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def person(rng: random.Random, names: dict[str, Any]) -> dict[str, str]:
    first, last = rng.choice(names["first"]), rng.choice(names["last"])
    f, la = ascii_name(first), ascii_name(last)
    local = rng.choice(
        [f"{f}.{la}", f"{f}{la}{rng.randint(50, 99)}", f"{f[0]}.{la}", f"{la}.{f}", f"{f}{la[0]}"]
    )
    email = f"{local}@{rng.choice(names['providers'])}"
    return {
        "first": first,
        "name": f"{first} {last}",
        "email": email,
        "from": rng.choice([f"{first} {last} <{email}>", f"{first} {last} <{email}>", email]),
        "phone": f"070-174 06 {rng.randint(0, 99):02d}",
        "street": f"{rng.choice(names['streets'])} {rng.randint(1, 40)}",
    }


def staff(rng: random.Random, names: dict[str, Any]) -> dict[str, str]:
    first, last = rng.choice(names["first"]), rng.choice(names["last"])
    email = f"{ascii_name(first)}.{ascii_name(last)}@exempel.se"
    return {"name": f"{first} {last}", "email": email, "from": f"{first} {last} <{email}>"}


def a_date(rng: random.Random) -> datetime:
    return START + timedelta(days=rng.randint(0, 100), minutes=rng.randint(0, 14 * 60))


def sv_date(d: datetime) -> str:
    return f"den {d.day} {MONTHS.split()[d.month - 1]} {d.year} {d:%H:%M}"


def gmail_date(d: datetime) -> str:
    return f"{DAYS[d.weekday()]} {d.day} {MONTHS.split()[d.month - 1][:3]}. {d.year} kl {d:%H:%M}"


def fake_pnr(rng: random.Random) -> str:
    birth = datetime(1926, 1, 1) + timedelta(days=rng.randint(0, 365 * 20))
    return f"{birth:%Y%m%d}-{rng.randint(1000, 9999)}"
