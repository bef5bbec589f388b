"""Care complaints: flagged at intake (by the classifier's care detector, or a test's stand-in
for it), sent to the deviation function with the case card and the original, the unit's head
told with the lex Sarah / lex Maria reminder, a neutral acknowledgment drafted (never sent),
the mark set and cleared by hand with the corrections' rights, and the yearly compilation's
own group — on SQLite and PostgreSQL, with a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import csv
import email
import io
import json
import logging
from dataclasses import replace
from datetime import datetime
from email import policy
from pathlib import Path

import docx
import openpyxl
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from postvakt.classifier import Classifier, Verdict
from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.intake import load_classifier
from postvakt.mailbox.message import IncomingMessage, parse_message
from postvakt.registry.models import Case, Disposition, EventKind, MessageRecord, Notification
from postvakt.rules.notify import Planned
from postvakt.service import Service
from tests.support.ports import free_port
from tests.support.smtp import Received, SmtpServer
from tests.support.workspace import Workspace, citizen_mail, make_workspace
from tests.test_casework import opens_in_libreoffice

DEVIATION = "avvikelse@testby.se"
HEAD = "chef@testby.se"  # head of Kontaktcenter, the unit of kontakt@
RELATIVE = "Maria Lund <maria.lund@example.net>"
CARE_COMPLAINT = """\
Hej,

Jag skriver som dotter till Erik Lund, 87 år, som har hemtjänst i Norrby. I tisdags kom
ingen från hemtjänsten på kvällsbesöket, så pappa satt utan mat och fick inte sina
kvällsmediciner. I morse såg jag att personalen hade gett honom fel tabletter – mammas
blodtrycksmedicin i stället för hans egen. Han var yr hela förmiddagen och föll i badrummet.

Det här är inte acceptabelt. Jag vill veta hur ni ska se till att det inte händer igen.

Med vänlig hälsning
Maria Lund
070-123 45 67
"""
SNOW = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"
HEALTH_WORDS = (
    "hemtjänst", "medicin", "tablett", "blodtryck", "föll", "badrum", "kvällsbesök", "Erik",
    "pappa", "Norrby", "yr hela", "vård", "omsorg", "sjuk", "hälsa", "läkemedel", "LSS",
    "demens", "boende", "avvikelse",
)  # fmt: skip
"""Words about the person's health or care: from the complaint, and the general ones."""
EXTRA = """
[[units]]
name = "Bygglov"
head = "bchef@testby.se"
parent = "Kommunledningen"

[[people]]
name = "Olle Bygg"
address = "olle@testby.se"
unit = "Bygglov"
"""


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=STOCKHOLM)


TUESDAY = at(2026, 11, 24)


class CareDetected(Classifier):
    """The real classifier, with the care detector's answer given by the test: every case is
    about someone's own care (for the routing tests; the end-to-end tests use the real one)."""

    def __init__(self, real: Classifier):
        super().__init__(
            real.model,
            review_band=real.review_band,
            own_domains=real.own_domains,
            own_addresses=real.own_addresses,
        )

    def classify(self, msg: IncomingMessage) -> Verdict:
        verdict = super().classify(msg)
        return replace(verdict, individual_care=verdict.is_case, care_probability=0.91)


def care_workspace(
    root: Path, db_url: str | None, smtp: str, *, deviation: bool = True
) -> Workspace:
    ws = make_workspace(root, db_url)
    text = ws.config_path.read_text()
    if deviation:
        text = text.replace(
            'registrar = "registrator@testby.se"\n',
            f'registrar = "registrator@testby.se"\ncare_deviation = "{DEVIATION}"\n',
        )
    ws.config_path.write_text(text + EXTRA + smtp)
    return ws


def service_at(ws: Workspace, when: datetime, *, detector: bool = False) -> Service:
    service = Service(load_config(ws.config_path), clock=fixed_clock(when)).open()
    if detector:
        assert service.intake is not None
        config = service.config
        service.intake.reload_classifier(lambda: CareDetected(load_classifier(config)))
    return service


def case_of(service: Service, reference: str = "KS 2026/1") -> Case:
    assert service.sessions is not None
    with service.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        _ = case.events, case.unit
        session.expunge_all()
        return case


