"""The configuration file: loading, path resolution, every problem at once, secrets by name."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from postvakt.config import Config, check_environment, load_config, parse_config
from postvakt.demo import DEMO_CONFIG
from postvakt.errors import ConfigError, ConfigProblem
from postvakt.intake import policy_from as _policy_from
from postvakt.mailbox import open_connector
from postvakt.rules.policy import PRESETS, Duration
from tests.support.workspace import Workspace

MINIMAL = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
"""


def write(folder: Path, text: str, name: str = "postvakt.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> tuple[ConfigProblem, ...]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def by_key(problems: tuple[ConfigProblem, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for problem in problems:
        out[problem.key] = (out.get(problem.key, "") + " | " + problem.message).strip(" |")
    return out


# ------------------------------------------------------------------------- good files


def test_workspace_config_loads_and_resolves_relative_paths(workspace: Workspace) -> None:
    config = workspace.config
    root = workspace.root.resolve()

    assert isinstance(config, Config)
    assert config.base_dir == root
    assert config.organisation.name == "Testby kommun"
    assert [m.address for m in config.mailboxes] == ["kontakt@testby.se", "anna@testby.se"]
    assert config.database_url == f"sqlite:///{root / 'postvakt.db'}"
    first = config.mailboxes[0]
    assert first.maildir is not None
    assert config.path(first.maildir.path) == root / "mail" / "kontakt"
    connector = open_connector(first, config, {})
    assert connector.path == root / "mail" / "kontakt"


def test_relative_paths_do_not_depend_on_the_working_directory(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    relative = Path("..") / workspace.root.name / "postvakt.toml"

    config = load_config(relative)

    root = workspace.root.resolve()
    assert config.database_url == f"sqlite:///{root / 'postvakt.db'}"
    assert config.mailboxes[1].maildir is not None
    assert config.path(config.mailboxes[1].maildir.path) == root / "mail" / "anna"


def test_demo_config_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "demo", DEMO_CONFIG))
    base = (tmp_path / "demo").resolve()

    assert config.organisation.diary_prefix == "KS"
    assert config.organisation.policy == "orebro"
    assert config.database_url == f"sqlite:///{base / 'postvakt.db'}"
    assert [config.path(m.settings.path) for m in config.mailboxes] == [  # type: ignore[union-attr]
        base / "mail" / "kontaktcenter",
        base / "mail" / "anna.berg",
    ]
    assert config.daily_open_checked(config.mailboxes[0]) is True
    # Örebro: "Den personliga brevlådan ska öppnas dagligen" -- the personal one too.
    assert config.daily_open_checked(config.mailboxes[1]) is True
    assert check_environment(config, {}) == []


def test_default_database_is_postvakt_db_next_to_the_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "etc" / "postvakt", MINIMAL))
    expected = (tmp_path / "etc" / "postvakt" / "postvakt.db").resolve()
    assert config.database.url is None
    assert config.database_url == f"sqlite:///{expected}"


def test_absolute_and_non_sqlite_database_urls_are_kept(tmp_path: Path) -> None:
    absolute = tmp_path / "data" / "register.db"
    config = load_config(
        write(tmp_path / "a", MINIMAL + f'\n[database]\nurl = "sqlite:///{absolute}"\n')
    )
    assert config.database_url == f"sqlite:///{absolute}"

    pg = "postgresql+psycopg://postvakt@db.testby.se/postvakt"
    config = load_config(write(tmp_path / "b", MINIMAL + f'\n[database]\nurl = "{pg}"\n'))
    assert config.database_url == pg

    config = load_config(
        write(tmp_path / "c", MINIMAL + '\n[database]\nurl = "sqlite:///data/x.db"\n')
    )
    assert config.database_url == f"sqlite:///{(tmp_path / 'c' / 'data' / 'x.db').resolve()}"


def test_templates_folder_resolves_against_the_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "cfg", MINIMAL + '\n[templates]\nfolder = "mallar"\n'))
    assert config.templates_folder == (tmp_path / "cfg" / "mallar").resolve()
    assert load_config(write(tmp_path / "none", MINIMAL)).templates_folder is None


def test_parse_config_takes_base_dir_for_relative_paths(tmp_path: Path) -> None:
    import tomllib

    data = tomllib.loads(DEMO_CONFIG)
    config = parse_config(data, base_dir=tmp_path)
    assert config.database_url == f"sqlite:///{tmp_path / 'postvakt.db'}"
    assert config.path("mail/x") == tmp_path / "mail" / "x"


