"""Command-line paths run end to end through ``postvakt.cli.main`` on a fixed clock: putting a
case on wait and the citizen's answer starting the clock again, the care mark, every rule job
(``rules run``), removing a mailbox from the config, ``messages list --open``, and an
absence's reply previewed and listed by day.  (``web serve`` and ``absence import/apply``
are in tests/test_web_serve.py and tests/delegation/test_cli_on_dovecot.py.)"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.mailbox.maildir import deliver
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Disposition,
    EventKind,
    Mailbox,
    MessageRecord,
)
from tests.support.cli import no_config_from_environment as no_config_from_environment
from tests.support.cli import restore_logging as restore_logging
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail

COMPLAINT = (
    "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\n"
    "Karin Ek\n070-123 45 67\n"
)


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=STOCKHOLM)


class Cli:
    """``postvakt --config <ws> …`` in-process, on a clock set per call."""

    def __init__(self, ws: Workspace, capsys: pytest.CaptureFixture[str]):
        self.ws, self.capsys = ws, capsys

    def __call__(self, when: datetime, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--config", str(self.ws.config_path), *argv], clock=fixed_clock(when))
        out, err = self.capsys.readouterr()
        return code, out, err

    def case(self, reference: str = "KS 2026/1") -> Case:
        engine = open_database(load_config(self.ws.config_path).database_url)
        try:
            with session_factory(engine)() as session:
                case = session.scalars(select(Case).where(Case.reference == reference)).one()
                _ = case.events, case.mailbox
                session.expunge_all()
                return case
        finally:
            engine.dispose()


@pytest.fixture
def cli(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(workspace, capsys)


MONDAY = at(2026, 11, 23)


def registered(cli: Cli, *, when: datetime = MONDAY) -> None:
    """Karin's complaint to kontakt@ on Monday 23 November, registered as KS 2026/1."""
    cli.ws.deliver(
        citizen_mail(COMPLAINT, date=when, message_id="<k1@example.net>"),
        when=when,
        name="k1",
    )
    code, out, _err = cli(when.replace(hour=10), "run", "--once")
    assert code == 0 and "1 nytt ärende" in out
    case = cli.case()
    # Örebro's routine: answer within 5 working days of Monday 23 November.
    assert case.answer_due == date(2026, 11, 30)


# --------------------------------------------------------------------------- cases wait, care


