"""The case page as a workspace (issue 19 item 5): the events in Swedish, the deadlines with
their state, internal notes (command line and page), the handler, and a warning when someone
else has the case open or changed it since the page was loaded."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import Config
from postvakt.registry.cases import add_event
from postvakt.registry.models import Case, CaseEvent, CaseKind, CaseStatus, Draft, EventKind
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.deadline_state import case_deadlines
from postvakt.web import create_app
from postvakt.web.events import describe
from postvakt.web.views import EVENT_SV
from tests.web.support import NOW, Cases, add_cases, ctx_of, sign_in


class Clock:
    """A clock the test moves forward (two people working the same case minutes apart)."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def moving_app(web_config: Config, clock: Clock) -> Iterator[FastAPI]:
    app = create_app(web_config, clock=clock, environ={})
    try:
        yield app
    finally:
        app.state.ctx.close()


@pytest.fixture
def two(moving_app: FastAPI) -> Iterator[tuple[TestClient, TestClient, Cases]]:
    made = add_cases(moving_app)
    with TestClient(moving_app) as anna, TestClient(moving_app) as lena:
        sign_in(anna, "anna@testby.se")
        sign_in(lena, "chef@testby.se")  # Lena Holm, head of Kontaktcenter
        yield anna, lena, made


def _form_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} on the page"
    return match.group(1)


def _events_table(html: str) -> str:
    start = html.index('id="handelser"')
    return html[start : html.index("</table>", start)]


def _cells(html: str, label: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(rf'<td data-label="{label}">(.*?)</td>', _events_table(html), re.S)
    ]


def _case(app: FastAPI, case_id: int) -> Case:
    with ctx_of(app).sessions() as session:
        case = session.scalars(select(Case).where(Case.id == case_id)).one()
        list(case.events)  # loaded while the session is open
        session.expunge_all()
        return case


# --------------------------------------------------------------------------- Swedish events


def test_every_event_kind_has_swedish_words() -> None:
    """Fails when an EventKind is added without its Swedish label (the page would otherwise
    fall back to a generic word, never the English kind)."""
    missing = [k.value for k in EventKind if k.value not in EVENT_SV]
    assert missing == []
    for kind in EventKind:
        label = EVENT_SV[kind.value]
        assert label != kind.value and label[0].isupper()
        bare = describe(CaseEvent(id=1, kind=kind, actor="postvakt", at=NOW, detail=""))
        assert bare.title == label and bare.actor is None


@pytest.mark.parametrize(
    ("kind", "detail", "title", "whom", "shown", "hidden"),
    [
        (
            EventKind.REGISTERED,
            "Registrerat automatiskt från kontakt@testby.se",
            "Registrerat från",
            "kontakt@testby.se",
            "",
            "automatiskt",
        ),
        (
            EventKind.DRAFTED,
            "Acknowledgement skapad som utkast till a.b@example.net",
            "Mottagningsbekräftelse: utkast sparat",
            None,
            "Till a.b@example.net.",
            "Acknowledgement",
        ),
        (
            EventKind.DRAFTED,
            "Svar sparad för utskrift: /srv/postvakt/brev/Svar KS 2026-1.docx",
            "Svar: sparat för utskrift",
            None,
            "Skrivs ut",
            "/srv/",
        ),
        (
            EventKind.ACKNOWLEDGED,
            "Mottagningsbekräftelsen skickades till avsändaren; den räknas som svar enligt "
            "rutinen, och svaret är utlovat senast 2026-12-08",
            "Mottagningsbekräftelse skickad",
            None,
            "utlovat senast 8 december 2026",
            "2026-12-08",
        ),
        (
            EventKind.CARE,
            "Enhetschefen för Kontaktcenter (units.head) får besked i dag, med påminnelsen",
            "Vård och omsorg",
            None,
            "Enhetschefen för Kontaktcenter får besked",
            "units.head",
        ),
        (
            EventKind.CARE,
            "Avvikelsefunktionen kunde inte få besked: organisation.care_deviation är inte angiven.",
            "Vård och omsorg",
            None,
            "ingen adress till avvikelsefunktionen",
            "organisation.",
        ),
        (
            EventKind.NOTE,
            "Registrerat i efterhand med postvakt backfill av lena@testby.se; meddelandet kom",
            "Registrerat i efterhand",
            None,
            "i efterhand av lena@testby.se",
            "postvakt backfill",
        ),
        (
            EventKind.DRAFTED,
            "Följebrevet kunde inte skickas ([smtp] saknas i konfigurationen); sparat för att "
            "skickas för hand: /srv/brev/Följebrev.docx",
            "Följebrev: inte skickat",
            None,
            "ingen e-postserver är inställd",
            "[smtp]",
        ),
        (
            EventKind.CLOSED,
            "Avslutat. Vidtagna åtgärder: Gatan är sandad.",
            "Avslutat",
            None,
            "Vidtagna åtgärder: Gatan är sandad.",
            "Avslutat.",
        ),
    ],
)
def test_event_details_are_worded_for_people(
    kind: EventKind, detail: str, title: str, whom: str | None, shown: str, hidden: str
) -> None:
    view = describe(CaseEvent(id=1, kind=kind, actor="postvakt", at=NOW, detail=detail))
    assert view.title == title
    assert view.whom == whom
    assert shown in view.detail
    assert hidden not in view.detail