def test_addresses_are_normalised_to_lower_case(tmp_path: Path) -> None:
    text = DEMO_CONFIG.replace(
        'address = "kontaktcenter@exempel.se"', 'address = "Kontaktcenter@Exempel.SE"'
    )
    config = load_config(write(tmp_path, text))
    assert config.mailboxes[0].address == "kontaktcenter@exempel.se"
    assert config.mailbox("KONTAKTCENTER@exempel.se") is config.mailboxes[0]


# ------------------------------------------------------------------------- problems

BAD_CONFIG = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
diary_number_format = "{prefix}-{year}"
policy = "göteborg"

[deadlines]
reply = "fem dagar"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"
parent = "Socialtjänsten"

[[units]]
name = "Socialtjänsten"
head = "soc@testby.se"
parent = "Kontaktcenter"

# 0: a typo in a key
[[mailboxes]]
adress = "typo@testby.se"
kind = "personal"
unit = "Kontaktcenter"
owners = ["chef@testby.se"]
connector = "maildir"
[mailboxes.maildir]
path = "mail/typo"

# 1: unknown unit (close to a real one) and a function mailbox nobody owns
[[mailboxes]]
address = "kontakt@testby.se"
kind = "function"
unit = "Kontaktcentre"
connector = "maildir"
[mailboxes.maildir]
path = "mail/kontakt"

# 2: the same address again
[[mailboxes]]
address = "Kontakt@testby.se"
kind = "personal"
unit = "Kontaktcenter"
connector = "maildir"
[mailboxes.maildir]
path = "mail/kontakt2"

# 3: wrong type and an invalid literal
[[mailboxes]]
address = "imap@testby.se"
kind = "personal"
unit = "Kontaktcenter"
connector = "imap"
[mailboxes.imap]
host = "imap.testby.se"
port = "x"
security = "ssl"
username = "imap"
password_env = "PV_IMAP_PASSWORD"

# 4: a connector table that does not match connector
[[mailboxes]]
address = "fel@testby.se"
kind = "personal"
unit = "Kontaktcenter"
connector = "maildir"
[mailboxes.imap]
host = "imap.testby.se"
username = "fel"
password_env = "PV_IMAP_PASSWORD"
"""


def test_every_problem_is_reported_at_once_with_its_key(tmp_path: Path) -> None:
    """One run of the loader lists every mistake in the file, field and reference alike."""
    problems = by_key(problems_of(write(tmp_path, BAD_CONFIG)))

    expected = {
        "organisation.diary_number_format",
        "organisation.policy",
        "deadlines.reply",
        "mailboxes[0].adress",
        "mailboxes[3].imap.port",
        "mailboxes[3].imap.security",
        # reference problems, found across tables
        "units[0].parent",  # the cycle
        "mailboxes[1].unit",
        "mailboxes[1].owners",
        "mailboxes[2].address",  # duplicate of mailboxes[1]
    }
    missing = expected - set(problems)
    assert not missing, f"not reported: {sorted(missing)}; reported: {sorted(problems)}"
    assert any(key.startswith("mailboxes[4]") for key in problems), sorted(problems)
    assert "Kontaktcenter" in problems["mailboxes[1].unit"]  # the close match is suggested


def test_field_problems_name_the_key_and_say_what_is_wrong(tmp_path: Path) -> None:
    problems = by_key(problems_of(write(tmp_path, BAD_CONFIG)))

    assert "'address'" in problems["mailboxes[0].adress"]  # "did you mean 'address'?"
    assert "mailboxes[0].address" in problems  # and the real key is then missing
    assert "heltal" in problems["mailboxes[3].imap.port"]
    assert "'ssl'" in problems["mailboxes[3].imap.security"]
    assert "starttls" in problems["mailboxes[3].imap.security"]
    assert "göteborg" in problems["organisation.policy"]
    assert "orebro" in problems["organisation.policy"]
    assert "{seq}" in problems["organisation.diary_number_format"]
    assert "fem dagar" in problems["deadlines.reply"]
    assert "arbetsdagar" in problems["deadlines.reply"]  # shows how to write it
    mismatch = [m for k, m in problems.items() if k.startswith("mailboxes[4]")]
    assert mismatch and "[mailboxes.maildir]" in mismatch[0]


REFERENCE_PROBLEMS = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"
parent = "Socialtjänsten"

[[units]]
name = "Socialtjänsten"
head = "soc@testby.se"
parent = "Kontaktcenter"

[[units]]
name = "Kultur"
head = "kultur@testby.se"
parent = "Kulturförvaltning"

[[people]]
name = "Anna Berg"
address = "anna@testby.se"
unit = "Socialtjanst"

[[people]]
name = "Anna Berg igen"
address = "ANNA@testby.se"

[[mailboxes]]
address = "kontakt@testby.se"
kind = "function"
unit = "Kontaktcentre"
connector = "maildir"
[mailboxes.maildir]
path = "mail/kontakt"

[[mailboxes]]
address = "kontakt@testby.se"
kind = "personal"
unit = "Kontaktcenter"
connector = "maildir"
[mailboxes.maildir]
path = "mail/kontakt2"
"""


