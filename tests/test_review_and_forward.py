"""Issue 18, items 2 and 3: the nearest manager reviews anew, and hand-overs come back.

A school's complaint that the citizen is not satisfied with goes to the school's head (not
the head of the administration above), drafted in the head's own mailbox and signed by
them; a head's own answer goes to the head above; a person may name another reviewer.  A
case handed over to another administration carries a cover letter (the case card, the
citizen's message, the deadline, whom to give feedback to); the citizen is told who handles
it now; the forwarder hears when the receiver answers or closes it, or when an outside
receiver's feedback is recorded, and is reminded after five working days without any.
"""

from __future__ import annotations

import email
import io
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.diary.base import DocumentKind
from postvakt.registry.documents import DiaryEntry
from postvakt.registry.models import Case, CaseStatus, EventKind
from postvakt.service import Service
from postvakt.web import create_app
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail, make_workspace
from tests.web.support import add_cases, make_config, sign_in

SCHOOL = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
domains = ["testby.se"]
policy = "orebro"
registrar = "registrator@testby.se"

[database]
url = "{db_url}"

[[units]]
name = "Kommunledningen"
head = "kd@testby.se"

[[units]]
name = "Utbildningsförvaltningen"
head = "frida@testby.se"
parent = "Kommunledningen"

[[units]]
name = "Björkskolan"
head = "rita@testby.se"
parent = "Utbildningsförvaltningen"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"
parent = "Kommunledningen"

[[people]]
name = "Lars Lund"
address = "lars@testby.se"
unit = "Björkskolan"
title = "Lärare"

[[people]]
name = "Rita Rektor"
address = "rita@testby.se"
unit = "Björkskolan"
title = "Rektor"
phone = "0123-111 11"

[[people]]
name = "Frida Falk"
address = "frida@testby.se"
unit = "Utbildningsförvaltningen"
title = "Förvaltningschef"
phone = "0123-222 22"

[[people]]
name = "Kerstin Dahl"
address = "kd@testby.se"
unit = "Kommunledningen"
title = "Kommundirektör"

[[people]]
name = "Anna Berg"
address = "anna@testby.se"
unit = "Kontaktcenter"
title = "Handläggare"
phone = "0123-456 78"

[[mailboxes]]
address = "skolan@testby.se"
name = "Björkskolan"
kind = "function"
unit = "Björkskolan"
owners = ["lars@testby.se"]
connector = "maildir"
start_from = 2026-11-01
[mailboxes.maildir]
path = "mail/skolan"

[[mailboxes]]
address = "rita@testby.se"
name = "Rita Rektor"
kind = "personal"
unit = "Björkskolan"
owners = ["rita@testby.se"]
connector = "maildir"
start_from = 2026-11-01
[mailboxes.maildir]
path = "mail/rita"

[[mailboxes]]
address = "utbildning@testby.se"
name = "Utbildningsförvaltningen"
kind = "function"
unit = "Utbildningsförvaltningen"
owners = ["frida@testby.se"]
connector = "maildir"
start_from = 2026-11-01
[mailboxes.maildir]
path = "mail/utbildning"

[[mailboxes]]
address = "kontakt@testby.se"
name = "Kontaktcenter"
kind = "function"
unit = "Kontaktcenter"
owners = ["anna@testby.se"]
connector = "maildir"
start_from = 2026-11-01
[mailboxes.maildir]
path = "mail/kontakt"
"""

COMPLAINT = (
    "Hej!\n\nMin son blir retad varje rast på Björkskolan och ingen vuxen gör något.\n\nKarin Ek\n"
)
NOT_SATISFIED = (
    "Hej igen!\n\nJag är inte nöjd med svaret. Han blir fortfarande retad varje dag.\n\nKarin Ek\n"
)
HEALTH_CENTRE = (
    "Hej!\n\nJag vill klaga på vårdcentralens väntetider. Jag fick vänta fem veckor på en tid.\n\n"
    "Olle Ström\n"
)


def at(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=STOCKHOLM)


def school(root: Path, db_url: str, smtp: SmtpServer) -> Workspace:
    ws = make_workspace(root, db_url)
    for who in ("skolan", "rita", "utbildning", "kontakt"):
        for sub in ("cur", "new", "tmp"):
            (root / "mail" / who / sub).mkdir(parents=True, exist_ok=True)
    ws.config_path.write_text(SCHOOL.format(db_url=db_url) + smtp.config(), encoding="utf-8")
    return ws


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def cli(ws: Workspace, when: datetime, *argv: str) -> int:
    return main(clock=fixed_clock(when), argv=["--config", str(ws.config_path), *argv])


def letters_in(ws: Workspace, who: str) -> dict[str, tuple[EmailMessage, str]]:
    """The Word letters drafted in ``who``'s Drafts: file name -> (the draft, the text)."""
    found = {}
    for path in ws.drafts(who):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        for part in message.iter_attachments():
            if part.get_filename().endswith(".docx"):
                found[part.get_filename()] = (message, docx_text(part.get_content()))
    return found


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def the_case(ws: Workspace) -> Case:
    with service_at(ws, at(2026, 11, 23)) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case).order_by(Case.id)).first()
            assert case is not None
            _ = case.events, case.unit  # loaded before the session closes
            return case