def test_the_page_shows_every_event_kind_in_swedish(
    app: FastAPI, client: TestClient, cases: Cases
) -> None:
    ctx = ctx_of(app)
    with ctx.sessions() as session, session.begin():
        case = session.get(Case, cases.kontakt)
        assert case is not None
        for kind in EventKind:
            add_event(session, case, kind, actor="postvakt", at=NOW, detail="")
    sign_in(client, "anna@testby.se")
    html = client.get(f"/arenden/{cases.kontakt}").text
    what = _cells(html, "Vad")
    assert len(what) == len(EventKind) + 2  # registered and the acknowledgment's draft
    for kind in EventKind:
        assert EVENT_SV[kind.value] in what
        assert kind.value not in what  # never 'acknowledged', 'drafted', 'callback' …
    assert "Registrerat för hand (telefon)" in what
    assert "Mottagningsbekräftelse: utkast sparat" in what
    who = _cells(html, "Vem")
    assert "Postvakt" in who and "postvakt" not in who
    assert any(w.startswith("Anna Berg") for w in who)  # a person by name beside the address


# ------------------------------------------------------------------------------- deadlines


def _complaint(received: date, *events: tuple[EventKind, datetime, str]) -> Case:
    case = Case(
        kind=CaseKind.COMPLAINT,
        status=CaseStatus.REGISTERED,
        anonymous=False,
        ack_due=date(2026, 12, 1),
        answer_due=date(2026, 12, 1),
        received_at=datetime(received.year, received.month, received.day, 9, tzinfo=STOCKHOLM),
    )
    for i, (kind, at, detail) in enumerate(events):
        case.events.append(
            CaseEvent(id=i + 1, kind=kind, at=at, actor="a@testby.se", detail=detail)
        )
    return case


def _words(case: Case, today: date) -> dict[str, str]:
    return {d.label: d.words for d in case_deadlines(case, today, WorkingCalendar())}


def test_deadline_states_on_a_fixed_day() -> None:
    registered = (EventKind.REGISTERED, datetime(2026, 11, 24, 9, tzinfo=STOCKHOLM), "")
    case = _complaint(date(2026, 11, 24), registered)
    assert _words(case, date(2026, 11, 30)) == {
        "Bekräftelse senast": "i tid",
        "Svar senast": "i tid",
    }
    assert _words(case, date(2026, 12, 1)) == {
        "Bekräftelse senast": "i dag",
        "Svar senast": "i dag",
    }
    # Thursday 3 December: two working days late (2 and 3 December).
    assert _words(case, date(2026, 12, 3))["Svar senast"] == "försenat 2 arbetsdagar"
    # Saturday after a Friday deadline: late, though no working day has passed.
    friday = _complaint(date(2026, 11, 27), registered)
    friday.ack_due = friday.answer_due = date(2026, 12, 4)
    assert _words(friday, date(2026, 12, 5))["Svar senast"] == "försenat 1 arbetsdag"

    acknowledged = (
        EventKind.ACKNOWLEDGED,
        datetime(2026, 11, 26, 15, tzinfo=STOCKHOLM),
        "Mottagningsbekräftelsen skickades till avsändaren",
    )
    case = _complaint(date(2026, 11, 24), registered, acknowledged)
    case.status = CaseStatus.ACKNOWLEDGED
    assert _words(case, date(2026, 12, 3)) == {
        "Bekräftelse senast": "uppfyllt 26 november 2026",
        "Svar senast": "försenat 2 arbetsdagar",
    }
    answered = (EventKind.ANSWERED, datetime(2026, 12, 2, 11, tzinfo=STOCKHOLM), "Svar: Klart.")
    case = _complaint(date(2026, 11, 24), registered, acknowledged, answered)
    case.status = CaseStatus.ANSWERED
    assert _words(case, date(2026, 12, 9))["Svar senast"] == (
        "uppfyllt 2 december 2026 (1 arbetsdag för sent)"
    )
    case.status = CaseStatus.WAITING
    case.events.pop()
    assert _words(case, date(2026, 12, 9))["Svar senast"] == "pausat: väntar på medborgaren"


