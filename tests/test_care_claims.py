"""Care routing while the mark changes under it: what a refused, interrupted or lost mail
leaves behind (the card is claimed, ``sending``/``retracting``, before it goes), what the
registrar hears when the mark goes back and forth, and what a retraction says — with a real
SMTP server (aiosmtpd) that can hold, refuse or lose a mail, and a process really stopped."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

import postvakt
from postvakt.care import CARE_LEASE
from postvakt.registry.models import Case, Notification
from postvakt.service import Service
from tests.support.holding_smtp import HoldingSmtp
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail
from tests.test_care import (
    DEVIATION,
    HEAD,
    RELATIVE,
    SNOW,
    TUESDAY,
    at,
    care_events,
    care_workspace,
    case_of,
    cli,
    service_at,
)

REGISTRAR = "registrator@testby.se"
SRC = Path(postvakt.__file__).resolve().parents[1]
"""Where the package the tests import lives: the stopped process runs the same code."""


@pytest.fixture
def holding() -> Iterator[HoldingSmtp]:
    server = HoldingSmtp.start()
    try:
        yield server
    finally:
        server.stop()


def _care_case_waiting(ws: Workspace) -> None:
    """A care case from the intake, its card waiting (``send``): nothing sent yet."""
    ws.deliver(citizen_mail(SNOW, sender=RELATIVE))
    with service_at(ws, TUESDAY, detector=True) as service:
        service.run_mailbox("kontakt@testby.se")  # the intake only: the card waits
        assert case_of(service).care_route == "send"


def _while_on_the_way(
    service: Service, care: bool, said: list[str]
) -> tuple[threading.Thread, Callable[[], None]]:
    """A thread that sets (``care``) or clears the mark by hand, and the server's hook that
    starts it while a mail is held and waits until the mark has changed."""
    assert service.care is not None
    routing = service.care
    by = "anna@testby.se" if care else HEAD

    def by_hand() -> None:
        said.append(routing.set_by_hand("KS 2026/1", by=by, care=care).text)

    thread = threading.Thread(target=by_hand)

    def hook() -> None:
        thread.start()
        for _ in range(400):
            if case_of(service).individual_care is care:
                return
            time.sleep(0.05)
        raise AssertionError("the mark did not change")

    return thread, hook


# ------------------------------------------------------- refused while the mark changed


def test_cleared_while_the_card_is_on_its_way_and_refused_the_card_never_goes(
    holding: HoldingSmtp, tmp_path: Path
) -> None:
    """The card is claimed; while the server holds it the head clears the mark (nothing to
    take back, the command says); the server refuses the card.  It was put back to 'send'
    regardless, and the next pass sent the card of a case that is no longer a care case,
    and then a retraction."""
    ws = care_workspace(tmp_path / "ws", None, holding.config())
    _care_case_waiting(ws)
    with service_at(ws, TUESDAY) as service:
        assert service.care is not None
        said: list[str] = []
        clearing, hook = _while_on_the_way(service, False, said)
        holding.refuse_for, holding.hook = DEVIATION, hook
        assert service.care.route_pending() == []
        clearing.join(60)
        assert "inget behövde tas tillbaka" in said[0]
        case = case_of(service)
    assert case.individual_care is False
    assert (case.care_route, case.care_routed_at, case.care_claimed_at) == (None, None, None)
    for when in (at(2026, 11, 24, 14), at(2026, 11, 25, 9)):
        with service_at(ws, when) as service:
            assert service.care is not None and service.care.route_pending() == []
    assert holding.to(DEVIATION) == []


def test_marked_again_while_the_retraction_is_on_its_way_and_refused_nothing_more_goes(
    holding: HoldingSmtp, tmp_path: Path
) -> None:
    """The mirror: the function holds the card; the head clears the mark and, while the
    retraction is held, the handler marks the case again; the retraction is refused.  It was
    put back to 'retract' regardless: the function was told the case is no care case, and
    then sent the card a second time."""
    ws = care_workspace(tmp_path / "ws", None, holding.config())
    _care_case_waiting(ws)
    with service_at(ws, TUESDAY) as service:
        assert service.care is not None
        assert service.care.route_pending() == ["KS 2026/1"]
        (card,) = holding.to(DEVIATION)
        said: list[str] = []
        marking, hook = _while_on_the_way(service, True, said)
        holding.refuse_for, holding.hook = DEVIATION, hook
        cleared = service.care.set_by_hand("KS 2026/1", by=HEAD, care=False)
        marking.join(60)
        case = case_of(service)
    routed = []
    for when in (at(2026, 11, 24, 14), at(2026, 11, 25, 9)):
        with service_at(ws, when) as service:
            assert service.care is not None
            routed += service.care.route_pending()
    sent = [m.message["Subject"] for m in holding.to(DEVIATION)]
    assert routed == [] and holding.to(DEVIATION) == [card], sent
    assert case.individual_care is True and case.care_routed_at == TUESDAY  # it has the card
    assert (case.care_route, case.care_claimed_at) == (None, None)
    assert said and "är markerat" in said[0]
    assert cleared.text.endswith(
        " Ärendet markerades igen innan avvikelsefunktionen fick besked: den har kvar "
        "ärendekortet och får inget besked."
    )


# --------------------------------------------------- a stopped process, a lost reply


CHILD = """
import sys
from datetime import datetime
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.service import Service
clock = fixed_clock(datetime(2026, 11, 24, 10, tzinfo=STOCKHOLM))
service = Service(load_config(sys.argv[1]), clock=clock).open()
service.care.route_pending()
"""


def test_a_card_whose_process_stopped_on_the_way_is_sent_after_the_lease(
    holding: HoldingSmtp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The process claims the card ('sending') and is killed while the server holds it.
    Every later pass selected only 'send' and 'retract': the case stayed 'sending' for ever
    and the card never went.  Now a pass after CARE_LEASE takes it up, once."""
    ws = care_workspace(tmp_path / "ws", None, holding.config())
    _care_case_waiting(ws)
    holding.hold_next = True
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(ws.config_path)],
        cwd=str(ws.root),
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    try:
        assert holding.arrived.wait(120), "the child never reached DATA"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    holding.release.set()
    with service_at(ws, TUESDAY) as service:
        left = case_of(service)
    assert left.care_route == "sending"

    # Within the lease the claim is left to its process (it may be at work still).
    with service_at(ws, TUESDAY + CARE_LEASE) as service:
        assert service.care is not None and service.care.route_pending() == []
        assert case_of(service).care_route == "sending"
    caplog.set_level(logging.INFO)
    later = at(2026, 11, 24, 14)
    with service_at(ws, later) as service:
        assert service.care is not None and service.care.route_pending() == ["KS 2026/1"]
        case = case_of(service)
    with service_at(ws, at(2026, 11, 25, 9)) as service:
        assert service.care is not None and service.care.route_pending() == []
    (card,) = holding.to(DEVIATION)
    assert left.care_claimed_at == TUESDAY  # when the stopped process claimed it
    assert card.message["Subject"].endswith(" som rör enskilds vård och omsorg – KS 2026/1")
    assert (case.care_route, case.care_routed_at, case.care_claimed_at) == (None, later, None)
    taken_up = [e for e in care_events(case) if e.startswith("Postvakt avbröts")]
    assert taken_up == [
        "Postvakt avbröts medan ärendekortet skickades till avvikelsefunktionen "
        "(organisation.care_deviation); sändningen påbörjades 2026-11-24 10:00. Det skickas "
        "igen, med samma Message-ID, så att en kopia som redan har kommit fram känns igen."
    ]
    assert len(holding.to(HEAD)) == 1  # the head was told once
    logged = [r.getMessage() for r in caplog.records if r.name == "postvakt.care"]
    assert any("taken up" in line for line in logged)
    assert not any("@" in line or "Lund" in line or "KS 2026" in line for line in logged)


