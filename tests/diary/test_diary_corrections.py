"""Review 51: a person's correction reaches the diary — a withdrawal (makulerat, 'annat', a
merge), a change of kind, and a withdrawn case's message registered again — in every diary
backend: a folder (real files), Public 360 (the SIF fake) and the registrar (a real SMTP
server).  The diary is the diary's: it never keeps an open complaint Postvakt no longer
handles, and never two open cases for one e-mail."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from postvakt.diary.public360 import Public360Diary
from postvakt.registry.models import Case
from postvakt.service import Service
from tests.diary.test_outbox import COMPLAINT, KEY, REGISTRAR, at, service_at, workspace_with
from tests.support.p360_fake import P360Fake
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail

BY = "registrator@testby.se"


@pytest.fixture
def folder_ws(db_url: str, tmp_path: Path) -> Iterator[tuple[Workspace, Path]]:
    """A complaint registered and delivered to a folder diary."""
    folder = tmp_path / "diarium"
    ws = workspace_with(tmp_path, db_url, f'\n[registry]\nsystem = "file"\nfolder = "{folder}"\n')
    ws.deliver(citizen_mail(COMPLAINT), when=at(2026, 11, 16, 7))
    with service_at(ws, at(2026, 11, 16, 9)) as service:
        service.run_once()
    yield ws, folder


def _cards(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads((p / "ärende.json").read_text(encoding="utf-8"))
        for p in sorted(folder.iterdir())
        if p.is_dir()
    ]


def _documents(case_folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads((p / "dokument.json").read_text(encoding="utf-8"))
        for p in sorted(case_folder.iterdir())
        if p.is_dir()
    ]


def _message_id(service: Service) -> str:
    with service.sessions() as session:
        found = session.scalars(select(Case.message_id)).one()
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("action", "card", "kind", "title", "words"),
    [
        (
            "annat",
            {"status": "withdrawn", "kind": "complaint"},
            "withdrawn",
            "Ärendet makulerat – KS 2026/1",
            ["makulerades i Postvakt av registrator@testby.se", "inte klagomål eller synpunkt"],
        ),
        (
            "withdraw",
            {"status": "withdrawn", "kind": "complaint"},
            "withdrawn",
            "Ärendet makulerat – KS 2026/1",
            ["makulerades i Postvakt av registrator@testby.se", "Skäl: Dubblett."],
        ),
        (
            "synpunkt",
            {"status": "registered", "kind": "opinion"},
            "reclassified",
            "Ärendetyp ändrad: klagomål → synpunkt – KS 2026/1",
            ["registrator@testby.se ändrade ärendets typ från klagomål till synpunkt"],
        ),
    ],
    ids=["annat", "makulerat", "synpunkt"],
)
def test_a_correction_reaches_the_folder_diary(
    folder_ws: tuple[Workspace, Path],
    action: str,
    card: dict[str, str],
    kind: str,
    title: str,
    words: list[str],
) -> None:
    """The case went to the diary as a complaint.  A person withdraws it (makulerat, or
    'annat') or makes it an opinion: the diary gets one memo saying so, by whom and why, and
    the case card is written anew.  (Before: nothing was queued, and the card kept an open
    complaint for good.)"""
    ws, folder = folder_ws
    (before,) = _cards(folder)
    assert before["kind"] == "complaint" and before["status"] == "registered"
    with service_at(ws, at(2026, 11, 17, 9)) as service:
        if action == "withdraw":
            service.corrections.withdraw("KS 2026/1", reason="Dubblett", by=BY)
        else:
            service.corrections.reclassify("KS 2026/1", kind=action, by=BY)
        service.run_once()  # delivers whatever the outbox holds
        service.run_once()  # nothing new: nothing twice
    (after,) = _cards(folder)
    assert {k: after[k] for k in card} == card, after
    (case_folder,) = [p for p in folder.iterdir() if p.is_dir()]
    documents = _documents(case_folder)
    # The incoming message, then one memo: a change to 'annat' is a withdrawal, not a
    # change of kind from complaint to complaint.
    assert [d["kind"] for d in documents] == ["incoming", kind], documents
    memo = documents[-1]
    assert memo["title"] == title and memo["attachments"] == []
    assert all(w in memo["text"] for w in words), memo["text"]


def test_a_withdrawn_message_registered_again_leaves_one_open_case_in_the_diary(
    folder_ws: tuple[Workspace, Path],
) -> None:
    """Complaint → 'annat' → registered again as a complaint: a new case with a new number,
    rightly.  The diary holds the first one withdrawn, with a memo naming the case that
    replaced it, and the new one's incoming document names the withdrawn one.  (Before: two
    open complaints for one e-mail.)"""
    ws, folder = folder_ws
    with service_at(ws, at(2026, 11, 17, 9)) as service:
        service.corrections.reclassify("KS 2026/1", kind="annat", by="anna@testby.se")
        service.corrections.register(_message_id(service), kind="klagomal", by="anna@testby.se")
        service.run_once()
        service.run_once()
    cards = _cards(folder)
    assert [c["reference"] for c in cards] == ["KS 2026/1", "KS 2026/2"]
    assert [c["reference"] for c in cards if c["status"] != "withdrawn"] == ["KS 2026/2"]
    first, second = sorted(p for p in folder.iterdir() if p.is_dir())
    old = _documents(first)
    assert [d["kind"] for d in old] == ["incoming", "withdrawn", "replaced"]
    assert old[-1]["title"] == "Ärendet ersatt av ett nytt ärende – KS 2026/1"
    assert old[-1]["text"] == (
        "anna@testby.se registrerade ärendets meddelande på nytt, som klagomål. Det handläggs "
        "nu i ärende KS 2026/2; det här ärendet är fortsatt makulerat."
    )
    (incoming,) = _documents(second)
    assert incoming["kind"] == "incoming"
    assert "Meddelandet var tidigare ärende KS 2026/1, som är makulerat." in incoming["text"]


def test_a_merged_case_is_withdrawn_in_the_diary_naming_the_case_it_joined(
    db_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "diarium"
    ws = workspace_with(tmp_path, db_url, f'\n[registry]\nsystem = "file"\nfolder = "{folder}"\n')
    ws.deliver(citizen_mail(COMPLAINT, message_id="<a@example.net>"), when=at(2026, 11, 16, 7))
    again = COMPLAINT.replace("tre dagar", "fyra dagar")
    ws.deliver(citizen_mail(again, message_id="<b@example.net>"), when=at(2026, 11, 16, 8))
    with service_at(ws, at(2026, 11, 16, 9)) as service:
        service.run_once()
    with service_at(ws, at(2026, 11, 17, 9)) as service:
        service.corrections.merge("KS 2026/2", into="KS 2026/1", by=BY)
        service.run_once()
    cards = {c["reference"]: c["status"] for c in _cards(folder)}
    assert cards == {"KS 2026/1": "registered", "KS 2026/2": "withdrawn"}
    merged = next(p for p in folder.iterdir() if p.name == "KS 2026-2")
    memo = _documents(merged)[-1]
    assert memo["kind"] == "withdrawn" and "Skäl: sammanfört med KS 2026/1." in memo["text"]


def _p360_service(ws: Workspace, fake: P360Fake, when: datetime) -> Service:
    environ = {"POSTVAKT_P360_AUTHKEY": KEY}
    service = service_at(ws, when, environ)
    assert service.diary is not None
    service.diary._backend = Public360Diary(
        service.config.registry.public360, environ, collective_number=None, transport=fake.transport
    )
    return service


def test_public360_gets_each_correction_as_a_memo_in_the_same_case(
    db_url: str, tmp_path: Path
) -> None:
    """A change of kind, then a withdrawal: two internal memos (recno:60005) in the case
    Public 360 made for the complaint — no new case, and no call the SIF fake does not
    model (Postvakt does not close the case there: the registrar decides)."""
    fake = P360Fake(KEY)
    ws = workspace_with(
        tmp_path,
        db_url,
        '\n[registry]\nnumbering = "diary"\nsystem = "public360"\n'
        '[registry.public360]\nbase_url = "https://p360.testby.se/Biz/v2/api/call"\n',
    )
    ws.deliver(citizen_mail(COMPLAINT, message_id="<p@example.net>"), when=at(2026, 11, 16, 7))
    with _p360_service(ws, fake, at(2026, 11, 16, 9)) as service:
        service.run_once()
    assert list(fake.cases) == ["26/00001"]
    with _p360_service(ws, fake, at(2026, 11, 17, 9)) as service:
        service.corrections.reclassify("26/00001", kind="synpunkt", by=BY)
        service.corrections.withdraw("26/00001", reason="Dubblett av ett annat ärende", by=BY)
        service.run_once()
        service.run_once()
    assert list(fake.cases) == ["26/00001"]
    memos = [d.parameter for d in fake.documents.values()][1:]
    assert [(m["Title"], m["Category"]) for m in memos] == [
        ("Ärendetyp ändrad: klagomål → synpunkt – 26/00001", "recno:60005"),
        ("Ärendet makulerat – 26/00001", "recno:60005"),
    ]
    assert "Skäl: Dubblett av ett annat ärende." in memos[1]["Notes"]
    assert "registratorn avgör hur det avslutas i diariet" in memos[1]["Notes"]
    assert {(c.service, c.method) for c in fake.calls} <= {
        ("CaseService", "CreateCase"),
        ("DocumentService", "CreateDocument"),
        ("FileService", "CreateFile"),
    }


def test_the_registrar_gets_the_withdrawal_to_enter_in_the_diary(
    db_url: str,
    tmp_path: Path,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The registrar's diary is the registrar's mail: the withdrawal comes as a document to
    enter, a memo, with who and why.  Nothing of the citizen (name, address, subject) is
    logged above DEBUG on the way."""
    ws = workspace_with(tmp_path, db_url, smtp_server.config())
    ws.deliver(citizen_mail(COMPLAINT, message_id="<r@example.net>"), when=at(2026, 11, 16, 7))
    with service_at(ws, at(2026, 11, 16, 9)) as service:
        service.run_once()
    caplog.set_level(logging.INFO)
    caplog.clear()
    with service_at(ws, at(2026, 11, 17, 9)) as service:
        service.corrections.withdraw("KS 2026/1", reason="Skickat till fel kommun", by=BY)
        service.run_once()
    notices = [
        m.message
        for m in smtp_server.to(REGISTRAR)
        if "Ärendet makulerat" in str(m.message["Subject"])
    ]
    assert len(notices) == 1
    # and no second mail about it (the corrections' own notice "makulerat av …")
    about = [
        m
        for m in smtp_server.to(REGISTRAR)
        if "makulera" in m.message.get_body(("plain",)).get_content()
    ]
    assert len(about) == 1, [str(m.message["Subject"]) for m in about]
    (notice,) = notices
    assert str(notice["Subject"]).startswith("KS 2026/1 – Ärendet makulerat")
    body = notice.get_body(("plain",)).get_content()
    assert "Dokument: Ärendet makulerat (upprättad handling (anteckning))" in body
    assert "Ärendet makulerades i Postvakt av registrator@testby.se." in body
    assert "Skäl: Skickat till fel kommun." in body
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG)
    for private in ("Karin", "Björkvägen", "snöröjningen", "karin"):
        assert private not in logged, logged
