"""A mailbox's start: mail that arrived before it is recorded as seen, never acted on.

Pointed at a mailbox with years of mail, the first pass must not register the old
complaints, draft letters promising dates long past, nor report breaches on the first day.
The start is ``start_from`` in the config, else the moment the mailbox was first watched
(kept in the database).  ``check-config`` and ``run`` say how much mail lies before it, the
connectors count it where it is (Maildir, IMAP on a real Dovecot, EWS and Graph on their
fakes), no letter promises a date already passed, and the demo's mail is of the week it
runs in.
"""

from __future__ import annotations

import email
import io
import re
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path

import docx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, Clock, fixed_clock
from postvakt.config import ImapSettings, load_config
from postvakt.mailbox.imap import ImapConnector
from postvakt.registry.db import _alembic_config, create_db_engine
from postvakt.registry.models import (
    Case,
    Disposition,
    Draft,
    Mailbox,
    MessageRecord,
    UTCDateTime,
)
from postvakt.registry.starts import MailboxStart
from postvakt.rules.deadlines import due_items
from postvakt.service import Service
from postvakt.templates.casework import swedish_date
from tests.support import ews_fake, graph_fake
from tests.support.dovecot import MASTER_ENV, DovecotServer, ImapUser
from tests.support.ews_fake import EwsFake
from tests.support.graph_fake import GraphFake, make_tls
from tests.support.ports import free_port
from tests.support.workspace import IMAP_SECRET_CONFIG, Workspace, citizen_mail, make_workspace

COMPLAINT = (
    "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\n"
    "Karin Ek\n070-123 45 67\n"
)
QUESTION = "Hej, när har ni öppet på kommunhuset i jul?\n"
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)


def without_start(ws: Workspace, start_from: str | None = None) -> Workspace:
    """The workspace's mailboxes with ``start_from`` as given (None: the default)."""
    text = ws.config_path.read_text(encoding="utf-8")
    line = f"start_from = {start_from}\n" if start_from else ""
    ws.config_path.write_text(text.replace("start_from = 2026-01-01\n", line), encoding="utf-8")
    return ws


def deliver(
    ws: Workspace, body: str, when: datetime, name: str, who: str = "kontakt", **kw: object
) -> None:
    raw = citizen_mail(body, date=when, to=f"{who}@testby.se", **kw)  # type: ignore[arg-type]
    ws.deliver(raw, who, when=when, name=name)


def service(ws: Workspace, clock: Clock) -> Service:
    return Service(load_config(ws.config_path), clock=clock).open()


def records(svc: Service) -> dict[str, MessageRecord]:
    assert svc.sessions is not None
    with svc.sessions() as session:
        return {r.message_key: r for r in session.scalars(select(MessageRecord))}


def count(svc: Service, model: type) -> int:
    assert svc.sessions is not None
    with svc.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --------------------------------------------------------------------------- the start rule


def test_a_first_pass_records_old_mail_and_acts_on_none_of_it(tmp_path: Path, db_url: str) -> None:
    ws = without_start(make_workspace(tmp_path / "ws", db_url))
    deliver(ws, COMPLAINT, datetime(2024, 3, 4, 9, 0, tzinfo=STOCKHOLM), "a-2024")
    deliver(ws, COMPLAINT, datetime(2026, 11, 20, 8, 0, tzinfo=STOCKHOLM), "b-friday")
    deliver(ws, QUESTION, datetime(2026, 11, 23, 9, 59, tzinfo=STOCKHOLM), "c-question")

    with service(ws, fixed_clock(MONDAY)) as svc:
        report = svc.run_once()
        assert {o.key: o.disposition for o in report.outcomes} == {
            "a-2024": Disposition.BEFORE_START,
            "b-friday": Disposition.BEFORE_START,
            "c-question": Disposition.BEFORE_START,
        }
        assert count(svc, Case) == 0 and count(svc, Draft) == 0
        seen = records(svc)
        assert all(r.reply_due is None for r in seen.values())
        assert "före brevlådans start 2026-11-23 10:00" in seen["a-2024"].reasons[0]
        assert seen["a-2024"].excerpt and "snöröjningen" in seen["a-2024"].excerpt
        assert svc.sessions is not None
        with svc.sessions() as session:
            assert due_items(session) == []  # no deadline, so no breach on the first day
            starts = {
                s.mailbox_id: s.first_watched_at for s in session.scalars(select(MailboxStart))
            }
            kontakt = session.scalars(
                select(Mailbox.id).where(Mailbox.address == "kontakt@testby.se")
            ).one()
        assert starts[kontakt] == MONDAY

    # Mail that arrives after the first pass is mail like any other, and the start stays
    # where it was after a restart.
    later = MONDAY + timedelta(minutes=30)
    deliver(ws, COMPLAINT, MONDAY + timedelta(minutes=10), "d-new", subject="Plogning igen")
    with service(ws, fixed_clock(later)) as svc:
        report = svc.run_once()
        assert [(o.key, o.disposition) for o in report.outcomes] == [("d-new", Disposition.CASE)]
        assert svc.sessions is not None
        with svc.sessions() as session:
            assert session.get_one(MailboxStart, kontakt).first_watched_at == MONDAY
            case = session.scalars(select(Case)).one()
            assert case.received_at == MONDAY + timedelta(minutes=10)
            assert case.reference == "KS 2026/1"  # the year's first case is this year's mail


