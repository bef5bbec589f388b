"""Real message bytes for the classifier tests: citizens' mail, the demo and the .eml corpus."""

from __future__ import annotations

from pathlib import Path

from postvakt.mailbox.message import IncomingMessage, parse_message
from tests.support.workspace import citizen_mail

ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = ROOT / "src" / "postvakt" / "demo_messages"
EML_DIR = ROOT / "tests" / "data" / "eml"
OWN = ("exempel.se",)


def message(body: str, subject: str = "Hej", **kwargs: object) -> IncomingMessage:
    return parse_message(citizen_mail(body, subject=subject, **kwargs))  # type: ignore[arg-type]


def demo(name: str) -> IncomingMessage:
    return parse_message((DEMO_DIR / name).read_bytes())


def eml(name: str) -> IncomingMessage:
    return parse_message((EML_DIR / name).read_bytes())
