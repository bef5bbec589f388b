"""Generate the ``omskrivning`` corpus source: hand-written seeds rewritten by rules.

Each seed (``fron_*.toml``) is one short situation with its label, service area and
``individual_care`` flag.  Paraphrase rules rewrite its surface form without changing the
label (a complaint as a why-question, a polite request, irony or resignation, English,
simple or misspelt Swedish, a topicalised adverbial, another voice, synonyms, register),
and wrappers embed it the way mail arrives (a reply quoting the municipality's answer, a
staff forward inline or attached, a web form, greetings, signatures, disclaimers).  The
frames and word lists are in ``mallar.toml``.  Every message of a seed gets the fold
``seed number % 5`` so that paraphrases of one seed never sit on both sides of a split.

    python make_omskrivning.py           # writes omskrivning.jsonl beside this file
    python make_omskrivning.py --check   # exit 1 if the committed file differs
    python make_omskrivning.py --stats   # counts per label, category, channel, rule
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

try:
    from . import regler as rg
    from .omslag import Wrappers
except ImportError:  # run as a script: this folder is on sys.path
    import regler as rg  # type: ignore[no-redef]
    from omslag import Wrappers  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
OUT = HERE / "omskrivning.jsonl"
SOURCE = "omskrivning"
SEED = 162026
# ---------------------------------------------------------------- paraphrase rules


class Writer(Wrappers):
    """Turns seeds into messages; one seeded ``random.Random`` per seed keeps edits local."""

    def __init__(self, frames: dict[str, Any]) -> None:
        self.t = frames
        self.rules: Counter[str] = Counter()
        self.seen: set[str] = set()
        self.k_cycle = 0

    def pick(self, frames: list[str], ctx: rg.Ctx, rng: random.Random) -> str:
        good = [f for f in frames if rg.usable(f, ctx)]
        return rg.fill(rng.choice(good), ctx)

    # -- complaints

    def complaint_ctx(self, s: dict[str, Any], minors: list[str]) -> rg.Ctx:
        clause = rg.Clause(s["alt"] if "voice" in minors else s["core"])
        main = clause.main(topicalise="topicalise" in minors)
        ctx = rg.Ctx({k: v for k, v in s.items() if isinstance(v, str)})
        ctx |= {"stmt": rg.cap(main) + ".", "stmt_l": main + ".", "sub": clause.sub()}
        ctx |= {"why": f"Varför {clause.inverted()}?", "why_l": f"varför {clause.inverted()}?"}
        ctx |= {"inv": clause.inverted(), "l2stmt": rg.cap(clause.l2_main()) + "."}
        ctx["l2why"] = f"Varför {clause.main()}?"
        return ctx

    def complaint(self, s: dict[str, Any], main: str, rng: random.Random) -> dict[str, Any]:
        k = self.t["klagomal"]
        minors = [m for m in ("topicalise", "voice", "synonyms", "register") if self._fits(s, m)]
        if main in ("english", "simple"):
            minors = [m for m in minors if m in ("topicalise", "voice")]
        minors = rng.sample(minors, min(len(minors), rng.choice([0, 1, 1, 2])))
        ctx = self.complaint_ctx(s, minors)
        form = "in-thread" if main == "thread" else main  # the corpus's category names
        out: dict[str, Any] = {"category": f"complaint-{form}", "lang": "sv", "rules": [main]}
        tone = s.get("tone", "irriterad")
        if main == "question":
            text = self.pick(k["question"], ctx, rng) + rng.choice(k["question_tail"])
            tone = rng.choice([tone, "arg", "irriterad"])
        elif main == "request":
            text, tone = self.pick(k["request"], ctx, rng), rng.choice(["saklig", "vädjande"])
        elif main == "understatement":
            kinds = ["ironic_frame", "resigned", "understatement"] + ["irony"] * 2 * bool(
                s.get("irony")
            )
            kind = rng.choice(kinds)
            text = self.pick(k[kind], ctx, rng)
            tone = {"resigned": "uppgiven", "understatement": "dämpad"}.get(kind, "ironisk")
            out["rules"] = [kind]
        elif main == "thread":
            out["channel"] = rng.choice(["reply", "reply", "forward-inline", "forward-attached"])
            frames = k["reply_intro"] if out["channel"] == "reply" else k["plain"][:6]
            text, out["followup"] = self.pick(frames, ctx, rng), out["channel"] == "reply"
            out["rules"] = ["reply-followup" if out["followup"] else "staff-forward"]
        elif main == "english":
            mixed = rng.random() < 0.3
            text = self.pick(k["mixed" if mixed else "english"], ctx, rng)
            out |= {"lang": "en", "rules": ["english-mixed" if mixed else "english"]}
        elif main == "simple":
            text, out["rules"] = self.simple(ctx, rng)
            tone = rng.choice([tone, "arg", "uppgiven", "orolig"])
        else:
            out["category"] = "plain"
            text = self.pick(k["plain"], ctx, rng)
            if len(text) < 160 and rng.random() < 0.2:
                text, tone = text.upper().replace(".", "!!"), "arg"
                out["rules"].append("caps")
        if "synonyms" in minors:
            text = rg.substitute(text, self.t["ord"]["synonymer"], rng, 2)
        if s.get("pnr") and out["lang"] == "sv":  # a relative names the person concerned
            text += " " + s["pnr"].format(pnr=rg.fake_pnr(rng))
            out["personal_data"] = True
        out |= {"text": text, "tone": tone, "register": "register" in minors}
        out["rules"] += [m for m in minors if m != "register"]
        if "register" in minors:
            out["rules"].append(rng.choice(["register-formal", "register-colloquial"]))
        return out

    def _fits(self, s: dict[str, Any], minor: str) -> bool:
        if minor == "topicalise":
            return len(s["core"]) > 3
        if minor == "voice":
            return "alt" in s
        return True

    def simple(self, ctx: rg.Ctx, rng: random.Random) -> tuple[str, list[str]]:
        """Simple, second-language, dialect or misspelt Swedish (one or two noise rules)."""
        k, w = self.t["klagomal"], self.t["ord"]
        kind = rng.choice(["l2", "noaccent", "sms", "dialect", "typos"])
        if kind == "l2":
            text = self.pick(k["l2"], ctx, rng)
            if rng.random() < 0.5:
                return rg.strip_accents(text), ["l2-grammar", "no-accents"]
            return text, ["l2-grammar"]
        base = self.pick(k["plain"][:3] + k["question"][:4], ctx, rng)
        if kind == "noaccent":
            text = rg.strip_accents(base)
            return (
                (text.lower(), ["no-accents", "lowercase"])
                if rng.random() < 0.5
                else (
                    text,
                    ["no-accents"],
                )
            )
        if kind == "sms":
            text = rg.no_final_stop(rg.substitute(base.lower(), w["sms"], rng))
            return text + " " + rng.choice(rg.EMOJI), ["sms-style"]
        if kind == "dialect":
            region = rng.choice(["talsprak", "norrland", "goteborg", "skane"])
            text = rg.substitute(base, w[region] + w["talsprak"] * (region != "talsprak"), rng)
            if region == "goteborg":
                text = "Asså " + text[:1].lower() + text[1:]
            return rg.typos(text, rng, 1), [f"dialect-{region}", "typos"]
        return rg.typos(base, rng, rng.randint(2, 4)).replace(". ", ". ", 1), ["typos"]

    # -- opinions

    def opinion(self, s: dict[str, Any], main: str, rng: random.Random) -> dict[str, Any]:
        o, kind = self.t["synpunkt"], s["kind"]
        ctx = rg.Ctx({k: v for k, v in s.items() if isinstance(v, str)})
        if "s" in s:
            ctx |= {"s_l": s["s"][:1].lower() + s["s"][1:] if s.get("lower", True) else s["s"]}
        if "en" in s:
            ctx["en_l"] = s["en"][:1].lower() + s["en"][1:]
        out: dict[str, Any] = {"category": f"opinion-{kind}", "lang": "sv", "rules": [main]}
        tone = {"sharp": "arg", "proposal": "saklig", "praise": "glad"}[kind]
        frames = o[kind]
        asks = [f for f in frames if "?" in f or "{q}" in f]
        if main == "question":
            frames = asks
        elif main == "statement":
            frames = [f for f in frames if f not in asks]
        if main == "english":
            text, out["lang"] = self.pick(o[f"english_{kind}"], ctx, rng), "en"
        elif main == "thread":
            out["channel"] = rng.choice(["reply", "forward-inline", "forward-attached"])
            text = self.pick(frames, ctx, rng)
            if out["channel"] == "reply":
                text = rg.fill(rng.choice(o["reply_intro"]), rg.Ctx(text=text))
        else:
            text = self.pick(frames, ctx, rng)
            if main == "noise":
                text = rg.strip_accents(text) if rng.random() < 0.5 else rg.typos(text, rng, 2)
                text = text.lower() if rng.random() < 0.4 else text
            elif main == "colloquial":
                text = rg.substitute(text, self.t["ord"]["talsprak"], rng)
                mark = rng.choice(rg.GLAD_EMOJI if kind == "praise" else ["🙄", "!!", "😤"])
                text = text.rstrip(".") + mark if mark == "!!" else f"{text} {mark}"
            elif main == "caps":
                text, tone = text.upper(), "arg"
            elif main == "synonyms":
                text = rg.substitute(text, self.t["ord"]["synonymer"], rng, 2)
        if kind == "sharp" and main != "caps":
            tone = rng.choice(["arg", "irriterad", "upprörd", "bestämd"])
        return out | {"text": text, "tone": s.get("tone", tone), "register": False}

    # -- other

    def other(self, s: dict[str, Any], main: str, rng: random.Random) -> dict[str, Any]:
        a, kind = self.t["annat"], s["kind"]
        ctx = rg.Ctx({k: v for k, v in s.items() if isinstance(v, str)})
        if "q" in s:
            ctx["q_l"] = s["q"][:1].lower() + s["q"][1:]
        out: dict[str, Any] = {"category": s["category"], "lang": "sv", "rules": [main]}
        frames = a[kind]
        if main == "direct":
            frames = [f for f in frames if "{q" in f]
        elif main == "indirect":
            frames = [f for f in frames if "{iq}" in f]
        if main == "english":
            out["lang"] = "en"
            text = s["en"] if kind == "text" else self.pick(a[f"english_{kind}"], ctx, rng)
        elif main == "thread":
            out["channel"] = rng.choice(["reply", "forward-inline", "forward-attached"])
            if kind == "text" or s.get("sender"):
                out["channel"] = rng.choice(["forward-inline", "forward-attached"])
            text = self.pick(frames, ctx, rng)
            if out["channel"] == "reply":
                text = rg.fill(rng.choice(a["reply_intro"]), rg.Ctx(text=text))
        else:
            text = self.pick(frames, ctx, rng)
            if main == "noise":
                text = rg.strip_accents(text) if rng.random() < 0.6 else rg.typos(text, rng, 2)
            elif main == "synonyms":
                text = rg.substitute(text, self.t["ord"]["synonymer"], rng, 3)
            elif main == "colloquial":
                text = rg.substitute(text, self.t["ord"]["talsprak"], rng).lower()
        tone = s.get("tone", "neutral" if kind == "text" else rng.choice(["saklig", "vänlig"]))
        return out | {"text": text, "tone": tone, "register": False}

    # -- choosing rules

    def mains(self, s: dict[str, Any], m: int, rng: random.Random) -> list[str]:
        if s["label"] == "complaint":
            cycle = [
                "question",
                "request",
                "understatement",
                "thread",
                "english",
                "simple",
                "plain",
            ]
            picked = [cycle[(self.k_cycle + i) % 7] for i in range(m)]
            self.k_cycle += m
            return picked
        if s["label"] == "opinion":
            first, rest = (
                "statement",
                {
                    "sharp": ["question", "english", "noise", "thread", "caps", "colloquial"],
                    "proposal": ["question", "english", "noise", "thread", "synonyms"],
                    "praise": ["english", "thread", "colloquial", "noise", "synonyms"],
                }[s["kind"]],
            )
            if s["kind"] == "sharp" and "q" not in s:
                rest = [r for r in rest if r != "question"]
        else:
            first, rest = {
                "question": ("direct", ["indirect", "english", "noise", "thread", "colloquial"]),
                "booking": ("statement", ["english", "noise", "thread", "synonyms"]),
                "text": ("statement", ["synonyms", "thread", "noise", "colloquial"]),
            }[s["kind"]]
            if s["kind"] == "text" and s.get("sender"):
                rest = ["thread", "thread"]
            if "en" in s and s["kind"] == "text":
                rest = [*rest, "english", "english"]
            if "en" not in s and "en_req" not in s:
                rest = [r for r in rest if r != "english"]
        return [first, *rng.sample(rest, min(m - 1, len(rest)))]

    def apply(self, s: dict[str, Any], main: str, rng: random.Random) -> dict[str, Any]:
        if s["label"] == "complaint":
            return self.complaint(s, main, rng)
        if s["label"] == "opinion":
            return self.opinion(s, main, rng)
        return self.other(s, main, rng)


# ---------------------------------------------------------------- the corpus


def load_seeds() -> list[dict[str, Any]]:
    seeds: list[dict[str, Any]] = []
    for path in sorted(HERE.glob("fron_*.toml")):
        seeds += tomllib.loads(path.read_text(encoding="utf-8"))["fro"]
    numbers = [s["n"] for s in seeds]
    assert len(numbers) == len(set(numbers)), "seed numbers must be unique"
    return sorted(seeds, key=lambda s: s["n"])


def key_of(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", rg.strip_accents(text.lower())).strip()


def near(a: set[str], b: set[str]) -> float:
    """Share of words two texts have in common (Jaccard); 1.0 means the same words."""
    return len(a & b) / max(1, len(a | b))


def build() -> tuple[list[dict[str, Any]], Counter[str]]:
    frames = tomllib.loads((HERE / "mallar.toml").read_text(encoding="utf-8"))
    writer, records = Writer(frames), []
    for s in load_seeds():
        rng = random.Random(f"{SEED}:{s['n']}")  # noqa: S311 - reproducible text, not security
        mine: list[tuple[str, set[str]]] = []
        for main in writer.mains(s, s.get("m") or rng.choice([3, 3, 3, 4, 4]), rng):
            for _ in range(15):
                r = writer.apply(s, main, rng)
                # The same text forwarded by staff or quoted in a reply is another message;
                # within one way of arriving, near-copies of a seed's text are not.
                way, words = r.get("channel", ""), set(key_of(r["text"]).split())
                key = f"{way}:{key_of(r['text'])}"
                if (
                    len(r["rules"]) <= 3
                    and key not in writer.seen
                    and all(near(words, o) < 0.9 for w, o in mine if w == way)
                ):
                    break
            else:
                continue
            writer.seen.add(key)
            mine.append((way, words))
            writer.rules.update(r["rules"])
            writer.rules[f"rules-per-message-{len(r['rules'])}"] += 1
            rec = writer.envelope(s, r, rng)
            records.append(
                {
                    "id": f"{SOURCE}-{len(records) + 1:04d}",
                    "source": SOURCE,
                    "fold": s["n"] % 5,
                    "label": s["label"],
                    "category": r["category"],
                    "individual_care": bool(s.get("care", False)),
                    "lang": r["lang"],
                    "service": s["service"],
                    "tone": r["tone"],
                    "channel": rec["channel"],
                    "anonymous": rec["anonymous"],
                    "followup": bool(rec.get("followup", False)),
                    "personal_data": bool(r.get("personal_data")),
                    "from": rec["from"],
                    "to": rec["to"],
                    "subject": rec["subject"],
                    "body": rec["body"],
                    "headers": rec["headers"],
                    "forwarded": rec["forwarded"],
                }
            )
        assert 2 <= len(mine) <= 5, f"seed {s['n']} gave {len(mine)} messages"
    bodies = [(r["subject"], r["body"]) for r in records]
    assert len(bodies) == len(set(bodies)), "two messages are identical"
    return records, writer.rules


def render(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def stats(records: list[dict[str, Any]], rules: Counter[str]) -> str:
    lines = [f"{len(records)} messages"]
    for field in ("label", "category", "channel", "individual_care", "lang", "fold"):
        counts = Counter(str(r[field]) for r in records)
        lines.append(f"{field}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    care_area = {"hemtjänst", "äldreboende", "LSS", "hemsjukvård", "korttidsboende"}
    false_care = sum(r["service"] in care_area and not r["individual_care"] for r in records)
    lines.append(f"care-area messages with individual_care false: {false_care}")
    lines.append("rules: " + ", ".join(f"{k}={v}" for k, v in sorted(rules.items())))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs")
    parser.add_argument("--stats", action="store_true", help="print counts")
    args = parser.parse_args(argv)
    records, rules = build()
    text = render(records)
    if args.stats:
        sys.stdout.write(stats(records, rules))
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            sys.stderr.write(f"{OUT.name} är inaktuell: kör make_omskrivning.py igen.\n")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
