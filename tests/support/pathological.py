"""Messages shaped to make a text scanner backtrack: huge bodies and long runs without spaces.

Each shape is a real RFC 5322 message from a citizen whose first line is a complaint, so it
goes the whole way (screen, classify, contact, register, draft).  Used by the test that bounds
their time (tests/test_intake_pathological.py) and by ``benchmarks/pathological.py``.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["COMPLAINT_LINE", "SHAPES", "message"]

COMPLAINT_LINE = "Jag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar."
LINE = 200_000
"""Characters in each long line without spaces."""


def message(body: str, *, html: bool = False, name: str = "x", extra: str = "") -> bytes:
    """A citizen's message with ``body`` as its only text part (8-bit, lines as given);
    ``extra`` is more header lines (each ending in CRLF)."""
    subtype = "html" if html else "plain"
    head = (
        extra + "From: Karin Ek <karin.ek@example.net>\r\n"
        "To: kontakt@testby.se\r\n"
        "Subject: Klagomål på snöröjningen\r\n"
        "Date: Mon, 23 Nov 2026 09:15:00 +0100\r\n"
        f"Message-ID: <pathological-{name}@example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        f"Content-Type: text/{subtype}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
    )
    return head.encode() + body.replace("\n", "\r\n").encode("utf-8")


def _prose_8mb() -> str:
    # Ordinary lines with what the scanners look for: addresses, phone numbers, numbers,
    # a quote, a sign-off.
    paragraph = (
        "Det är fortfarande inte plogat och jag är mycket missnöjd med snöröjningen.\n"
        "Jag skrev till kontakt@testby.se och ringde 070-123 45 67 men ingen svarade.\n"
        "> Den 3 nov. 2026 kl 10:12 skrev Kontaktcenter <kontakt@testby.se>:\n"
        "> Tack för ditt meddelande, vi återkommer.\n"
        "Mitt ärende gäller Björkvägen 12, 123 45 Testby, och personnummer 19121212-1212.\n"
        "Med vänlig hälsning\nKarin Ek\n\n"
    )
    return COMPLAINT_LINE + "\n\n" + paragraph * (8_000_000 // len(paragraph))


def _line(unit: str) -> Callable[[], str]:
    return lambda: COMPLAINT_LINE + "\n\n" + unit * (LINE // len(unit)) + "\n"


def _deep_quoting() -> str:
    # 2,000 lines quoted 1 to 2,000 deep, then one line quoted 100,000 deep.
    lines = [">" * depth + " tidigare svar" for depth in range(1, 2001)]
    return COMPLAINT_LINE + "\n\n" + "\n".join(lines) + "\n" + "> " * 100_000 + "slut\n"


def _html_8mb() -> str:
    paragraph = (
        "<p>Det är <b>fortfarande</b> inte plogat och jag är mycket missnöjd med "
        '<a href="https://testby.se/snorojning">snöröjningen</a>.</p>\n'
    )
    return "<html><body><p>" + COMPLAINT_LINE + "</p>" + paragraph * (8_000_000 // len(paragraph))


def _nested_html() -> str:
    return (
        "<html><body><p>" + COMPLAINT_LINE + "</p>"
        + "<div>" * 100_000 + "djupt" + "</div>" * 100_000
        + "</body></html>"
    )  # fmt: skip


SHAPES: dict[str, Callable[[], bytes]] = {
    "8 MB body": lambda: message(_prose_8mb(), name="8mb"),
    "200,000 letters": lambda: message(_line("a")(), name="letters"),
    "200,000 × 'a@'": lambda: message(_line("a@")(), name="at"),
    "200,000 dots": lambda: message(_line(".")(), name="dots"),
    "200,000 × 'a.'": lambda: message(_line("a.")(), name="adots"),
    "200,000 '@'": lambda: message(_line("@")(), name="many-at"),
    "200,000 × 'a@b.c '": lambda: message(_line("a@b.c ")(), name="addresses"),
    "200,000 digits": lambda: message(_line("1")(), name="digits"),
    "200,000 × '12-'": lambda: message(_line("12-")(), name="digit-dash"),
    "200,000 × '0 '": lambda: message(_line("0 ")(), name="digit-space"),
    "200,000 spaces": lambda: message(COMPLAINT_LINE + "\n" + " " * LINE + "x\n", name="spaces"),
    "200,000 × 'Aa '": lambda: message(_line("Aa ")(), name="capitals"),
    "deep quoting": lambda: message(_deep_quoting(), name="quoting"),
    "8 MB HTML body": lambda: message(_html_8mb(), html=True, name="8mb-html"),
    "HTML, 100,000 nested tags": lambda: message(_nested_html(), html=True, name="html"),
    "200,000 '<'": lambda: message(_line("<")(), html=True, name="angles"),
    "References: 200,000 letters": lambda: message(
        COMPLAINT_LINE + "\n", name="references", extra="References: " + "a" * LINE + "\r\n"
    ),
    "Subject: 200,000 × 'a '": lambda: message(
        COMPLAINT_LINE + "\n", name="subject", extra="Subject: " + "a " * (LINE // 2) + "\r\n"
    ),
}
"""Name -> the message's bytes (built when called: some are megabytes)."""


def run_pass(config_path: str) -> float:
    """Deliver every shape to the workspace's Maildir and time one pass (in seconds).

    The model and the letter template are loaded by a small message first, so the time is
    the shapes' alone.  Run as ``python -m tests.support.pathological CONFIG`` by the test,
    in a process of its own that it can stop.
    """
    import time
    from datetime import datetime
    from pathlib import Path

    from postvakt.clock import STOCKHOLM, fixed_clock
    from postvakt.config import load_config
    from postvakt.mailbox.maildir import deliver
    from postvakt.service import Service

    config = load_config(Path(config_path))
    maildir = config.path("mail/kontakt")
    clock = fixed_clock(datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM))
    with Service(config, clock=clock).open() as service:
        deliver(maildir, message(COMPLAINT_LINE + "\n", name="warm-up"), name="warm-up")
        service.run_once()
        for n, shape in enumerate(SHAPES.values()):
            deliver(maildir, shape(), name=f"shape-{n:02d}")
        began = time.perf_counter()
        service.run_once()
        return time.perf_counter() - began


if __name__ == "__main__":
    import sys

    print(f"{run_pass(sys.argv[1]):.3f}")