def care_events(case: Case) -> list[str]:
    return [e.detail for e in case.events if e.kind is EventKind.CARE]


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def attachments(received: Received) -> dict[str, bytes]:
    found = {}
    for part in received.message.iter_attachments():
        content = part.get_content()
        found[part.get_filename()] = content if isinstance(content, bytes) else content.as_bytes()
    return found


def cli(ws: Workspace, when: datetime, *argv: str) -> int:
    return main(["--config", str(ws.config_path), *argv], clock=fixed_clock(when))


# ---------------------------------------------------------------- at intake, end to end


def test_a_relatives_care_complaint_goes_to_the_deviation_function_and_the_head_is_told(
    db_url: str, smtp_server: SmtpServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The real classifier reads a relative's complaint about a missed home-care visit and the
    wrong medication: the case is flagged, its card and original go to care_deviation, the
    unit's head is told the same day with the reminder — once, however often it runs."""
    ws = care_workspace(tmp_path / "ws", db_url, smtp_server.config())
    ws.deliver(
        citizen_mail(
            CARE_COMPLAINT,
            subject="Pappas hemtjänst",
            sender=RELATIVE,
            message_id="<care@example.net>",
        )
    )
    caplog.set_level(logging.INFO)
    with service_at(ws, TUESDAY) as service:
        report = service.run_once()
        assert report.outcomes[0].case == "KS 2026/1" and report.care_routed == ["KS 2026/1"]
        case = case_of(service)
    assert case.individual_care is True and case.care_routed_at == TUESDAY
    assert case.care_route is None
    flagged, *routed = care_events(case)
    assert flagged.startswith("Postvakts klassificerare bedömer att ärendet rör enskilds vård")
    assert "sannolikhet 0," in flagged or "sannolikhet 1,00" in flagged
    assert routed == [
        "Enhetschefen för Kontaktcenter (units.head) får besked i dag, med påminnelsen om lex "
        "Sarah och lex Maria.",
        "Ärendekortet och originalmeddelandet skickades till avvikelsefunktionen "
        "(organisation.care_deviation).",
    ]
    assert not any(address in e.detail for e in case.events for address in (DEVIATION, HEAD)), (
        "events name the receivers by role and config key, never by address"
    )

    (card_mail,) = smtp_server.to(DEVIATION)
    assert card_mail.message["Subject"] == "Klagomål som rör enskilds vård och omsorg – KS 2026/1"
    files = attachments(card_mail)
    assert set(files) == {"Ärendekort KS 2026-1.docx", "Originalmeddelande KS 2026-1.eml"}
    card = docx_text(files["Ärendekort KS 2026-1.docx"])
    assert "Ja – registreras i verksamhetssystemets avvikelsemodul" in card
    assert "Maria Lund <maria.lund@example.net>" in card
    assert b"<care@example.net>" in files["Originalmeddelande KS 2026-1.eml"]
    (notice,) = smtp_server.to(HEAD)
    assert notice.message["Subject"] == "Postvakt: ett ärende som rör enskilds vård och omsorg"
    assert "KS 2026/1" in notice.text and "avvikelsemodul" in notice.text
    assert "lex Sarah (SoL 14 kap., LSS 24 a §)" in notice.text
    assert "lex Maria (patientsäkerhetslagen 3 kap. 5 §)" in notice.text

    with service_at(ws, at(2026, 11, 24, 11)) as service:  # later the same day, and again
        assert service.run_once().care_routed == []
    with service_at(ws, at(2026, 11, 25, 9)) as service:
        assert service.run_once().care_routed == []
    assert len(smtp_server.to(DEVIATION)) == 1 and len(smtp_server.to(HEAD)) == 1
    care_logs = [r.getMessage() for r in caplog.records if r.name == "postvakt.care"]
    assert care_logs and not any("@" in line for line in care_logs)


def test_the_acknowledgment_of_a_care_case_is_neutral_and_only_drafted(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """Nothing of what the relative wrote about her father's health comes back in the letter
    (OSL 26 kap.): no heading, no summary, no health word, a neutral subject.  It lies in
    Drafts for a person to send; nothing is sent to her — while an ordinary complaint's
    acknowledgment still names what it concerns."""
    ws = care_workspace(tmp_path / "ws", None, smtp_server.config())
    ws.deliver(
        citizen_mail(CARE_COMPLAINT, subject="Pappas hemtjänst", sender=RELATIVE), name="care"
    )
    ws.deliver(citizen_mail(SNOW, message_id="<snow@example.net>"), name="snow")
    with service_at(ws, TUESDAY) as service:
        service.run_once()
        care_case, snow_case = (case_of(service, r) for r in ("KS 2026/1", "KS 2026/2"))
    assert care_case.individual_care and not snow_case.individual_care
    drafts, files = {}, []
    for path in ws.drafts():
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        (letter,) = message.iter_attachments()
        drafts[message["To"]] = (message, docx_text(letter.get_content()))
        files.append(tmp_path / f"{len(files)}.docx")
        files[-1].write_bytes(letter.get_content())
    assert len(opens_in_libreoffice(files)) == 2  # both letters are real Word documents
    care_draft, care_letter = drafts[RELATIVE]
    assert care_draft["Subject"] == "Ditt ärende KS 2026/1"
    assert care_draft["X-Postvakt-Draft"] == "yes"
    said = "\n".join((care_draft["Subject"], care_draft.get_body().get_content(), care_letter))
    assert "KS 2026/1" in said and "lämnat ärendet vidare till den verksamhet som ansvarar" in said
    found = [w for w in HEALTH_WORDS if w.lower() in said.lower()]
    assert found == [], f"the care acknowledgment repeats {found}"
    assert care_case.summary[:20] not in said and care_case.heading not in said
    # The ordinary letter (same template family) does name its matter: the check above bites.
    _, snow_letter = drafts["Karin Ek <karin.ek@example.net>"]
    assert snow_case.heading in snow_letter
    # Never sent by Postvakt: the citizens got nothing by SMTP.
    assert smtp_server.to("maria.lund@example.net") == []
    assert smtp_server.to("karin.ek@example.net") == []


def test_an_own_care_acknowledgment_template_cannot_quote_the_complaint(tmp_path: Path) -> None:
    from postvakt.errors import TemplateError
    from postvakt.templates import LetterRenderer

    own = tmp_path / "mallar"
    own.mkdir()
    document = docx.Document()
    document.add_paragraph("Du skrev om {{ summary }} ({{ heading }})")
    document.save(own / "mottagningsbekraftelse_omsorg.docx")
    with pytest.raises(TemplateError, match="okända variabler: heading, summary"):
        LetterRenderer(own).check("acknowledgment_care")


# ------------------------------------------------------------- routing: never lost, once


def test_the_routing_waits_while_the_mail_server_is_down_and_goes_once_it_is_up(
    db_url: str, tmp_path: Path
) -> None:
    down = SmtpServer(port=free_port())  # the config points at it; nothing listens yet
    ws = care_workspace(tmp_path / "ws", db_url, down.config())
    ws.deliver(citizen_mail(SNOW, sender=RELATIVE, message_id="<m@example.net>"))
    with service_at(ws, TUESDAY, detector=True) as service:
        assert service.run_once().care_routed == []
        case = case_of(service)
        assert service.sessions is not None
        with service.sessions() as session:
            (told,) = session.scalars(select(Notification).where(Notification.kind == "care"))
            assert (told.recipient, told.status) == (HEAD, "queued")
    assert case.individual_care and case.care_route == "send" and case.care_routed_at is None
    assert not any("skickades" in e for e in care_events(case))

    down.controller = Controller(down, hostname=down.host, port=down.port)
    down.controller.start()
    try:
        later = at(2026, 11, 24, 14)
        with service_at(ws, later, detector=True) as service:
            assert service.run_once().care_routed == ["KS 2026/1"]
            case = case_of(service)
        with service_at(ws, at(2026, 11, 25, 9), detector=True) as service:
            assert service.run_once().care_routed == []
    finally:
        down.stop()
    assert case.care_route is None and case.care_routed_at == later
    assert len(down.to(DEVIATION)) == 1 and len(down.to(HEAD)) == 1
    assert sum("skickades till avvikelsefunktionen" in e for e in care_events(case)) == 1


def test_outside_working_time_the_card_and_the_heads_notice_go_at_once(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A care complaint on a Saturday: the head must consider a lex Sarah or lex Maria
    report the same day, not on Monday; other notices still wait for working time."""
    ws = care_workspace(tmp_path / "ws", None, smtp_server.config())
    ws.deliver(citizen_mail(SNOW, sender=RELATIVE, subject="Pappa föll i badrummet"))
    saturday = at(2026, 11, 28, 11)
    with service_at(ws, saturday, detector=True) as service:
        assert service.run_once().care_routed == ["KS 2026/1"]
        assert "(units.head) får besked genast" in care_events(case_of(service))[1]
        # Another notice for the same head on the Saturday waits for Monday.
        assert service.notifier is not None
        other = Planned(HEAD, "reminder", "KS 2026/9", saturday.date(), "KS 2026/9: påminnelse")
        assert service.notifier.send([other], saturday).queued == 1
        waiting = service.notifier._waiting(saturday)
        assert [(q.kind, q.ref) for q in waiting] == [("reminder", "KS 2026/9")]
    assert len(smtp_server.to(DEVIATION)) == 1
    (notice,) = smtp_server.to(HEAD)
    assert "KS 2026/1" in notice.text and "lex Sarah" in notice.text
    assert "KS 2026/9" not in notice.text
    # The label only: the subject may name a person's health, and a substitute may read it.
    assert "Pappa" not in notice.text and "föll" not in notice.text
    with service_at(ws, at(2026, 11, 30, 8), detector=True) as service:  # Monday morning
        service.run_once()
    _care, monday = smtp_server.to(HEAD)
    assert "KS 2026/9" in monday.text and "KS 2026/1" not in monday.text  # told once


def test_a_pass_the_watcher_starts_routes_its_care_cases_at_once(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """IDLE saw the mail come in: its pass sends the card and tells the head, without
    waiting for the next poll of every mailbox."""
    ws = care_workspace(tmp_path / "ws", None, smtp_server.config())
    ws.deliver(citizen_mail(SNOW, sender=RELATIVE))
    with service_at(ws, TUESDAY, detector=True) as service:
        service._watched_pass("kontakt@testby.se")  # what the IDLE watcher calls
        assert case_of(service).care_routed_at is not None
    assert len(smtp_server.to(DEVIATION)) == 1 and len(smtp_server.to(HEAD)) == 1


def test_without_a_deviation_address_the_head_is_still_told(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    ws = care_workspace(tmp_path / "ws", None, smtp_server.config(), deviation=False)
    ws.deliver(citizen_mail(SNOW, sender=RELATIVE))
    with service_at(ws, TUESDAY, detector=True) as service:
        service.run_once()
        case = case_of(service)
    assert len(smtp_server.to(HEAD)) == 1 and smtp_server.to(DEVIATION) == []
    assert case.care_route is None and case.care_routed_at is None
    assert any(
        "organisation.care_deviation" in e and "skickades inte" in e for e in care_events(case)
    )


# ------------------------------------------------------------------------- by hand


INSULIN = (
    # No question: "Hur kan det hända?" after it reproaches, and the intake registers an
    # unsure annat with such a question as a complaint for review.
    "Hemtjänsten glömde ge min man hans insulin i går kväll. Han fick åka in till akuten."
    "\n\nKarin Ek\n"
)


def test_a_care_message_registered_by_hand_is_flagged_and_routed(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A message the model took for "annat" and a person registers as a complaint keeps the
    care detector's answer: routed to the deviation function, the head told."""
    ws = care_workspace(tmp_path / "ws", None, smtp_server.config())
    mail = citizen_mail(INSULIN, sender=RELATIVE, subject="Insulin", message_id="<ins@example.net>")
    ws.deliver(mail)
    with service_at(ws, TUESDAY) as service:
        service.run_once()
        assert service.intake is not None
        verdict = service.intake.classify(parse_message(mail))
    assert verdict.label.value == "other" and verdict.care_probability >= 0.5  # the premise
    # No case, but not dropped: Postvakt puts it before a person in Granska.
    with service_at(ws, TUESDAY) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            record = session.scalars(
                select(MessageRecord).where(MessageRecord.message_id == "ins@example.net")
            ).one()
        assert service.corrections is not None
        queued = service.corrections.queue("anna@testby.se")
    assert record.disposition is Disposition.NOT_CASE and record.flagged_by == "postvakt"
    assert any("kan röra enskilds vård och omsorg" in r for r in record.reasons)
    assert [q.id for q in queued if q.kind == "message"] == [record.id]
    args = ["cases", "register", "--message-id", "<ins@example.net>", "--kind", "klagomal"]
    assert (
        main(
            ["--config", str(ws.config_path), *args, "--by", "anna@testby.se"],
            clock=fixed_clock(TUESDAY),
        )
        == 0
    )
    with service_at(ws, TUESDAY) as service:
        service.run_once()
        case = case_of(service)
    assert case.individual_care is True and case.care_route is None and case.care_routed_at
    assert len(smtp_server.to(DEVIATION)) == 1 and len(smtp_server.to(HEAD)) == 1


def test_setting_and_clearing_the_mark_by_hand_reroutes_the_case(
    db_url: str, smtp_server: SmtpServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = care_workspace(tmp_path / "ws", db_url, smtp_server.config())
    ws.deliver(citizen_mail(SNOW, message_id="<snow@example.net>"))
    with service_at(ws, TUESDAY) as service:
        service.run_once()
        assert case_of(service).individual_care is False  # the real classifier: not care
    (ordinary,) = ws.drafts()
    ordinary_subject = email.message_from_bytes(ordinary.read_bytes(), policy=policy.default)
    assert "snöröjningen" in ordinary_subject["Subject"]
    assert smtp_server.to(DEVIATION) == [] and len(smtp_server.to("registrator@testby.se")) == 1
    capsys.readouterr()

    # Someone without the right to correct the case is refused; nothing changes or goes.
    assert cli(ws, TUESDAY, "cases", "care", "KS 2026/1", "--by", "olle@testby.se") == 2
    assert "olle@testby.se får inte ändra markeringen" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # --by is required
        cli(ws, TUESDAY, "cases", "care", "KS 2026/1")
    assert refused.value.code == 2 and "--by" in capsys.readouterr().err
    capsys.readouterr()

    # The handler marks it: the card goes, the head and the registrar are told.
    set_at = at(2026, 11, 24, 11)
    assert cli(ws, set_at, "cases", "care", "KS 2026/1", "--by", "anna@testby.se") == 0
    out = capsys.readouterr().out
    assert "KS 2026/1 är markerat som ett ärende som rör enskilds vård och omsorg." in out
    assert "har skickats till avvikelsefunktionen" in out
    (card_mail,) = smtp_server.to(DEVIATION)
    assert set(attachments(card_mail)) == {
        "Ärendekort KS 2026-1.docx",
        "Originalmeddelande KS 2026-1.eml",
    }
    assert len(smtp_server.to(HEAD)) == 1 and "lex Maria" in smtp_server.to(HEAD)[0].text
    registrar = smtp_server.to("registrator@testby.se")
    assert len(registrar) == 2 and "inte i diariet" in registrar[-1].text
    # Its own kind: the head's notice goes at once, the registrar's waits for working time.
    assert "Ärenden som nu rör enskilds vård och omsorg" in registrar[-1].text
    # The ordinary acknowledgment, not sent yet, named the matter: the neutral one replaces it.
    (draft,) = ws.drafts()
    message = email.message_from_bytes(draft.read_bytes(), policy=policy.default)
    (letter,) = message.iter_attachments()
    assert message["Subject"] == "Ditt ärende KS 2026/1" and message["To"] == (
        "Karin Ek <karin.ek@example.net>"
    )
    assert "snöröjning" not in (message.get_body().get_content() + docx_text(letter.get_content()))

    # Setting it twice sends nothing twice.
    assert cli(ws, set_at, "cases", "care", "KS 2026/1", "--by", "chef@testby.se") == 0
    assert "redan markerat" in capsys.readouterr().out
    assert len(smtp_server.to(DEVIATION)) == 1 and len(smtp_server.to(HEAD)) == 1

    assert cli(ws, set_at, "cases", "show", "KS 2026/1", "--by", "anna@testby.se") == 0
    assert (
        "Vård/omsorg:  rör enskilds vård och omsorg (registreras i avvikelsemodulen); skickat "
        "till avvikelsefunktionen 2026-11-24 11:00" in capsys.readouterr().out
    )
    assert cli(ws, set_at, "cases", "show", "KS 2026/1", "--json", "--by", "anna@testby.se") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["individual_care"] is True and shown["care_routed_at"] == set_at.isoformat()

    # The head clears it: the deviation function is told; the registrar too.
    cleared_at = at(2026, 11, 25, 9)
    assert cli(ws, cleared_at, "cases", "care", "KS 2026/1", "--off", "--by", HEAD) == 0
    assert "Avvikelsefunktionen har fått besked." in capsys.readouterr().out
    _card, word = smtp_server.to(DEVIATION)
    assert word.message["Subject"] == "Rör inte längre enskilds vård och omsorg – KS 2026/1"
    assert "2026-11-24" in word.text and "förs in i diariet" in word.text
    assert list(word.message.iter_attachments()) == []
    assert "för in ärendet i diariet" in smtp_server.to("registrator@testby.se")[-1].text

    assert cli(ws, cleared_at, "cases", "list", "--json") == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["individual_care"] is False and listed["care_routed_at"] is None
    with service_at(ws, cleared_at) as service:
        case = case_of(service)
    assert case.care_route is None
    by_hand = [(e.actor, e.at, e.detail) for e in case.events if e.kind is EventKind.CARE]
    assert (by_hand[0][0], by_hand[0][1]) == ("anna@testby.se", set_at)
    assert by_hand[0][2].startswith("Markerat av anna@testby.se")
    cleared = [e for e in by_hand if e[0] == HEAD]
    assert len(cleared) == 1 and cleared[0][1] == cleared_at
    assert "tog bort markeringen" in cleared[0][2]
    assert by_hand[-1][2] == (
        "Avvikelsefunktionen (organisation.care_deviation) fick besked att ärendet inte längre "
        "rör enskilds vård och omsorg."
    )


def test_cleared_before_the_card_went_nothing_is_sent(tmp_path: Path) -> None:
    """Marked and cleared while the mail server is down: when it is up, nothing goes."""
    down = SmtpServer(port=free_port())
    ws = care_workspace(tmp_path / "ws", None, down.config())
    ws.deliver(citizen_mail(SNOW))
    with service_at(ws, TUESDAY) as service:
        service.run_once()
        assert service.care is not None
        assert service.care.set_by_hand("KS 2026/1", by="anna@testby.se", care=True).changed
        assert case_of(service).care_route == "send"
        done = service.care.set_by_hand("KS 2026/1", by="anna@testby.se", care=False)
        assert done.changed and case_of(service).care_route is None
    down.controller = Controller(down, hostname=down.host, port=down.port)
    down.controller.start()
    try:
        with service_at(ws, at(2026, 11, 24, 11)) as service:
            assert service.run_once().care_routed == []
    finally:
        down.stop()
    assert down.to(DEVIATION) == [] and down.to(HEAD) == []  # the head's notice is taken back


def test_an_oral_care_complaint_registered_by_hand_is_routed(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    ws = care_workspace(tmp_path / "ws", None, smtp_server.config())
    add = ["cases", "add", "--channel", "visit", "--unit", "Kontaktcenter", "--summary",
           "Min mammas insatser i hemtjänsten uteblev", "--email", "lisa@example.net",
           "--care", "--by", "anna@testby.se"]  # fmt: skip
    assert cli(ws, TUESDAY, *add) == 0
    (card_mail,) = smtp_server.to(DEVIATION)
    assert set(attachments(card_mail)) == {"Ärendekort KS 2026-1.docx"}  # no e-mail original
    with service_at(ws, TUESDAY) as service:
        events = care_events(case_of(service))
    assert events[0].startswith("Registrerat av anna@testby.se som ett ärende som rör enskilds")
    assert (
        "Ärendekortet skickades till avvikelsefunktionen (organisation.care_deviation)." in events
    )
    (draft,) = ws.drafts()
    message = email.message_from_bytes(draft.read_bytes(), policy=policy.default)
    (letter,) = message.iter_attachments()
    said = message["Subject"] + docx_text(letter.get_content())
    assert message["Subject"] == "Ditt ärende KS 2026/1"
    assert "mamma" not in said.lower() and "hemtjänst" not in said.lower()


# ------------------------------------------------------------------- the compilation


def test_the_compilation_shows_care_complaints_as_their_own_group(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    ws = care_workspace(tmp_path / "ws", None, smtp_server.config())
    ws.deliver(
        citizen_mail(CARE_COMPLAINT, subject="Pappas hemtjänst", sender=RELATIVE), name="care"
    )
    ws.deliver(citizen_mail(SNOW, message_id="<snow@example.net>"), name="snow")
    with service_at(ws, TUESDAY) as service:
        service.run_once()
        care_case, snow_case = (case_of(service, r) for r in ("KS 2026/1", "KS 2026/2"))
    assert care_case.individual_care and not snow_case.individual_care
    out = tmp_path / "s.docx"
    when = at(2026, 12, 1)
    args = ("report", "annual", "--year", "2026", "--unit", "Kontaktcenter", "--out")
    assert cli(ws, when, *args, str(out)) == 0
    text = docx_text(out.read_bytes())
    assert "Klagomål: 1. Synpunkter: 0. Totalt: 2." in text
    assert "Klagomål och synpunkter som rör enskilds vård och omsorg: 1." in text
    assert "avvikelsemodul" in text
    assert "KS 2026/2" in text and "KS 2026/1" not in text  # the care case is not itemised
    assert care_case.summary[:30] not in text

    assert (
        cli(ws, when, "report", "annual", "--year", "2026", "--out", str(tmp_path / "s.xlsx")) == 0
    )
    book = openpyxl.load_workbook(tmp_path / "s.xlsx")
    units = [[c.value for c in row] for row in book["Enheter"].iter_rows()]
    assert units[0][5] == "Vård och omsorg (avvikelsemodulen)"
    assert next(r for r in units if r[1] == "Kontaktcenter")[3:6] == [1, 0, 1]
    sheet = [[c.value for c in row] for row in book["Ärenden"].iter_rows()]
    care_row = next(r for r in sheet if r[2] == "KS 2026/1")
    assert care_row[5].startswith("Rör enskilds vård och omsorg – handläggs i")
    assert care_row[6] is None and care_row[7] is None  # no answer, no actions shown
    assert [r[2] for r in sheet[1:]] == ["KS 2026/2", "KS 2026/1"]  # the group comes last

    assert (
        cli(ws, when, "report", "annual", "--year", "2026", "--out", str(tmp_path / "s.csv")) == 0
    )
    rows = list(csv.reader(io.StringIO((tmp_path / "s.csv").read_text("utf-8-sig")), delimiter=";"))
    flat = "\n".join(";".join(r) for r in rows)
    assert "hemtjänst" not in flat.lower() and "vård och omsorg" in flat


def test_a_routing_another_process_claimed_is_left_to_it(
    db_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    ws = care_workspace(tmp_path / "ws", db_url, smtp_server.config())
    ws.deliver(citizen_mail(SNOW, sender=RELATIVE))
    with service_at(ws, TUESDAY, detector=True) as service:
        service.run_mailbox("kontakt@testby.se")  # the intake only: the case waits
        assert service.sessions is not None and service.care is not None
        assert case_of(service).care_route == "send"
        with service.sessions.begin() as session:  # another process claims it now
            session.scalars(select(Case)).one().care_route = "sending"
        assert service.care.route_pending() == []
        assert smtp_server.received == []
        with service.sessions.begin() as session:  # it gave it back (its mail was refused)
            session.scalars(select(Case)).one().care_route = "send"
        assert service.care.route_pending() == ["KS 2026/1"]
        assert service.care.route_pending() == []
    assert len(smtp_server.to(DEVIATION)) == 1 and len(smtp_server.to(HEAD)) == 1


def test_withdrawing_a_routed_care_case_tells_the_deviation_function_once(
    db_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """The function got the card; the case is then withdrawn (a duplicate): it hears so, with
    the reason, once; and the withdrawn case is no longer marked."""
    ws = care_workspace(tmp_path / "ws", db_url, smtp_server.config())
    ws.deliver(citizen_mail(CARE_COMPLAINT, subject="Pappas hemtjänst", sender=RELATIVE))
    with service_at(ws, TUESDAY) as service:
        assert service.run_once().care_routed == ["KS 2026/1"]
    assert len(smtp_server.to(DEVIATION)) == 1
    later = at(2026, 11, 24, 14)
    assert (
        cli(ws, later, "cases", "withdraw", "KS 2026/1", "--reason", "dubblett", "--by", HEAD) == 0
    )
    with service_at(ws, later) as service:
        assert service.run_once().care_routed == ["KS 2026/1"]
        case = case_of(service)
    with service_at(ws, at(2026, 11, 25, 9)) as service:
        assert service.run_once().care_routed == []
    _card, word = smtp_server.to(DEVIATION)
    assert word.message["Subject"] == "Makulerat ärende – KS 2026/1"
    assert "makulerades den 2026-11-24: dubblett" in word.text
    assert "avvikelsemodulen" in word.text
    assert not any(w in word.text for w in ("medicin", "tablett", "Erik", "föll"))
    assert case.individual_care is False and case.care_route is None
    assert any(
        "Makulerat: markeringen för enskilds vård och omsorg" in e for e in care_events(case)
    )
