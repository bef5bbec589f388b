"""Live tests against an operator's own Exchange test mailbox (opt-in).

They run only when ``POSTVAKT_LIVE_EWS`` or ``POSTVAKT_LIVE_GRAPH`` names a settings file
(docs/exchange.md says how to write one).  Use a test mailbox, never a person's: the tests
read its Inbox in place and — only with ``allow_writes = true`` — leave one reply draft in its
Drafts and set and restore its automatic reply.

The settings file (TOML), with paths relative to the file::

    address = "postvakt-test@kommun.se"
    allow_writes = true
    private_message_id = "<...>"   # optional: a message in the Inbox marked private

    [ews]                          # the same keys as [mailboxes.ews] in postvakt.toml
    endpoint = "https://mail.kommun.se/EWS/Exchange.asmx"
    username = "KOMMUN\\\\svc-postvakt"
    password_env = "POSTVAKT_EWS_PASSWORD"

or a ``[graph]`` table with the keys of ``[mailboxes.graph]``.  Secrets come from the
environment variables the tables name, as in production.
"""

from __future__ import annotations

import io
import os
import tomllib
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import docx
import pytest

from postvakt.clock import system_clock
from postvakt.config import EwsSettings, GraphSettings
from postvakt.mailbox.base import (
    Checkpoint,
    DraftAttachment,
    DraftReply,
    FetchedMessage,
    OutOfOffice,
)
from postvakt.mailbox.ews import EwsConnector
from postvakt.mailbox.graph import GraphConnector
from postvakt.mailbox.message import parse_message

WHY_EWS = "POSTVAKT_LIVE_EWS names no settings file for a live Exchange Server test mailbox"
WHY_GRAPH = "POSTVAKT_LIVE_GRAPH names no settings file for a live Exchange Online test mailbox"
needs_ews = pytest.mark.skipif(not os.environ.get("POSTVAKT_LIVE_EWS"), reason=WHY_EWS)
needs_graph = pytest.mark.skipif(not os.environ.get("POSTVAKT_LIVE_GRAPH"), reason=WHY_GRAPH)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SAMPLE = 3
"""Messages whose content the tests download; the rest of the Inbox is only listed."""


def _settings_file(variable: str) -> tuple[Path, dict[str, Any]]:
    path = Path(os.environ[variable]).expanduser()
    return path, tomllib.loads(path.read_text(encoding="utf-8"))


def _relative(base: Path, table: dict[str, Any], *keys: str) -> dict[str, Any]:
    out = dict(table)
    for key in keys:
        if out.get(key):
            out[key] = str((base / out[key]).resolve())
    return out


@pytest.fixture(scope="module")
def live_ews() -> Iterator[tuple[EwsConnector, dict[str, Any]]]:
    _path, data = _settings_file("POSTVAKT_LIVE_EWS")
    settings = EwsSettings(**data["ews"])
    connector = EwsConnector(data["address"], settings, os.environ.get(settings.password_env, ""))
    yield connector, data
    connector.close()


@pytest.fixture(scope="module")
def live_graph() -> Iterator[tuple[GraphConnector, dict[str, Any]]]:
    path, data = _settings_file("POSTVAKT_LIVE_GRAPH")
    settings = GraphSettings(**_relative(path.parent, data["graph"], "certificate_path", "ca_file"))
    if settings.client_secret_env:
        credential = os.environ.get(settings.client_secret_env, "")
    else:
        assert settings.certificate_path is not None
        credential = Path(settings.certificate_path).read_text(encoding="ascii")
    connector = GraphConnector(data["address"], settings, credential)
    yield connector, data
    connector.close()


def _sample(limit: int = SAMPLE):
    """An ``is_known`` that lets the first ``limit`` keys through: only they are downloaded."""
    let_through: set[str] = set()

    def is_known(key: str) -> bool:
        if key in let_through:
            return False
        if len(let_through) < limit:
            let_through.add(key)
            return False
        return True

    return is_known


def _read_in_place(connector: EwsConnector | GraphConnector) -> None:
    (folder,) = connector.folders("inbox")
    state = None
    fetched: list[FetchedMessage] = []
    for item in connector.fetch_new(folder, None, _sample()):
        if isinstance(item, FetchedMessage):
            fetched.append(item)
        if item.state is not None:
            state = item.state
    assert state is not None, "a first pass must leave a sync state"
    assert len(fetched) <= SAMPLE
    for message in fetched:
        parsed = parse_message(message.raw)
        assert parsed.message_id and message.key.startswith(("<", "nomid:", "mid-sha256:"))
    # The saved state: nothing new (unless mail arrives meanwhile, which a test mailbox avoids).
    known = {m.key for m in fetched}
    again = [
        i
        for i in connector.fetch_new(folder, state, known.__contains__)
        if isinstance(i, FetchedMessage)
    ]
    assert all(m.key not in known for m in again)
    # A lost state: only listing, no message is new.
    lost = [i for i in connector.fetch_new(folder, None, lambda _key: True)]
    assert all(isinstance(i, Checkpoint) for i in lost)


