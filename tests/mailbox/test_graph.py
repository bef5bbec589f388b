"""The Graph connector against a stateful fake of Microsoft Graph and its token endpoint.

MSAL and requests talk HTTPS to :mod:`tests.support.graph_fake` as they would to
login.microsoftonline.com and graph.microsoft.com.  These tests cover what is particular
to Graph; the behaviour every connector shares is in ``test_contract.py``.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import docx
import pytest
from sqlalchemy import func, select

from postvakt.clock import STOCKHOLM, Clock, fixed_clock
from postvakt.config import load_config
from postvakt.errors import (
    AuthenticationError,
    ConfigError,
    MailboxNotFoundError,
    ThrottledError,
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
from postvakt.mailbox.exchange import AutomaticReplies, ThrottlePolicy
from postvakt.mailbox.graph import GraphConnector
from postvakt.mailbox.message import parse_message
from postvakt.registry.models import Case, Disposition
from postvakt.service import Service
from tests.support import graph_fake
from tests.support.graph_fake import AppCertificate, GraphFake, make_tls
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
connector = "graph"

[mailboxes.graph]
tenant_id = "{tenant}"
client_id = "{client}"
authority = "{authority}"
endpoint = "{endpoint}"
ca_file = "{ca_file}"
{credential}
"""


@pytest.fixture(scope="module")
def certificate() -> AppCertificate:
    return AppCertificate.create()


@pytest.fixture(scope="module")
def fake(
    tmp_path_factory: pytest.TempPathFactory, certificate: AppCertificate
) -> Iterator[GraphFake]:
    with GraphFake(make_tls(tmp_path_factory.mktemp("tls"))) as server:
        server.add_app(graph_fake.CLIENT_ID, secret=graph_fake.CLIENT_SECRET)
        server.add_app("cert-app", certificate=certificate)
        yield server


@pytest.fixture
def mailbox(fake: GraphFake) -> str:
    return graph_fake.new_mailbox(fake)


@pytest.fixture
def graph(fake: GraphFake, mailbox: str, clock: Clock) -> Iterator[GraphConnector]:
    connector = graph_fake.connector(fake, mailbox, clock=clock)
    yield connector
    connector.close()


def mid(message: FetchedMessage) -> str:
    """The message's Message-ID, as the tests name messages (keys are Graph's immutable ids)."""
    return f"<{parse_message(message.raw).message_id}>"


def drain(connector: GraphConnector, folder: str, state, known: set[str]):
    messages: list[FetchedMessage] = []
    for item in connector.fetch_new(folder, state, known.__contains__):
        if isinstance(item, FetchedMessage):
            messages.append(item)
        if item.state is not None:
            state = item.state
    return messages, state


def letter(text: str) -> bytes:
    out = io.BytesIO()
    document = docx.Document()
    document.add_paragraph(text)
    document.save(out)
    return out.getvalue()


def draft(
    n: int = 1, in_reply_to: str | None = "k1@example.net", data: bytes | None = None
) -> DraftReply:
    return DraftReply(
        message_id=f"svar-{n}@postvakt.testby.se",
        from_address="kontakt@testby.se",
        from_name="Kontaktcenter",
        to_address="karin.ek@example.net",
        to_name="Karin Ek",
        subject="SV: Klagomål på snöröjningen",
        text="Hej Karin!\n\nVi har tagit emot ditt klagomål.\n",
        in_reply_to=in_reply_to,
        attachments=(
            DraftAttachment(
                f"Mottagningsbekräftelse KS 2026-{n}.docx",
                DOCX,
                data if data is not None else letter(f"Diarienummer: KS 2026/{n}"),
            ),
        ),
    )