# ---------------------------------------------------------------------- item 2: the reviewer


def test_not_satisfied_goes_to_the_head_of_the_handlers_own_unit(
    tmp_path: Path, db_url: str, smtp_server: SmtpServer
) -> None:
    ws = school(tmp_path / "ws", db_url, smtp_server)
    ws.deliver(
        citizen_mail(
            COMPLAINT, to="skolan@testby.se", date=at(2026, 11, 23, 8), message_id="<k@example.net>"
        ),
        "skolan",
        when=at(2026, 11, 23, 8),
    )
    with service_at(ws, at(2026, 11, 23, 9)) as service:
        (outcome,) = service.run_once().outcomes
    assert outcome.case == "KS 2026/1"
    assert (
        cli(
            ws,
            at(2026, 11, 24),
            "cases",
            "answer",
            "KS 2026/1",
            "--by",
            "lars@testby.se",
            "--text",
            "Vi har pratat med klassen och ökat rastvakterna.",
        )
        == 0
    )
    reply_at = at(2026, 11, 25, 8)
    ws.deliver(
        citizen_mail(
            NOT_SATISFIED,
            to="skolan@testby.se",
            subject="SV: Klagomål på snöröjningen",
            date=reply_at,
            headers={"In-Reply-To": "<k@example.net>", "References": "<k@example.net>"},
        ),
        "skolan",
        when=reply_at,
    )
    smtp_server.received.clear()
    with service_at(ws, at(2026, 11, 25, 9)) as service:
        service.run_once()

    case = the_case(ws)
    # Lars teaches at Björkskolan: its head reviews, not the head of the administration above.
    assert case.status is CaseStatus.REOPENED and case.handler == "rita@testby.se"
    (escalated,) = [e for e in case.events if e.kind is EventKind.ESCALATED]
    assert "rita@testby.se" in escalated.detail and "enhetschef för Björkskolan" in escalated.detail
    assert [m.recipients for m in smtp_server.received if "ny prövning" in m.text] == [
        ["rita@testby.se"]
    ]
    # The notice is drafted in Rita's own mailbox, signed by her; none in the school's mailbox.
    drafted = letters_in(ws, "rita")
    message, text = drafted["Ny prövning KS 2026-1.docx"]
    assert message["From"].addresses[0].addr_spec == "rita@testby.se"
    assert message["To"].addresses[0].addr_spec == "karin.ek@example.net"
    assert (
        "Rita Rektor\nRektor\nBjörkskolan, Testby kommun\nrita@testby.se, telefon 0123-111 11"
        in text
    )
    assert "Rita Rektor" in message.get_body(("plain",)).get_content()
    assert not [name for name in letters_in(ws, "skolan") if name.startswith("Ny prövning")]