def _draft_saved_once(connector: EwsConnector | GraphConnector, data: dict[str, Any]) -> None:
    if not data.get("allow_writes"):
        pytest.fail(
            "set allow_writes = true in the settings file to test drafts (a test mailbox only)"
        )
    letter = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Postvakt live test: detta utkast kan tas bort.")
    document.save(letter)
    draft = DraftReply(
        message_id=f"live-{uuid.uuid4().hex}@postvakt.invalid",
        from_address=data["address"],
        from_name="Postvakt test",
        to_address="postvakt-test@example.invalid",
        to_name="Postvakt test",
        subject="Postvakt live test (kan tas bort)",
        text="Detta utkast skapades av Postvakts live-test och kan tas bort.\n",
        attachments=(DraftAttachment("Postvakt live test.docx", DOCX, letter.getvalue()),),
    )
    first = connector.save_draft(draft)
    assert first.startswith("drafts/")
    assert connector.save_draft(draft) == first


def _private_message_has_the_header(
    connector: EwsConnector | GraphConnector, data: dict[str, Any]
) -> None:
    wanted = data.get("private_message_id")
    if not wanted:
        pytest.fail("name a private message in the Inbox with private_message_id to check this")
    (folder,) = connector.folders("inbox")
    found = [
        i
        for i in connector.fetch_new(folder, None, lambda key: key != wanted)
        if isinstance(i, FetchedMessage)
    ]
    assert [m.key for m in found] == [wanted]
    assert (parse_message(found[0].raw).header("Sensitivity") or "").lower() == "private"


def _automatic_reply_set_and_restored(
    connector: EwsConnector | GraphConnector, data: dict[str, Any]
) -> None:
    before = connector.automatic_replies()
    if not data.get("allow_writes"):
        return  # reading it is the test
    today = system_clock()().date()
    reply = OutOfOffice(
        today + timedelta(days=30), today + timedelta(days=31), "", "Postvakt live test."
    )
    try:
        connector.set_out_of_office(reply)
        assert connector.out_of_office() == reply
    finally:
        connector.set_automatic_replies(before)
    assert connector.automatic_replies() == before


# --------------------------------------------------------------------------- EWS


@needs_ews
def test_live_ews_reads_the_inbox_in_place(live_ews) -> None:
    connector, _data = live_ews
    _read_in_place(connector)


@needs_ews
def test_live_ews_saves_a_draft_once(live_ews) -> None:
    _draft_saved_once(*live_ews)


@needs_ews
def test_live_ews_private_items_carry_the_sensitivity_header(live_ews) -> None:
    _private_message_has_the_header(*live_ews)


@needs_ews
def test_live_ews_automatic_replies(live_ews) -> None:
    _automatic_reply_set_and_restored(*live_ews)


@needs_ews
def test_live_ews_delegates_and_permissions_are_readable(live_ews) -> None:
    connector, _data = live_ews
    connector.delegates()
    assert "Default" in {p.who for p in connector.permissions("inbox")}
    evidence = connector.opened_evidence("inbox", None)
    assert evidence.unread_from_before >= 0


# --------------------------------------------------------------------------- Graph


@needs_graph
def test_live_graph_reads_the_inbox_in_place(live_graph) -> None:
    connector, _data = live_graph
    _read_in_place(connector)


@needs_graph
def test_live_graph_saves_a_draft_once(live_graph) -> None:
    _draft_saved_once(*live_graph)


@needs_graph
def test_live_graph_private_items_carry_the_sensitivity_header(live_graph) -> None:
    _private_message_has_the_header(*live_graph)


@needs_graph
def test_live_graph_automatic_replies(live_graph) -> None:
    _automatic_reply_set_and_restored(*live_graph)


@needs_graph
def test_live_graph_opened_evidence(live_graph) -> None:
    connector, _data = live_graph
    assert connector.opened_evidence("inbox", None).unread_from_before >= 0


def test_live_settings_parse_like_the_config(tmp_path: Path) -> None:
    """The settings file format itself (runs always: no server needed)."""
    path = tmp_path / "live.toml"
    path.write_text(
        'address = "test@kommun.se"\nallow_writes = false\n'
        '[graph]\ntenant_id = "t"\nclient_id = "c"\ncertificate_path = "app.pem"\n'
        'certificate_thumbprint = "AB"\n',
        encoding="utf-8",
    )
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    settings = GraphSettings(**_relative(path.parent, data["graph"], "certificate_path", "ca_file"))
    assert settings.certificate_path == (tmp_path / "app.pem").resolve()