def test_a_promised_date_and_a_case_tried_anew() -> None:
    registered = (EventKind.REGISTERED, datetime(2026, 11, 24, 9, tzinfo=STOCKHOLM), "")
    promised = (
        EventKind.ACKNOWLEDGED,
        datetime(2026, 11, 25, 9, tzinfo=STOCKHOLM),
        "Mottagningsbekräftelsen skickades till avsändaren; den räknas som svar enligt "
        "rutinen, och svaret är utlovat senast 2026-12-08",
    )
    case = _complaint(date(2026, 11, 24), registered, promised)
    case.status, case.answer_due = CaseStatus.ACKNOWLEDGED, date(2026, 12, 8)
    assert _words(case, date(2026, 12, 8)) == {
        "Bekräftelse senast": "uppfyllt 25 november 2026",
        "Utlovat svar senast": "i dag",
    }
    answered = (EventKind.ANSWERED, datetime(2026, 11, 30, 9, tzinfo=STOCKHOLM), "Svar: Klart.")
    reopened = (EventKind.REOPENED, datetime(2026, 12, 1, 9, tzinfo=STOCKHOLM), "Ny prövning: x")
    case = _complaint(date(2026, 11, 24), registered, answered, reopened)
    case.status, case.answer_due = CaseStatus.REOPENED, date(2026, 12, 8)
    # The first answer does not keep the deadline of the new trial.
    assert _words(case, date(2026, 12, 9))["Svar senast"] == "försenat 1 arbetsdag"
    case.anonymous = True
    assert case_deadlines(case, date(2026, 12, 9), WorkingCalendar()) == []


def test_the_page_shows_the_deadlines_with_their_state(
    moving_app: FastAPI, clock: Clock, client_on_moving: TestClient
) -> None:
    made = add_cases(moving_app)  # registered Tuesday 24 November: due Tuesday 1 December
    clock.at = datetime(2026, 12, 3, 9, tzinfo=STOCKHOLM)
    sign_in(client_on_moving, "anna@testby.se")
    html = client_on_moving.get(f"/arenden/{made.kontakt}").text
    assert "1 december 2026" in html
    assert html.count("försenat 2 arbetsdagar") == 2  # acknowledgement and answer
    ctx_of(moving_app).casework.answer(made.kontakt_ref, actor="anna@testby.se", text="Sandat.")
    html = client_on_moving.get(f"/arenden/{made.kontakt}").text
    assert "uppfyllt 3 december 2026 (2 arbetsdagar för sent)" in html


