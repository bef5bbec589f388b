"""Bad command lines, as a new user types them, and what a bug looks like to the user.

Every row is one command line and what the user must read: exit code 2, the argument
(``--year``, ``PERSON``) in a Swedish sentence that says what to do, and never a traceback;
the rows run through ``postvakt.cli.main`` and a sample through a real ``python -m postvakt``
(config rows too).  An exception nobody expected is told in one Swedish line, exit code 1,
with the traceback in a crash file readable by its owner only.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from postvakt.cli import main
from tests.support.hostile import CLOCK, isolated, run_main, run_process
from tests.support.workspace import Workspace, citizen_mail, make_workspace
from tests.test_bad_config import CONFIG_ROWS, ROW


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    yield from isolated(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """One complaint registered as KS 2026/1, and the odd files the rows name."""
    ws = make_workspace(tmp_path_factory.mktemp("bad-input") / "ws")
    ws.deliver(
        citizen_mail("Hej!\n\nSnön har inte röjts på Björkvägen på tre dagar.\n\nKarin Ek\n")
    )
    logger = logging.getLogger("postvakt")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    try:
        assert main(["--config", str(ws.config_path), "run", "--once"], clock=CLOCK) == 0
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    (ws.root / "brev.docx").write_text("det här är text, inget Word-dokument")
    (ws.root / "bild.eml").write_bytes(bytes(range(256)) * 64)
    (ws.root / "mapp").mkdir()
    return ws


A = ["absence", "add", "anna@testby.se", "--from", "2026-12-21", "--kind", "semester"]


def add(**changes: str) -> list[str]:
    """``cases add`` by phone, with one or more options changed."""
    options = {
        "--channel": "phone",
        "--summary": "Gatlampan är trasig",
        "--unit": "Kontaktcenter",
        "--by": "anna@testby.se",
    }
    options.update({f"--{k}": v for k, v in changes.items()})
    return ["{cfg}", "cases", "add", *(x for pair in options.items() for x in pair)]


C = "KS 2026/1"

CLI_ROWS = [
    # the parser's own messages, in Swedish
    pytest.param(["frobnicate"], "KOMMANDO", "ogiltigt val: 'frobnicate'", id="unknown-command"),
    pytest.param(["{cfg}", "cases"], "", "följande argument saknas: ÅTGÄRD", id="no-action"),
    pytest.param(
        ["{cfg}", "cases", "show"], "", "följande argument saknas: DIARIENUMMER", id="required"
    ),
    pytest.param(
        ["{cfg}", "cases", "list", "--foo"], "", "okända argument: --foo", id="unrecognized"
    ),
    pytest.param(
        ["{cfg}", "cases", "list", "--json=ja"],
        "--json",
        "flaggan tar inget värde",
        id="value-for-a-flag",
    ),
    pytest.param(["--config"], "--config/-c", "ett värde saknas efter flaggan", id="expected-one"),
    pytest.param(
        ["{cfg}", *A, "--s", "bo@testby.se", "--by", "chef@testby.se"],
        "",
        "tvetydig flagga --s: kan vara --substitute, --self, --subject; skriv hela namnet",
        id="ambiguous",
    ),
    pytest.param(
        ["{cfg}", *A, "--substitute", "--by", "chef@testby.se"],
        "--substitute",
        "minst ett värde saknas",
        id="expected-at-least-one",
    ),
    pytest.param(
        ["calendar", "due", "--from", "2026-01-10"],
        "",
        "ett av argumenten --working-days --days måste anges",
        id="one-of",
    ),
    pytest.param(
        ["calendar", "due", "--from", "2026-01-10", "--working-days", "5", "--days", "5"],
        "--days",
        "kan inte anges tillsammans med --working-days",
        id="not-allowed-with",
    ),
    pytest.param(
        ["{cfg}", "rules", "run", "allt"],
        "JOBB",
        "ogiltigt val: 'allt' (välj bland",
        id="invalid-choice",
    ),
    # dates, years and numbers
    pytest.param(
        ["calendar", "due", "--from", "2026-13-40", "--working-days", "5"],
        "--from",
        "'2026-13-40' är inget datum; skriv ÅÅÅÅ-MM-DD",
        id="bad-date",
    ),
    pytest.param(
        ["calendar", "due", "--from", "2026-01-10", "--working-days", "-3"],
        "--working-days",
        "mellan 1 och 3650 (var -3)",
        id="negative-working-days",
    ),
    pytest.param(
        ["calendar", "due", "--from", "2026-01-10", "--days", "0"],
        "--days",
        "mellan 1 och 3650",
        id="zero-days",
    ),
    pytest.param(
        ["calendar", "due", "--from", "9999-12-30", "--days", "5"],
        "--from",
        "utanför åren 1900–2199",
        id="year-9999",
    ),
    pytest.param(
        ["calendar", "show", "99999"], "ÅR", "inget år mellan 1900 och 2199", id="calendar-99999"
    ),
    pytest.param(["calendar", "show", "tjugo"], "ÅR", "'tjugo' är inget år", id="year-in-words"),
    pytest.param(
        ["{cfg}", "report", "annual", "--year", "1800", "--out", "{root}/r.xlsx"],
        "--year",
        "inget år mellan 1900",
        id="report-1800",
    ),
    pytest.param(
        ["{cfg}", "report", "annual", "--year", "2099", "--out", "{root}/r.xlsx"],
        "--year",
        "från 2000 till i år (2026)",
        id="report-future",
    ),
    pytest.param(
        ["{cfg}", "failed", "retry", "ett"], "NR", "'ett' är inget heltal", id="id-in-words"
    ),
    pytest.param(["{cfg}", "failed", "retry", "0"], "NR", "mellan 1 och", id="id-zero"),
    pytest.param(
        ["{cfg}", "absence", "end", "-4", "--by", "anna@testby.se"],
        "NR",
        "mellan 1 och",
        id="absence-id-negative",
    ),
    pytest.param(
        ["{cfg}", "web", "--port", "99999", "users"],
        "--port",
        "mellan 1 och 65535",
        id="port-too-big",
    ),
    # files
    pytest.param(
        ["{cfg}", "cases", "answer", C, "--file", "{root}/saknas.docx"],
        "--file",
        "saknas.docx finns inte",
        id="answer-file-missing",
    ),
    pytest.param(
        ["{cfg}", "cases", "answer", C, "--file", "{root}/brev.docx"],
        "--file",
        "inget Word-dokument",
        id="answer-file-not-word",
    ),
    pytest.param(
        ["{cfg}", "cases", "answer", C, "--file", "{root}/brev.pdf"],
        "--file",
        "slutar på .docx",
        id="answer-file-pdf",
    ),
    pytest.param(
        ["{cfg}", "report", "annual", "--year", "2026", "--out", "{root}/saknas/r.xlsx"],
        "--out",
        "saknas finns inte",
        id="out-folder-missing",
    ),
    pytest.param(
        ["{cfg}", "report", "annual", "--year", "2026", "--out", "{root}/r.pdf"],
        "--out",
        "slutar på .docx, .xlsx eller .csv",
        id="out-suffix",
    ),
    pytest.param(
        ["{cfg}", "report", "annual", "--year", "2026", "--out", "{root}/mapp"],
        "--out",
        "är en mapp",
        id="out-is-a-folder",
    ),
    pytest.param(
        ["classify", "{root}/saknas.eml"], "FIL.eml", "saknas.eml finns inte", id="classify-missing"
    ),
    pytest.param(
        ["classify", "{root}/bild.eml"], "FIL.eml", "inget e-postmeddelande", id="classify-binary"
    ),
    pytest.param(["classify", "{root}/mapp"], "FIL.eml", "är en mapp", id="classify-folder"),
    pytest.param(
        ["classifier", "evaluate", "{root}/saknas"], "", "ingen mapp", id="evaluate-missing"
    ),
    pytest.param(
        ["demo", "--dir", "{root}/brev.docx"], "--dir", "är en fil", id="demo-dir-is-a-file"
    ),
    # names that must be in the config or the register
    pytest.param(
        ["{cfg}", "cases", "show", "KS 2099/1"],
        "",
        "inget ärende med nummer 'KS 2099/1'",
        id="unknown-case",
    ),
    pytest.param(
        ["{cfg}", "cases", "close", C, "--action", "Lagat", "--by", "okand@testby.se"],
        "--by",
        "okand@testby.se finns inte i konfigurationen",
        id="by-unknown",
    ),
    pytest.param(
        ["{cfg}", "cases", "close", C, "--action", "Lagat", "--by", "anna"],
        "--by",
        "'anna' är ingen e-postadress",
        id="by-not-an-address",
    ),
    pytest.param(
        ["{cfg}", "cases", "close", C, "--action", "Lagat", "--by", "anna@testby.se"],
        "",
        "kan inte avslutas",
        id="close-unanswered",
    ),
    pytest.param(add(summary=" "), "--summary", "får inte vara tom", id="empty-summary"),
    pytest.param(
        add(email="karin på gatan"), "--email", "ingen e-postadress", id="citizen-address"
    ),
    pytest.param(
        add(unit="Parkförvaltningen"),
        "",
        "ingen enhet som heter 'Parkförvaltningen'",
        id="unknown-unit",
    ),
    pytest.param(
        add(by="okand@testby.se"),
        "--by",
        "finns inte i konfigurationen",
        id="registered-by-unknown",
    ),
    pytest.param(
        ["{cfg}", "report", "annual", "--year", "2026", "--unit", "Okänd", "--out", "{root}/r.csv"],
        "",
        "ingen enhet som heter 'Okänd'",
        id="report-unknown-unit",
    ),
    pytest.param(
        ["{cfg}", "failed", "retry", "4711"], "", "med nummer [4711]", id="failed-unknown"
    ),
    pytest.param(
        ["{cfg}", "absence", "change", "4711", "--kind", "sjukdom", "--by", "chef@testby.se"],
        "",
        "ingen frånvaro med nummer 4711",
        id="absence-unknown",
    ),
    pytest.param(
        ["{cfg}", *A, "--to", "2026-12-01", "--by", "chef@testby.se"],
        "",
        "slutar (2026-12-01) före den börjar (2026-12-21)",
        id="absence-backwards",
    ),
    pytest.param(
        ["{cfg}", "absence", "add", "bo@testby.se", *A[3:], "--by", "chef@testby.se"],
        "",
        "bo@testby.se finns inte bland personerna",
        id="absent-unknown",
    ),
    pytest.param(
        ["{cfg}", *A, "--substitute", "bo@testby.se", "--by", "chef@testby.se"],
        "",
        "bo@testby.se finns inte bland personerna",
        id="substitute-unknown",
    ),
    pytest.param(
        ["{cfg}", *A, "--by", "okand@testby.se"], "", "får inte lägga in", id="absence-by-stranger"
    ),
    pytest.param(
        ["{cfg}", "absence", "who-covers", "bo@testby.se"],
        "PERSON",
        "finns inte bland personerna",
        id="who-covers-unknown",
    ),
    pytest.param(
        ["{cfg}", "web", "--host", "0.0.0.0", "users"],  # noqa: S104 (refused, never bound)
        "--host",
        "web.session_secret_env",
        id="web-exposed-without-key",
    ),
    pytest.param(
        ["{cfg}", "web", "adduser", "anna"],
        "E-POST",
        "'anna' är ingen e-postadress",
        id="adduser-not-an-address",
    ),
    # the config file itself
    pytest.param(["cases", "list"], "", "Ingen konfigurationsfil angiven", id="no-config"),
    pytest.param(
        ["--config", "{root}/saknas.toml", "cases", "list"],
        "",
        "saknas.toml finns inte",
        id="config-missing",
    ),
]


def fill(argv: list[str], ws: Workspace) -> list[str]:
    out: list[str] = []
    for arg in argv:
        if arg == "{cfg}":
            out += ["--config", str(ws.config_path)]
        else:
            out.append(arg.replace("{root}", str(ws.root)))
    return out


@pytest.mark.parametrize(("argv", "argument", "fragment"), CLI_ROWS)
def test_a_bad_command_line_is_named_in_swedish(
    argv: list[str],
    argument: str,
    fragment: str,
    registered: Workspace,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = registered.files()

    code, out, err = run_main(fill(argv, registered), capsys)

    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert fragment in err, err
    if argument:  # argparse says "argumentet X:"; a check after parsing "X:"
        assert f"argumentet {argument}: " in err or f"Fel: {argument}: " in err, err
    assert not err.lstrip().startswith("usage"), err
    assert registered.files() == before  # a refused command changed nothing


def test_the_messages_of_the_parser_are_swedish(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["cases", "add", "--help"], capsys)
    assert code == 0
    for english in ("usage:", "options:", "show this help", "positional arguments"):
        assert english not in out
    assert out.startswith("användning: postvakt cases add")
    assert "--unit ENHET" in out and "--by E-POST" in out and "flaggor:" in out
    code, _, err = run_main(["cases", "show"], capsys)
    assert "krävs" not in err and "argumentet" not in err.split("fel:")[0]
    assert "Se 'postvakt cases show --help'." in err


def test_the_rows_are_enough() -> None:
    assert len(CONFIG_ROWS) + len(CLI_ROWS) >= 40
    assert len({row.id for row in CONFIG_ROWS}) == len(CONFIG_ROWS)
    assert len({row.id for row in CLI_ROWS}) == len(CLI_ROWS)


# ------------------------------------------------------------------------- a real process


PROCESS_ROWS = [
    ("config", "owner-not-a-person"),
    ("config", "db-mysql"),
    ("config", "toml-syntax"),
    ("config", "latin-1"),
    ("config", "templates-missing"),
    ("cli", "calendar-99999"),
    ("cli", "report-1800"),
    ("cli", "classify-binary"),
    ("cli", "absence-backwards"),
    ("cli", "web-exposed-without-key"),
]


@pytest.mark.parametrize(("table", "row_id"), PROCESS_ROWS)
def test_no_traceback_reaches_the_user_of_the_real_command(
    table: str, row_id: str, registered: Workspace, tmp_path: Path
) -> None:
    if table == "config":
        setup, key, fragment = ROW[row_id]
        ws = make_workspace(tmp_path / "ws")
        argv = ["--config", str(setup(ws)), "check-config"]
        named = f"  - {key}: "
    else:
        raw_argv, argument, fragment = next(r.values for r in CLI_ROWS if r.id == row_id)
        argv = fill(raw_argv, registered)
        named = f"{argument}: "
    code, output = run_process(argv, cwd=tmp_path)
    assert code == 2, output
    assert "Traceback" not in output and 'File "' not in output
    assert named in output and fragment in output, output


def test_postvakt_config_pointing_nowhere(tmp_path: Path) -> None:
    code, output = run_process(
        ["cases", "list"], cwd=tmp_path, env={"POSTVAKT_CONFIG": str(tmp_path / "borta.toml")}
    )
    assert code == 2 and "Traceback" not in output
    assert f"Konfigurationsfilen {tmp_path / 'borta.toml'} finns inte" in output
    assert "POSTVAKT_CONFIG" in output


# ------------------------------------------------------------------------- a bug


def test_an_unexpected_error_is_one_swedish_line_and_a_crash_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import postvakt.cli.model

    def broken(args: object) -> int:
        raise KeyError("karin.ek@example.net 19121212-1212")

    monkeypatch.setattr(postvakt.cli.model, "cmd_calendar", broken)

    code, out, err = run_main(["calendar", "show", "2026"], capsys)

    assert code == 1
    assert "Traceback" not in out + err
    assert "karin.ek@example.net" not in err
    assert err.startswith("Oväntat fel i 'postvakt calendar show' (KeyError i ")
    assert "Det är ett fel i Postvakt" in err
    (crash,) = (tmp_path / "krascher").iterdir()
    assert f"Detaljerna finns i {crash};" in err
    assert stat.S_IMODE(crash.stat().st_mode) == 0o600
    assert stat.S_IMODE(crash.parent.stat().st_mode) == 0o700
    details = crash.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in details
    assert "test_bad_command_line.py" in details and "KeyError" in details
    assert "karin.ek@example.net" not in details and "19121212-1212" not in details


def test_a_crash_in_the_real_command_shows_no_traceback(tmp_path: Path) -> None:
    script = (
        "import sys, postvakt.cli.model as m\n"
        "def broken(args):\n"
        "    return {}['saknas']\n"
        "m.cmd_calendar = broken\n"
        "from postvakt.cli import main\n"
        "sys.exit(main(['calendar', 'show', '2026']))\n"
    )
    crashes = tmp_path / "krascher"
    environ = {**os.environ, "POSTVAKT_CRASH_DIR": str(crashes)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=environ, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert "Oväntat fel i 'postvakt calendar show' (KeyError i " in done.stderr
    (crash,) = crashes.iterdir()
    assert "Traceback" in crash.read_text(encoding="utf-8")
