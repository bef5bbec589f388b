"""The EWS connector against a stateful fake of Exchange's SOAP endpoint, over real HTTP.

exchangelib talks to :mod:`tests.support.ews_fake` exactly as it would to Exchange Server:
the same envelopes, the same error responses.  These tests cover what is particular to
EWS; the behaviour every connector shares is in ``test_contract.py``.
"""

from __future__ import annotations

import email
import email.policy
import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import docx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from postvakt.clock import STOCKHOLM, Clock, fixed_clock
from postvakt.config import EwsSettings, load_config
from postvakt.errors import (
    AuthenticationError,
    MailboxNotFoundError,
    ThrottledError,
    UnavailableError,
)
from postvakt.mailbox import open_connector
from postvakt.mailbox.base import (
    Checkpoint,
    DraftAttachment,
    DraftReply,
    FetchedMessage,
    OutOfOffice,
    SupportsOpenedEvidence,
    SupportsOutOfOffice,
)
from postvakt.mailbox.ews import EwsConnector, permission_level
from postvakt.mailbox.exchange import AutomaticReplies
from postvakt.mailbox.message import parse_message
from postvakt.registry.models import Case, Disposition
from postvakt.service import Service
from tests.support import ews_fake
from tests.support.ews_fake import EwsFake, FakeDelegate, permission
from tests.support.ports import free_port
from tests.support.workspace import citizen_mail

COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MORNING = datetime(2026, 11, 23, 8, 0, tzinfo=STOCKHOLM)

CONFIG = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
domains = ["testby.se"]

[database]
url = "sqlite:///postvakt.db"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"

[[people]]
name = "Anna Berg"
address = "anna@testby.se"
unit = "Kontaktcenter"

[[mailboxes]]
address = "{address}"
start_from = 2026-01-01  # the tests' mail is older than their clock
name = "Kontaktcenter"
kind = "function"
unit = "Kontaktcenter"
owners = ["anna@testby.se"]
connector = "ews"

[mailboxes.ews]
endpoint = "{endpoint}"
username = "{user}"
password_env = "{env}"
auth = "basic"
access = "delegate"
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[EwsFake]:
    with EwsFake() as server:
        server.add_user(ews_fake.SERVICE_USER, ews_fake.SERVICE_PASSWORD)
        server.add_user("svc-impersonation", "Imp-1", impersonation=True)
        yield server


@pytest.fixture
def mailbox(fake: EwsFake) -> str:
    return ews_fake.new_mailbox(fake)


@pytest.fixture
def ews(fake: EwsFake, mailbox: str, clock: Clock) -> Iterator[EwsConnector]:
    connector = ews_fake.connector(fake, mailbox, clock=clock)
    yield connector
    connector.close()


def mid(message: FetchedMessage) -> str:
    """The message's Message-ID, as the tests name messages (keys are store item ids)."""
    return f"<{parse_message(message.raw).message_id}>"


def drain(connector: EwsConnector, folder: str, state, known: set[str]):
    messages: list[FetchedMessage] = []
    for item in connector.fetch_new(folder, state, known.__contains__):
        if isinstance(item, FetchedMessage):
            messages.append(item)
        if item.state is not None:
            state = item.state
    return messages, state


def draft(n: int = 1, in_reply_to: str | None = "k1@example.net") -> DraftReply:
    letter = io.BytesIO()
    document = docx.Document()
    document.add_paragraph(f"Diarienummer: KS 2026/{n}")
    document.save(letter)
    return DraftReply(
        message_id=f"svar-{n}@postvakt.testby.se",
        from_address="kontakt@testby.se",
        from_name="Kontaktcenter",
        to_address="karin.ek@example.net",
        to_name="Karin Ek",
        subject="SV: Klagomål på snöröjningen",
        text="Hej Karin!\n\nVi har tagit emot ditt klagomål.\n",
        in_reply_to=in_reply_to,
        references=("tidigare@example.net",),
        attachments=(
            DraftAttachment(f"Mottagningsbekräftelse KS 2026-{n}.docx", DOCX, letter.getvalue()),
        ),
    )


# --------------------------------------------------------------------------- the whole path