@pytest.fixture
def client_on_moving(moving_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(moving_app) as client:
        yield client


# ---------------------------------------------------------------------------- internal notes


def _cli(config: Config, when: datetime, *argv: str) -> int:
    path = config.base_dir / "postvakt.toml"
    return main(clock=fixed_clock(when), argv=["--config", str(path), *argv])


def _docx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return re.sub(r"<[^>]+>", "", z.read("word/document.xml").decode())


def test_a_note_from_the_command_line_is_internal(
    app: FastAPI,
    web_config: Config,
    cases: Cases,
    client: TestClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    note = "Ringde Karin, hon skickar bilder i morgon."
    assert (
        _cli(
            web_config,
            NOW,
            "cases",
            "note",
            cases.kontakt_ref,
            "--text",
            note,
            "--by",
            "anna@testby.se",
        )
        == 0
    )
    assert f"{cases.kontakt_ref}: intern anteckning sparad" in capsys.readouterr().out
    assert (
        _cli(
            web_config, NOW, "cases", "show", cases.kontakt_ref, "--json", "--by", "anna@testby.se"
        )
        == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert shown["notes"] == [{"at": NOW.isoformat(), "by": "anna@testby.se", "text": note}]
    assert [e["internal"] for e in shown["events"]].count(True) == 1

    # Bo works in Bygglov: not his case to write in.
    assert (
        _cli(
            web_config,
            NOW,
            "cases",
            "note",
            cases.kontakt_ref,
            "--text",
            "x",
            "--by",
            "bo@testby.se",
        )
        != 0
    )
    err = capsys.readouterr().err
    assert "bo@testby.se får inte anteckna i ärende" in err and "handläggaren" in err
    assert "Traceback" not in err

    # The note is on the page, marked internal, with who; never in a letter to the citizen.
    sign_in(client, "cecilia@testby.se")
    html = client.get(f"/arenden/{cases.kontakt}").text
    assert note in _events_table(html) and "Intern anteckning" in _events_table(html)
    assert "Anna Berg" in _cells(html, "Vem")[-1]
    ctx_of(app).casework.answer(cases.kontakt_ref, actor="anna@testby.se", text="Snön röjs i dag.")
    with ctx_of(app).sessions() as session:
        drafts = list(session.scalars(select(Draft).where(Draft.case_id == cases.kontakt)))
    assert len(drafts) == 2  # the acknowledgment and the answer
    for draft in drafts:
        assert "bilder" not in draft.body_text
        assert draft.attachment is not None and "bilder" not in _docx_text(draft.attachment)
    assert "Snön röjs i dag." in _docx_text(drafts[-1].attachment or b"")


def test_a_note_on_the_page(app: FastAPI, client: TestClient, cases: Cases) -> None:
    csrf = sign_in(client, "anna@testby.se")
    html = client.get(f"/arenden/{cases.kontakt}").text
    assert f'action="/arenden/{cases.kontakt}/anteckning"' in html
    response = client.post(
        f"/arenden/{cases.kontakt}/anteckning",
        data={
            "csrf": csrf,
            "text": "Kollar med gatukontoret.",
            "loaded_at": _form_value(html, "loaded_at"),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    html = client.get(response.headers["location"]).text
    assert "intern anteckning sparad: ”Kollar med gatukontoret.”" in html  # shown back
    assert "Kollar med gatukontoret." in _events_table(html)
    empty = client.post(f"/arenden/{cases.kontakt}/anteckning", data={"csrf": csrf, "text": "  "})
    assert "Anteckningen är tom" in empty.text


def test_a_note_refused_on_the_page_in_swedish(client: TestClient, cases: Cases) -> None:
    csrf = sign_in(client, "bo@testby.se")  # Bygglov: not a Kontaktcenter case
    response = client.post(
        f"/arenden/{cases.kontakt}/anteckning", data={"csrf": csrf, "text": "Hej"}
    )
    assert response.status_code == 403
    assert "Du får inte anteckna i det här ärendet" in response.text
    for cli_word in ("--by", "postvakt ", "bo@testby.se får"):
        assert cli_word not in response.text
    with TestClient(client.app) as other:  # the case is untouched
        sign_in(other, "anna@testby.se")
        assert "Hej" not in _events_table(other.get(f"/arenden/{cases.kontakt}").text)


# ------------------------------------------------------------------------------ the handler


def test_the_handler_by_name_and_changed_where_allowed(
    app: FastAPI, client: TestClient, cases: Cases
) -> None:
    with TestClient(app) as cecilia:
        sign_in(cecilia, "cecilia@testby.se")
        # A colleague in the unit reads the case but may not give it away.
        assert "Byt handläggare" not in cecilia.get(f"/arenden/{cases.kontakt}").text
        csrf = sign_in(client, "chef@testby.se")
        html = client.get(f"/arenden/{cases.kontakt}").text
        assert re.search(r'<dt>Handläggare</dt><dd><span class="who">Anna Berg', html)
        assert "Byt handläggare" in html
        response = client.post(
            f"/arenden/{cases.kontakt}/tilldela",
            data={
                "csrf": csrf,
                "to": "cecilia@testby.se",
                "loaded_at": _form_value(html, "loaded_at"),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        html = client.get(f"/arenden/{cases.kontakt}").text
        assert re.search(r'<dt>Handläggare</dt><dd><span class="who">Cecilia Ek', html)
        assert "Ny handläggare" in _cells(html, "Vad")
        # Now hers: she may hand it on.
        assert "Byt handläggare" in cecilia.get(f"/arenden/{cases.kontakt}").text


# ------------------------------------------------------------------- someone else on the case


def test_someone_else_has_the_case_open(
    two: tuple[TestClient, TestClient, Cases], clock: Clock
) -> None:
    anna, lena, made = two
    page = f"/arenden/{made.kontakt}"
    assert "Öppnat av" not in anna.get(page).text
    clock.move(minutes=1)
    lena.get(page)
    clock.move(minutes=3)
    html = anna.get(page).text
    assert "Öppnat av Lena Holm för 3 minuter sedan" in html
    assert "Öppnat av Anna Berg" not in html  # never oneself
    assert "Öppnat av Anna Berg för mindre än en minut sedan" in lena.get(page).text
    clock.move(minutes=10, seconds=1)  # Lena's view is now older than ten minutes
    assert "Öppnat av" not in anna.get(page).text


def test_an_action_after_someone_else_changed_the_case_is_stopped(
    moving_app: FastAPI, two: tuple[TestClient, TestClient, Cases], clock: Clock
) -> None:
    anna, lena, made = two
    page = f"/arenden/{made.kontakt}"
    clock.at = datetime(2026, 11, 24, 10, 30, tzinfo=STOCKHOLM)
    anna_html = anna.get(page).text
    loaded_at = _form_value(anna_html, "loaded_at")
    csrf = _form_value(anna_html, "csrf")

    clock.at = datetime(2026, 11, 24, 10, 42, tzinfo=STOCKHOLM)
    lena_html = lena.get(page).text
    done = lena.post(
        f"{page}/svara",
        data={
            "csrf": _form_value(lena_html, "csrf"),
            "loaded_at": _form_value(lena_html, "loaded_at"),
            "text": "Gatan plogas i dag.",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303

    clock.move(minutes=2)
    stopped = anna.post(
        f"{page}/svara",
        data={"csrf": csrf, "loaded_at": loaded_at, "text": "Plogbilen är på väg."},
        follow_redirects=False,
    )
    assert stopped.status_code == 409
    assert (
        "Lena Holm har ändrat ärendet kl. 10:42 sedan du öppnade sidan — se händelserna och "
        "försök igen." in stopped.text
    )
    # What she wrote is kept for her (the answer form is gone: the case is answered).
    assert '<p class="pre kept">Plogbilen är på väg.</p>' in stopped.text
    case = _case(moving_app, made.kontakt)
    answers = [e for e in case.events if e.kind is EventKind.ANSWERED]
    assert [e.actor for e in answers] == ["chef@testby.se"]  # not answered twice
    assert case.answer_text == "Gatan plogas i dag."

    # A note is stopped the same way, and what Anna typed is kept for her.
    typed = anna.post(
        f"{page}/anteckning",
        data={"csrf": csrf, "loaded_at": loaded_at, "text": "Jag ringer Karin."},
        follow_redirects=False,
    )
    assert typed.status_code == 409 and ">Jag ringer Karin.</textarea>" in typed.text
    assert "Jag ringer Karin." not in _events_table(typed.text)
    # The page shown again carries a new loaded_at: now the note goes in.
    again = anna.post(
        f"{page}/anteckning",
        data={
            "csrf": csrf,
            "loaded_at": _form_value(typed.text, "loaded_at"),
            "text": "Jag ringer Karin.",
        },
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert "Jag ringer Karin." in _events_table(anna.get(page).text)


def test_own_changes_and_corrections_forms(
    moving_app: FastAPI, two: tuple[TestClient, TestClient, Cases], clock: Clock
) -> None:
    anna, lena, made = two
    page = f"/arenden/{made.kontakt}"
    html = anna.get(page).text
    loaded_at, csrf = _form_value(html, "loaded_at"), _form_value(html, "csrf")
    clock.move(minutes=1)
    first = anna.post(
        f"{page}/anteckning",
        data={"csrf": csrf, "loaded_at": loaded_at, "text": "Första."},
        follow_redirects=False,
    )
    clock.move(minutes=1)
    second = anna.post(  # the same old page: her own note does not stop her
        f"{page}/anteckning",
        data={"csrf": csrf, "loaded_at": loaded_at, "text": "Andra."},
        follow_redirects=False,
    )
    assert (first.status_code, second.status_code) == (303, 303)
    # Lena confirms the classification (a correction form on the page): Anna's stale
    # change of kind is stopped.
    clock.move(minutes=1)
    lena_html = lena.get(page).text
    assert (
        'name="loaded_at"' in lena_html.split(f'action="/arenden/{made.kontakt}/bekrafta"')[1][:400]
    )
    confirmed = lena.post(
        f"{page}/bekrafta",
        data={
            "csrf": _form_value(lena_html, "csrf"),
            "loaded_at": _form_value(lena_html, "loaded_at"),
        },
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    clock.move(minutes=1)
    stale = anna.post(
        f"{page}/andra-typ",
        data={"csrf": csrf, "loaded_at": loaded_at, "kind": "synpunkt"},
        follow_redirects=False,
    )
    assert stale.status_code == 409 and "Lena Holm har ändrat ärendet" in stale.text
    assert _case(moving_app, made.kontakt).kind is CaseKind.COMPLAINT


# ------------------------------------------------------------------------------ in a browser


def test_in_the_browser_a_note_stopped_then_saved_and_axe_finds_nothing(
    page,  # type: ignore[no-untyped-def]
    app: FastAPI,
    cases: Cases,
) -> None:
    """Chromium without a script of ours: Anna writes a note on a page Lena has changed since
    it was loaded — the page says so, keeps her words and passes axe; sent again it is saved."""
    from postvakt.registry.access import record_access
    from tests.web.browser import axe_violations, screenshot
    from tests.web.support import PASSWORD, add_accounts

    add_accounts(app, ("anna@testby.se",))
    ctx = ctx_of(app)
    with ctx.sessions() as session, session.begin():  # Lena looked three minutes ago
        record_access(
            session,
            cases.kontakt,
            actor="chef@testby.se",
            via="web",
            what="visa",
            client="10.0.0.7",
            now=NOW - timedelta(minutes=3),
        )
    page.goto("/logga-in")
    page.get_by_label("E-postadress").fill("anna@testby.se")
    page.get_by_label("Lösenord").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Logga in").click()
    page.goto(f"/arenden/{cases.kontakt}")
    main_text = page.get_by_role("main").inner_text()
    assert "Öppnat av Lena Holm för 3 minuter sedan" in main_text
    assert "Bekräftelse senast" in main_text and "i tid" in main_text
    assert axe_violations(page) == []

    with ctx.sessions() as session, session.begin():  # Lena acts meanwhile (10:12)
        case = session.get(Case, cases.kontakt)
        assert case is not None
        add_event(
            session,
            case,
            EventKind.WAITING,
            actor="chef@testby.se",
            at=NOW + timedelta(minutes=12),
            detail="Väntar på bilder. Svarstiden är pausad tills medborgaren hör av sig.",
        )
    page.get_by_label("Anteckning till kollegorna").fill("Jag ringer Karin i eftermiddag.")
    with page.expect_navigation():
        page.get_by_role("button", name="Spara anteckningen").click()
    alert = page.get_by_role("alert").inner_text()
    assert "Lena Holm har ändrat ärendet kl. 10:12 sedan du öppnade sidan" in alert
    assert page.get_by_label("Anteckning till kollegorna").input_value() == (
        "Jag ringer Karin i eftermiddag."
    )
    assert "Väntar på medborgaren" in page.locator("#handelser ~ div.table").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "case-workspace-changed")

    with ctx.sessions() as session, session.begin():  # Lena's change is older now
        case = session.get(Case, cases.kontakt)
        assert case is not None
        (event,) = [e for e in case.events if e.kind is EventKind.WAITING]
        event.at = NOW - timedelta(minutes=1)
    with page.expect_navigation():
        page.get_by_role("button", name="Spara anteckningen").click()
    events = page.locator("#handelser ~ div.table").inner_text()
    assert "Intern anteckning" in events and "Jag ringer Karin i eftermiddag." in events
    assert axe_violations(page) == []
