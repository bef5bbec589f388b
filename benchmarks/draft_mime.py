"""Writing a draft's bytes (build_draft_mime): microseconds per draft, as a ratio to floors
measured in the same run.

Prints figures; not a test.  The drafts are the ones the intake writes: a reply with the
acknowledgment letter rendered by Postvakt's own template (a .docx of about 10 KB), Swedish
names and subject, threading headers; plus the same without the letter, and one with a
long subject and a long file name.  Floors, each what the draft's bytes cannot cost less
than or what a reader pays for them:

- base64 of the attachment alone (``base64.encodebytes``, the stdlib's MIME base64);
- ``email.message_from_bytes`` of the finished draft with the compat32 policy (parsing
  only, nothing decoded).

For comparison, the compat32 builder it replaced (``old_build_draft_mime``, the reference
kept in tests/mailbox/test_draft_mime.py).  Each figure is the best of several rounds (what
the code costs) and the median (what a busy machine gives).

    .venv/bin/python benchmarks/draft_mime.py [N] [ROUNDS]
"""

from __future__ import annotations

import base64
import email
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the reference builder lives in the tests

from tests.mailbox.test_draft_mime import old_build_draft_mime  # noqa: E402

from postvakt.mailbox.base import DraftAttachment, DraftReply, build_draft_mime  # noqa: E402
from postvakt.templates import LETTERS, LetterRenderer  # noqa: E402

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def letter() -> bytes:
    context = {name: f"värde {name}" for name in LETTERS["acknowledgment"].variables}
    context["number"] = "KS 2026/17"
    context["recipient_name"] = "Göran Sjöberg"
    return LetterRenderer().render("acknowledgment", context)


def drafts() -> dict[str, DraftReply]:
    reply = DraftReply(
        message_id="postvakt.reply.0123456789abcdef01234567@testby.se",
        from_address="registrator@testby.se",
        from_name="Kontaktcenter Testby kommun",
        to_address="goran.sjoberg@telia.com",
        to_name="Göran Sjöberg",
        subject="SV: Snöröjningen på Björkvägen",
        text=(
            "Hej Göran!\n\nVi har tagit emot ditt klagomål och registrerat det som "
            "KS 2026/17. Bekräftelsen är bifogad.\n\nMed vänliga hälsningar\n"
            "Kontaktcenter Testby kommun\n"
        ),
        in_reply_to="5A0C3E9B41D24F6E8B7A2C1D0E9F8A7B@telia.com",
        references=("earlier.1@telia.com",),
        attachments=(DraftAttachment("Mottagningsbekräftelse KS 2026-17.docx", DOCX, letter()),),
        date=datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("Europe/Stockholm")),
    )
    long_one = replace(
        reply,
        subject="SV: " + "Synpunkt på gatubelysningen längs Storgatan och Åvägen " * 6,
        attachments=(
            replace(reply.attachments[0], filename="Mottagningsbekräftelse " + "ä" * 80 + ".docx"),
        ),
    )
    return {
        "reply with letter": reply,
        "text only": replace(reply, attachments=()),
        "long subject and file name": long_one,
    }


def timed(work: Callable[[], object], n: int, rounds: int) -> tuple[float, float]:
    """(best, median) microseconds per call over ``rounds`` rounds of ``n`` calls."""
    per_call = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(n):
            work()
        per_call.append((time.perf_counter() - started) / n * 1e6)
    return min(per_call), statistics.median(per_call)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    print(f"{n} drafts a round, {rounds} rounds; load average {os.getloadavg()[0]:.2f}")
    print("µs per draft, best (median)")
    for name, draft in drafts().items():
        raw = build_draft_mime(draft)
        data = draft.attachments[0].data if draft.attachments else b""
        figures = {
            "build_draft_mime": timed(lambda d=draft: build_draft_mime(d), n, rounds),
            "old compat32 builder": timed(lambda d=draft: old_build_draft_mime(d), n, rounds),
            "floor: base64 of the attachment": timed(
                lambda b=data: base64.encodebytes(b), n, rounds
            ),
            "floor: message_from_bytes": timed(
                lambda r=raw: email.message_from_bytes(r), n, rounds
            ),
        }
        print(f"\n{name} ({len(raw)} bytes, attachment {len(data)} bytes)")
        new_best = figures["build_draft_mime"][0]
        for label, (best, median) in figures.items():
            if label.startswith("floor"):
                ratio = f"  build_draft_mime = {new_best / best:.2f}x this floor"
            elif label.startswith("old"):
                ratio = f"  = {best / new_best:.1f}x build_draft_mime"
            else:
                ratio = ""
            print(f"  {label:34} {best:8.1f} ({median:.1f}){ratio}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