def test_a_complaint_becomes_a_case_and_a_draft_through_run_once(
    tmp_path: Path, fake: EwsFake, mailbox: str, clock: Clock
) -> None:
    fake.deliver(
        mailbox,
        citizen_mail(COMPLAINT, to=mailbox, message_id="<k1@example.net>"),
        received=MORNING,
    )
    config_path = tmp_path / "postvakt.toml"
    config_path.write_text(
        CONFIG.format(
            address=mailbox,
            endpoint=fake.endpoint,
            user=ews_fake.SERVICE_USER,
            env=ews_fake.PASSWORD_ENV,
        ),
        encoding="utf-8",
    )
    environ = {ews_fake.PASSWORD_ENV: ews_fake.SERVICE_PASSWORD}
    before = fake.view(mailbox)
    with Service(load_config(config_path), clock=clock, environ=environ).open() as service:
        assert isinstance(service.connectors[mailbox], EwsConnector)  # built by open_connector
        report = service.run_once()
        assert report.errors == []
        assert report.count(Disposition.CASE) == 1
        assert [reference for reference, _where in report.drafts_saved] == ["KS 2026/1"]
        again = service.run_once()
        assert again.outcomes == [] and again.drafts_saved == []
        assert service.sessions is not None
        with service.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 1
    (saved,) = fake.items(mailbox, "drafts")
    assert saved.is_draft and saved.subject == "SV: Klagomål på snöröjningen"
    assert saved.to == [("Karin Ek", "karin.ek@example.net")]
    assert saved.in_reply_to == "<k1@example.net>"
    (letter,) = saved.attachments
    assert letter.name == "Mottagningsbekräftelse KS 2026-1.docx"
    assert any("KS 2026/1" in p.text for p in docx.Document(io.BytesIO(letter.content)).paragraphs)
    # In place: the complaint is still unread and where it was; nothing was moved or marked.
    assert fake.view(mailbox) == before
    assert fake.writes() == []


def test_open_connector_reads_the_password_from_the_environment(
    tmp_path: Path, fake: EwsFake, mailbox: str
) -> None:
    config_path = tmp_path / "postvakt.toml"
    config_path.write_text(
        CONFIG.format(
            address=mailbox, endpoint=fake.endpoint, user=ews_fake.SERVICE_USER, env="PV_EWS_PW"
        ),
        encoding="utf-8",
    )
    config = load_config(config_path)
    connector = open_connector(
        config.mailboxes[0], config, {"PV_EWS_PW": ews_fake.SERVICE_PASSWORD}
    )
    assert isinstance(connector, EwsConnector)
    assert isinstance(connector, SupportsOutOfOffice) and isinstance(
        connector, SupportsOpenedEvidence
    )
    assert connector.folders("inbox") == ["inbox"] and connector.folders("sent") == ["sentitems"]
    assert list(connector.fetch_new("inbox", None, lambda _k: False)) != []  # a first state
    connector.close()


def test_sent_items_are_read_too(fake: EwsFake, mailbox: str, ews: EwsConnector) -> None:
    reply = citizen_mail(
        "Hej Karin, vi plogar i morgon.",
        sender=f"Kontaktcenter <{mailbox}>",
        to="karin.ek@example.net",
        subject="SV: Klagomål på snöröjningen",
        headers={"In-Reply-To": "<k1@example.net>"},
    )
    fake.deliver(mailbox, reply, folder="sentitems", received=MORNING, is_read=True)
    messages, state = drain(ews, "sentitems", None, set())
    assert [m.raw for m in messages] == [reply]
    assert state is not None and state["sync_state"]


# --------------------------------------------------------------------------- access


def test_impersonation_reaches_the_mailbox_with_the_role_and_not_without(
    fake: EwsFake, mailbox: str, clock: Clock
) -> None:
    fake.deliver(mailbox, citizen_mail(COMPLAINT), received=MORNING)
    allowed = ews_fake.connector(
        fake,
        mailbox,
        password="Imp-1",
        clock=clock,
        settings={"username": "svc-impersonation", "access": "impersonation"},
    )
    messages, _ = drain(allowed, "inbox", None, set())
    assert len(messages) == 1
    fake.add_user("svc-no-role", "NoRole-1")
    denied = ews_fake.connector(
        fake,
        mailbox,
        password="NoRole-1",
        clock=clock,
        settings={"username": "svc-no-role", "access": "impersonation"},
    )
    with pytest.raises(AuthenticationError, match="ApplicationImpersonation") as caught:
        drain(denied, "inbox", None, set())
    assert caught.value.code == "ErrorImpersonateUserDenied"
    assert caught.value.mailbox == mailbox
    assert "svc-no-role" not in str(caught.value)  # logged: the setting, not the login


