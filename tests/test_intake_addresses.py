"""Senders the draft step cannot address as they are: line breaks in names, IDN domains,
UTF-8 local parts, and a draft that cannot be built at all.  None may stop a pass."""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import Clock
from postvakt.config import load_config
from postvakt.registry.drafts import ADDRESS_CHECK
from postvakt.registry.models import Case, Disposition, Draft, DraftStatus
from postvakt.service import Service
from tests.support.workspace import Workspace

COMPLAINT = (
    "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\n"
    "070-123 45 67\n"
)
IDN = "kalle@räksmörgås.se"
IDN_ASCII = "kalle@xn--rksmrgs-5wao1o.se"


def raw_mail(sender: bytes, *, key: str, to: str = "kontakt@testby.se") -> bytes:
    """A citizen's complaint whose From header is exactly ``sender`` (bytes as sent)."""
    head = (
        f"To: {to}\r\nSubject: Klagomål på snöröjningen\r\n"
        "Date: Mon, 23 Nov 2026 09:15:00 +0100\r\n"
        f"Message-ID: <{key}@example.net>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    body = COMPLAINT.replace("\n", "\r\n").encode()
    return b"From: " + sender + b"\r\n" + head.encode() + body


def open_service(ws: Workspace, clock: Clock) -> Service:
    return Service(load_config(ws.config_path), clock=clock).open()


def drafts_by_case(ws: Workspace, who: str = "kontakt") -> dict[str, EmailMessage]:
    """The Drafts folder's messages by the case number in their attachment's name."""
    found: dict[str, EmailMessage] = {}
    for path in ws.drafts(who):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        name = next(msg.iter_attachments()).get_filename() or ""
        found[name] = msg
    return found


def only_draft(ws: Workspace) -> EmailMessage:
    (draft,) = drafts_by_case(ws).values()
    return draft


@pytest.mark.parametrize(
    "sender",
    [
        pytest.param(b'"Kalle\r\n Anka" <k@example.org>', id="folded-quoted-name"),
        pytest.param(b"=?utf-8?q?Kalle=0D=0AAnka?= <k@example.org>", id="encoded-crlf"),
        pytest.param(b"=?utf-8?q?Kalle=0AAnka?= <k@example.org>", id="encoded-lf"),
        pytest.param(b"=?utf-8?q?Kalle=00=0B=1BAnka?= <k@example.org>", id="encoded-controls"),
    ],
)
def test_a_line_break_in_the_senders_name_never_reaches_a_header(
    workspace: Workspace, clock: Clock, sender: bytes
) -> None:
    workspace.deliver(raw_mail(sender, key="crlf"), name="crlf")
    with open_service(workspace, clock) as service:
        report = service.run_once()
        assert [o.disposition for o in report.outcomes] == [Disposition.CASE]
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.sender_address == "k@example.org"
            assert case.sender_name == "Kalle Anka"
            assert not case.address_check
    draft = only_draft(workspace)
    assert draft.get_all("To") == ["Kalle Anka <k@example.org>"]


def test_an_encoded_line_break_cannot_inject_a_header(workspace: Workspace, clock: Clock) -> None:
    # "Kalle\nBcc: spion@example.com" as an encoded word.
    sender = b"=?utf-8?b?S2FsbGUKQmNjOiBzcGlvbkBleGFtcGxlLmNvbQ==?= <k@example.org>"
    workspace.deliver(raw_mail(sender, key="inject"), name="inject")
    with open_service(workspace, clock) as service:
        assert service.run_once().count(Disposition.CASE) == 1
    draft = only_draft(workspace)
    assert draft["Bcc"] is None
    (to,) = draft.get_all("To")
    assert to.addresses[0].addr_spec == "k@example.org"
    # The name holds an address, so it is no name (no address written twice): never a header.
    assert to.addresses[0].display_name == ""


def test_an_internationalised_domain_is_written_as_punycode(
    workspace: Workspace, clock: Clock
) -> None:
    workspace.deliver(raw_mail(f"Kalle Anka <{IDN}>".encode(), key="idn"), name="idn")
    with open_service(workspace, clock) as service:
        assert service.run_once().count(Disposition.CASE) == 1
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.sender_address == IDN  # the case keeps the address as written
            assert not case.address_check and not case.review_reasons
    raw = workspace.drafts()[0].read_bytes()
    assert f"To: Kalle Anka <{IDN_ASCII}>".encode() in raw
    assert raw.isascii()


def test_a_utf8_local_part_gives_a_draft_without_to_and_an_address_check(
    workspace: Workspace, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.deliver(raw_mail("Kalle <källe@exempel.se>".encode(), key="utf8"), name="utf8")
    with open_service(workspace, clock) as service:
        report = service.run_once()
        assert [o.disposition for o in report.outcomes] == [Disposition.CASE]
        assert len(report.drafts_saved) == 1 and not report.errors
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.address_check and case.needs_review
            assert case.review_reasons == [ADDRESS_CHECK.format(address="källe@exempel.se")]
            draft = session.scalars(select(Draft)).one()
            assert draft.to_address == "" and draft.status is DraftStatus.SAVED
            assert "utan mottagare" in case.events[-1].detail
    draft = only_draft(workspace)
    assert draft["To"] is None
    assert draft["From"].addresses[0].addr_spec == "kontakt@testby.se"
    assert draft["In-Reply-To"] == "<utf8@example.net>"

    config = str(workspace.config_path)
    assert main(["--config", config, "cases", "show", "KS 2026/1"]) == 0
    shown = capsys.readouterr().out
    assert "kontrollera avsändarens adress" in shown
    assert "Avsändarens adress kan inte användas i ett brevhuvud (källe@exempel.se)" in shown
    assert main(["--config", config, "cases", "show", "KS 2026/1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["address_check"] is True
    assert data["needs_review"] is True
    assert data["review_reasons"] == [ADDRESS_CHECK.format(address="källe@exempel.se")]


def test_a_sender_nobody_can_address_does_not_stop_the_pass(
    workspace: Workspace, clock: Clock
) -> None:
    """Before, the UTF-8 address made the draft step raise: the pass stopped there, the
    mailbox after it was never read, and every later pass stopped at the same draft."""
    ws = workspace
    ws.deliver(raw_mail(b"Karin Ek <karin@example.net>", key="a"), name="a")
    ws.deliver(raw_mail("Kalle <källe@exempel.se>".encode(), key="b"), name="b")
    ws.deliver(raw_mail(f"Kalle Anka <{IDN}>".encode(), key="c"), name="c")
    ws.deliver(
        raw_mail(b"Per Ek <per@example.net>", key="d", to="anna@testby.se"), "anna", name="d"
    )
    with open_service(ws, clock) as service:
        report = service.run_once()
        assert {o.key: o.disposition for o in report.outcomes} == {
            key: Disposition.CASE for key in "abcd"
        }
        assert len(report.drafts_saved) == 4 and not report.errors
    recipients = sorted(str(d["To"]) for d in drafts_by_case(ws).values())
    assert recipients == sorted(
        ["Karin Ek <karin@example.net>", f"Kalle Anka <{IDN_ASCII}>", "None"]
    )
    assert [str(d["To"]) for d in drafts_by_case(ws, "anna").values()] == [
        "Per Ek <per@example.net>"
    ]


def test_a_draft_that_cannot_be_built_is_set_aside_and_the_others_placed(
    workspace: Workspace, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    """One bad draft in a batch used to fail the whole batch on every pass, forever."""
    ws = workspace
    ws.deliver(raw_mail(b"Karin Ek <karin@example.net>", key="first"), name="first")
    with open_service(ws, clock) as service:
        assert service.run_once().count(Disposition.CASE) == 1
        assert service.sessions is not None
        with service.sessions() as session, session.begin():
            case = session.scalars(select(Case)).one()
            # A queued draft no connector can write: its Message-ID has no header form.
            session.add(
                Draft(
                    case=case,
                    mailbox_id=case.mailbox_id,
                    message_id="utkast-å",
                    to_address="karin@example.net",
                    to_name=None,
                    subject="SV: Klagomål",
                    references=[],
                    body_text="Hej",
                    status=DraftStatus.PENDING,
                    created_at=clock(),
                )
            )
        for key in ("second", "third"):
            ws.deliver(raw_mail(f"{key} <{key}@example.net>".encode(), key=key), name=key)
        report = service.run_once()
        assert report.count(Disposition.CASE) == 2
        assert sorted(ref for ref, _where in report.drafts_saved) == ["KS 2026/2", "KS 2026/3"]
        (error,) = report.errors
        assert "utkastet till ärende KS 2026/1 kunde inte skapas" in error
        with service.sessions() as session:
            bad = session.scalars(select(Draft).where(Draft.message_id == "utkast-å")).one()
            assert bad.status is DraftStatus.FAILED
            assert "AddressError" in (bad.last_error or "")
        # The next pass does not stumble on it again.
        assert service.run_once().errors == []
    assert len(ws.drafts()) == 3

    config = str(ws.config_path)
    assert main(["--config", config, "failed", "list"]) == 0
    listed = capsys.readouterr().out
    assert "Utkast som inte kunde skapas" in listed and "KS 2026/1" in listed
    assert main(["--config", config, "failed", "list", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["kind"] == "draft" and entry["case"] == "KS 2026/1"
    # Retrying tries the draft again, fails again, and says so without a traceback.
    assert main(["--config", config, "failed", "retry"]) == 1
    out = capsys.readouterr()
    assert "1 utkast försöktes igen, 1 kunde inte skapas" in out.out
    assert "Traceback" not in out.err
    assert len(ws.drafts()) == 3


def test_unaddressable_senders_on_dovecot(tmp_path: Path, dovecot, imap_user, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.support.dovecot import MASTER_ENV, write_config

    user = imap_user.name
    address = dovecot.address(user)
    config = load_config(write_config(tmp_path, dovecot, user))
    senders = {
        "crlf": b"=?utf-8?q?Kalle=0D=0AAnka?= <k@example.org>",
        "utf8": "Kalle <källe@exempel.se>".encode(),
        "idn": f"Kalle Anka <{IDN}>".encode(),
        "plain": b"Karin Ek <karin@example.net>",
    }
    for key, sender in senders.items():
        dovecot.append(user, "INBOX", raw_mail(sender, key=key, to=address))
    service = Service(config, clock=clock, environ={MASTER_ENV: dovecot.master_password}).open()
    try:
        report = service.run_once()
        assert report.count(Disposition.CASE) == 4 and not report.errors
        assert len(report.drafts_saved) == 4
    finally:
        service.close()
    client = dovecot.imap(user)
    try:
        client.select_folder("Drafts", readonly=True)
        fetched = client.fetch(client.search(["ALL"]), [b"BODY.PEEK[]"])
    finally:
        client.logout()
    by_reply = {}
    for item in fetched.values():
        msg = email.message_from_bytes(item[b"BODY[]"], policy=email.policy.default)
        by_reply[msg["In-Reply-To"].strip("<>").partition("@")[0]] = msg
    assert set(by_reply) == set(senders)
    assert str(by_reply["crlf"]["To"]) == "Kalle Anka <k@example.org>"
    assert by_reply["utf8"]["To"] is None
    assert str(by_reply["idn"]["To"]) == f"Kalle Anka <{IDN_ASCII}>"
    assert str(by_reply["plain"]["To"]) == "Karin Ek <karin@example.net>"