def test_reference_problems_are_reported_together(tmp_path: Path) -> None:
    problems = by_key(problems_of(write(tmp_path, REFERENCE_PROBLEMS)))

    assert "cirkel" in problems["units[0].parent"]
    assert "cirkel" in problems["units[1].parent"]
    assert "Kulturförvaltning" in problems["units[2].parent"]
    assert "'Socialtjänsten'" in problems["people[0].unit"]  # close match suggested
    assert "people[0]" in problems["people[1].address"]  # duplicate, case-insensitive
    assert "'Kontaktcenter'" in problems["mailboxes[0].unit"]
    assert "owners" in problems["mailboxes[0].owners"]
    assert "mailboxes[0]" in problems["mailboxes[1].address"]


def test_config_error_text_lists_every_problem_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, REFERENCE_PROBLEMS)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert info.value.source == str(path)
    assert str(path) in text
    assert f"{len(info.value.problems)} fel" in text
    for problem in info.value.problems:
        assert f"  - {problem.key}: " in text


@pytest.mark.parametrize(
    ("extra", "key", "fragment"),
    [
        ("[service]\npoll_interval_seconds = 1\n", "service.poll_interval_seconds", "minst 5"),
        ('[service]\nlog_level = "LOUD"\n', "service.log_level", "LOUD"),
        ('[deadlines]\ncompilation_date = "15 februari"\n', "deadlines.compilation_date", "MM-DD"),
        ('[deadlines]\ncompilation_date = "15-02"\n', "deadlines.compilation_date", "inget datum"),
        ('[database]\npassword_env = "hemligt lösen"\n', "database.password_env", "miljövariabel"),
        ('[databas]\nurl = "sqlite:///x.db"\n', "databas", "database"),
        (
            '[[people]]\nname = "Bo"\naddress = "bo@testby.se"\nstanding_delegates = ["bertil@testby.se"]\n',
            "people[0].standing_delegates[0]",
            "finns inte bland [[people]]",
        ),
        ("[classifier]\nreview_band = [0.6, 0.2]\n", "classifier.review_band", "det lägre först"),
        ("[classifier]\nreview_band = [0.0, 1.5]\n", "classifier.review_band", "mellan 0 och 1"),
        ("[classifier]\nreveiw_band = [0.0, 0.5]\n", "classifier.reveiw_band", "review_band"),
        (
            '[smtp]\nhost = "smtp.testby.se"\nfrom_address = "inte en adress"\n',
            "smtp.from_address",
            "e-postadress",
        ),
    ],
)
def test_single_problems_have_keys(tmp_path: Path, extra: str, key: str, fragment: str) -> None:
    problems = by_key(problems_of(write(tmp_path, MINIMAL + "\n" + extra)))
    assert key in problems, problems
    assert fragment in problems[key]


def test_missing_organisation_is_reported(tmp_path: Path) -> None:
    problems = by_key(problems_of(write(tmp_path, "[service]\npoll_interval_seconds = 60\n")))
    assert "organisation" in problems
    assert "saknas" in problems["organisation"]


def test_toml_syntax_error_mentions_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "\n[database\nurl = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "TOML" in text
    assert "rad 5, kolumn 10: ']' saknas efter tabellens namn" in text
    assert "raden lyder: [database" in text
    assert str(path) in text


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "saknas.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert str(path) in text
    assert "--config" in text
    assert "POSTVAKT_CONFIG" in text
    assert "postvakt demo" in text


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.replace("Testby", "Göteborgs").encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "UTF-8" in str(info.value)
    assert str(path) in str(info.value)


def test_a_folder_instead_of_a_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(tmp_path) in str(info.value)


# ------------------------------------------------------------------------- secrets

SECRETS_CONFIG = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"

[database]
url = "postgresql+psycopg://postvakt@db.testby.se/postvakt"
password_env = "PV_TEST_DB_PASSWORD"

[smtp]
host = "smtp.testby.se"
username = "postvakt"
password_env = "PV_TEST_SMTP_PASSWORD"
from_address = "postvakt@testby.se"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"