def test_delegate_access_without_full_access_is_refused(fake: EwsFake, clock: Clock) -> None:
    address = "hemlig@testby.se"
    fake.add_mailbox(address)  # no FullAccess for the service account
    connector = ews_fake.connector(fake, address, clock=clock)
    with pytest.raises(AuthenticationError, match="FullAccess") as caught:
        drain(connector, "inbox", None, set())
    assert caught.value.code == "ErrorAccessDenied"


def test_a_mailbox_that_does_not_exist(fake: EwsFake, clock: Clock) -> None:
    connector = ews_fake.connector(fake, "finns-inte@testby.se", clock=clock)
    with pytest.raises(MailboxNotFoundError) as caught:
        drain(connector, "inbox", None, set())
    assert caught.value.code == "ErrorNonExistentMailbox"


def test_a_wrong_password(fake: EwsFake, mailbox: str, clock: Clock) -> None:
    connector = ews_fake.connector(fake, mailbox, password="fel", clock=clock)
    with pytest.raises(AuthenticationError, match="password_env") as caught:
        drain(connector, "inbox", None, set())
    assert caught.value.code == "Unauthorized"
    assert "fel" not in str(caught.value)


def test_a_server_that_does_not_answer_is_unavailable_and_backed_off(mailbox: str) -> None:
    settings = EwsSettings(
        endpoint=f"http://127.0.0.1:{free_port()}/EWS/Exchange.asmx",
        username="svc",
        password_env="X",
        auth="basic",
    )
    connector = EwsConnector(mailbox, settings, "pw")
    with pytest.raises(UnavailableError):
        drain(connector, "inbox", None, set())
    with pytest.raises(UnavailableError, match="svarade inte nyss") as held:  # no new attempt yet
        drain(connector, "inbox", None, set())
    assert not isinstance(held.value, ThrottledError)