def test_a_mailbox_empty_at_its_first_pass_starts_then_not_at_its_first_mail(
    tmp_path: Path, db_url: str
) -> None:
    """The start is the first watch, not the first message: mail that comes to a mailbox
    watched (empty) since Monday morning is acted on, though it is processed after it came."""
    ws = without_start(make_workspace(tmp_path / "ws", db_url))
    with service(ws, fixed_clock(MONDAY)) as svc:
        assert svc.run_once().outcomes == []
    deliver(ws, COMPLAINT, MONDAY + timedelta(minutes=10), "a-new")
    with service(ws, fixed_clock(MONDAY + timedelta(minutes=40))) as svc:
        outcomes = [(o.key, o.disposition) for o in svc.run_once().outcomes]
        assert outcomes == [("a-new", Disposition.CASE)]
        assert svc.sessions is not None
        with svc.sessions() as session:
            starts = {s.first_watched_at for s in session.scalars(select(MailboxStart))}
        assert starts == {MONDAY}  # every mailbox of the workspace, from its first pass


@pytest.mark.parametrize(
    ("start_from", "before", "after"),
    [
        ("2026-11-21", datetime(2026, 11, 20, 23, 59), datetime(2026, 11, 21, 0, 1)),
        (
            "2026-11-21T09:00:00+01:00",
            datetime(2026, 11, 21, 8, 59),
            datetime(2026, 11, 21, 9, 1),
        ),
        ("2026-11-21T09:00:00", datetime(2026, 11, 21, 8, 59), datetime(2026, 11, 21, 9, 1)),
    ],
    ids=["date", "moment-with-offset", "swedish-time"],
)
def test_start_from_in_the_config_decides(
    workspace: Workspace, start_from: str, before: datetime, after: datetime
) -> None:
    ws = without_start(workspace, start_from)
    deliver(ws, COMPLAINT, before.replace(tzinfo=STOCKHOLM), "a-before")
    deliver(ws, COMPLAINT, after.replace(tzinfo=STOCKHOLM), "b-after", subject="Igen")

    with service(ws, fixed_clock(MONDAY)) as svc:
        outcomes = {o.key: o for o in svc.run_once().outcomes}
        assert outcomes["a-before"].disposition is Disposition.BEFORE_START
        assert outcomes["b-after"].disposition is Disposition.CASE
        assert count(svc, Draft) == 1


