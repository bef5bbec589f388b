"""The ``postvakt`` command, run as a real process and in-process through ``main``."""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import docx
import pytest

from postvakt.cli import main
from postvakt.clock import STOCKHOLM
from tests.support.cli import no_config_from_environment as no_config_from_environment
from tests.support.cli import postvakt
from tests.support.cli import restore_logging as restore_logging
from tests.support.workspace import IMAP_SECRET_CONFIG, Workspace, citizen_mail, make_workspace


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=STOCKHOLM)


def deliver_sample(ws: Workspace) -> None:
    """A complaint, an opinion, an automatic reply, a question and an anonymous web form."""
    ws.deliver(
        citizen_mail(
            "Hej!\n\nJag vill klaga på att snön inte har röjts på Björkvägen på tre dagar.\n\n"
            "Karin Ek\n",
            date=at(18, 9),
            message_id="<k1@example.net>",
        ),
        when=at(18, 9),
        name="k1",
    )
    ws.deliver(
        citizen_mail(
            "Hej!\n\nJag har en synpunkt: biblioteket borde ha öppet längre på lördagar.\n\n"
            "Per Ek\n",
            subject="Synpunkt på biblioteket",
            sender="Per Ek <per.ek@example.org>",
            to="anna@testby.se",
            date=at(19, 14),
            message_id="<p1@example.org>",
        ),
        who="anna",
        when=at(19, 14),
        name="p1",
    )
    ws.deliver(
        citizen_mail(
            "Jag är på semester till den 1 december.",
            subject="Autosvar: Frånvaro",
            headers={"Auto-Submitted": "auto-replied"},
            date=at(20, 8),
            message_id="<a1@example.net>",
        ),
        when=at(20, 8),
        name="a1",
    )
    ws.deliver(
        citizen_mail(
            "Hej, hur lång handläggningstid har ni för bygglov?\n\nJohan",
            subject="Fråga om bygglov",
            sender="Johan Nilsson <johan@example.com>",
            date=at(20, 10),
            message_id="<q1@example.com>",
        ),
        when=at(20, 10),
        name="q1",
    )
    ws.deliver(
        citizen_mail(
            "Ärendetyp: Klagomål\nVerksamhet: Äldreomsorg\nNamn: \nE-post: \nTelefon: \n"
            "Meddelande: Hemtjänsten kommer flera timmar för sent varje morgon och ingen "
            "ringer och säger till. Det är inte acceptabelt.\n",
            subject="Nytt ärende från e-tjänsten Synpunkter och klagomål",
            sender="E-tjänster Testby kommun <noreply@e-tjanst.testby.se>",
            date=at(21, 11),
            message_id="<w1@e-tjanst.testby.se>",
        ),
        when=at(21, 11),
        name="w1",
    )


@dataclass
class Registered:
    ws: Workspace
    run: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    """A workspace whose sample mail was read once by ``postvakt run --once`` (read-only after)."""
    ws = make_workspace(tmp_path_factory.mktemp("cli") / "ws")
    deliver_sample(ws)
    run = postvakt("--config", str(ws.config_path), "run", "--once", cwd=ws.root.parent)
    return Registered(ws, run)


# ------------------------------------------------------------------------- demo