def test_oauth_app_only_with_impersonation(
    fake: EwsFake, mailbox: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake's token endpoint is plain http on loopback; oauthlib insists on https otherwise.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    fake.add_oauth_client("ews-app", "app-secret", "tenant-1")
    fake.deliver(mailbox, citizen_mail(COMPLAINT), received=MORNING)
    oauth = {
        "auth": "oauth",
        "access": "impersonation",
        "oauth_client_id": "ews-app",
        "oauth_tenant_id": "tenant-1",
        "oauth_authority": fake.base_url,
    }
    connector = ews_fake.connector(
        fake, mailbox, password="app-secret", clock=clock, settings=oauth
    )
    messages, _ = drain(connector, "inbox", None, set())
    assert len(messages) == 1
    wrong = ews_fake.connector(fake, mailbox, password="fel", clock=clock, settings=oauth)
    with pytest.raises(AuthenticationError) as caught:
        drain(wrong, "inbox", None, set())
    assert caught.value.code == "invalid_client"


def test_oauth_needs_impersonation_and_an_app() -> None:
    with pytest.raises(ValidationError, match="impersonation"):
        EwsSettings(
            server="mail.testby.se",
            username="svc",
            password_env="X",
            auth="oauth",
            oauth_client_id="a",
            oauth_tenant_id="t",
        )
    with pytest.raises(ValidationError, match="oauth_client_id"):
        EwsSettings(
            server="mail.testby.se",
            username="svc",
            password_env="X",
            auth="oauth",
            access="impersonation",
        )


def test_mailboxes_on_one_server_share_the_connection_pool(fake: EwsFake, clock: Clock) -> None:
    first = ews_fake.connector(fake, ews_fake.new_mailbox(fake), clock=clock)
    second = ews_fake.connector(fake, ews_fake.new_mailbox(fake), clock=clock)
    drain(first, "inbox", None, set())
    drain(second, "inbox", None, set())
    assert first._account is not None and second._account is not None
    assert first._account is not second._account  # one Account per mailbox
    assert first._account.protocol is second._account.protocol  # one pool per server


# --------------------------------------------------------------------------- sync


def test_an_invalid_sync_state_resyncs_by_item_id(
    fake: EwsFake, mailbox: str, ews: EwsConnector
) -> None:
    ids = [
        fake.deliver(
            mailbox,
            citizen_mail(f"{COMPLAINT}{n}", message_id=f"<s{n}@example.net>"),
            received=MORNING + timedelta(minutes=n),
        )
        for n in range(3)
    ]
    first, state = drain(ews, "inbox", None, set())
    known = {m.key for m in first}
    assert known == set(ids)  # a message is known by where it is: the store's item id
    assert {mid(m) for m in first} == {"<s0@example.net>", "<s1@example.net>", "<s2@example.net>"}
    fake.invalidate_sync_states(mailbox)  # e.g. the mailbox was moved to another database
    fake.deliver(
        mailbox,
        citizen_mail("Ny", message_id="<s3@example.net>"),
        received=MORNING + timedelta(hours=1),
    )
    fake.operations.clear()
    again, new_state = drain(ews, "inbox", state, known)
    assert [mid(m) for m in again] == ["<s3@example.net>"]  # only the new one is read
    assert [op for op, _ in fake.operations].count("GetItem") == 1
    assert new_state is not None and new_state["sync_state"] != state["sync_state"]


def test_pages_of_a_large_first_sync_come_oldest_first(
    fake: EwsFake, mailbox: str, ews: EwsConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    import postvakt.mailbox.ews as ews_module

    monkeypatch.setattr(ews_module, "SYNC_PAGE", 4)
    monkeypatch.setattr(ews_module, "MIME_CHUNK", 3)
    for n in range(10):
        fake.deliver(
            mailbox,
            citizen_mail(f"nr {n}", message_id=f"<p{n}@example.net>"),
            received=MORNING + timedelta(minutes=n),
        )
    fake.operations.clear()
    messages, _state = drain(ews, "inbox", None, set())
    assert [mid(m) for m in messages] == [f"<p{n}@example.net>" for n in range(10)]
    assert [m.state is not None for m in messages] == [False] * 9 + [True]
    operations = [op for op, _ in fake.operations]
    assert operations.count("SyncFolderItems") == 3 and operations.count("GetItem") == 4


def test_known_messages_are_not_downloaded(fake: EwsFake, mailbox: str, ews: EwsConnector) -> None:
    known = fake.deliver(
        mailbox, citizen_mail("a", message_id="<known@example.net>"), received=MORNING
    )
    fake.operations.clear()
    items = list(ews.fetch_new("inbox", None, lambda key: key == known))
    assert [type(i) for i in items] == [Checkpoint]
    assert "GetItem" not in [op for op, _ in fake.operations]


# --------------------------------------------------------------------------- throttling


def test_a_short_server_busy_is_waited_out(fake: EwsFake, mailbox: str, ews: EwsConnector) -> None:
    fake.deliver(mailbox, citizen_mail(COMPLAINT), received=MORNING)
    drain(ews, "inbox", None, set())  # connected
    fake.throttle(2, back_off_ms=1500, operation="SyncFolderItems")
    messages, _ = drain(ews, "inbox", None, set())
    assert len(messages) == 1
    assert ews.slept == [1.5, 1.5]  # type: ignore[attr-defined]


def test_a_long_server_busy_ends_the_pass_and_holds_off_the_next(
    fake: EwsFake, mailbox: str, ews: EwsConnector
) -> None:
    drain(ews, "inbox", None, set())
    fake.throttle(1, back_off_ms=300_000)
    with pytest.raises(ThrottledError) as caught:
        drain(ews, "inbox", None, set())
    assert caught.value.code == "ErrorServerBusy"
    assert caught.value.retry_after == pytest.approx(300.0)
    assert ews.slept == []  # type: ignore[attr-defined]
    calls = len(fake.operations)
    with pytest.raises(ThrottledError) as again:
        drain(ews, "inbox", None, set())
    assert len(fake.operations) == calls  # nothing was sent: the server asked for quiet
    assert 299 < (again.value.retry_after or 0) <= 300


# --------------------------------------------------------------------------- drafts


def test_a_draft_is_a_threaded_reply_with_the_letter_and_saved_once(
    fake: EwsFake, mailbox: str, ews: EwsConnector
) -> None:
    first = ews.save_draft(draft())
    fake.operations.clear()
    assert ews.save_drafts([draft(), draft(2)]) == [first, ews.save_draft(draft(2))]
    assert [op for op, _ in fake.operations].count("CreateItem") == 1
    saved = {i.subject + i.attachments[0].name: i for i in fake.items(mailbox, "drafts")}
    assert len(saved) == 2
    one = saved["SV: Klagomål på snöröjningenMottagningsbekräftelse KS 2026-1.docx"]
    assert one.is_draft and one.is_read  # our own draft does not look like unread mail
    assert one.in_reply_to == "<k1@example.net>"
    assert one.references == "<tidigare@example.net> <k1@example.net>"
    assert one.body.startswith("Hej Karin!")
    mime = email.message_from_bytes(one.mime(), policy=email.policy.default)
    (part,) = list(mime.iter_attachments())
    assert part.get_filename() == "Mottagningsbekräftelse KS 2026-1.docx"
    assert (
        docx.Document(io.BytesIO(part.get_content())).paragraphs[0].text
        == "Diarienummer: KS 2026/1"
    )


# --------------------------------------------------------------------------- private items


def test_private_items_carry_the_sensitivity_header(
    fake: EwsFake, mailbox: str, ews: EwsConnector
) -> None:
    marked = citizen_mail(
        "Privat sak", message_id="<p1@example.net>", headers={"Sensitivity": "Private"}
    )
    fake.deliver(mailbox, marked, received=MORNING)
    # Marked private in Exchange although the MIME says nothing (set after delivery).
    bare = citizen_mail("Också privat", message_id="<p2@example.net>")
    fake.deliver(mailbox, bare, received=MORNING + timedelta(minutes=1), sensitivity="Private")
    plain = citizen_mail("Vanlig", message_id="<p3@example.net>")
    fake.deliver(mailbox, plain, received=MORNING + timedelta(minutes=2))
    messages, _ = drain(ews, "inbox", None, set())
    by_key = {mid(m): m.raw for m in messages}
    assert by_key["<p1@example.net>"] == marked  # already says so: the bytes are untouched
    assert by_key["<p2@example.net>"] == b"Sensitivity: Private\n" + bare
    assert by_key["<p3@example.net>"] == plain
    assert parse_message(by_key["<p2@example.net>"]).header("Sensitivity") == "Private"
    assert parse_message(by_key["<p1@example.net>"]).header("Sensitivity") == "Private"
    assert parse_message(by_key["<p3@example.net>"]).header("Sensitivity") is None


# --------------------------------------------------------------------------- opened today


def test_opened_today_counts_read_flag_changes_since_the_day_began(
    fake: EwsFake, mailbox: str, clock: Clock
) -> None:
    yesterday = MORNING - timedelta(days=1)
    old = fake.deliver(
        mailbox, citizen_mail("gammalt", message_id="<o1@example.net>"), received=yesterday
    )
    fake.deliver(
        mailbox,
        citizen_mail("gammalt läst", message_id="<o2@example.net>"),
        received=yesterday,
        is_read=True,
    )
    new = fake.deliver(
        mailbox, citizen_mail("nytt", message_id="<o3@example.net>"), received=MORNING
    )
    ews = ews_fake.connector(fake, mailbox, clock=clock)
    messages, state = drain(ews, "inbox", None, set())
    known = {m.key for m in messages}
    evidence = ews.opened_evidence("inbox", state)
    assert (evidence.changed_today, evidence.unread_from_before, evidence.last_login) == (
        0,
        1,
        None,
    )
    fake.mark_read(mailbox, new)  # the owner reads this morning's mail
    # Seen before the next pass, without moving the saved sync state:
    assert ews.opened_evidence("inbox", state).changed_today == 1
    _, state = drain(ews, "inbox", state, known)
    assert state["changed_today"] == 1
    fake.mark_read(mailbox, old)
    fake.flag(mailbox, new)
    _, state = drain(ews, "inbox", state, known)
    evidence = ews.opened_evidence("inbox", state)
    assert (evidence.changed_today, evidence.unread_from_before) == (3, 0)
    # A new day starts counting again.
    tomorrow = ews_fake.connector(fake, mailbox, clock=fixed_clock(MORNING + timedelta(days=1)))
    assert tomorrow.opened_evidence("inbox", state).changed_today == 0


# --------------------------------------------------------------------------- out of office


def test_out_of_office_round_trip(fake: EwsFake, mailbox: str, ews: EwsConnector) -> None:
    assert ews.out_of_office() is None
    # exchangelib itself refuses an end before the real now (not our clock): far ahead.
    reply = OutOfOffice(
        start=date(2036, 11, 24),
        end=date(2036, 11, 30),
        subject="Frånvaro",
        text="Jag är tillbaka den 1 december.\nKontakta Bo Ek, bo@testby.se, 0123-45 67 89.",
    )
    ews.set_out_of_office(reply)
    oof = fake.mailboxes[mailbox].oof
    assert oof.state == "Scheduled" and oof.audience == "All"
    # Whole days in Stockholm: 24 Nov 00:00 CET to 1 Dec 00:00 CET.
    assert oof.start == datetime(2036, 11, 24, tzinfo=STOCKHOLM)
    assert oof.end == datetime(2036, 12, 1, tzinfo=STOCKHOLM)
    assert "Bo Ek" in oof.internal and "<html>" in oof.external
    assert ews.out_of_office() == OutOfOffice(reply.start, reply.end, "", reply.text)
    ews.clear_out_of_office()
    assert ews.out_of_office() is None
    assert fake.mailboxes[mailbox].oof.state == "Disabled"
    assert "Bo Ek" in fake.mailboxes[mailbox].oof.internal  # the text is kept, as Outlook does


def test_automatic_replies_internal_external_and_audience(
    fake: EwsFake, mailbox: str, ews: EwsConnector
) -> None:
    start = datetime(2026, 12, 21, 8, tzinfo=STOCKHOLM)
    wanted = AutomaticReplies(
        status="scheduled",
        start=start,
        end=start + timedelta(days=14),
        internal_text="Hej kollega, jag är ledig över jul.",
        external_text="Tack för ditt meddelande. Kontoret öppnar igen den 5 januari.",
        audience="known",
    )
    ews.set_automatic_replies(wanted)
    assert fake.mailboxes[mailbox].oof.audience == "Known"
    read = ews.automatic_replies()
    assert read == wanted
    assert read.active(start + timedelta(days=1)) and not read.active(start - timedelta(days=1))
    # Restoring what was there before writes the stored HTML back exactly.
    ews.set_automatic_replies(
        AutomaticReplies(status="enabled", internal_text="x", external_text="y")
    )
    ews.set_automatic_replies(read)
    assert fake.mailboxes[mailbox].oof.internal == read.internal_html
    with pytest.raises(ValueError, match="slut"):
        ews.set_automatic_replies(
            AutomaticReplies(status="scheduled", start=start, end=start - timedelta(hours=1))
        )


# --------------------------------------------------------------------------- delegates and rights


def test_delegates_and_folder_permissions_are_read(
    fake: EwsFake, mailbox: str, ews: EwsConnector
) -> None:
    assert ews.delegates() == []
    fake.set_delegates(
        mailbox, [FakeDelegate("bo@testby.se", "Bo Ek", inbox="Editor", view_private_items=False)]
    )
    (delegate,) = ews.delegates()
    assert (delegate.address, delegate.name, delegate.inbox, delegate.view_private_items) == (
        "bo@testby.se",
        "Bo Ek",
        "Editor",
        False,
    )
    fake.set_folder_permissions(mailbox, "inbox", [permission("bo@testby.se", "Reviewer")])
    assert ews.access("inbox") == {"bo@testby.se": "Reviewer"}
    levels = {p.who: p.level for p in ews.permissions("inbox")}
    assert levels == {"Default": "None", "bo@testby.se": "Reviewer"}


def test_granting_access_is_an_instruction_for_the_admin_then_verified(
    fake: EwsFake, mailbox: str, ews: EwsConnector
) -> None:
    line = ews.grant_instruction("inbox", "cia@testby.se", "lrs")
    assert line == (
        f"Add-MailboxFolderPermission -Identity '{mailbox}:\\Inkorgen' -User 'cia@testby.se' "
        "-AccessRights Reviewer"
    )
    assert not ews.has_access("inbox", "cia@testby.se", "Reviewer")
    fake.set_folder_permissions(
        mailbox, "inbox", [permission("cia@testby.se", "Reviewer")]
    )  # the admin ran it
    assert ews.has_access("inbox", "cia@testby.se", "lrs")
    assert not ews.has_access("inbox", "cia@testby.se", "Editor")
    assert ews.grant_instruction("inbox", "cia@testby.se", "Editor").startswith(
        "Set-MailboxFolderPermission"
    )
    assert ews.grant_instruction("inbox", "cia@testby.se", "FullAccess") == (
        f"Add-MailboxPermission -Identity '{mailbox}' -User 'cia@testby.se' -AccessRights FullAccess "
        "-InheritanceType All -AutoMapping $false"
    )
    assert ews.removal_instruction("inbox", "cia@testby.se") == (
        f"Remove-MailboxFolderPermission -Identity '{mailbox}:\\Inkorgen' -User 'cia@testby.se' "
        "-Confirm:$false"
    )
    assert "'o''brien@testby.se'" in ews.grant_instruction("inbox", "o'brien@testby.se", "Reviewer")


def test_permission_levels_from_imap_letters_and_names() -> None:
    assert permission_level("lrs") == "Reviewer"
    assert permission_level("lrswipkxte") == "Editor"
    assert permission_level("editor") == "Editor"
    assert permission_level("fullaccess") == "FullAccess"
    with pytest.raises(ValueError, match="okänd behörighet"):
        permission_level("läsa allt")