def test_a_claim_from_before_the_upgrade_is_taken_up_a_lease_after_it_is_seen(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A card left 'sending' without a claim time (by a version without care_claimed_at)."""
    ws = care_workspace(tmp_path / "ws", None, smtp_server.config())
    _care_case_waiting(ws)
    with service_at(ws, TUESDAY) as service:
        assert service.sessions is not None and service.care is not None
        with service.sessions.begin() as session:
            session.execute(update(Case).values(care_route="sending", care_claimed_at=None))
        assert service.care.route_pending() == []  # its lease starts now
        seen = case_of(service)
    with service_at(ws, at(2026, 11, 24, 11)) as service:
        assert service.care is not None and service.care.route_pending() == ["KS 2026/1"]
    assert len(smtp_server.to(DEVIATION)) == 1
    assert seen.care_claimed_at == TUESDAY


def test_a_card_sent_again_after_a_lost_reply_carries_the_same_message_id(
    holding: HoldingSmtp, tmp_path: Path
) -> None:
    """The server kept the card and the connection broke before its 250: Postvakt takes it
    for refused and sends it again.  The function can tell the copy for the same card."""
    ws = care_workspace(tmp_path / "ws", None, holding.config())
    _care_case_waiting(ws)
    with service_at(ws, TUESDAY) as service:
        assert service.care is not None
        holding.lose_next = True
        assert service.care.route_pending() == []
        assert case_of(service).care_route == "send"
    with service_at(ws, at(2026, 11, 24, 11)) as service:
        assert service.care is not None and service.care.route_pending() == ["KS 2026/1"]
    first, again = holding.to(DEVIATION)
    assert first.message["Message-ID"] == again.message["Message-ID"]
    assert first.message["Message-ID"].endswith("@testby.se>")
    assert "KS" not in first.message["Message-ID"]
    # Another card (the case marked anew after a retraction) is another message.
    assert cli(ws, at(2026, 11, 24, 12), "cases", "care", "KS 2026/1", "--off", "--by", HEAD) == 0
    assert cli(ws, at(2026, 11, 24, 13), "cases", "care", "KS 2026/1", "--by", HEAD) == 0
    _, _, retraction, card = holding.to(DEVIATION)
    assert retraction.message["Subject"].startswith("Rör inte längre")
    ids = {m.message["Message-ID"] for m in (first, retraction, card)}
    assert len(ids) == 3


# ------------------------------------------------------------------ the registrar


def _registrar_words(smtp: SmtpServer) -> list[str]:
    """What the registrar was told about the mark, in order."""
    return [
        line.strip()
        for mail in smtp.to(REGISTRAR)  # the case's own mail has the case card attached
        for line in mail.message.get_body(("plain",)).get_content().splitlines()
        if line.strip().startswith("• KS 2026/1: rör")
    ]


def test_marked_cleared_and_marked_again_on_one_day_the_registrar_hears_the_last_word(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """The registrar's notice was keyed (registrar, care_marked|care_cleared, ref, day): the
    second marking on one day was never queued, though the case's event said the registrar
    is told; the last word the registrar had was 'put it in the diary'."""
    ws = care_workspace(tmp_path / "ws", None, smtp_server.config())
    ws.deliver(citizen_mail(SNOW, message_id="<snow@example.net>"))
    with service_at(ws, TUESDAY) as service:
        service.run_once()
    assert len(smtp_server.to(REGISTRAR)) == 1  # the case itself
    anna = ("--by", "anna@testby.se")
    assert cli(ws, at(2026, 11, 24, 11), "cases", "care", "KS 2026/1", *anna) == 0
    assert cli(ws, at(2026, 11, 24, 12), "cases", "care", "KS 2026/1", "--off", "--by", HEAD) == 0
    assert cli(ws, at(2026, 11, 24, 13), "cases", "care", "KS 2026/1", *anna) == 0
    with service_at(ws, at(2026, 11, 24, 15)) as service:
        service.run_once()  # flushes anything still queued
        case = case_of(service)
    assert case.individual_care is True
    words = _registrar_words(smtp_server)
    assert len(words) == 3 and "inte i diariet" in words[-1], words
    told = [e for e in care_events(case) if e.startswith("Registratorn")]
    assert len(told) == 3  # an event for each word that went, and no more


def test_outside_working_time_the_registrar_gets_only_the_last_word(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """Marked, cleared and marked again in the evening: the registrar's words wait for the
    morning, and the morning's digest says only the last (the others are taken back)."""
    ws = care_workspace(tmp_path / "ws", None, smtp_server.config())
    ws.deliver(citizen_mail(SNOW, message_id="<snow@example.net>"))
    with service_at(ws, TUESDAY) as service:
        service.run_once()
    anna = ("--by", "anna@testby.se")
    assert cli(ws, at(2026, 11, 24, 18), "cases", "care", "KS 2026/1", *anna) == 0
    assert cli(ws, at(2026, 11, 24, 19), "cases", "care", "KS 2026/1", "--off", "--by", HEAD) == 0
    assert cli(ws, at(2026, 11, 24, 20), "cases", "care", "KS 2026/1", *anna) == 0
    with service_at(ws, at(2026, 11, 24, 20)) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            queued = session.scalars(
                select(Notification.kind).where(
                    Notification.recipient == REGISTRAR,
                    Notification.kind.in_(("care_marked", "care_cleared")),
                    Notification.status == "queued",
                )
            ).all()
        assert queued == ["care_marked"]
        events = care_events(case_of(service))
    assert sum(e.startswith("Registratorn") for e in events) == 3
    assert sum("tas tillbaka" in e for e in events if e.startswith("Registratorn")) == 2
    with service_at(ws, at(2026, 11, 25, 9)) as service:
        service.run_once()
    words = _registrar_words(smtp_server)
    assert len(words) == 1 and "inte i diariet" in words[0], words


# ------------------------------------------------------------------ the retraction


def test_the_retraction_says_when_the_mark_was_cleared_not_when_the_mail_went(
    tmp_path: Path,
) -> None:
    """Cleared on Tuesday while the mail server is down; the word goes on Thursday and said
    'markeringen togs bort den 2026-11-26' (the routing pass's day)."""
    smtp = SmtpServer.start()
    try:
        ws = care_workspace(tmp_path / "ws", None, smtp.config())
        ws.deliver(citizen_mail(SNOW, message_id="<snow@example.net>"))
        with service_at(ws, TUESDAY) as service:
            service.run_once()
        anna = ("--by", "anna@testby.se")
        assert cli(ws, at(2026, 11, 24, 11), "cases", "care", "KS 2026/1", *anna) == 0
        assert len(smtp.to(DEVIATION)) == 1
        smtp.stop()
        cleared = at(2026, 11, 24, 14)
        assert cli(ws, cleared, "cases", "care", "KS 2026/1", "--off", "--by", HEAD) == 0
        with service_at(ws, cleared) as service:
            case = case_of(service)
        assert case.care_route == "retract"
        smtp.controller = Controller(smtp, hostname=smtp.host, port=smtp.port)
        smtp.controller.start()
        with service_at(ws, at(2026, 11, 26, 9)) as service:  # Thursday
            assert service.care is not None
            assert service.care.route_pending() == ["KS 2026/1"]
        _card, word = smtp.to(DEVIATION)
        assert "som ni fick den 2026-11-24" in word.text
        assert "markeringen togs bort den 2026-11-24." in word.text, word.text
        assert case.care_cleared_at == cleared
        # Marked again, the case is no longer cleared.
        assert cli(ws, at(2026, 11, 26, 10), "cases", "care", "KS 2026/1", *anna) == 0
        with service_at(ws, at(2026, 11, 26, 10)) as service:
            assert case_of(service).care_cleared_at is None
    finally:
        smtp.stop()