def test_a_head_who_answered_is_reviewed_by_the_head_above_or_by_whom_someone_names(
    tmp_path: Path, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = school(tmp_path / "ws", f"sqlite:///{tmp_path / 'pv.db'}", smtp_server)
    assert (
        cli(
            ws,
            at(2026, 11, 23),
            "cases",
            "add",
            "--channel",
            "visit",
            "--unit",
            "Björkskolan",
            "--summary",
            "Skolgården är full av glas",
            "--email",
            "karin.ek@example.net",
            "--name",
            "Karin Ek",
            "--by",
            "rita@testby.se",
        )
        == 0
    )
    assert (
        cli(
            ws,
            at(2026, 11, 24),
            "cases",
            "answer",
            "KS 2026/1",
            "--by",
            "rita@testby.se",
            "--text",
            "Vaktmästaren sopar skolgården varje morgon.",
        )
        == 0
    )
    # Rita is the school's head: the head of the administration above reviews, from the
    # administration's function mailbox (she has no mailbox of her own here).
    assert (
        cli(
            ws,
            at(2026, 11, 25),
            "cases",
            "reopen",
            "KS 2026/1",
            "--by",
            "rita@testby.se",
            "--reason",
            "Glaset ligger kvar",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "Ny prövning: utkast i utbildning@testby.se" in out and "Meddelat: frida@testby.se" in out
    )
    assert the_case(ws).handler == "frida@testby.se"
    message, text = letters_in(ws, "utbildning")["Ny prövning KS 2026-1.docx"]
    assert message["From"].addresses[0].addr_spec == "utbildning@testby.se"
    assert "Frida Falk, Förvaltningschef, en ny prövning" in text
    assert "Frida Falk\nFörvaltningschef\nUtbildningsförvaltningen, Testby kommun" in text
    assert "0123-222 22" in text and "Rita Rektor" not in text

    # Frida answers; the citizen is still not satisfied, and Frida names the director.
    assert (
        cli(
            ws,
            at(2026, 11, 26),
            "cases",
            "answer",
            "KS 2026/1",
            "--by",
            "frida@testby.se",
            "--text",
            "Skolgården stängs tills den är städad.",
        )
        == 0
    )
    assert (
        cli(
            ws,
            at(2026, 11, 27),
            "cases",
            "reopen",
            "KS 2026/1",
            "--by",
            "frida@testby.se",
            "--reviewer",
            "Okand@Testby.se",
        )
        == 2
    )
    assert "okand@testby.se finns inte i konfigurationen" in capsys.readouterr().err.lower()
    assert (
        cli(
            ws,
            at(2026, 11, 27),
            "cases",
            "reopen",
            "KS 2026/1",
            "--by",
            "frida@testby.se",
            "--reviewer",
            "KD@testby.se",
        )
        == 0
    )
    case = the_case(ws)
    assert case.handler == "kd@testby.se"
    assert (
        "utsedd av frida@testby.se"
        in [e for e in case.events if e.kind is EventKind.ESCALATED][-1].detail
    )
    texts = [
        t for name, (_m, t) in letters_in(ws, "skolan").items() if name.startswith("Ny prövning")
    ]
    assert texts and "Kerstin Dahl\nKommundirektör\nKommunledningen" in texts[-1]


def test_a_staff_members_case_the_head_answered_is_reviewed_above_the_head(
    tmp_path: Path, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = school(tmp_path / "ws", f"sqlite:///{tmp_path / 'pv.db'}", smtp_server)
    argv = [
        "cases",
        "add",
        "--channel",
        "phone",
        "--unit",
        "Björkskolan",
        "--summary",
        "Läxorna rättas aldrig",
        "--email",
        "karin.ek@example.net",
        "--by",
        "lars@testby.se",
    ]
    assert cli(ws, at(2026, 11, 23), *argv) == 0
    # Lars handles the case, but his head Rita gave the answer: she is not the one to review it.
    assert (
        cli(
            ws,
            at(2026, 11, 24),
            "cases",
            "answer",
            "KS 2026/1",
            "--by",
            "rita@testby.se",
            "--text",
            "Läxorna rättas varje vecka från och med nu.",
        )
        == 0
    )
    assert cli(ws, at(2026, 11, 25), "cases", "reopen", "KS 2026/1", "--by", "lars@testby.se") == 0
    assert "Meddelat: frida@testby.se" in capsys.readouterr().out
    case = the_case(ws)
    assert case.handler == "frida@testby.se"
    (escalated,) = [e for e in case.events if e.kind is EventKind.ESCALATED]
    assert "själv enhetschef för Björkskolan" in escalated.detail


def test_the_case_page_offers_the_nearest_manager_and_another_reviewer(tmp_path: Path) -> None:
    config = make_config(tmp_path / "ws")
    app = create_app(
        config, clock=fixed_clock(datetime(2026, 11, 24, 10, tzinfo=STOCKHOLM)), environ={}
    )
    try:
        cases = add_cases(app)
        casework = app.state.ctx.casework
        casework.answer(cases.kontakt_ref, actor="anna@testby.se", text="Vi har plogat.")
        casework.answer(cases.bygglov_ref, actor="bo@testby.se", text="Beslut kommer.")
        with TestClient(app) as client:
            csrf = sign_in(client, "anna@testby.se")
            page = client.get(f"/arenden/{cases.kontakt}").text
            assert "Närmaste chef (Lena Holm)" in page  # Anna's own head, not the director
            assert '<option value="bchef@testby.se">Britt Lund (chef för Bygglov)</option>' in page
            response = client.post(
                f"/arenden/{cases.kontakt}/ny-provning",
                data={"csrf": csrf, "reason": "Inte nöjd", "reviewer": ""},
                follow_redirects=False,
            )
            assert response.status_code == 303
            bo = TestClient(app)
            csrf_bo = sign_in(bo, "bo@testby.se")
            response = bo.post(
                f"/arenden/{cases.bygglov}/ny-provning",
                data={"csrf": csrf_bo, "reason": "Inte nöjd", "reviewer": "kd@testby.se"},
                follow_redirects=False,
            )
            assert response.status_code == 303
        with app.state.ctx.sessions() as session:
            handlers = {c.reference: c.handler for c in session.scalars(select(Case))}
        assert handlers[cases.kontakt_ref] == "chef@testby.se"
        assert handlers[cases.bygglov_ref] == "kd@testby.se"
    finally:
        app.state.ctx.close()


# ------------------------------------------------------------------- item 3: the hand-over


def register_from_kontakt(ws: Workspace, body: str, *, subject: str, message_id: str) -> None:
    ws.deliver(
        citizen_mail(
            body,
            subject=subject,
            sender="Olle Ström <olle@example.net>",
            date=at(2026, 11, 23, 8),
            message_id=message_id,
        ),
        "kontakt",
        when=at(2026, 11, 23, 8),
        name=message_id.strip("<>"),
    )


def reminders(ws: Workspace, when: datetime) -> None:
    with service_at(ws, when) as service:
        assert service.jobs is not None
        service.jobs.run("reminders", force=True)


def reminded(smtp: SmtpServer, who: str) -> list[str]:
    return [
        m.text
        for m in smtp.to(who)
        if "Ärenden du har lämnat över som saknar återkoppling" in m.text
    ]


def test_a_case_handed_to_another_administration_has_a_cover_letter_and_a_feedback_loop(
    tmp_path: Path, db_url: str, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = school(tmp_path / "ws", db_url, smtp_server)
    register_from_kontakt(ws, HEALTH_CENTRE, subject="Vårdcentralen", message_id="<v@example.net>")
    with service_at(ws, at(2026, 11, 23, 9)) as service:
        service.run_once()
    due = the_case(ws).answer_due
    assert due is not None
    smtp_server.received.clear()
    capsys.readouterr()

    assert (
        cli(
            ws,
            at(2026, 11, 24),
            "cases",
            "forward",
            "KS 2026/1",
            "--to",
            "Region Exempellän",
            "--contact",
            "vard@region.example",
            "--by",
            "anna@testby.se",
        )
        == 0
    )
    assert "Följebrev: skickat till vard@region.example" in capsys.readouterr().out
    (cover,) = smtp_server.to("vard@region.example")
    assert cover.message["Subject"] == "Överlämnat ärende – KS 2026/1"
    assert cover.message["Reply-To"] == "anna@testby.se"  # an answer goes to the forwarder
    body = cover.message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    day = f"{due.day} {('december' if due.month == 12 else 'november')} {due.year}"
    assert not body.startswith("Hej Olle") and "Till Region Exempellän" in body
    assert f"Svar till avsändaren senast: {day}" in body
    assert "Återkoppla till Anna Berg (anna@testby.se)" in body
    assert "Avsändare: Olle Ström <olle@example.net>" in body
    assert "Avsändarens meddelande:\nHej!\n\nJag vill klaga på vårdcentralens väntetider." in body
    files = {a.get_filename(): a for a in cover.message.iter_attachments()}
    assert set(files) == {
        "Följebrev KS 2026-1.docx",
        "Ärendekort KS 2026-1.docx",
        "Originalmeddelande KS 2026-1.eml",
    }
    letter = docx_text(files["Följebrev KS 2026-1.docx"].get_content())
    assert "Region Exempellän" in letter and day in letter and "fem veckor på en tid" in letter
    assert "återkoppla till Anna Berg" in letter
    assert "anna@testby.se, telefon 0123-456 78" in letter  # the forwarder signs it
    assert b"<v@example.net>" in files["Originalmeddelande KS 2026-1.eml"].get_content().as_bytes()
    # The citizen is told who has the case now.
    _msg, handover = letters_in(ws, "kontakt")["Överlämning KS 2026-1.docx"]
    assert "Region Exempellän" in handover and "vard@region.example" in handover
    # The cover letter is a document of the case for the diary.
    with service_at(ws, at(2026, 11, 24, 11)) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            titles = session.scalars(select(DiaryEntry.title)).all()
    assert "Följebrev – överlämnat till Region Exempellän" in titles

    # Four working days without feedback: nothing yet; the fifth: Anna is reminded, once.
    reminders(ws, at(2026, 11, 30, 9))
    assert reminded(smtp_server, "anna@testby.se") == []
    reminders(ws, at(2026, 12, 1, 9))
    reminders(ws, at(2026, 12, 1, 14))
    (reminder,) = reminded(smtp_server, "anna@testby.se")
    assert "KS 2026/1" in reminder and "Region Exempellän" in reminder
    assert "postvakt cases feedback KS 2026/1" in reminder

    # The region reports back by phone; the registrar notes it; Anna is told at once.
    smtp_server.received.clear()
    assert (
        cli(
            ws,
            at(2026, 12, 2),
            "cases",
            "feedback",
            "KS 2026/1",
            "--by",
            "registrator@testby.se",
            "--text",
            "Regionen har ringt patienten och bokat en tid.",
        )
        == 0
    )
    assert "Meddelat: anna@testby.se" in capsys.readouterr().out
    (told,) = smtp_server.to("anna@testby.se")
    assert "Återkoppling på ärenden du har lämnat över" in told.text
    assert "bokat en tid" in told.text
    with service_at(ws, at(2026, 12, 2, 11)) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            (feedback,) = [e for e in case.events if e.kind is EventKind.FEEDBACK]
            assert (
                feedback.detail
                == "Från Region Exempellän: Regionen har ringt patienten och bokat en tid."
            )
            notes = session.scalars(
                select(DiaryEntry.text).where(DiaryEntry.kind == DocumentKind.CALLBACK.value)
            ).all()
    assert any("bokat en tid" in n for n in notes)
    # Feedback came: no more reminders.
    reminders(ws, at(2026, 12, 8, 9))
    assert reminded(smtp_server, "anna@testby.se") == []


def test_a_case_handed_to_another_unit_names_the_new_handler_and_tells_the_forwarder(
    tmp_path: Path, db_url: str, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = school(tmp_path / "ws", db_url, smtp_server)
    register_from_kontakt(ws, COMPLAINT, subject="Retad på rasten", message_id="<r@example.net>")
    register_from_kontakt(
        ws,
        COMPLAINT + "\nOch matsalen är stökig.",
        subject="Matsalen",
        message_id="<m@example.net>",
    )
    with service_at(ws, at(2026, 11, 23, 9)) as service:
        service.run_once()
    smtp_server.received.clear()
    for number in ("KS 2026/1", "KS 2026/2"):
        assert (
            cli(
                ws,
                at(2026, 11, 24),
                "cases",
                "forward",
                number,
                "--to",
                "Björkskolan",
                "--contact",
                "lars@testby.se",
                "--by",
                "anna@testby.se",
            )
            == 0
        )
    # Lars (named as contact) is the new handler, told of the deadline and whom to tell.
    told_lars = "\n".join(m.text for m in smtp_server.to("lars@testby.se"))
    assert "du är ny handläggare" in told_lars and "svar till avsändaren senast" in told_lars
    assert "återkoppla till anna@testby.se" in told_lars
    # The citizen's letter names him.
    _msg, handover = letters_in(ws, "kontakt")["Överlämning KS 2026-1.docx"]
    assert "Björkskolan" in handover and "Ny handläggare: Lars Lund, Lärare" in handover
    assert "lars@testby.se" in handover

    # Lars answers the first case: Anna, who handed it over, is told at once; then the closure.
    smtp_server.received.clear()
    capsys.readouterr()
    assert (
        cli(
            ws,
            at(2026, 11, 26),
            "cases",
            "answer",
            "KS 2026/1",
            "--by",
            "lars@testby.se",
            "--text",
            "Vi har pratat med klassen.",
        )
        == 0
    )
    assert "Meddelat: anna@testby.se" in capsys.readouterr().out
    (answered,) = smtp_server.to("anna@testby.se")
    assert "Återkoppling på ärenden du har lämnat över" in answered.text
    assert "KS 2026/1" in answered.text and "lars@testby.se har svarat avsändaren" in answered.text
    assert (
        cli(
            ws,
            at(2026, 11, 26, 11),
            "cases",
            "close",
            "KS 2026/1",
            "--by",
            "lars@testby.se",
            "--action",
            "Fler rastvakter.",
        )
        == 0
    )
    assert "lars@testby.se har avslutat ärendet" in smtp_server.to("anna@testby.se")[-1].text

    # The second case has no answer after five working days: Anna is reminded of it only.
    reminders(ws, at(2026, 12, 1, 9))
    (reminder,) = reminded(smtp_server, "anna@testby.se")
    assert "KS 2026/2" in reminder and "KS 2026/1" not in reminder


def test_feedback_on_a_case_never_handed_over_is_refused(
    tmp_path: Path, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = school(tmp_path / "ws", f"sqlite:///{tmp_path / 'pv.db'}", smtp_server)
    assert (
        cli(
            ws,
            at(2026, 11, 23),
            "cases",
            "add",
            "--channel",
            "phone",
            "--unit",
            "Kontaktcenter",
            "--summary",
            "Gatlyktan är trasig",
            "--contact",
            "070-123 45 67",
            "--by",
            "anna@testby.se",
        )
        == 0
    )
    capsys.readouterr()
    assert (
        cli(
            ws,
            at(2026, 11, 24),
            "cases",
            "feedback",
            "KS 2026/1",
            "--by",
            "anna@testby.se",
            "--text",
            "Klart",
        )
        == 2
    )
    assert "har inte lämnats över" in capsys.readouterr().err


def test_a_cover_letter_that_cannot_be_mailed_is_saved_to_send_by_hand(
    tmp_path: Path, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = school(tmp_path / "ws", f"sqlite:///{tmp_path / 'pv.db'}", smtp_server)
    argv = [
        "cases",
        "add",
        "--channel",
        "visit",
        "--unit",
        "Kontaktcenter",
        "--summary",
        "Busskortet fungerar inte",
        "--email",
        "olle@example.net",
        "--by",
        "anna@testby.se",
    ]
    assert cli(ws, at(2026, 11, 23), *argv) == 0
    capsys.readouterr()
    smtp_server.received.clear()
    # The receiver was given by phone only: nothing is mailed, the letter waits in brev/.
    assert (
        cli(
            ws,
            at(2026, 11, 24),
            "cases",
            "forward",
            "KS 2026/1",
            "--to",
            "Länstrafiken",
            "--contact",
            "0771-10 01 10",
            "--by",
            "anna@testby.se",
        )
        == 0
    )
    out = capsys.readouterr().out
    saved = ws.root / "brev" / "Följebrev KS 2026-1.docx"
    assert (
        "Följebrev: inte skickat (mottagaren har ingen e-postadress); skicka det själv till "
        f"Länstrafiken: {saved}" in out
    )
    assert "Busskortet fungerar inte" in docx_text(saved.read_bytes())
    assert [
        m.recipients
        for m in smtp_server.received
        if "Överlämnat ärende" in str(m.message["Subject"])
    ] == []
    (drafted,) = [e for e in the_case(ws).events if e.document == saved.name]
    assert "kunde inte skickas" in drafted.detail
