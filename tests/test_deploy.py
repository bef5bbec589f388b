"""The deployment files in deploy/: systemd units, compose, the container image, the example
configuration and the Dovecot limits, checked with the real tools where they run here
(systemd-analyze, doveconf and a Dovecot started with the settings) and by reading them.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from postvakt.config import load_config
from tests.support.dovecot import DovecotServer

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
BINARY = "/opt/postvakt/bin/postvakt"
UNIT_COMMANDS = {
    "postvakt-run.service": "run",
    "postvakt-web.service": "web",
    "postvakt-worker@.service": "worker",
}
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "AUTHKEY", "KEY")


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as section -> key -> every value given (systemd allows a key many times)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} before any section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: {line!r} is not key=value"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(service: dict[str, list[str]], key: str) -> str:
    values = service.get(key)
    assert values, f"{key}= missing"
    return values[-1]


@pytest.mark.parametrize("name", sorted(UNIT_COMMANDS))
def test_unit_runs_hardened_as_postvakt_with_its_state_and_secrets(name: str) -> None:
    unit = read_unit(UNITS / name)
    service = unit["Service"]
    assert one(service, "User") == one(service, "Group") == "postvakt"
    assert one(service, "StateDirectory") == "postvakt"
    assert one(service, "ConfigurationDirectory") == "postvakt"
    assert int(one(service, "LimitNOFILE")) >= 65536
    assert one(service, "ProtectSystem") == "strict"
    assert one(service, "ProtectHome") == "yes"
    assert one(service, "PrivateTmp") == "yes"
    assert one(service, "NoNewPrivileges") == "yes"
    # the state directory is the only place it writes, and every path it is told about is there
    assert service["ReadWritePaths"] == ["/var/lib/postvakt"]
    environment = dict(value.split("=", 1) for value in service["Environment"])
    for variable in ("HOME", "POSTVAKT_CACHE_DIR", "POSTVAKT_CRASH_DIR", "MPLCONFIGDIR"):
        assert environment[variable].startswith("/var/lib/postvakt"), variable
    assert environment["POSTVAKT_CONFIG"].startswith("/etc/postvakt/")
    assert one(service, "EnvironmentFile").startswith("/etc/postvakt/")
    assert set(one(service, "RestrictAddressFamilies").split()) == {
        "AF_UNIX",
        "AF_INET",
        "AF_INET6",
    }
    assert "@system-service" in service["SystemCallFilter"]
    assert service["CapabilityBoundingSet"] == [""]  # no capabilities at all
    assert one(service, "Restart") == "on-failure"
    assert one(service, "KillSignal") == "SIGTERM"
    assert one(service, "ExecStart") == f"{BINARY} {UNIT_COMMANDS[name]}"
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    # why the open-files limit is raised is said next to it
    text = (UNITS / name).read_text()
    before = text[: text.index("LimitNOFILE=")].rsplit("\n\n", 1)[-1]
    assert "1,024 open files" in before


@pytest.mark.parametrize("command", ["run", "web", "worker"])
def test_the_units_commands_exist(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "postvakt", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_worker_unit_needs_postgresql_and_excludes_run() -> None:
    text = (UNITS / "postvakt-worker@.service").read_text()
    assert "arrives with" not in text and "Workers need PostgreSQL" in text
    assert "Conflicts=postvakt-run.service" in text


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd's own check, with ExecStart pointing at this checkout's postvakt (verify wants an
    executable that exists); the template is verified as an instance."""
    binary = Path(sys.executable).with_name("postvakt")
    assert binary.exists(), binary
    copies = []
    for name in sorted(UNIT_COMMANDS):
        copy = tmp_path / name.replace("@.", "@1.")
        copy.write_text((UNITS / name).read_text().replace(BINARY, str(binary)))
        copies.append(str(copy))
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: run scripts/install-system-deps.sh"
    done = subprocess.run(
        [analyze, "verify", *copies], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    # unknown keys and bad values are only warned about: any output is a mistake in a unit
    assert done.stdout + done.stderr == ""


def test_sysusers_makes_the_postvakt_user_with_the_state_directory_as_home() -> None:
    lines = [
        line.split()
        for line in (UNITS / "postvakt.sysusers").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == 1
    kind, name, *_rest = lines[0]
    assert (kind, name) == ("u", "postvakt")
    assert "/var/lib/postvakt" in lines[0]
    assert lines[0][-1] == "/usr/sbin/nologin"


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def compose() -> dict:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_runs_postgresql_with_a_volume_and_a_healthcheck() -> None:
    data = compose()
    services = data["services"]
    db = services["db"]
    assert db["image"].split(":")[0] == "postgres"
    volume = db["volumes"][0].split(":")
    assert volume[1] == "/var/lib/postgresql/data"
    assert volume[0] in data["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    for name in ("run", "web", "worker-1", "worker-2"):
        service = services[name]
        assert service["depends_on"]["db"]["condition"] == "service_healthy", name
        assert service["ulimits"]["nofile"]["soft"] >= 65536, name
        assert service["stop_signal"] == "SIGTERM", name
        for mount in service["volumes"]:
            source = mount.split(":")[0]
            if not source.startswith("."):
                assert source in data["volumes"], (name, source)
        assert (
            ROOT / "deploy" / service["build"]["context"] / service["build"]["dockerfile"]
        ).exists()
    assert services["run"]["command"] == ["run"]
    assert services["web"]["command"] == ["web"]
    # a plain `up` starts two workers and the web; run (one process) only with --profile
    # single, so that run and the workers never read the same mailboxes side by side
    assert services["run"]["profiles"] == ["single"] and "profiles" not in services["web"]
    for name in ("worker-1", "worker-2"):
        assert services[name]["command"] == ["worker"]
        assert "profiles" not in services[name]


def test_compose_holds_no_secret() -> None:
    data = compose()
    for name, service in data["services"].items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: environment as a mapping"
        for key, value in environment.items():
            if any(word in key.upper() for word in SECRET_WORDS):
                # only ever taken from the environment (.env), never written here
                assert re.fullmatch(r"\$\{[A-Z0-9_]+(:\?[^}]*)?\}", str(value)), (name, key)
    for text in _strings(data):
        assert not re.search(r"(?i)(password|secret|token)\s*[=:]\s*\w", text), text
    for name in ("run", "web"):
        assert data["services"][name]["env_file"] == ".env"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "/deploy/.env" in ignored


def test_the_example_config_fits_compose_and_names_its_secrets_in_env_example() -> None:
    config = load_config(DEPLOY / "postvakt.example.toml")
    data = compose()
    assert config.database.url.startswith("postgresql")
    assert "@db:" in config.database.url  # the compose service's name
    published = data["services"]["web"]["ports"][0].split(":")
    assert published[0] == "127.0.0.1"
    assert int(published[-1]) == config.web.port
    assert not config.web.loopback  # listens in its container
    raw = tomllib.loads((DEPLOY / "postvakt.example.toml").read_text())
    named = {value for value in _strings(raw) if re.fullmatch(r"POSTVAKT_[A-Z0-9_]+", value)}
    assert named >= {"POSTVAKT_DB_PASSWORD", "POSTVAKT_IMAP_PASSWORD", "POSTVAKT_WEB_SECRET"}
    assignments = dict(
        line.split("=", 1)
        for line in (DEPLOY / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert named <= set(assignments)
    assert set(assignments.values()) == {""}  # names only, never a value
    # compose gives PostgreSQL the same password Postvakt logs in with
    assert "POSTVAKT_DB_PASSWORD" in data["services"]["db"]["environment"]["POSTGRES_PASSWORD"]


def test_containerfile_installs_postvakt_and_runs_it_as_a_user() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "Containerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    assert any(line.startswith("RUN pip install .") for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert [line for line in lines if line.startswith("ENTRYPOINT")] == ['ENTRYPOINT ["postvakt"]']
    for line in lines:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    # the build context sends what the COPY lines need
    ignore = (DEPLOY / "Containerfile.dockerignore").read_text().splitlines()
    assert {"!pyproject.toml", "!README.md", "!src/"} <= set(ignore)


DOVECOT_CONF = DEPLOY / "dovecot-1000-mailboxes.conf"
SETTING = re.compile(r"^\s*([a-z_]+)\s*=\s*(\S+)\s*$")


def _dovecot_settings() -> dict[str, str]:
    """``service imap-login/client_limit`` -> value, from the file itself."""
    found: dict[str, str] = {}
    scope: list[str] = []
    lines = DOVECOT_CONF.read_text().splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.endswith("{"):
            scope.append(stripped[:-1].strip())
        elif stripped == "}":
            scope.pop()
        elif match := SETTING.match(line):
            # every setting says why, in the comment right above it
            assert lines[i - 1].strip().startswith("#"), f"{stripped} has no reason"
            found["/".join([*scope, match[1]])] = match[2]
    return found


def test_dovecot_settings_cover_the_limits_met_at_1000_mailboxes() -> None:
    settings = _dovecot_settings()
    assert set(settings) == {
        "default_client_limit",
        "default_process_limit",
        "service imap-login/service_count",
        "service imap-login/process_min_avail",
        "service imap-login/client_limit",
        "service imap-login/process_limit",
        "service imap-login/vsz_limit",
        "service imap/process_limit",
        "service imap/client_limit",
        "protocol imap/mail_max_userip_connections",
    }
    number = {key: int(value) for key, value in settings.items() if value.isdigit()}
    assert number["service imap-login/service_count"] == 0  # high-performance login processes
    # past the measured limits: two sessions per IDLE-watched mailbox at 1,000 mailboxes
    assert number["service imap/process_limit"] * number["service imap/client_limit"] >= 2000
    assert number["default_process_limit"] > 100
    assert number["protocol imap/mail_max_userip_connections"] > 10
    # auth and anvil take a connection from each login and imap process
    assert number["default_client_limit"] >= (
        number["service imap/process_limit"] + number["service imap-login/process_limit"]
    )
    logins = (
        number["service imap-login/process_min_avail"] * number["service imap-login/client_limit"]
    )
    assert logins >= 1000  # 1,000 logins at once are taken without starting a process each


def test_dovecot_starts_with_the_settings_and_doveconf_shows_them() -> None:
    # Dovecot needs as many open files as default_client_limit (the file says so: a site raises
    # dovecot.service's LimitNOFILE); it inherits this process's limit, raised here likewise.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = int(_dovecot_settings()["default_client_limit"]) + 100
    assert hard == resource.RLIM_INFINITY or hard >= needed, f"ulimit -Hn {hard} < {needed}"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    try:
        server = DovecotServer.start(extra_config=f"!include {DOVECOT_CONF}\n")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        user = server.add_user()
        client = server.imap(user)
        try:
            assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
        finally:
            client.logout()
        shown = subprocess.run(
            ["doveconf", "-n", "-c", str(server.config_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        log = server.log_tail(200)
    finally:
        server.stop()
    assert shown.stderr == ""
    for key, value in _dovecot_settings().items():
        *scope, name = key.split("/")
        if scope:
            block = re.search(
                rf"^{re.escape(scope[0])} {{\n(.*?)^}}", shown.stdout, re.MULTILINE | re.DOTALL
            )
            assert block, scope[0]
            text = block[1]
        else:
            text = shown.stdout
        assert re.search(rf"^\s*{name} = {value.replace('G', ' G')}$", text, re.MULTILINE), key
    # the fixture's own listener survives the merge of the two "service imap-login" blocks
    assert f"port = {server.imap_port}" in shown.stdout
    assert "Warning" not in log and "lower than required" not in log, log


def test_readme_explains_operations_before_the_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## Drift och skalning\n")
    end = readme.index("\n## ", start + 1)
    assert readme[end:].startswith("\n## Kommandon\n")
    section = readme[start:end]
    made_by_the_site = {"deploy/.env"}
    for path in set(re.findall(r"deploy/[\w./@-]+\w", section)) - made_by_the_site:
        assert (ROOT / path).exists(), path
    for key in _dovecot_settings():
        assert key.rsplit("/", 1)[-1] in section, key
    # what is measured and what is still being built, in the section's own words
    assert "1 024" in section and "448–883" in section
    assert "`postvakt worker`" in section and "finns ännu inte" not in section
    assert "--concurrency" in section and "SIGTERM" in section