def test_a_copy_in_another_mailbox_of_a_registered_case_is_still_a_duplicate(
    workspace: Workspace,
) -> None:
    """The start rule comes after 'the same e-mail is already a case': a citizen who wrote to
    a mailbox watched long and one watched from today is not told twice, nor lost."""
    ws = workspace
    text = ws.config_path.read_text(encoding="utf-8")
    # anna@ starts today (its default); kontakt@ keeps its start in January.
    ws.config_path.write_text(
        text.replace(
            'address = "anna@testby.se"\nstart_from = 2026-01-01\n', 'address = "anna@testby.se"\n'
        ),
        encoding="utf-8",
    )
    raw = citizen_mail(COMPLAINT, date=datetime(2026, 11, 20, 8, 0, tzinfo=STOCKHOLM))
    when = datetime(2026, 11, 20, 8, 0, tzinfo=STOCKHOLM)
    ws.deliver(raw, "kontakt", when=when, name="k-copy")
    ws.deliver(raw, "anna", when=when, name="a-copy")

    with service(ws, fixed_clock(MONDAY)) as svc:
        outcomes = {o.key: o for o in svc.run_once().outcomes}
        assert outcomes["k-copy"].disposition is Disposition.CASE
        assert outcomes["a-copy"].disposition is Disposition.DUPLICATE
        assert outcomes["a-copy"].case == outcomes["k-copy"].case


