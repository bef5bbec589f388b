"""Operations: /metrics, /healthz, /readyz, the metrics port of ``postvakt run``, JSON logs."""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import sessionmaker

from postvakt.clock import Clock
from postvakt.config import load_config
from postvakt.logs import configure_logging
from postvakt.metrics import registry_for, serve_metrics
from postvakt.registry.db import create_db_engine, session_factory
from postvakt.registry.models import Disposition
from postvakt.service import Service
from postvakt.web.app import create_app
from postvakt.web.pages.ops import readiness, ready_within
from tests.support.ports import free_port
from tests.support.workspace import Workspace, citizen_mail

COMPLAINTS = [
    (
        "Karin Ek <karin.ek@example.net>",
        "Klagomål på snöröjningen",
        "Hej! Jag vill klaga på snöröjningen på Storgatan, den har inte plogats på tre dagar. "
        "Jag kan inte ta mig till jobbet. Jag vill ha svar på vad ni tänker göra.",
    ),
    (
        "Per Ström <per.strom@example.org>",
        "Klagomål på bemötandet",
        "Hej. Jag vill lämna ett klagomål på bemötandet jag fick i receptionen i går. "
        "Personalen var otrevlig och jag fick ingen hjälp. Jag vill ha ett svar.",
    ),
]
LOCAL = ("127.0.0.1", 50000)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _cases_counted(text: str) -> float:
    return _samples(text)[("postvakt_messages_total", (("outcome", "case"),))]


def test_a_pass_is_counted_without_an_address_and_makes_postvakt_ready(
    workspace: Workspace, clock: Clock
) -> None:
    config = load_config(workspace.config_path)
    app = create_app(config, clock=clock, environ={})
    with TestClient(app, client=LOCAL) as client:
        assert client.get("/healthz").text == "ok"
        not_yet = client.get("/readyz")
        assert not_yet.status_code == 503
        assert "ingen brevlåda har lästs klart ännu" in not_yet.text
        before = client.get("/metrics")
        assert before.status_code == 200
        assert before.headers["content-type"].startswith("text/plain")

        for sender, subject, body in COMPLAINTS:
            workspace.deliver(citizen_mail(body, sender=sender, subject=subject))
        with Service(config, clock=clock).open() as service:
            report = service.run_once()
            first = _samples(client.get("/metrics").text)
            quiet = service.run_once()  # nothing new: a look at each mailbox, no full pass
            looked = _samples(client.get("/metrics").text)
        cases = report.count(Disposition.CASE)
        assert cases == len(COMPLAINTS) and not quiet.outcomes
        # Each mailbox of this workspace was looked at once more (other tests' mailboxes in
        # the process-wide counters are not this test's).
        ids = [dict(k[1])["mailbox_id"] for k in looked if k[0] == "postvakt_mailbox_info"]
        assert len(ids) == 2
        for mailbox_id in ids:
            key = ("postvakt_look_duration_seconds_count", (("mailbox_id", mailbox_id),))
            assert looked[key] == first.get(key, 0) + 1, (mailbox_id, first, looked)

        after = client.get("/metrics").text
        assert _cases_counted(after) - _cases_counted(before.text) == cases
        assert "@" not in after  # no address: not a mailbox's, a person's or a citizen's
        samples = _samples(after)
        assert samples[("postvakt_database_up", ())] == 1
        # Every configured mailbox has had a good pass, labelled by id, with its config key.
        info = {
            dict(labels)["config_key"]: dict(labels)["mailbox_id"]
            for (name, labels) in samples
            if name == "postvakt_mailbox_info"
        }
        assert sorted(info) == ["mailboxes[0]", "mailboxes[1]"]
        for mailbox_id in info.values():
            stamp = samples[
                ("postvakt_mailbox_last_pass_timestamp_seconds", (("mailbox_id", mailbox_id),))
            ]
            assert stamp == clock().timestamp()
            assert (
                samples[("postvakt_pass_duration_seconds_count", (("mailbox_id", mailbox_id),))]
                >= 1
            )
        # The two new complaints wait for their acknowledgment: nothing is overdue yet.
        assert samples[("postvakt_deadlines_overdue", ())] == 0
        assert samples[("postvakt_queue_depth", (("queue", "failed_messages"),))] == 0

        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text

        # A web process whose database stops answering: not ready, said in Swedish.
        closed = f"postgresql+psycopg://postvakt@127.0.0.1:{free_port()}/postvakt"
        engine = create_db_engine(closed)
        ctx = app.state.ctx
        working = ctx.service.sessions
        ctx.service.sessions = session_factory(engine)
        try:
            down = client.get("/readyz")
        finally:
            ctx.service.sessions = working
            engine.dispose()
        assert down.status_code == 503
        assert "databasen svarar inte" in down.text

    # The last good pass grows old when no process reads the mail any more.
    later = clock() + ready_within(config) + timedelta(minutes=1)
    reason = readiness(working, later, ready_within(config))
    assert reason is not None and "utan fel på" in reason


def test_metrics_only_for_the_allowed_clients(workspace: Workspace, clock: Clock) -> None:
    config = load_config(workspace.config_path)
    with TestClient(create_app(config, clock=clock, environ={})) as client:  # "testclient"
        refused = client.get("/metrics")
        assert refused.status_code == 403
        assert "web.metrics_from" in refused.text
        assert client.get("/healthz").status_code == 200  # the probes answer everyone


def test_run_serves_the_same_counters_on_its_metrics_port(
    workspace: Workspace, clock: Clock
) -> None:
    config = load_config(workspace.config_path)
    with Service(config, clock=clock).open() as service:
        assert isinstance(service.sessions, sessionmaker)
        port = free_port()
        serve_metrics(registry_for(config, service.sessions, clock), port)
        url = f"http://127.0.0.1:{port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:
            before = answer.read().decode()
        sender, subject, body = COMPLAINTS[0]
        workspace.deliver(citizen_mail(body, sender=sender, subject=subject))
        service.run_once()
        with urllib.request.urlopen(url, timeout=10) as answer:
            after = answer.read().decode()
    assert _cases_counted(after) - _cases_counted(before) == 1
    assert _samples(after)[("postvakt_database_up", ())] == 1
    assert "@" not in after


def test_json_log_lines_parse_and_are_masked(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    workspace.config_path.write_text(
        workspace.config_path.read_text(encoding="utf-8") + '\n[service]\nlog_format = "json"\n',
        encoding="utf-8",
    )
    config = load_config(workspace.config_path)
    handler = configure_logging("INFO", config=config)
    try:
        log = logging.getLogger("postvakt.test")
        log.info(
            "mail from %s to %s, personnummer 19121212-1212",
            "karin.ek@example.net",
            "kontakt@testby.se",
            extra={"sender": "karin.ek@example.net"},
        )
        try:
            raise ValueError("could not parse karin.ek@example.net")
        except ValueError:
            log.exception("parsing failed")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    first, second = records
    assert first["message"].startswith("mail from ")
    assert {"time", "level", "logger", "message"} <= set(first)
    assert first["level"] == "INFO" and first["logger"] == "postvakt.test"
    assert "mailboxes[0] (Kontaktcenter)" in first["message"]
    assert "19121212-1212" not in first["message"]
    assert "sender" not in first  # a library's extra field is left out, not shown unmasked
    assert "Traceback" in second["exc_info"] and "ValueError" in second["exc_info"]
    for line in lines:
        assert "karin.ek@example.net" not in line
        assert "kontakt@testby.se" not in line