def write_config(
    tmp_path: Path, fake: GraphFake, address: str, credential: str, client: str
) -> Path:
    path = tmp_path / "postvakt.toml"
    path.write_text(
        CONFIG.format(
            address=address,
            tenant=fake.tenant,
            client=client,
            authority=fake.authority,
            endpoint=fake.endpoint,
            ca_file=fake.tls.ca_file,
            credential=credential,
        ),
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------- the whole path


def test_a_complaint_becomes_a_case_and_a_draft_through_run_once(
    tmp_path: Path, fake: GraphFake, mailbox: str, clock: Clock
) -> None:
    fake.deliver(
        mailbox,
        citizen_mail(COMPLAINT, to=mailbox, message_id="<k1@example.net>"),
        received=MORNING,
    )
    config = load_config(
        write_config(
            tmp_path,
            fake,
            mailbox,
            f'client_secret_env = "{graph_fake.SECRET_ENV}"',
            graph_fake.CLIENT_ID,
        )
    )
    environ = {graph_fake.SECRET_ENV: graph_fake.CLIENT_SECRET}
    before = fake.view(mailbox)
    with Service(config, clock=clock, environ=environ).open() as service:
        assert isinstance(service.connectors[mailbox], GraphConnector)
        report = service.run_once()
        assert report.errors == []
        assert report.count(Disposition.CASE) == 1
        assert [reference for reference, _where in report.drafts_saved] == ["KS 2026/1"]
        again = service.run_once()
        assert again.outcomes == [] and again.drafts_saved == []
        assert service.sessions is not None
        with service.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 1
    (saved,) = fake.messages(mailbox, "drafts")
    assert saved.is_draft and saved.subject == "SV: Klagomål på snöröjningen"
    assert saved.to == [("Karin Ek", "karin.ek@example.net")]
    assert saved.in_reply_to == "<k1@example.net>"  # createReply threads it
    (attachment,) = saved.attachments
    assert attachment.name == "Mottagningsbekräftelse KS 2026-1.docx"
    paragraphs = [p.text for p in docx.Document(io.BytesIO(attachment.content)).paragraphs]
    assert any("KS 2026/1" in p for p in paragraphs)
    assert fake.view(mailbox) == before  # isRead untouched, nothing moved
    assert fake.writes() == []


def test_certificate_credentials_from_the_key_file(
    tmp_path: Path, fake: GraphFake, mailbox: str, certificate: AppCertificate, clock: Clock
) -> None:
    key_file = tmp_path / "postvakt-app.pem"
    key_file.write_text(certificate.private_key_pem, encoding="ascii")
    credential = (
        f'certificate_path = "{key_file.name}"\ncertificate_thumbprint = "{certificate.thumbprint}"'
    )
    config = load_config(write_config(tmp_path, fake, mailbox, credential, "cert-app"))
    connector = open_connector(config.mailboxes[0], config, {})
    assert isinstance(connector, GraphConnector)
    assert isinstance(connector, SupportsOutOfOffice) and isinstance(
        connector, SupportsOpenedEvidence
    )
    fake.deliver(mailbox, citizen_mail(COMPLAINT), received=MORNING)
    messages, _ = drain(connector, "inbox", None, set())
    assert len(messages) == 1
    key_file.unlink()
    with pytest.raises(ConfigError, match="certificate_path"):
        open_connector(config.mailboxes[0], config, {})


def test_a_wrong_secret_is_an_authentication_error(
    fake: GraphFake, mailbox: str, clock: Clock
) -> None:
    connector = graph_fake.connector(fake, mailbox, credential="fel", clock=clock)
    with pytest.raises(AuthenticationError) as caught:
        drain(connector, "inbox", None, set())
    assert caught.value.code == "invalid_client"
    assert "fel" not in str(caught.value)


# --------------------------------------------------------------------------- tokens


def test_one_token_serves_every_mailbox_and_an_expired_one_is_renewed(
    fake: GraphFake, clock: Clock
) -> None:
    fake.expire_tokens()  # whatever earlier tests left in the cache is no longer accepted
    first = graph_fake.connector(fake, graph_fake.new_mailbox(fake), clock=clock)
    second = graph_fake.connector(fake, graph_fake.new_mailbox(fake), clock=clock)
    before = fake.token_requests
    messages, state = drain(first, "inbox", None, set())  # 401, a new token, done
    drain(first, "inbox", state, {m.key for m in messages})
    drain(second, "inbox", None, set())  # the same app registration: the same token
    assert fake.token_requests - before == 1
    fake.expire_tokens()
    drain(second, "inbox", None, set())
    drain(first, "inbox", None, set())
    assert fake.token_requests - before == 2


def test_a_token_the_service_keeps_rejecting(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    drain(graph, "inbox", None, set())
    fake.expire_tokens()
    fake.tokens_expire_at_once = True
    try:
        with pytest.raises(AuthenticationError) as caught:
            drain(graph, "inbox", None, set())
    finally:
        fake.tokens_expire_at_once = False
    assert caught.value.code == "InvalidAuthenticationToken"


# --------------------------------------------------------------------------- access


def test_a_mailbox_outside_the_application_access_policy(fake: GraphFake, clock: Clock) -> None:
    fake.add_app("scoped-app", secret="s", allowed={"annan@testby.se"})
    address = graph_fake.new_mailbox(fake)
    connector = graph_fake.connector(
        fake, address, credential="s", clock=clock, settings={"client_id": "scoped-app"}
    )
    with pytest.raises(AuthenticationError, match="New-ApplicationAccessPolicy") as caught:
        drain(connector, "inbox", None, set())
    assert caught.value.code == "ErrorAccessDenied"


def test_an_app_without_mailbox_settings_permission(
    fake: GraphFake, mailbox: str, clock: Clock
) -> None:
    fake.add_app("mail-only", secret="s", roles={"Mail.ReadWrite"})
    connector = graph_fake.connector(
        fake, mailbox, credential="s", clock=clock, settings={"client_id": "mail-only"}
    )
    drain(connector, "inbox", None, set())  # mail works
    with pytest.raises(AuthenticationError, match=r"MailboxSettings\.ReadWrite") as caught:
        connector.out_of_office()
    assert caught.value.code == "ErrorAccessDenied"


def test_a_user_that_does_not_exist(fake: GraphFake, clock: Clock) -> None:
    connector = graph_fake.connector(fake, "finns-inte@testby.se", clock=clock)
    with pytest.raises(MailboxNotFoundError) as caught:
        drain(connector, "inbox", None, set())
    assert caught.value.code == "ErrorInvalidUser"


# --------------------------------------------------------------------------- delta


def test_delta_pages_are_followed_and_messages_come_oldest_first(
    fake: GraphFake, mailbox: str, graph: GraphConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    import postvakt.mailbox.graph_client as graph_client

    monkeypatch.setattr(graph_client, "PAGE_SIZE", 3)
    for n in range(8):
        fake.deliver(
            mailbox,
            citizen_mail(f"nr {n}", message_id=f"<d{n}@example.net>"),
            received=MORNING + timedelta(minutes=n),
        )
    fake.requests.clear()
    messages, state = drain(graph, "inbox", None, set())
    assert [mid(m) for m in messages] == [f"<d{n}@example.net>" for n in range(8)]
    assert [m.state is not None for m in messages] == [False] * 7 + [True]
    deltas = [path for method, path in fake.requests if path.endswith("/messages/delta")]
    assert len(deltas) == 3  # 3 + 3 + 2, the last with the deltaLink
    assert "$deltatoken=" in state["delta_link"]


@pytest.mark.parametrize("code", ["syncStateNotFound", "resyncRequired"])
def test_a_gone_delta_link_restarts_and_registers_nothing_twice(
    fake: GraphFake, mailbox: str, graph: GraphConnector, code: str
) -> None:
    for n in range(2):
        fake.deliver(
            mailbox,
            citizen_mail("x", message_id=f"<g{n}@example.net>"),
            received=MORNING + timedelta(minutes=n),
        )
    first, state = drain(graph, "inbox", None, set())
    known = {m.key for m in first}
    fake.invalidate_delta(mailbox, code)
    fake.deliver(
        mailbox,
        citizen_mail("ny", message_id="<g9@example.net>"),
        received=MORNING + timedelta(hours=1),
    )
    fake.requests.clear()
    again, new_state = drain(graph, "inbox", state, known)
    assert [mid(m) for m in again] == ["<g9@example.net>"]
    assert sum(1 for _m, path in fake.requests if path.endswith("/$value")) == 1
    assert new_state["delta_link"] != state["delta_link"]


def test_known_messages_are_not_downloaded(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    known = fake.deliver(
        mailbox, citizen_mail("a", message_id="<known@example.net>"), received=MORNING
    )
    fake.requests.clear()
    items = list(graph.fetch_new("inbox", None, lambda key: key == known))
    assert [type(i) for i in items] == [Checkpoint]
    assert not any(path.endswith("/$value") for _m, path in fake.requests)


def test_every_request_asks_for_immutable_ids_and_a_moved_message_keeps_its_key(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    moved = fake.deliver(
        mailbox, citizen_mail("a", message_id="<mv1@example.net>"), received=MORNING
    )
    fake.requests.clear()
    messages, state = drain(graph, "inbox", None, set())
    assert [m.key for m in messages] == [moved]
    # The owner files it away and back: the REST id changes, the immutable id does not.
    fake.move(mailbox, moved, "archive")
    fake.move(mailbox, moved, "inbox")
    assert fake.messages(mailbox, "inbox")[0].rest_id != moved
    again, _ = drain(graph, "inbox", state, {m.key for m in messages})
    assert again == []  # the same message, known by its key: not read as a new one
    assert fake.prefer_headers and all(
        'IdType="ImmutableId"' in prefer for prefer in fake.prefer_headers
    )


def test_two_messages_sharing_a_message_id_are_both_read(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    first = fake.deliver(
        mailbox, citizen_mail("Först", message_id="<same@example.net>"), received=MORNING
    )
    second = fake.deliver(
        mailbox,
        citizen_mail("Sedan något annat", message_id="<same@example.net>"),
        received=MORNING + timedelta(minutes=1),
    )
    messages, _ = drain(graph, "inbox", None, set())
    assert [m.key for m in messages] == [first, second]
    assert messages[0].raw != messages[1].raw


def test_a_message_deleted_meanwhile_is_passed_over(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    first = fake.deliver(
        mailbox, citizen_mail("a", message_id="<x1@example.net>"), received=MORNING
    )
    fake.deliver(
        mailbox,
        citizen_mail("b", message_id="<x2@example.net>"),
        received=MORNING + timedelta(minutes=1),
    )
    messages, state = drain(graph, "inbox", None, set())
    fake.delete(mailbox, first)  # the owner deletes it: a @removed entry in the next delta
    again, _ = drain(graph, "inbox", state, {m.key for m in messages})
    assert again == []


# --------------------------------------------------------------------------- throttling


def test_a_short_retry_after_is_honoured(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    fake.deliver(mailbox, citizen_mail(COMPLAINT), received=MORNING)
    fake.throttle(2, retry_after=3, path="/messages/delta")
    messages, _ = drain(graph, "inbox", None, set())
    assert len(messages) == 1
    assert graph.slept == [3.0, 3.0]  # type: ignore[attr-defined]


def test_a_long_retry_after_ends_the_pass_and_holds_off_the_next(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    fake.throttle(1, retry_after=120)
    with pytest.raises(ThrottledError) as caught:
        drain(graph, "inbox", None, set())
    assert caught.value.retry_after == 120 and caught.value.code == "ApplicationThrottled"
    count = len(fake.requests)
    with pytest.raises(ThrottledError):
        drain(graph, "inbox", None, set())
    assert len(fake.requests) == count


def test_the_throttle_policy() -> None:
    policy = ThrottlePolicy(max_wait=10, attempts=3, default_wait=2)
    assert policy.pause(4, 1) == 4
    assert policy.pause(11, 1) is None  # longer than a pass should wait
    assert policy.pause(None, 1) == 2 and policy.pause(None, 2) == 4
    assert policy.pause(1, 3) is None  # out of tries


# --------------------------------------------------------------------------- drafts


def test_a_reply_draft_is_made_with_create_reply_and_saved_once(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    fake.deliver(mailbox, citizen_mail(COMPLAINT, message_id="<k1@example.net>"), received=MORNING)
    place = graph.save_draft(draft())
    assert graph.save_drafts([draft()]) == [place]
    (saved,) = fake.messages(mailbox, "drafts")
    assert place == f"drafts/{saved.id}"
    assert saved.message_id == "<svar-1@postvakt.testby.se>"
    assert saved.in_reply_to == "<k1@example.net>" and saved.is_draft
    assert "Vi har tagit emot ditt klagomål." in saved.body  # the comment above the quote
    assert [a.name for a in saved.attachments] == ["Mottagningsbekräftelse KS 2026-1.docx"]
    creates = [path for method, path in fake.requests if path.endswith("/createReply")]
    assert len(creates) == 1


def test_without_the_original_a_new_draft_is_made(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    graph.save_draft(draft(in_reply_to="borta@example.net"))
    (saved,) = fake.messages(mailbox, "drafts")
    assert saved.in_reply_to is None and saved.body.startswith("Hej Karin!")
    assert saved.subject == "SV: Klagomål på snöröjningen"


def test_a_large_letter_goes_through_an_upload_session(
    fake: GraphFake, mailbox: str, clock: Clock
) -> None:
    connector = graph_fake.connector(
        fake, mailbox, clock=clock, small_attachment=64 * 1024, upload_chunk=32 * 1024
    )
    big = letter("Diarienummer: KS 2026/9\n" + secrets.token_hex(60_000))  # does not compress
    assert len(big) > 64 * 1024
    fake.upload_chunks.clear()
    connector.save_draft(draft(9, in_reply_to=None, data=big))
    (saved,) = fake.messages(mailbox, "drafts")
    (attachment,) = saved.attachments
    assert attachment.content == big
    assert len(fake.upload_chunks) == -(-len(big) // (32 * 1024))
    assert (
        docx.Document(io.BytesIO(attachment.content))
        .paragraphs[0]
        .text.startswith("Diarienummer: KS 2026/9")
    )


def test_a_draft_whose_attachment_failed_is_completed_not_duplicated(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    fake.deliver(mailbox, citizen_mail(COMPLAINT, message_id="<k1@example.net>"), received=MORNING)
    fake.throttle(1, retry_after=600, path="/attachments")  # the attachment step fails
    with pytest.raises(ThrottledError):
        graph.save_draft(draft())
    (half,) = fake.messages(mailbox, "drafts")
    assert half.attachments == []
    graph._backoff.succeeded()  # the wait is over
    graph.save_draft(draft())
    (whole,) = fake.messages(mailbox, "drafts")
    assert whole.id == half.id
    assert [a.name for a in whole.attachments] == ["Mottagningsbekräftelse KS 2026-1.docx"]


# --------------------------------------------------------------------------- private items


def test_private_items_carry_the_sensitivity_header(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    marked = citizen_mail(
        "Privat", message_id="<p1@example.net>", headers={"Sensitivity": "Private"}
    )
    fake.deliver(mailbox, marked, received=MORNING)
    bare = citizen_mail("Också privat", message_id="<p2@example.net>")
    fake.deliver(mailbox, bare, received=MORNING + timedelta(minutes=1), sensitivity="private")
    messages, _ = drain(graph, "inbox", None, set())
    by_key = {mid(m): m.raw for m in messages}
    assert by_key["<p1@example.net>"] == marked
    assert parse_message(by_key["<p2@example.net>"]).header("Sensitivity") == "Private"


# --------------------------------------------------------------------------- opened today


def test_opened_today_from_delta_changes(fake: GraphFake, mailbox: str, clock: Clock) -> None:
    fake.deliver(
        mailbox,
        citizen_mail("gammalt", message_id="<o1@example.net>"),
        received=MORNING - timedelta(days=1),
    )
    new = fake.deliver(
        mailbox, citizen_mail("nytt", message_id="<o2@example.net>"), received=MORNING
    )
    graph = graph_fake.connector(fake, mailbox, clock=clock)
    messages, state = drain(graph, "inbox", None, set())
    evidence = graph.opened_evidence("inbox", state)
    assert (evidence.changed_today, evidence.unread_from_before, evidence.last_login) == (
        0,
        1,
        None,
    )
    fake.mark_read(mailbox, new)
    assert graph.opened_evidence("inbox", state).changed_today == 1  # the saved link is not moved
    _, state = drain(graph, "inbox", state, {m.key for m in messages})
    assert state["changed_today"] == 1
    assert graph.opened_evidence("inbox", state).changed_today == 1
    tomorrow = graph_fake.connector(fake, mailbox, clock=fixed_clock(MORNING + timedelta(days=1)))
    assert tomorrow.opened_evidence("inbox", state).changed_today == 0


# --------------------------------------------------------------------------- out of office


def test_out_of_office_round_trip(fake: GraphFake, mailbox: str, graph: GraphConnector) -> None:
    assert graph.out_of_office() is None
    reply = OutOfOffice(
        date(2026, 11, 24), date(2026, 11, 30), "Frånvaro", "Tillbaka 1 december.\nHej & välkommen"
    )
    graph.set_out_of_office(reply)
    stored = fake.mailboxes[mailbox].replies
    assert stored["status"] == "scheduled" and stored["externalAudience"] == "all"
    assert stored["scheduledStartDateTime"] == datetime(2026, 11, 24, tzinfo=STOCKHOLM)
    assert stored["scheduledEndDateTime"] == datetime(2026, 12, 1, tzinfo=STOCKHOLM)
    assert "&amp;" in stored["internalReplyMessage"]
    assert graph.out_of_office() == OutOfOffice(reply.start, reply.end, "", reply.text)
    graph.clear_out_of_office()
    assert graph.out_of_office() is None
    assert "Tillbaka" in fake.mailboxes[mailbox].replies["internalReplyMessage"]


def test_automatic_replies_in_the_mailbox_time_zone(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    start = datetime(2026, 12, 21, 8, tzinfo=STOCKHOLM)
    wanted = AutomaticReplies(
        status="scheduled",
        start=start,
        end=start + timedelta(days=14),
        internal_text="Ledig över jul.",
        external_text="Kontoret öppnar igen den 5 januari.",
        audience="known",
    )
    graph.set_automatic_replies(wanted)
    assert fake.mailboxes[mailbox].replies["externalAudience"] == "contactsOnly"
    fake.oof_time_zone = "W. Europe Standard Time"  # Graph answers in the mailbox's zone
    try:
        assert graph.automatic_replies() == wanted
    finally:
        fake.oof_time_zone = "UTC"
    graph.set_automatic_replies(
        AutomaticReplies(status="enabled", internal_text="i", external_text="e")
    )
    now = graph.automatic_replies()
    assert (now.status, now.start, now.internal_text) == ("enabled", None, "i")
    assert now.as_out_of_office(MORNING) == OutOfOffice(MORNING.date(), None, "", "e")


def test_settings_are_patched_as_graph_documents_them(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    fake.requests.clear()
    graph.set_automatic_replies(AutomaticReplies(status="disabled"))
    assert ("PATCH", f"/v1.0/users/{mailbox}/mailboxSettings") in fake.requests
    assert json.dumps(fake.mailboxes[mailbox].replies["status"]) == '"disabled"'


def test_a_reply_draft_is_marked_as_postvakts_and_only_it_is_removed(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    fake.deliver(mailbox, citizen_mail(COMPLAINT, message_id="<k1@example.net>"), received=MORNING)
    graph.save_draft(draft())  # createReply, then PATCH: the property is not createReply's
    (saved,) = fake.messages(mailbox, "drafts")
    assert [value for _id, value in saved.extended.values()] == ["svar-1@postvakt.testby.se"]
    # The person's own draft with the same Message-ID (no property) stays.
    own = fake.deliver(
        mailbox,
        citizen_mail("Mitt eget.", message_id="<svar-1@postvakt.testby.se>"),
        folder="drafts",
    )
    assert graph.remove_drafts(["svar-1@postvakt.testby.se"]) == ["svar-1@postvakt.testby.se"]
    assert [m.id for m in fake.messages(mailbox, "drafts")] == [own]
    # Into Deleted Items, keeping its immutable id, as Outlook deletes a draft.
    assert [m.id for m in fake.messages(mailbox, "deleteditems")] == [saved.id]
    assert fake.writes() == []  # nothing of the person's was changed
    assert graph.remove_drafts(["svar-1@postvakt.testby.se"]) == []


def test_a_message_moved_by_its_owner_is_read_again_by_its_immutable_id(
    fake: GraphFake, mailbox: str, graph: GraphConnector
) -> None:
    moved = fake.deliver(
        mailbox, citizen_mail("a", message_id="<mv2@example.net>"), received=MORNING
    )
    (message,), _state = drain(graph, "inbox", None, set())
    fake.move(mailbox, moved, "archive")
    again = graph.fetch_one("inbox", message.key)
    assert again is not None and again.raw == message.raw
    assert again.received_at == message.received_at
