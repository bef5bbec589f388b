"""Against a real Public 360 (a test installation): opt-in.

Runs only when ``POSTVAKT_LIVE_P360`` names a TOML file with a ``[public360]`` table — the
keys of ``[registry.public360]``, plus ``collective_number`` if you want one — and the
environment variable its ``authkey_env`` names holds the key.  It creates one case with one
document and a small text file, then delivers the same document again as after a lost answer
(it must find all three, not make them again); remove them in Public 360 afterwards.
"""

from __future__ import annotations

import os
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from postvakt.clock import STOCKHOLM
from postvakt.config.registry import Public360Config
from postvakt.diary.base import Attachment, CaseFacts, DiaryDocument, DocumentKind
from postvakt.diary.public360 import Public360Diary

SETTINGS = os.environ.get("POSTVAKT_LIVE_P360", "")

WHY = "POSTVAKT_LIVE_P360 names no settings file: no live Public 360 to test against"
pytestmark = pytest.mark.skipif(not os.environ.get("POSTVAKT_LIVE_P360"), reason=WHY)


def test_a_case_a_document_and_a_file_in_a_real_public_360() -> None:
    table: dict[str, Any] = dict(tomllib.loads(Path(SETTINGS).read_text("utf-8"))["public360"])
    collective = table.pop("collective_number", None)
    settings = Public360Config(**table)
    now = datetime.now(STOCKHOLM)
    case = CaseFacts(
        case_id=0,
        reference=f"PV-TEST-{now:%Y%m%d%H%M%S}",
        diary_number=None,
        kind="opinion",
        heading=f"Postvakts test av Public 360-kopplingen {now:%Y-%m-%d %H:%M}",
        summary="Ett test; ärendet kan tas bort.",
        anonymous=False,
        individual_care=False,
        received_at=now,
        registered_at=now,
    )
    text = b"Postvakt testar kopplingen till Public 360. Handlingen kan tas bort.\n"
    document = DiaryDocument(
        key=f"live-test/{now:%Y%m%d%H%M%S}",
        kind=DocumentKind.INCOMING,
        title="Test från Postvakt",
        date=now,
        text="Testhandling från Postvakts live-test.",
        case=case,
        attachments=(Attachment("postvakt-test.txt", "text/plain", text),),
    )
    progress: dict[str, Any] = {}

    delivered = Public360Diary(settings, os.environ, collective_number=collective).deliver(
        document, progress
    )

    assert delivered.diary_number
    assert delivered.external_id
    assert progress == {
        "case_number": delivered.diary_number,
        "document_number": delivered.external_id,
        "files": ["postvakt-test.txt"],
    }

    # The look-ups a lost answer needs: this installation finds the case by its ExternalId,
    # the document by its notes' last line and the file by its title, and makes none again.
    again = Public360Diary(settings, os.environ, collective_number=collective).deliver(
        document, {"unsure": True}
    )

    assert again == delivered