[[mailboxes]]
address = "kontakt@testby.se"
kind = "personal"
unit = "Kontaktcenter"
connector = "imap"
[mailboxes.imap]
host = "imap.testby.se"
username = "kontakt"
password_env = "PV_TEST_IMAP_PASSWORD"

[[mailboxes]]
address = "graph@testby.se"
kind = "personal"
unit = "Kontaktcenter"
connector = "graph"
[mailboxes.graph]
tenant_id = "t"
client_id = "c"
client_secret_env = "PV_TEST_GRAPH_SECRET"
"""

SECRET_VALUES = {
    "PV_TEST_DB_PASSWORD": "db-Hemligt-7731",
    "PV_TEST_SMTP_PASSWORD": "smtp-Hemligt-8842",
    "PV_TEST_IMAP_PASSWORD": "imap-Hemligt-9953",
    "PV_TEST_GRAPH_SECRET": "graph-Hemligt-1064",
}


def test_unset_secrets_are_reported_by_key_and_variable_name(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SECRETS_CONFIG))

    problems = by_key(tuple(check_environment(config, {})))

    assert set(problems) == {
        "database.password_env",
        "smtp.password_env",
        "mailboxes[0].imap.password_env",
        "mailboxes[1].graph.client_secret_env",
    }
    assert "PV_TEST_DB_PASSWORD" in problems["database.password_env"]
    assert "PV_TEST_SMTP_PASSWORD" in problems["smtp.password_env"]
    assert "PV_TEST_IMAP_PASSWORD" in problems["mailboxes[0].imap.password_env"]
    assert "PV_TEST_GRAPH_SECRET" in problems["mailboxes[1].graph.client_secret_env"]


def test_set_secrets_give_no_problems_and_never_appear_in_text(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SECRETS_CONFIG))

    assert check_environment(config, SECRET_VALUES) == []

    # Only some set: the others are reported, and no value leaks into any message.
    partial = {k: v for k, v in SECRET_VALUES.items() if k != "PV_TEST_IMAP_PASSWORD"}
    problems = check_environment(config, partial)
    assert [p.key for p in problems] == ["mailboxes[0].imap.password_env"]
    text = str(ConfigError(problems)) + repr(problems)
    for value in SECRET_VALUES.values():
        assert value not in text


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SECRETS_CONFIG))
    environ = {**SECRET_VALUES, "PV_TEST_SMTP_PASSWORD": ""}
    assert [p.key for p in check_environment(config, environ)] == ["smtp.password_env"]


def test_check_environment_reads_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write(tmp_path, SECRETS_CONFIG))
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(name, value)
    assert check_environment(config) == []
    monkeypatch.delenv("PV_TEST_DB_PASSWORD")
    assert [p.key for p in check_environment(config)] == ["database.password_env"]


def test_the_config_holds_only_variable_names_never_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(name, value)
    config = load_config(write(tmp_path, SECRETS_CONFIG))

    dumped = str(config) + repr(config) + config.model_dump_json()
    for name, value in SECRET_VALUES.items():
        assert value not in dumped
        assert name in dumped  # the name is what the file says


# ------------------------------------------------------------------------- deadlines


def test_deadline_overrides_reach_the_policy(tmp_path: Path) -> None:
    text = MINIMAL + (
        "\n[deadlines]\n"
        'reply = "3 dagar"\n'
        'complaint_ack = "7 arbetsdagar"\n'
        'callback = "1 vecka"\n'
        'compilation_date = "03-01"\n'
    )
    policy = _policy_from(load_config(write(tmp_path, text)))

    assert policy.reply == Duration(3, "days")
    assert policy.complaint_ack == Duration(7, "working_days")
    assert policy.callback == Duration(7, "days")
    assert policy.complaint_answer == PRESETS["orebro"].complaint_answer  # not overridden
    assert policy.compilation_due(2026) == date(2027, 3, 1)


def test_without_overrides_the_preset_is_used(tmp_path: Path) -> None:
    text = MINIMAL + 'policy = "timra"\n'
    assert _policy_from(load_config(write(tmp_path, text))) == PRESETS["timra"]


def test_override_on_another_preset(tmp_path: Path) -> None:
    text = MINIMAL + 'policy = "Linkoping"\n\n[deadlines]\nreply = "5 working days"\n'
    config = load_config(write(tmp_path, text))
    policy = _policy_from(config)
    assert config.organisation.policy == "linkoping"
    assert policy.name == "linkoping"
    assert policy.reply == Duration(5, "working_days")
    assert policy.complaint_ack == PRESETS["linkoping"].complaint_ack
