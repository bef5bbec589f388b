"""Letter render speed: one acknowledgment letter (.docx) per registered case, in ms a letter,
against floors measured in the same run.

Prints figures; not a test.  The letters are the shipped acknowledgment template
(``mottagningsbekraftelse.docx``) filled with realistic values: Swedish names and subjects,
some with quotes, ``&`` or a line break, some without a handler's title or phone — cycled to
N letters, the same every run.  Measured one letter at a time on one core:

- **floor, Jinja**: the bare Jinja render of the template's body (the compiled body template
  with the same values), without anything docxtpl or Word needs afterwards;
- **floor, Jinja + zipfile**: that render, then the stdlib's ``zipfile`` writing the rendered
  document.xml alone (the one part that changes per letter, deflate level 1) into a new zip:
  what any renderer of this letter must do at least;
- **CompiledTemplate.render**: the letter as Postvakt renders it, bytes of a .docx;
- **LetterRenderer.render**: the same through the renderer the intake calls (checks included);
- **docxtpl**: ``DocxTemplate(path).render(context)`` + ``save``, what each letter would cost
  without a compiled template (fewer letters: it is slow).

Each figure is the best and the median of several rounds: the best says what the code costs,
the median what a busy machine gives.

    .venv/bin/python benchmarks/letter_render.py [N] [ROUNDS]
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from typing import Any

import jinja2

NAMES = ["Göran Sjöberg", "Åsa Öberg", "Mats & Eva Lindqvist", "Leila Haddad", "Per-Åke Ström"]
SUBJECTS = [
    "Snöröjningen på Björkvägen",
    'Klagomål på "förskolans" lunch',
    "Buller från bygget på Ängsgatan\nfortfarande ingen åtgärd",
    "Synpunkt: gatubelysning & cykelväg vid Öster",
    "Ang. bygglov 2026-1182 – fråga om handläggningstid",
]
HANDLERS = [
    ("Anna Berg", "Handläggare", "0123-456 78"),
    ("Kontaktcenter", "", ""),
    ("Åke Nyström", "Enhetschef, gata/park", "0123-455 10"),
]
KINDS = [("complaint", "ditt klagomål"), ("opinion", "din synpunkt"), ("praise", "ditt beröm")]


def contexts(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        name, title, phone = HANDLERS[i % len(HANDLERS)]
        kind, phrase = KINDS[i % len(KINDS)]
        out.append(
            {
                "organisation": "Örebro kommun",
                "unit": "Tekniska förvaltningen",
                "date": "23 november 2026",
                "number": f"KS 2026/{1000 + i}",
                "handler_name": name,
                "handler_title": title,
                "handler_email": "tekniska@orebro.se",
                "handler_phone": phone,
                "recipient_name": NAMES[i % len(NAMES)],
                "kind_phrase": phrase,
                "received_date": "22 november 2026",
                "heading": SUBJECTS[i % len(SUBJECTS)],
                "answer_due": "7 december 2026",
                "summary": SUBJECTS[(i + 2) % len(SUBJECTS)],
                "letter_kind": kind,
            }
        )
    return out


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"CPU {cpu}"
    return "not pinned (no sched_setaffinity here)"


def rounds(work: Callable[[Any], object], items: list[Any], count: int) -> list[float]:
    """Milliseconds a letter for each round."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        for item in items:
            work(item)
        times.append((time.perf_counter() - started) * 1000 / len(items))
    return times


def main(n: int, count: int) -> None:
    where = pin_to_one_core()
    from docxtpl import DocxTemplate

    from postvakt.templates import SHIPPED, LetterRenderer
    from postvakt.templates.compiled import CompiledTemplate

    path = SHIPPED / "mottagningsbekraftelse.docx"
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    compiled = CompiledTemplate(path, env)
    renderer = LetterRenderer()
    letters = contexts(n)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"Postvakt letter render — Python {sys.version.split()[0]}, pinned to {where}, "
        f"load {load:.2f}; {path.name}, {n} letters a round, {count} rounds"
    )

    def by_zipfile(context: dict[str, Any]) -> bytes:
        document = compiled._body.render(context).encode("utf-8")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
            package.writestr("word/document.xml", document)
        return buffer.getvalue()

    def by_docxtpl(context: dict[str, Any]) -> bytes:
        reference = DocxTemplate(str(path))
        reference.render(context, jinja_env=jinja2.Environment(autoescape=True), autoescape=True)
        out = io.BytesIO()
        reference.save(out)
        return out.getvalue()

    for context in letters:  # warm-up: caches, the renderer's compiled template
        compiled.render(context)
        renderer.render("acknowledgment", context)

    figures: dict[str, list[float]] = {}

    def report(label: str, times: list[float]) -> None:
        figures[label] = times
        print(
            f"{label:<34} best {min(times):7.3f} ms   median {statistics.median(times):7.3f} ms"
            f"   ({1000 / min(times):>7.0f} letters/s)"
        )

    jinja_floor = "floor, Jinja (body only)"
    zip_floor = "floor, Jinja + zipfile"
    report(jinja_floor, rounds(compiled._body.render, letters, count))
    report(zip_floor, rounds(by_zipfile, letters, count))
    report("CompiledTemplate.render", rounds(compiled.render, letters, count))
    report(
        "LetterRenderer.render",
        rounds(lambda c: renderer.render("acknowledgment", c), letters, count),
    )
    few = letters[: max(3, n // 50)]
    report("docxtpl render + save", rounds(by_docxtpl, few, max(2, count // 2)))

    best = {label: min(times) for label, times in figures.items()}
    ours = best["CompiledTemplate.render"]
    print(
        f"CompiledTemplate.render: {ours / best[jinja_floor]:.1f}x the Jinja floor, "
        f"{ours / best[zip_floor]:.1f}x the Jinja + zipfile floor, "
        f"{best['docxtpl render + save'] / ours:.0f}x faster than docxtpl"
    )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 2000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 7,
    )
