"""Broken config files, as a new user writes them.

Every row is one file and what the user must read from ``postvakt check-config``: exit code 2,
the key (``mailboxes[0].owners[0]``) or line that is wrong in a Swedish sentence that says what
to do, and never a traceback.  check-config lists every problem of a file at once, and the
commands that run stop on the same problems before they open anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.hostile import UNSET, isolated, run_main
from tests.support.workspace import BASE_CONFIG, Workspace, make_workspace

BASE = BASE_CONFIG.format(db_url="sqlite:///postvakt.db")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    yield from isolated(monkeypatch, tmp_path)


Setup = Callable[[Workspace], Path]
"""Writes the broken config (and whatever files it needs) into a workspace; returns its path."""


def text(config: str) -> Setup:
    def setup(ws: Workspace) -> Path:
        ws.config_path.write_text(config, encoding="utf-8")
        return ws.config_path

    return setup


def edit(old: str, new: str) -> Setup:
    assert BASE.count(old) == 1, old
    return text(BASE.replace(old, new))


def add(extra: str) -> Setup:
    return text(BASE + "\n" + extra)


def org(line: str) -> Setup:
    """A line added to [organisation]."""
    return edit('policy = "orebro"\n', f'policy = "orebro"\n{line}\n')


def raw(data: bytes) -> Setup:
    def setup(ws: Workspace) -> Path:
        ws.config_path.write_bytes(data)
        return ws.config_path

    return setup


def with_files(config: Setup, files: dict[str, bytes | None]) -> Setup:
    """``config`` plus files (None: a folder) relative to the workspace."""

    def setup(ws: Workspace) -> Path:
        for name, content in files.items():
            path = ws.root / name
            if content is None:
                path.mkdir(parents=True, exist_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        return config(ws)

    return setup


def missing_file(ws: Workspace) -> Path:
    return ws.root / "saknas.toml"


def folder_instead(ws: Workspace) -> Path:
    (ws.root / "konfig.toml").mkdir()
    return ws.root / "konfig.toml"


SECOND_MAILBOX = """\
[[mailboxes]]
address = "kontakt@testby.se"
kind = "personal"
unit = "Kontaktcenter"
owners = ["anna@testby.se"]
connector = "maildir"
[mailboxes.maildir]
path = "mail/anna"
"""

IMAP_ANNA = 'connector = "imap"\n[mailboxes.imap]\nhost = "{host}"\nusername = "anna"\npassword_env = "{env}"\n'


def imap(host: str = "imap.testby.se", env: str = "PV_TEST_BAD_INPUT_SET") -> Setup:
    return edit(
        'connector = "maildir"\n\n[mailboxes.maildir]\npath = "mail/anna"\n',
        IMAP_ANNA.format(host=host, env=env),
    )


END = BASE.count("\n") + 2
"""The line of the first thing :func:`add` adds."""

CONFIG_ROWS = [
    # unknown keys: typos get a suggestion
    pytest.param(
        text(BASE.replace("[[mailboxes]]", "[[mailboxs]]").replace("[mailboxes.", "[mailboxs.")),
        "mailboxs",
        "menade du 'mailboxes'?",
        id="typo-mailboxs",
    ),
    pytest.param(
        add(
            '[smtp]\nhost = "smtp.testby.se"\nfrom_address = "pv@testby.se"\nusername = "pv"\n'
            'pasword_env = "X"\n'
        ),
        "smtp.pasword_env",
        "menade du 'password_env'?",
        id="typo-pasword_env",
    ),
    # wrong types: no guessing at quoted numbers or truth values
    pytest.param(add('[web]\nport = "8080"'), "web.port", "utan citattecken", id="port-quoted"),
    pytest.param(
        add('[web]\ncookie_secure = "no"'),
        "web.cookie_secure",
        "true eller false",
        id="bool-quoted",
    ),
    pytest.param(
        add("[service]\npoll_interval_seconds = 60.5"),
        "service.poll_interval_seconds",
        "heltal, utan decimaler",
        id="int-with-decimals",
    ),
    pytest.param(
        edit('name = "Testby kommun"', "name = 2026-01-01"),
        "organisation.name",
        "text inom citattecken",
        id="date-for-text",
    ),
    pytest.param(
        add("[classifier]\nreview_band = [0.9]"),
        "classifier.review_band[1]",
        "saknas",
        id="band-one-number",
    ),
    # the file itself
    pytest.param(
        add("[rules\nworking_hours = 1"), f"rad {END}, kolumn 7", "']' saknas", id="toml-syntax"
    ),
    pytest.param(
        add('[organisation]\nname = "x"'),
        f"rad {END}, kolumn 14",
        "[organisation] står två gånger",
        id="toml-twice",
    ),
    pytest.param(
        edit('name = "Testby kommun"', "name = Testby kommun"),
        "rad 2, kolumn 8",
        "texter står inom citattecken",
        id="toml-unquoted",
    ),
    pytest.param(text(""), "", "är tom", id="empty-file"),
    pytest.param(missing_file, "", "finns inte", id="no-such-file"),
    pytest.param(folder_instead, "", "är en mapp, inte en fil", id="folder-not-file"),
    pytest.param(
        raw(BASE.replace("Testby kommun", "Öbyn").encode("latin-1")),
        "rad 2",
        "inte sparad som UTF-8",
        id="latin-1",
    ),
    pytest.param(
        text("[database]\n"), "organisation", "saknas men måste anges", id="no-organisation"
    ),
    # tables that refer to each other
    pytest.param(
        add(SECOND_MAILBOX), "mailboxes[2].address", "finns redan i mailboxes[0]", id="dup-mailbox"
    ),
    pytest.param(
        edit('head = "kd@testby.se"', 'head = "kd testby.se"'),
        "units[0].head",
        "ingen e-postadress",
        id="bad-address",
    ),
    pytest.param(
        edit('parent = "Kommunledningen"', 'parent = "Kommunen"'),
        "units[1].parent",
        "okänd enhet 'Kommunen' — menade du 'Kommunledningen'?",
        id="unknown-parent",
    ),
    pytest.param(
        edit('head = "kd@testby.se"', 'head = "kd@testby.se"\nparent = "Kontaktcenter"'),
        "units[0].parent",
        "cirkel",
        id="parent-cycle",
    ),
    pytest.param(
        edit(
            'kind = "function"\nunit = "Kontaktcenter"',
            'kind = "function"\nunit = "Kontaktcentret"',
        ),
        "mailboxes[0].unit",
        "menade du 'Kontaktcenter'?",
        id="mailbox-unknown-unit",
    ),
    pytest.param(
        edit(
            'owners = ["anna@testby.se"]\nconnector = "maildir"\n\n[mailboxes.maildir]\npath = "mail/kontakt"',
            'owners = ["okand@testby.se"]\nconnector = "maildir"\n\n[mailboxes.maildir]\npath = "mail/kontakt"',
        ),
        "mailboxes[0].owners[0]",
        "'okand@testby.se' finns inte bland [[people]]",
        id="owner-not-a-person",
    ),
    pytest.param(
        edit(
            'phone = "0123-456 78"', 'phone = "0123-456 78"\nstanding_delegates = ["bo@testby.se"]'
        ),
        "people[0].standing_delegates[0]",
        "finns inte bland [[people]]",
        id="delegate-not-a-person",
    ),
    pytest.param(
        edit(
            'phone = "0123-456 78"',
            'phone = "0123-456 78"\nstanding_delegates = ["anna@testby.se"]',
        ),
        "people[0].standing_delegates[0]",
        "sitt eget stående ombud",
        id="delegate-self",
    ),
    # values out of range or unknown
    pytest.param(
        edit('policy = "orebro"', 'policy = "goteborg"'),
        "organisation.policy",
        "okänd policy",
        id="unknown-policy",
    ),
    pytest.param(
        text(BASE.replace('connector = "maildir"', 'connector = "pop3"', 1)),
        "mailboxes[0].connector",
        "ogiltigt värde 'pop3'",
        id="unknown-connector",
    ),
    pytest.param(
        add('[rules]\ndaily_open_time = "25:00"'),
        "rules.daily_open_time",
        "ska vara en tid",
        id="time-25",
    ),
    pytest.param(
        add('[rules]\nworking_hours = ["17:00", "08:00"]'),
        "rules.working_hours",
        "börja före den slutar",
        id="hours-reversed",
    ),
    pytest.param(
        add("[service]\npoll_interval_seconds = -5"),
        "service.poll_interval_seconds",
        "minst 5",
        id="negative-poll",
    ),
    pytest.param(
        edit(
            'url = "sqlite:///postvakt.db"',
            'url = "sqlite:///postvakt.db"\nbusy_timeout_seconds = -1',
        ),
        "database.busy_timeout_seconds",
        "större än 0",
        id="negative-busy",
    ),
    pytest.param(
        edit(
            'url = "sqlite:///postvakt.db"',
            'url = "sqlite:///postvakt.db"\nbusy_timeout_seconds = inf',
        ),
        "database.busy_timeout_seconds",
        "inte inf",
        id="infinite-busy",
    ),
    pytest.param(
        org('timezone = "Europe/Stockhol"'), "organisation.timezone", "okänd tidszon", id="timezone"
    ),
    pytest.param(
        org('care_deviation = "avvikelse.testby.se"'),
        "organisation.care_deviation",
        "'avvikelse.testby.se' är ingen e-postadress (väntade t.ex. namn@exempel.se)",
        id="care-deviation-not-an-address",
    ),
    pytest.param(
        org('care_deviation = "avvikelse@testby.se"'),
        "organisation.care_deviation",
        "skickas med e-post till avvikelsefunktionen, men [smtp] saknas",
        id="care-deviation-without-smtp",
    ),
    pytest.param(
        org('closure_days = ["2026-13-01"]'),
        "organisation.closure_days[0]",
        "ska vara ett datum",
        id="closure-not-a-date",
    ),
    pytest.param(
        org('diary_number_format = "{prefix} {year}"'),
        "organisation.diary_number_format",
        "{year} och {seq}",
        id="format-without-seq",
    ),
    pytest.param(
        org('diary_number_format = "{prefix.__class__} {year}/{seq}"'),
        "organisation.diary_number_format",
        "okänt fält {prefix.__class__}",
        id="format-attribute",
    ),
    pytest.param(
        add('[deadlines]\nreply = "99999 dagar"'),
        "deadlines.reply",
        "mellan 1 och 366",
        id="deadline-of-centuries",
    ),
    pytest.param(
        add('[rules]\ncompilation_reminder = "02-30"'),
        "rules.compilation_reminder",
        "'02-30' är inget datum",
        id="reminder-30-february",
    ),
    # the database
    pytest.param(
        edit('url = "sqlite:///postvakt.db"', 'url = "mysql://pv@db/postvakt"'),
        "database.url",
        "SQLite eller PostgreSQL",
        id="db-mysql",
    ),
    pytest.param(
        edit('url = "sqlite:///postvakt.db"', 'url = "inte en adress"'),
        "database.url",
        "ingen databasadress",
        id="db-not-a-url",
    ),
    pytest.param(
        edit('url = "sqlite:///postvakt.db"', 'url = "postgresql+psycopg://pv:Hemligt1@db/pv"'),
        "database.url",
        "lösenord står aldrig i filen",
        id="db-password-in-file",
    ),
    pytest.param(
        edit('url = "sqlite:///postvakt.db"', 'url = "postgresql+pg8000://pv@db/pv"'),
        "database.url",
        "'postgresql+pg8000' är inte installerad",
        id="db-driver-missing",
    ),
    pytest.param(
        edit('url = "sqlite:///postvakt.db"', 'url = "sqlite:///data/postvakt.db"'),
        "database.url",
        "/data, finns inte",
        id="db-folder-missing",
    ),
    pytest.param(
        with_files(text(BASE), {"postvakt.db": b"PK\x03\x04 ett zip-arkiv, ingen databas"}),
        "database.url",
        "ingen SQLite-databas",
        id="db-not-sqlite",
    ),
    # folders and files
    pytest.param(
        add('[templates]\nfolder = "mallar"'), "templates.folder", "mappen", id="templates-missing"
    ),
    pytest.param(
        with_files(
            add('[templates]\nfolder = "mallar"'), {"mallar/mottagningsbekräftelse.docx": b"x"}
        ),
        "templates.folder",
        "menade du 'mottagningsbekraftelse.docx'?",
        id="template-misnamed",
    ),
    pytest.param(
        with_files(add('[templates]\nletters_folder = "brev"'), {"brev": b"en fil"}),
        "templates.letters_folder",
        "är en fil, inte en mapp",
        id="letters-folder-is-a-file",
    ),
    pytest.param(
        add('[classifier]\ncorpus = "korpus"'),
        "classifier.corpus",
        "finns inte",
        id="corpus-missing",
    ),
    pytest.param(
        with_files(add('[classifier]\ncorpus = "korpus"'), {"korpus": None}),
        "classifier.corpus",
        "labels.csv finns inte",
        id="corpus-without-labels",
    ),
    pytest.param(
        edit('path = "mail/anna"', 'path = "mail/ana"'),
        "mailboxes[1].maildir.path",
        "finns inte",
        id="maildir-missing",
    ),
    # mail servers, secrets and the web panel
    pytest.param(
        imap(host="imap.testby.se:993"),
        "mailboxes[1].imap.host",
        "utan :port",
        id="imap-host-with-port",
    ),
    pytest.param(
        imap(env=UNSET),
        "mailboxes[1].imap.password_env",
        f"{UNSET} är inte satt",
        id="imap-secret-unset",
    ),
    pytest.param(
        add(f'[web]\nsession_secret_env = "{UNSET}"'),
        "web.session_secret_env",
        "är inte satt",
        id="web-secret-unset",
    ),
    pytest.param(
        add('[web]\nsession_secret_env = "HOME"'),
        "web.session_secret_env",
        "för kort",
        id="web-secret-short",
    ),
    pytest.param(
        add('[web]\nhost = "0.0.0.0"'), "web", "session_secret_env krävs", id="web-exposed"
    ),
    pytest.param(
        add('[web.oidc]\nissuer = "sso.testby.se"\nclient_id = "pv"\nclient_secret_env = "X"'),
        "web.oidc.issuer",
        "ingen webbadress",
        id="oidc-issuer-not-a-url",
    ),
]


ROW = {row.id: row.values for row in CONFIG_ROWS}


@pytest.mark.parametrize(("setup", "key", "fragment"), CONFIG_ROWS)
def test_a_broken_config_is_named_in_swedish(
    setup: Setup, key: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = make_workspace(tmp_path / "ws")
    path = setup(ws)

    code, out, err = run_main(["--config", str(path), "check-config"], capsys)

    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert f"  - {key}: " in err if key else "  - " in err, err
    assert fragment in err, err


def test_the_good_config_passes_and_a_byte_order_mark_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = make_workspace(tmp_path / "ws")
    code, out, err = run_main(["--config", str(ws.config_path), "check-config"], capsys)
    assert (code, err) == (0, ""), err
    assert "konfigurationen är giltig" in out
    # Windows Notepad saves UTF-8 with a byte-order mark.
    ws.config_path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    code, out, err = run_main(["--config", str(ws.config_path), "check-config"], capsys)
    assert (code, err) == (0, ""), err


def test_check_config_lists_every_problem_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo must not hide the missing folder, nor the folder the unset secret."""
    ws = make_workspace(tmp_path / "ws")
    broken = (
        BASE.replace('policy = "orebro"', 'policy = "goteborg"')
        .replace('owners = ["anna@testby.se"]', 'owners = ["okand@testby.se"]', 1)
        .replace('path = "mail/anna"', 'path = "mail/ana"')
        + f'\n[templates]\nfolder = "mallar"\n\n[web]\nport = "80"\nsession_secret_env = "{UNSET}"\n'
        + '\n[classifier]\ncorpus = "korpus"\n'
    )
    ws.config_path.write_text(broken, encoding="utf-8")

    code, _, err = run_main(["--config", str(ws.config_path), "check-config"], capsys)

    keys = [
        "organisation.policy",
        "mailboxes[0].owners[0]",
        "web.port",
        "web.session_secret_env",
        "templates.folder",
        "classifier.corpus",
        "mailboxes[1].maildir.path",
    ]
    assert code == 2
    assert f"har {len(keys)} fel:" in err, err
    for key in keys:
        assert f"  - {key}: " in err, key


@pytest.mark.parametrize(
    ("setup", "key"),
    [
        pytest.param(ROW["owner-not-a-person"][0], "mailboxes[0].owners[0]", id="owner"),
        pytest.param(add('[templates]\nfolder = "mallar"'), "templates.folder", id="templates"),
        pytest.param(
            edit('url = "sqlite:///postvakt.db"', 'url = "sqlite:///data/postvakt.db"'),
            "database.url",
            id="db-folder",
        ),
    ],
)
def test_the_commands_refuse_what_check_config_finds(
    setup: Setup, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not only check-config: running stops on the same problem before anything is opened."""
    ws = make_workspace(tmp_path / "ws")
    path = setup(ws)
    for argv in (["run", "--once"], ["absence", "apply"]):
        code, out, err = run_main(["--config", str(path), *argv], capsys)
        assert code == 2, out + err
        assert f"  - {key}: " in err and "Traceback" not in err
    assert not (ws.root / "postvakt.db").exists()