def test_waiting_pauses_the_answer_clock_until_the_citizen_writes(cli: Cli) -> None:
    registered(cli)

    code, out, err = cli(
        at(2026, 11, 25), "cases", "wait", "KS 2026/1", "--note", "Vilken del av Björkvägen?",
        "--by", "anna@testby.se",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.strip() == "KS 2026/1: väntar"
    case = cli.case()
    assert case.status is CaseStatus.WAITING and case.waiting_since == date(2026, 11, 25)
    waiting = case.events[-1]
    assert waiting.kind.value == "waiting" and waiting.actor == "anna@testby.se"
    assert waiting.detail.startswith("Vilken del av Björkvägen? Svarstiden är pausad")

    # Two weeks later Karin answers in the thread: the three working days that were left
    # (Thursday 26, Friday 27, Monday 30 November) run again from Monday 7 December.
    reply = citizen_mail(
        "Det gäller den norra delen, vid nummer 12.\n\nKarin Ek\n",
        subject="SV: Klagomål på snöröjningen [KS 2026/1]",
        date=at(2026, 12, 7),
        message_id="<k2@example.net>",
        headers={"In-Reply-To": "<k1@example.net>", "References": "<k1@example.net>"},
    )
    cli.ws.deliver(reply, when=at(2026, 12, 7), name="k2")
    code, out, _err = cli(at(2026, 12, 7, 10), "run", "--once")
    assert code == 0 and "0 nya ärenden" in out
    case = cli.case()
    assert case.status is not CaseStatus.WAITING and case.waiting_since is None
    assert case.answer_due == date(2026, 12, 10)
    assert "svarstiden löper igen; svar senast 2026-12-10" in case.events[-1].detail

    code, out, _err = cli(at(2026, 12, 7, 11), "cases", "show", "KS 2026/1")
    assert code == 0 and "Svar senast:  2026-12-10" in out


def test_a_closed_case_cannot_wait(cli: Cli) -> None:
    registered(cli)
    assert (
        cli(at(2026, 11, 24), "cases", "answer", "KS 2026/1", "--text", "Vi plogar i dag.")[0] == 0
    )
    assert cli(at(2026, 11, 25), "cases", "close", "KS 2026/1", "--action", "Plogat")[0] == 0

    code, out, err = cli(at(2026, 11, 26), "cases", "wait", "KS 2026/1")
    assert code == 2 and out == ""
    assert "KS 2026/1 är avslutat och kan inte vänta på medborgaren" in err
    assert "Traceback" not in err
    assert cli.case().status is CaseStatus.CLOSED


def test_the_care_mark_is_set_shown_and_taken_off(cli: Cli) -> None:
    registered(cli)

    code, out, err = cli(at(2026, 11, 24), "cases", "care", "KS 2026/1", "--by", "anna@testby.se")
    assert code == 0 and "Fel" not in err  # (the log says the ordinary draft was taken back)
    assert out.startswith("KS 2026/1 är markerat som ett ärende som rör enskilds vård och omsorg.")
    # This config names no deviation function and no mail server: the routine is said.
    assert "organisation.care_deviation" in out and "registrera ärendet i avvikelsemodulen" in out
    case = cli.case()
    assert case.individual_care is True and case.care_route == "send"  # waits for [smtp]
    care = [e for e in case.events if e.kind is EventKind.CARE]
    assert care[0].detail.startswith("Markerat av anna@testby.se: rör enskilds vård och omsorg")
    shown = cli(at(2026, 11, 24), "cases", "show", "KS 2026/1")[1]
    assert "Vård/omsorg:  rör enskilds vård och omsorg" in shown
    code, out, _err = cli(
        at(2026, 11, 24), "cases", "export", "--since", "2026-11-01", "--format", "json"
    )
    assert json.loads(out)[0]["individual_care"] is True

    # Without --by nobody is named: refused (the right to correct is checked on --by).
    with pytest.raises(SystemExit) as refused:
        cli(at(2026, 11, 25), "cases", "care", "KS 2026/1", "--off")
    assert refused.value.code == 2
    code, out, err = cli(
        at(2026, 11, 25), "cases", "care", "KS 2026/1", "--off", "--by", "chef@testby.se"
    )
    assert (code, err) == (0, "")
    case = cli.case()
    assert case.individual_care is False and case.care_route is None  # nothing had gone
    assert case.events[-1].detail.startswith("chef@testby.se tog bort markeringen")
    assert case.events[-1].actor == "chef@testby.se"
    assert "Vård/omsorg" not in cli(at(2026, 11, 25), "cases", "show", "KS 2026/1")[1]


def test_care_for_a_case_that_does_not_exist(cli: Cli) -> None:
    registered(cli)
    code, out, err = cli(at(2026, 11, 24), "cases", "care", "KS 2026/77", "--by", "anna@testby.se")
    assert code == 2 and out == "" and "KS 2026/77" in err and "Traceback" not in err
    assert cli.case().individual_care is False


# --------------------------------------------------------------------------- rules run


@pytest.fixture
def smtp_cli(cli: Cli, smtp_server: SmtpServer) -> Cli:
    path = cli.ws.config_path
    path.write_text(path.read_text(encoding="utf-8") + smtp_server.config(), encoding="utf-8")
    return cli


def test_rules_run_reminders_once_a_day_on_working_days(
    smtp_cli: Cli, smtp_server: SmtpServer
) -> None:
    cli = smtp_cli
    registered(cli)
    friday = at(2026, 11, 27)  # one working day before the answer is due on Monday

    code, out, err = cli(friday, "rules", "run", "reminders")
    assert code == 0 and "Fel" not in err and "Traceback" not in err
    assert "anna@testby.se: KS 2026/1" in out and "svar senast 30 november 2026" in out
    (digest,) = smtp_server.to("anna@testby.se")
    assert "KS 2026/1" in digest.text

    code, out, _err = cli(friday, "rules", "run", "reminders")  # the same day again
    assert code == 0 and out.startswith("reminders kördes inte: redan körd i dag")
    assert len(smtp_server.to("anna@testby.se")) == 1
    code, out, _err = cli(friday, "rules", "run", "reminders", "--force")
    assert code == 0 and "kördes inte" not in out and "anna@testby.se: KS 2026/1" in out

    code, out, _err = cli(at(2026, 11, 28), "rules", "run", "reminders")  # a Saturday
    assert code == 0 and "kördes inte" in out and "ingen arbetsdag" in out

    # Tuesday 1 December: the deadline has passed; the handler and the unit head are told.
    code, out, _err = cli(at(2026, 12, 1), "rules", "run", "reminders")
    assert code == 0
    assert "anna@testby.se: KS 2026/1" in out and "chef@testby.se: KS 2026/1" in out
    assert "skulle ha lämnats senast 30 november 2026" in out
    assert any("KS 2026/1" in d.text for d in smtp_server.to("chef@testby.se"))


def test_rules_run_daily_open_coverage_and_compilation(
    smtp_cli: Cli, smtp_server: SmtpServer
) -> None:
    cli = smtp_cli
    registered(cli)  # the complaint lies unread in kontakt@'s new/ since Monday

    code, out, _err = cli(at(2026, 11, 24, 14), "rules", "run", "daily-open")
    assert code == 0
    assert "kontakt@testby.se: INTE öppnad" in out
    assert smtp_server.to("anna@testby.se"), "the owner of kontakt@ is told"

    # Anna, kontakt@'s only owner, is away: nobody present opens it, her unit head is told.
    code, _out, err = cli(
        at(2026, 11, 24), "absence", "add", "anna@testby.se", "--from", "2026-11-30",
        "--to", "2026-12-04", "--kind", "semester", "--by", "chef@testby.se",
    )  # fmt: skip
    assert code == 0, err
    code, out, _err = cli(at(2026, 11, 30, 8), "rules", "run", "coverage")
    assert code == 0
    assert "chef@testby.se: kontakt@testby.se: ingen av de ansvariga (anna@testby.se)" in out
    assert any("kontakt@testby.se" in d.text for d in smtp_server.to("chef@testby.se"))
    code, out, _err = cli(at(2026, 12, 7, 8), "rules", "run", "coverage")  # she is back
    assert code == 0 and "ingen av de ansvariga" not in out

    # From 25 January the unit heads are reminded of last year's compilation.
    code, out, _err = cli(at(2027, 1, 26, 8), "rules", "run", "compilation")
    assert code == 0
    for head in ("kd@testby.se", "chef@testby.se"):
        assert f"{head}: " in out
    assert "sammanställningen av 2026 års synpunkter och klagomål ska vara klar" in out
    code, out, _err = cli(at(2026, 11, 26, 8), "rules", "run", "compilation")
    assert code == 0 and "sammanställningen" not in out


# --------------------------------------------------------------------------- a mailbox removed


def test_a_mailbox_taken_out_of_the_config_keeps_its_cases_and_is_not_read(cli: Cli) -> None:
    when = at(2026, 11, 23)
    cli.ws.deliver(
        citizen_mail(COMPLAINT, to="anna@testby.se", date=when, message_id="<a1@example.net>"),
        "anna",
        when=when,
        name="a1",
    )
    assert cli(at(2026, 11, 23, 10), "run", "--once")[0] == 0
    assert cli.case().mailbox is not None and cli.case().mailbox.address == "anna@testby.se"

    # Anna's mailbox leaves the config (she moved on); her Maildir stays where it was.
    path = cli.ws.config_path
    text = path.read_text(encoding="utf-8")
    personal = text.index('[[mailboxes]]\naddress = "anna@testby.se"')
    path.write_text(text[:personal], encoding="utf-8")
    later = at(2026, 11, 24)
    cli.ws.deliver(
        citizen_mail(COMPLAINT, to="anna@testby.se", date=later, message_id="<a2@example.net>"),
        "anna",
        when=later,
        name="a2",
    )
    code, out, _err = cli(at(2026, 11, 24, 10), "run", "--once")
    assert code == 0 and "Läste 0 nya meddelanden" in out

    engine = open_database(load_config(path).database_url)
    try:
        with session_factory(engine)() as session:
            anna = session.scalars(select(Mailbox).where(Mailbox.address == "anna@testby.se")).one()
            assert anna.active is False
            keys = session.scalars(
                select(MessageRecord.message_key).where(MessageRecord.mailbox_id == anna.id)
            ).all()
            assert keys == ["a1"]  # the new message was not read
            (record,) = session.scalars(select(MessageRecord)).all()
            assert record.disposition is Disposition.CASE
    finally:
        engine.dispose()
    code, out, _err = cli(at(2026, 11, 24, 11), "cases", "list", "--json")
    (row,) = json.loads(out)
    assert (row["number"], row["mailbox"]) == ("KS 2026/1", "anna@testby.se")
    code, out, _err = cli(at(2026, 11, 24, 11), "cases", "show", "KS 2026/1")
    assert code == 0 and "Brevlåda:     anna@testby.se" in out


# --------------------------------------------------------------------------- smaller paths


def test_messages_list_open_leaves_out_what_was_answered(cli: Cli) -> None:
    registered(cli)
    question = citizen_mail(
        "Hej, när har ni öppet på kommunhuset i jul?\n",
        subject="Öppettider i jul",
        sender="Per Ek <per.ek@example.org>",
        date=at(2026, 11, 23),
        message_id="<q1@example.org>",
    )
    cli.ws.deliver(question, when=at(2026, 11, 23, 9), name="q1")
    assert cli(at(2026, 11, 23, 11), "run", "--once")[0] == 0
    assert (
        cli(at(2026, 11, 24), "cases", "answer", "KS 2026/1", "--text", "Vi plogar i dag.")[0] == 0
    )
    # The answer went out from kontakt@'s Sent folder, as a person sends it.
    answer = citizen_mail(
        "Vi plogar i dag.\n",
        subject="SV: Klagomål på snöröjningen",
        sender="Kontaktcenter <kontakt@testby.se>",
        to="karin.ek@example.net",
        date=at(2026, 11, 24, 10),
        headers={"In-Reply-To": "<k1@example.net>"},
    )
    deliver(cli.ws.maildir() / ".Sent", answer, when=at(2026, 11, 24, 10).timestamp(), name="s1")
    assert cli(at(2026, 11, 24, 11), "run", "--once")[0] == 0

    code, out, _err = cli(at(2026, 11, 24, 12), "messages", "list", "--json")
    assert {m["subject"]: bool(m["answered_at"]) for m in json.loads(out)} == {
        "Klagomål på snöröjningen": True,
        "Öppettider i jul": False,
    }
    code, out, _err = cli(at(2026, 11, 24, 12), "messages", "list", "--open", "--json")
    assert [m["subject"] for m in json.loads(out)] == ["Öppettider i jul"]
    code, out, _err = cli(at(2026, 11, 24, 12), "messages", "list", "--open")
    assert code == 0 and "Öppettider i jul" in out and "snöröjningen" not in out


def test_absence_preview_and_the_list_by_day(cli: Cli) -> None:
    add = (
        "absence", "add", "anna@testby.se", "--from", "2026-12-21", "--to", "2027-01-06",
        "--kind", "semester", "--by", "chef@testby.se",
    )  # fmt: skip
    code, out, _err = cli(at(2026, 12, 1), *add, "--preview")
    assert code == 0 and out.startswith("Ämne: ")
    assert "6 januari 2027" in out
    code, out, _err = cli(at(2026, 12, 1), "absence", "list", "--json")
    assert json.loads(out) == []  # previewed, not saved
    assert cli(at(2026, 12, 1), *add)[0] == 0
    code, out, _err = cli(at(2026, 12, 1), "absence", "list", "--date", "2026-12-22", "--json")
    (row,) = json.loads(out)
    assert row["person"] == "anna@testby.se"
    code, out, _err = cli(at(2026, 12, 1), "absence", "list", "--date", "2027-01-07", "--json")
    assert json.loads(out) == []  # back by then
    assert cli(at(2026, 12, 1), "absence", "end", "1", "--by", "chef@testby.se")[0] == 0
    assert json.loads(cli(at(2026, 12, 2), "absence", "list", "--json")[1]) == []
    (ended,) = json.loads(cli(at(2026, 12, 2), "absence", "list", "--all", "--json")[1])
    assert ended["id"] == 1