def case_lines(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Ärenden ("))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return lines[start:end]


def test_demo_runs_twice_with_the_same_cases(tmp_path: Path) -> None:
    first = postvakt("demo", "--dir", "demo", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = postvakt("demo", "--dir", "demo", cwd=tmp_path)
    assert second.returncode == 0, second.stderr

    cases = case_lines(second.stdout)
    assert cases == case_lines(first.stdout)
    assert cases[0] == "Ärenden (7):"
    assert any(line.strip().startswith("KS 2026/1 ") for line in cases)
    assert (tmp_path / "demo" / "postvakt.toml").is_file()
    assert f"--config {(tmp_path / 'demo' / 'postvakt.toml').resolve()}" in second.stdout


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    precious = tmp_path / "mitt-arbete"
    precious.mkdir()
    (precious / "viktigt.txt").write_text("rör mig inte", encoding="utf-8")

    result = postvakt("demo", "--dir", str(precious), cwd=tmp_path)

    assert result.returncode != 0
    assert "--dir" in result.stdout + result.stderr
    assert sorted(p.name for p in precious.iterdir()) == ["viktigt.txt"]
    assert (precious / "viktigt.txt").read_text(encoding="utf-8") == "rör mig inte"


# ------------------------------------------------------------------------- run --once


def test_run_once_reads_the_mailboxes_and_counts(registered: Registered) -> None:
    run = registered.run
    assert run.returncode == 0, run.stderr
    assert "Läste 5 nya meddelanden: 3 nya ärenden, 0 misslyckade, 2 utkast sparade." in run.stdout
    assert len(registered.ws.drafts("kontakt")) == 1
    assert len(registered.ws.drafts("anna")) == 1
    # The program's process is its own: its cycle collector is settled once it has started.
    assert "cycle collector settled" in run.stderr


def test_run_once_again_finds_nothing_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = make_workspace(tmp_path / "ws")
    deliver_sample(ws)
    frozen = gc.get_freeze_count()
    assert main(["--config", str(ws.config_path), "run", "--once"]) == 0
    assert "Läste 5 nya meddelanden: 3 nya ärenden" in capsys.readouterr().out
    assert gc.get_freeze_count() == frozen  # main(argv) from other code: its process is left be

    assert main(["--config", str(ws.config_path), "run", "--once"]) == 0
    assert "Läste 0 nya meddelanden: 0 nya ärenden, 0 misslyckade, 0 utkast sparade." in (
        capsys.readouterr().out
    )


def test_run_once_with_a_missing_maildir_exits_1_but_reads_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = make_workspace(tmp_path / "ws")
    deliver_sample(ws)
    shutil.rmtree(ws.maildir("kontakt"))

    assert main(["--config", str(ws.config_path), "run", "--once"]) == 1
    captured = capsys.readouterr()
    assert "Läste 1 nytt meddelande: 1 nytt ärende" in captured.out
    assert "kontakt@testby.se" in captured.err
    assert "Maildir" in captured.err


# ------------------------------------------------------------------------- cases


def test_cases_list_json_has_the_required_fields(registered: Registered) -> None:
    result = postvakt(
        "--config",
        str(registered.ws.config_path),
        "cases",
        "list",
        "--json",
        cwd=registered.ws.root,
    )
    assert result.returncode == 0, result.stderr

    cases = json.loads(result.stdout)

    assert [c["number"] for c in cases] == ["KS 2026/1", "KS 2026/2-1", "KS 2026/3"]
    for case in cases:
        assert case["kind"] in ("complaint", "opinion")
        assert isinstance(case["status"], str) and case["status"]
        assert case["mailbox"] in ("kontakt@testby.se", "anna@testby.se")
        assert case["sender"] is None or "@" in case["sender"]
        assert isinstance(case["subject"], str)
        assert isinstance(case["message_id"], str) and "@" in case["message_id"]
        received = datetime.fromisoformat(case["received_at"])
        assert received.tzinfo is not None and received.utcoffset() is not None
        assert isinstance(case["anonymous"], bool)
        assert case["reply_due"] is None or date.fromisoformat(case["reply_due"])

    by_number = {c["number"]: c for c in cases}
    complaint = by_number["KS 2026/1"]
    assert complaint["kind"] == "complaint"
    assert complaint["status"] == "registered"
    assert complaint["mailbox"] == "kontakt@testby.se"
    assert complaint["sender"] == "karin.ek@example.net"
    assert complaint["subject"] == "Klagomål på snöröjningen"
    assert complaint["message_id"].strip("<>") == "k1@example.net"
    assert datetime.fromisoformat(complaint["received_at"]) == at(18, 9)
    assert complaint["anonymous"] is False
    assert complaint["reply_due"] == "2026-11-25"  # five working days from Wednesday 18th

    opinion = by_number["KS 2026/3"]
    assert opinion["kind"] == "opinion"
    assert opinion["mailbox"] == "anna@testby.se"
    assert opinion["sender"] == "per.ek@example.org"

    anonymous = by_number["KS 2026/2-1"]
    assert anonymous["anonymous"] is True
    assert anonymous["sender"] is None
    assert anonymous["reply_due"] is None


def test_cases_show_prints_the_case_and_its_events(registered: Registered) -> None:
    result = postvakt(
        "--config",
        str(registered.ws.config_path),
        "cases",
        "show",
        "KS 2026/1",
        cwd=registered.ws.root,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("KS 2026/1  Synpunkter och klagomål – Klagomål på snöröjningen")
    assert "Karin Ek <karin.ek@example.net>" in out
    assert "Händelser:" in out
    events = out.split("Händelser:", 1)[1]
    assert "Registrerat: postvakt: Registrerat automatiskt" in events
    assert "Brev skapat: postvakt:" in events
    assert "registered" not in events and "drafted" not in events  # in Swedish
    assert "Mottagningsbekräftelse KS 2026-1.docx" in events


def test_cases_show_unknown_number_exits_2_in_swedish(registered: Registered) -> None:
    result = postvakt(
        "--config",
        str(registered.ws.config_path),
        "cases",
        "show",
        "KS 2099/9",
        cwd=registered.ws.root,
    )
    assert result.returncode == 2
    assert "Det finns inget ärende med nummer 'KS 2099/9'" in result.stderr
    assert "postvakt cases list" in result.stderr  # says what to do
    assert "Traceback" not in result.stderr


def test_postvakt_config_variable_replaces_the_option(registered: Registered) -> None:
    result = postvakt(
        "cases",
        "list",
        cwd=registered.ws.root,
        env={"POSTVAKT_CONFIG": str(registered.ws.config_path)},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "Nummer",
        "Typ",
        "Status",
        "Brevlåda",
        "Avsändare",
        "Inkom",
        "Svar",
        "senast",
        "Rubrik",
    ]
    assert [line.split("  ")[0] for line in lines[2:]] == ["KS 2026/1", "KS 2026/2-1", "KS 2026/3"]
    assert "(anonym)" in lines[3]


def test_no_config_at_all_exits_2_and_names_both_ways(tmp_path: Path) -> None:
    result = postvakt("cases", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert "--config" in result.stderr
    assert "POSTVAKT_CONFIG" in result.stderr
    assert "Traceback" not in result.stderr


def test_cases_in_process(registered: Registered, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(registered.ws.config_path)

    assert main(["--config", config, "cases", "show", "KS 2026/3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["number"] == "KS 2026/3"
    assert data["kind"] == "opinion"
    kinds = [e["kind"] for e in data["events"]]
    # The sample mail is older than the real clock's today: a registration after its
    # deadline gets one note saying so (issue 18 item 1), never a flood.
    assert kinds[0] == "registered" and kinds.count("drafted") == 1
    assert set(kinds) <= {"registered", "note", "drafted"} and kinds.count("note") <= 1
    assert all(datetime.fromisoformat(e["at"]).tzinfo is not None for e in data["events"])

    assert main(["--config", config, "cases", "show", "KS 2099/9"]) == 2
    assert "KS 2099/9" in capsys.readouterr().err


def test_empty_register_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = make_workspace(tmp_path / "ws")
    assert main(["--config", str(ws.config_path), "cases", "list"]) == 0
    assert "Inga registrerade ärenden." in capsys.readouterr().out
    assert main(["--config", str(ws.config_path), "cases", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


# ------------------------------------------------------------------------- check-config

BAD_CONFIG = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
policy = "göteborg"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"

[[mailboxes]]
adress = "kontakt@testby.se"
kind = "function"
unit = "Kontaktcenter"
owners = ["chef@testby.se"]
connector = "maildir"
[mailboxes.maildir]
path = "mail/kontakt"

[service]
poll_interval_seconds = "ofta"
"""


def test_check_config_on_a_good_file(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    result = postvakt("--config", str(ws.config_path), "check-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "konfigurationen är giltig" in result.stdout
    assert "2 brevlådor" in result.stdout


def test_check_config_on_a_bad_file_prints_every_key(tmp_path: Path) -> None:
    path = tmp_path / "fel.toml"
    path.write_text(BAD_CONFIG, encoding="utf-8")

    result = postvakt("--config", str(path), "check-config", cwd=tmp_path)

    assert result.returncode == 2
    for key in (
        "organisation.policy",
        "mailboxes[0].adress",
        "mailboxes[0].address",
        "service.poll_interval_seconds",
    ):
        assert f"  - {key}: " in result.stderr, result.stderr
    assert "menade du 'address'" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fel.toml"
    path.write_text(BAD_CONFIG, encoding="utf-8")
    assert main(["-c", str(path), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "organisation.policy" in err
    # Every problem at once: the schema's, the owner outside [[people]], the missing Maildir.
    assert "6 fel" in err
    assert "mailboxes[0].owners[0]: 'chef@testby.se' finns inte bland [[people]]" in err
    assert "mailboxes[0].maildir.path: mappen" in err

    assert main(["-c", str(tmp_path / "saknas.toml"), "check-config"]) == 2
    assert "finns inte" in capsys.readouterr().err


def test_unset_secret_is_named_and_a_set_one_never_printed(tmp_path: Path) -> None:
    path = tmp_path / "postvakt.toml"
    path.write_text(IMAP_SECRET_CONFIG, encoding="utf-8")

    unset = postvakt("--config", str(path), "check-config", cwd=tmp_path)
    assert unset.returncode == 2
    assert "mailboxes[0].imap.password_env" in unset.stderr
    assert "PV_TEST_IMAP_PASSWORD" in unset.stderr

    secret = "Hemligt-Lösen-4711"
    env = {"PV_TEST_IMAP_PASSWORD": secret}
    ok = postvakt("--config", str(path), "check-config", cwd=tmp_path, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "konfigurationen är giltig" in ok.stdout

    # Running needs the connector; whatever it says, the password is never shown.
    run = postvakt("--config", str(path), "run", "--once", cwd=tmp_path, env=env)
    assert run.returncode != 0
    for output in (unset.stdout, unset.stderr, ok.stdout, ok.stderr, run.stdout, run.stderr):
        assert secret not in output


# ------------------------------------------------------------------------- usage


def test_unknown_subcommand_exits_2(tmp_path: Path) -> None:
    result = postvakt("frobnicate", cwd=tmp_path)
    assert result.returncode == 2
    assert "frobnicate" in result.stderr
    assert "ogiltigt val" in result.stderr


def test_usage_errors_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "KOMMANDO" in capsys.readouterr().out

    with pytest.raises(SystemExit) as info:
        main(["cases"])
    assert info.value.code == 2
    assert "postvakt cases: fel: följande argument saknas: ÅTGÄRD" in capsys.readouterr().err

    with pytest.raises(SystemExit) as info:
        main(["failed", "retry", "ett"])
    assert info.value.code == 2

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("postvakt ")


# ------------------------------------------------------------------------- failed messages


def add_templates(ws: Workspace) -> Path:
    with ws.config_path.open("a", encoding="utf-8") as f:
        f.write('\n[templates]\nfolder = "mallar"\n')
    folder = ws.root / "mallar"
    folder.mkdir()
    return folder / "mottagningsbekraftelse.docx"


def test_a_template_that_is_not_a_docx_stops_start_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = make_workspace(tmp_path / "ws")
    deliver_sample(ws)
    add_templates(ws).write_bytes(b"det har ar ingen zip-fil")
    before = ws.files()

    assert main(["--config", str(ws.config_path), "check-config"]) == 2  # a config problem
    check = capsys.readouterr().err
    run = postvakt("--config", str(ws.config_path), "run", "--once", cwd=tmp_path)
    assert run.returncode == 1

    for err in (check, run.stderr):
        assert "mottagningsbekraftelse.docx" in err
        assert "Word-dokument" in err
        assert "Traceback" not in err
    assert ws.files() == before
    assert ws.drafts() == []
    # Lists need no template: the registrar can still see the cases and failures.
    assert main(["--config", str(ws.config_path), "cases", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--config", str(ws.config_path), "failed", "list"]) == 0


def test_failed_message_is_listed_and_retried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A template that opens but cannot be filled in makes registering fail for real."""
    ws = make_workspace(tmp_path / "ws")
    ws.deliver(
        citizen_mail(
            "Hej!\n\nJag vill klaga på att snön inte har röjts på Björkvägen.\n\nKarin Ek\n",
            message_id="<f1@example.net>",
        ),
        when=at(18, 9),
        name="f1",
    )
    template = add_templates(ws)
    document = docx.Document()
    document.add_paragraph("Diarienummer {{ number + 1 }}")  # str + int fails on rendering
    document.save(str(template))
    config = str(ws.config_path)

    run = postvakt("--config", config, "run", "--once", cwd=tmp_path)
    assert run.returncode == 1, run.stderr  # the message is kept, but someone must act
    assert "Läste 1 nytt meddelande: 0 nya ärenden, 1 misslyckat, 0 utkast sparade." in run.stdout
    assert "postvakt failed list" in run.stderr

    assert main(["--config", config, "failed", "list", "--json"]) == 0
    failures = json.loads(capsys.readouterr().out)
    assert len(failures) == 1
    failure = failures[0]
    assert failure["mailbox"] == "kontakt@testby.se"
    assert failure["folder"] == "INBOX"
    assert failure["key"] == "f1"
    assert failure["attempts"] == 1
    assert "TypeError" in failure["error"]
    assert datetime.fromisoformat(failure["failed_at"]).tzinfo is not None

    assert main(["--config", config, "failed", "list"]) == 0
    table = capsys.readouterr().out
    assert "kontakt@testby.se" in table
    assert "TypeError" in table

    # Still broken: retrying fails again and says so.
    assert main(["--config", config, "failed", "retry"]) == 1
    assert "0 behandlade, 1 misslyckades igen." in capsys.readouterr().out

    # Fixed (the organisation's template removed): an unknown number is refused, then all retried.
    template.unlink()
    assert main(["--config", config, "failed", "retry", "999"]) == 2
    assert "999" in capsys.readouterr().err

    retry = postvakt("--config", config, "failed", "retry", cwd=tmp_path)
    assert retry.returncode == 0, retry.stderr
    assert "f1: case (KS 2026/1)" in retry.stdout
    assert "1 behandlat, 0 misslyckades igen." in retry.stdout
    assert len(ws.drafts()) == 1

    assert main(["--config", config, "failed", "list"]) == 0
    assert "Inga misslyckade meddelanden." in capsys.readouterr().out
    assert main(["--config", config, "failed", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--config", config, "cases", "list", "--json"]) == 0
    assert [c["number"] for c in json.loads(capsys.readouterr().out)] == ["KS 2026/1"]


def test_failed_list_when_nothing_failed(
    registered: Registered, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(registered.ws.config_path)
    assert main(["--config", config, "failed", "list"]) == 0
    assert capsys.readouterr().out.strip() == "Inga misslyckade meddelanden."
    assert main(["--config", config, "failed", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