def test_messages_list_shows_mail_from_before_the_start(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = without_start(workspace)
    deliver(ws, COMPLAINT, datetime(2025, 6, 2, 9, 0, tzinfo=STOCKHOLM), "old")
    with service(ws, fixed_clock(MONDAY)) as svc:
        svc.run_once()

    assert main(["--config", str(ws.config_path), "messages", "list"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "karin.ek@example.net" in line)
    assert "före start" in row and "2025-06-02 09:00" in row
    assert "postvakt backfill" in out
    assert main(["--config", str(ws.config_path), "messages", "list", "--open"]) == 0
    assert "karin.ek@example.net" not in capsys.readouterr().out  # nobody waits for it


# --------------------------------------------------------------------------- counting it


def test_check_config_and_run_tell_how_much_mail_lies_before_the_start(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = without_start(workspace)
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(
        text.replace(
            'address = "kontakt@testby.se"\n',
            'address = "kontakt@testby.se"\nstart_from = 2026-11-20\n',
        ),
        encoding="utf-8",
    )
    for i, day in enumerate((2, 10, 19, 20, 21)):
        deliver(ws, QUESTION, datetime(2026, 11, day, 12, 0, tzinfo=STOCKHOLM), f"k{i}")
    deliver(ws, QUESTION, datetime(2026, 11, 19, 12, 0, tzinfo=STOCKHOLM), "a-one", who="anna")
    config = ["--config", str(ws.config_path)]

    assert main([*config, "check-config"], clock=fixed_clock(MONDAY)) == 0
    out = capsys.readouterr().out
    assert (
        "kontakt@testby.se: start 2026-11-20 00:00 (start_from); 3 meddelanden kom före start"
        in out
    )
    # Never watched and no start_from: everything there now will be before its start.
    assert (
        "anna@testby.se: start när brevlådan bevakas första gången; 1 meddelande finns där "
        "redan och kommer före start" in out
    )
    assert "'postvakt backfill BREVLÅDA --since ÅÅÅÅ-MM-DD --by E-POST' registrerar" in out
    assert not (ws.root / "postvakt.db").exists()  # check-config creates no database

    assert main([*config, "run", "--once"], clock=fixed_clock(MONDAY)) == 0
    out = capsys.readouterr().out
    assert (
        "kontakt@testby.se: start 2026-11-20 00:00 (start_from); 3 meddelanden kom före start"
        in out
    )
    assert "anna@testby.se: start när brevlådan bevakas första gången; 1 meddelande" in out

    # Once watched, the start is the first pass, and it is said so.
    assert main([*config, "check-config"], clock=fixed_clock(MONDAY + timedelta(days=1))) == 0
    out = capsys.readouterr().out
    assert (
        "anna@testby.se: start 2026-11-23 10:00 (då brevlådan först bevakades); 1 meddelande" in out
    )


def test_check_config_says_which_mailbox_could_not_be_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that does not answer is told for its mailbox; the config is still valid."""
    path = tmp_path / "postvakt.toml"
    path.write_text(
        IMAP_SECRET_CONFIG.replace(
            'host = "imap.testby.se"', f'host = "127.0.0.1"\nport = {free_port()}'
        ).replace('username = "kontakt"', 'security = "none"\nusername = "kontakt"'),
        encoding="utf-8",
    )
    monkeypatch.setenv("PV_TEST_IMAP_PASSWORD", "hemligt")
    assert main(["--config", str(path), "check-config"], clock=fixed_clock(MONDAY)) == 0
    out = capsys.readouterr().out
    assert "konfigurationen är giltig" in out
    assert (
        "kontakt@testby.se: kunde inte räkna posten före start: förbindelsen med 127.0.0.1" in out
    )
    assert "hemligt" not in out


def imap_connector(server: DovecotServer, user: str) -> ImapConnector:
    settings = ImapSettings(
        host=server.host,
        port=server.imap_port,
        security="none",
        username=user,
        master_user=server.master_user,
        password_env=MASTER_ENV,
    )
    return ImapConnector(server.address(user), settings, server.master_password)


def test_imap_counts_by_arrival_to_the_minute_on_a_real_dovecot(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    start = datetime(2026, 11, 23, 0, 0, tzinfo=STOCKHOLM)  # 22 Nov 23:00 UTC
    arrivals = [
        datetime(2026, 10, 1, 12, 0, tzinfo=UTC),  # long before
        datetime(2026, 11, 22, 23, 30, tzinfo=STOCKHOLM),  # before, the day before
        datetime(2026, 11, 22, 22, 59, tzinfo=UTC),  # before, by a minute, another zone
        datetime(2026, 11, 22, 23, 1, tzinfo=UTC),  # after, by a minute (its UTC day is 22nd)
        datetime(2026, 11, 23, 0, 30, tzinfo=STOCKHOLM),  # after, the same day
        datetime(2026, 12, 1, 8, 0, tzinfo=STOCKHOLM),  # long after
    ]
    client = dovecot.imap(imap_user.name)
    try:
        for i, when in enumerate(arrivals):
            client.append(
                "INBOX", citizen_mail(QUESTION, message_id=f"<c{i}@example.net>"), msg_time=when
            )
    finally:
        client.logout()
    connector = imap_connector(dovecot, imap_user.name)
    try:
        assert connector.count_before("INBOX", start) == 3
        assert connector.count_before("INBOX", datetime(2027, 1, 1, tzinfo=STOCKHOLM)) == 6
        assert connector.count_before("INBOX", datetime(2026, 1, 1, tzinfo=STOCKHOLM)) == 0
    finally:
        connector.close()
    # Reading, never marking: nothing became \Seen.
    client = dovecot.imap(imap_user.name)
    try:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["SEEN"]) == []
    finally:
        client.logout()


def test_ews_and_graph_count_by_the_received_time(tmp_path_factory: pytest.TempPathFactory) -> None:
    start = datetime(2026, 11, 23, 0, 0, tzinfo=STOCKHOLM)
    times = [start - timedelta(days=30), start - timedelta(minutes=1), start + timedelta(minutes=1)]
    with EwsFake() as fake:
        fake.add_user(ews_fake.SERVICE_USER, ews_fake.SERVICE_PASSWORD)
        address = ews_fake.new_mailbox(fake)
        for i, when in enumerate(times):
            fake.deliver(address, citizen_mail(QUESTION, message_id=f"<e{i}@x.se>"), received=when)
        ews = ews_fake.connector(fake, address)
        try:
            assert ews.count_before("inbox", start) == 2
        finally:
            ews.close()
    with GraphFake(make_tls(tmp_path_factory.mktemp("tls"))) as fake:
        fake.add_app(graph_fake.CLIENT_ID, secret=graph_fake.CLIENT_SECRET)
        address = graph_fake.new_mailbox(fake)
        for i, when in enumerate(times):
            fake.deliver(address, citizen_mail(QUESTION, message_id=f"<g{i}@x.se>"), received=when)
        graph = graph_fake.connector(fake, address)
        try:
            assert graph.count_before("inbox", start) == 2
        finally:
            graph.close()


# --------------------------------------------------------------------------- upgrading


def test_a_mailbox_read_before_the_upgrade_starts_at_the_first_mail_it_recorded(
    tmp_path: Path, db_url: str
) -> None:
    """Nothing Postvakt had already seen (nor a failed message retried later) falls before
    the start of a mailbox it watched before this version; a mailbox never read gets its
    start on its first pass."""
    engine = create_db_engine(db_url)
    try:
        command.upgrade(_alembic_config(engine), "0010")
        mailboxes = sa.table(
            "mailboxes",
            sa.column("id", sa.Integer),
            sa.column("address", sa.String),
            sa.column("kind", sa.String),
            sa.column("connector", sa.String),
            sa.column("active", sa.Boolean),
        )
        messages = sa.table(
            "messages",
            sa.column("mailbox_id", sa.Integer),
            sa.column("folder", sa.String),
            sa.column("message_key", sa.String),
            sa.column("received_at", UTCDateTime()),
            sa.column("processed_at", UTCDateTime()),
            sa.column("disposition", sa.String),
            sa.column("reasons", sa.JSON),
            sa.column("defects", sa.JSON),
        )
        failed = sa.table(
            "failed_messages",
            sa.column("mailbox_id", sa.Integer),
            sa.column("folder", sa.String),
            sa.column("role", sa.String),
            sa.column("message_key", sa.String),
            sa.column("received_at", UTCDateTime()),
            sa.column("raw", sa.LargeBinary),
            sa.column("error", sa.Text),
            sa.column("traceback", sa.Text),
            sa.column("failed_at", UTCDateTime()),
            sa.column("attempts", sa.Integer),
        )
        first = datetime(2025, 3, 14, 8, 0, tzinfo=STOCKHOLM)
        with engine.begin() as c:
            c.execute(
                mailboxes.insert(),
                [
                    {
                        "id": 1,
                        "address": "kontakt@testby.se",
                        "kind": "function",
                        "connector": "maildir",
                        "active": True,
                    },
                    {
                        "id": 2,
                        "address": "ny@testby.se",
                        "kind": "function",
                        "connector": "maildir",
                        "active": True,
                    },
                ],
            )
            row = {
                "mailbox_id": 1,
                "folder": "INBOX",
                "disposition": "case",
                "reasons": [],
                "defects": [],
            }
            c.execute(
                messages.insert(),
                [
                    {
                        **row,
                        "message_key": "a",
                        "received_at": first + timedelta(days=2),
                        "processed_at": first + timedelta(days=2),
                    },
                    {
                        **row,
                        "message_key": "b",
                        "received_at": None,
                        "processed_at": first + timedelta(days=5),
                    },
                ],
            )
            c.execute(
                failed.insert(),
                {
                    "mailbox_id": 1,
                    "folder": "INBOX",
                    "role": "inbox",
                    "message_key": "f",
                    "received_at": first,
                    "raw": b"x",
                    "error": "e",
                    "traceback": "t",
                    "failed_at": first + timedelta(days=9),
                    "attempts": 1,
                },
            )
        command.upgrade(_alembic_config(engine), "0011")
        starts = sa.table(
            "mailbox_starts",
            sa.column("mailbox_id", sa.Integer),
            sa.column("first_watched_at", UTCDateTime()),
        )
        with engine.connect() as c:
            found = dict(c.execute(sa.select(starts.c.mailbox_id, starts.c.first_watched_at)).all())
        assert found == {1: first}
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- letters


def letter_text(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


@pytest.mark.parametrize("name", ["acknowledgment", "acknowledgment_care", "new_review"])
def test_no_letter_promises_a_date_already_passed(workspace: Workspace, name: str) -> None:
    """The one guard (``CaseLetters.render``): a date given as a date or as the Swedish text
    callers write; a date still ahead is promised, one passed is not."""
    ws = workspace
    deliver(ws, COMPLAINT, datetime(2026, 11, 20, 8, 0, tzinfo=STOCKHOLM), "a")
    with service(ws, fixed_clock(MONDAY)) as svc:
        svc.run_once()
        assert svc.intake is not None and svc.sessions is not None
        letters = svc.intake.letters
        with svc.sessions() as session:
            case = session.scalars(select(Case)).one()
            values = {**letters.citizen(case), "summary": case.summary}
            if name == "new_review":
                values = {
                    "recipient_name": "Karin Ek",
                    "heading": case.heading,
                    "reviewer_name": "Chef",
                    "reviewer_title": "",
                }
            past, ahead = date(2026, 11, 21), date(2026, 11, 30)
            for given in (past, swedish_date(past)):
                letter = letters.render(name, case, MONDAY, answer_due=given, **values)
                text = letter_text(letter.data)
                assert "så snart som möjligt" in text and "21 november 2026" not in text
                assert "senast den" not in text
                assert "så snart som möjligt" in letter.text and "senast" not in letter.text
            letter = letters.render(name, case, MONDAY, answer_due=ahead, **values)
            assert "senast den 30 november 2026" in letter_text(letter.data)
            assert "så snart som möjligt" not in letter_text(letter.data)
            assert "senast den 30 november 2026" in letter.text
            # Today is not passed: an answer promised for today is still a promise.
            today = letters.render(name, case, MONDAY, answer_due=MONDAY.date(), **values)
            assert "senast den 23 november 2026" in letter_text(today.data)


# --------------------------------------------------------------------------- the demo

DAYS = [
    datetime(2027, 3, 1, 7, 30, tzinfo=STOCKHOLM),  # a Monday before eight
    datetime(2026, 12, 26, 23, 30, tzinfo=STOCKHOLM),  # Boxing Day, late
    datetime(2028, 2, 29, 12, 0, tzinfo=STOCKHOLM),  # a leap day
    datetime(2027, 6, 25, 16, 0, tzinfo=STOCKHOLM),  # midsummer eve, summer time
]


DATE = r"(\d{1,2}) ([A-Za-z]+) (\d{4})"
SV = "januari februari mars april maj juni juli augusti september oktober november december"
EN = "January February March April May June July August September October November December"
MONTHS = {name: i % 12 + 1 for i, name in enumerate(f"{SV} {EN}".split())}


def written(day: str, month: str, year: str) -> date:
    """A date as a letter writes it ('7 december 2026', '7 December 2026')."""
    return date(int(year), MONTHS[month], int(day))


@pytest.mark.parametrize("now", DAYS, ids=lambda d: d.date().isoformat())
def test_the_demo_is_dated_by_the_day_it_runs(
    tmp_path: Path, now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    from postvakt.demo import run_demo

    assert run_demo(tmp_path / "demo", clock=fixed_clock(now)) == 0
    out = capsys.readouterr().out
    today = now.date()
    config = load_config(tmp_path / "demo" / "postvakt.toml")
    assert all(m.start_from == today - timedelta(days=7) for m in config.mailboxes)
    assert re.search(r"15-kontaktcenter-gatlyktor-september\s+före start", out)
    assert f'cases show "KS {today.year}/1"' in out
    assert "Ärenden (7):" in out

    with Service(config, clock=fixed_clock(now)).open_readonly() as svc:
        assert svc.sessions is not None
        with svc.sessions() as session:
            cases = list(session.scalars(select(Case)))
            drafts = list(session.scalars(select(Draft)))
            assert len(cases) == 7 and len(drafts) == 6
            for case in cases:
                assert case.reference.startswith(f"KS {today.year}/")
                assert now - timedelta(days=4) <= case.received_at <= now
                for due in (case.ack_due, case.answer_due, case.reply_due):
                    assert due is None or due >= today, (case.reference, due)
            for draft in drafts:  # every promise is of a day still ahead
                # In Swedish or, to a citizen who wrote in English, in English.
                promised = [written(*d) for d in re.findall(DATE, draft.body_text)]
                assert promised and all(day >= today for day in promised), draft.body_text
                assert "så snart som möjligt" not in draft.body_text

    # The Date headers and the Maildir times say the same, and nothing is from the future.
    for path in (tmp_path / "demo" / "mail").glob("*/new/demo-*"):
        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        sent = parsed["Date"].datetime
        assert abs(sent.timestamp() - path.stat().st_mtime) < 1, path.name
        assert sent <= now
        if "gatlyktor" not in path.name:
            assert sent >= now - timedelta(days=4), path.name


def test_the_demo_with_the_diary_names_this_years_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from postvakt.demo import run_demo

    assert run_demo(tmp_path / "demo", diary=True, clock=fixed_clock(DAYS[0])) == 0
    assert 'cases show "PV-2027-000001"' in capsys.readouterr().out
