"""Service areas: the web form's "Verksamhet" (or the text) gives the case its area, and a case
that arrives in a central mailbox (Kontaktcenter) goes to the unit that has the area — its
head and its function mailbox — while the acknowledgement is drafted where the citizen wrote.
The compilation groups by area."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from postvakt.areas import AreaFinding, area_words, find_area
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import Config, load_config
from postvakt.errors import ConfigError
from postvakt.mailbox.maildir import deliver
from postvakt.registry.models import Case, CaseStatus, Disposition, EventKind, MessageRecord
from postvakt.registry.report import annual_report
from postvakt.service import Service
from tests.support.workspace import Workspace, citizen_mail

UNITS = """
[[units]]
name = "Förskolan"
head = "forskolechef@testby.se"
parent = "Kommunledningen"
areas = ["Förskola", "pedagogisk omsorg"]

[[units]]
name = "Skolan"
head = "rektor@testby.se"
parent = "Kommunledningen"
areas = ["skola", "skolskjuts"]

[[people]]
name = "Per Lund"
address = "per@testby.se"
unit = "Förskolan"
title = "Förskolesamordnare"

[[mailboxes]]
address = "forskola@testby.se"
start_from = 2026-01-01  # the tests' mail is older than their clock
name = "Förskolan"
kind = "function"
unit = "Förskolan"
owners = ["per@testby.se"]
connector = "maildir"

[mailboxes.maildir]
path = "mail/forskola"
"""

FORM = (
    "Ärendetyp: Klagomål\n{field}: {value}\nNamn: Karin Ek\nE-post: karin.ek@example.net\n"
    "Telefon:\nMeddelande: Jag vill klaga på att ingen sa till när avdelningen stängde tidigt "
    "i fredags. Vi fick hämta vår son med tio minuters varsel och det är inte acceptabelt.\n"
)
GATEWAY = "E-tjänster Testby <noreply@e-tjanst.testby.se>"


def at(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=STOCKHOLM)


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def with_areas(ws: Workspace, extra: str = "") -> Workspace:
    for sub in ("cur", "new", "tmp"):
        (ws.root / "mail" / "forskola" / sub).mkdir(parents=True, exist_ok=True)
    text = ws.config_path.read_text().replace(
        'registrar = "registrator@testby.se"',
        'registrar = "registrator@testby.se"\nregistrar_notice = "none"',
    )
    ws.config_path.write_text(text + extra + UNITS)
    with service_at(ws, at(2026, 11, 23, 8)) as service:  # watched from Monday morning
        service.run_once()
    return ws


def one_case(ws: Workspace, raw: bytes, who: str = "kontakt") -> Case:
    """The message arrives on Monday 23 November 2026 at 10:00 and is read at once."""
    received = at(2026, 11, 23, 10)
    ws.deliver(raw, who, when=received)
    with service_at(ws, at(2026, 11, 23, 10)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.case is not None, outcome
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            for loaded in (case.events, case.unit, case.mailbox):
                assert loaded is not None
            return case


def form(value: str, field: str = "Verksamhet") -> bytes:
    return citizen_mail(
        FORM.format(field=field, value=value),
        subject="Synpunkter och klagomål – webbformulär",
        sender=GATEWAY,
        date=at(2026, 11, 23, 9, 30),
        message_id="<form1@e-tjanst.testby.se>",
    )


# ------------------------------------------------------------------------------ routing


def test_a_web_form_to_kontaktcenter_goes_to_the_unit_of_its_verksamhet(
    workspace: Workspace,
) -> None:
    ws = with_areas(workspace)
    case = one_case(ws, form("Förskola"))
    assert case.service_area == "förskola"
    assert case.unit is not None and case.unit.name == "Förskolan"
    assert case.handler == "forskolechef@testby.se"  # the unit head, as Servicecenter routes
    assert case.mailbox is not None and case.mailbox.address == "forskola@testby.se"
    assert 'verksamhetsområde förskola: webbformulärets fält Verksamhet ("Förskola")' in (
        case.classifier_reasons
    )
    (routed,) = [e for e in case.events if e.kind is EventKind.ASSIGNED]
    assert routed.actor == "postvakt"
    assert "Kom in till kontakt@testby.se; lämnat till Förskolan" in routed.detail
    assert "handläggare forskolechef@testby.se, brevlåda forskola@testby.se" in routed.detail
    # The citizen wrote to Kontaktcenter: the acknowledgement is drafted there.
    (draft,) = ws.drafts("kontakt")
    assert ws.drafts("forskola") == []
    msg = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "Karin Ek <karin.ek@example.net>"
    assert msg["From"].endswith("<kontakt@testby.se>")


def test_the_area_is_inferred_from_the_text_and_the_reason_says_which_words(
    workspace: Workspace,
) -> None:
    ws = with_areas(workspace)
    raw = citizen_mail(
        "Hej!\n\nJag vill klaga på förskolan Solrosen. Förskolan har stängt tre dagar i rad "
        "utan att säga till, och vi föräldrar får inget besked.\n\nKarin Ek\n",
        subject="Klagomål",
        date=at(2026, 11, 23, 9, 30),
    )
    case = one_case(ws, raw)
    assert case.service_area == "förskola"
    assert "verksamhetsområde förskola: orden förskolan (2) i texten" in case.classifier_reasons
    assert case.unit is not None and case.unit.name == "Förskolan"


def test_configured_field_names_are_read_and_others_are_not(workspace: Workspace) -> None:
    ws = with_areas(workspace)
    text = ws.config_path.read_text().replace(
        'web_form_senders = ["noreply@e-tjanst.testby.se"]',
        'web_form_senders = ["noreply@e-tjanst.testby.se"]\nweb_form_fields = ["Enhet"]',
    )
    ws.config_path.write_text(text)
    case = one_case(ws, form("Skola", field="Enhet"))
    assert case.service_area == "skola" and case.handler == "rektor@testby.se"
    assert case.mailbox is not None and case.mailbox.address == "kontakt@testby.se"  # no own
    assert 'webbformulärets fält Enhet ("Skola")' in case.classifier_reasons[-1]


def test_verksamhet_is_not_a_field_when_not_configured(workspace: Workspace) -> None:
    ws = with_areas(workspace)
    text = ws.config_path.read_text().replace(
        'web_form_senders = ["noreply@e-tjanst.testby.se"]',
        'web_form_senders = ["noreply@e-tjanst.testby.se"]\nweb_form_fields = ["Enhet"]',
    )
    ws.config_path.write_text(text)
    case = one_case(ws, form("Skola"))  # "Verksamhet: Skola", and nothing in the text
    assert case.service_area is None
    assert case.unit is not None and case.unit.name == "Kontaktcenter"


def test_mail_to_the_units_own_mailbox_stays_there(workspace: Workspace) -> None:
    ws = with_areas(workspace)
    raw = citizen_mail(
        "Jag vill klaga på att ingen svarar i telefon på avdelningen Blåsippan.\n\nKarin Ek\n",
        to="forskola@testby.se",
        date=at(2026, 11, 23, 9, 30),
    )
    case = one_case(ws, raw, "forskola")
    # Two areas, none in the text: the unit's own mailbox gives no single area.
    assert case.service_area is None
    assert case.unit is not None and case.unit.name == "Förskolan"
    assert case.handler == "per@testby.se"  # the mailbox's first owner, as always
    assert not [e for e in case.events if e.kind is EventKind.ASSIGNED]
    assert len(ws.drafts("forskola")) == 1


def test_a_personal_mailbox_keeps_its_case(workspace: Workspace) -> None:
    ws = with_areas(workspace)
    raw = citizen_mail(
        "Jag vill klaga på skolskjutsen: bussen kom inte i morse och barnen stod i kylan.\n",
        to="anna@testby.se",
        date=at(2026, 11, 23, 9, 30),
    )
    case = one_case(ws, raw, "anna")
    assert case.service_area == "skolskjuts"  # counted under its area in the compilation
    assert case.handler == "anna@testby.se"  # but Anna got it, Anna handles it
    assert case.unit is not None and case.unit.name == "Kontaktcenter"


def test_an_area_no_unit_has_is_kept_as_the_form_wrote_it(workspace: Workspace) -> None:
    ws = with_areas(workspace)
    case = one_case(ws, form("Kultur och fritid"))
    assert case.service_area == "kultur och fritid"
    assert case.unit is not None and case.unit.name == "Kontaktcenter"
    assert case.handler == "anna@testby.se"
    assert "ingen enhet har det området" in case.classifier_reasons[-1]


def test_the_routed_unit_answers_from_its_own_mailbox_and_the_compilation_groups_by_area(
    workspace: Workspace,
) -> None:
    ws = with_areas(workspace)
    case = one_case(ws, form("Förskola"))
    assert case.status is CaseStatus.REGISTERED
    # Per answers the citizen from forskola@, in the thread of the form.
    answer = EmailMessage()
    answer["From"] = "Förskolan <forskola@testby.se>"
    answer["To"] = "karin.ek@example.net"
    answer["Subject"] = "SV: Synpunkter och klagomål – webbformulär"
    answer["Date"] = email.utils.format_datetime(at(2026, 11, 24, 11))
    answer["In-Reply-To"] = "<form1@e-tjanst.testby.se>"
    answer.set_content("Hej Karin! Vi ber om ursäkt; från och med nu ringer vi alltid.")
    deliver(ws.maildir("forskola") / ".Sent", answer.as_bytes(), name="svar")
    with service_at(ws, at(2026, 11, 24, 12)) as service:
        (outcome,) = [o for o in service.run_once().outcomes if o.key == "svar"]
        assert outcome.disposition.value == "sent"
        assert service.sessions is not None
        with service.sessions() as session:
            answered = session.scalars(select(Case)).one()
            assert answered.status is CaseStatus.ANSWERED
            report = annual_report(session, 2026, date(2027, 2, 15))
    # Karin writes again, in the thread, to the mailbox she first wrote to; Per answers her
    # from forskola@ in the same thread: her new message is answered, wherever it came in.
    thread = {"In-Reply-To": "<form1@e-tjanst.testby.se>"}
    again = citizen_mail(
        "Tack! En sak till: gäller det också på fritids?\n\nKarin",
        subject=answer["Subject"],
        date=at(2026, 11, 25, 9),
        message_id="<again@example.net>",
        headers=thread,
    )
    ws.deliver(again, when=at(2026, 11, 25, 9))
    second = citizen_mail(
        "Ja, det gäller fritids också.",
        subject=answer["Subject"],
        sender=answer["From"],
        to=answer["To"],
        date=at(2026, 11, 25, 11),
        headers=thread,
    )
    deliver(ws.maildir("forskola") / ".Sent", second, name="svar-2")
    with service_at(ws, at(2026, 11, 25, 12)) as service:
        assert service.run_once().errors == []
        assert service.sessions is not None
        with service.sessions() as session:
            later = session.scalars(
                select(MessageRecord).where(MessageRecord.message_id == "again@example.net")
            ).one()
            assert later.disposition is Disposition.FOLLOWUP and later.case_id == answered.id
            assert later.answered_at == at(2026, 11, 25, 11)
    by_unit = {u.unit: u for u in report.units}
    assert dict(by_unit["Förskolan"].by_area) == {"förskola": {"klagomål": 1}}
    assert [r.area for r in by_unit["Förskolan"].rows] == ["förskola"]
    assert by_unit["Kontaktcenter"].rows == []


def test_a_case_registered_by_hand_gets_its_area_from_the_summary(workspace: Workspace) -> None:
    ws = with_areas(workspace)
    with service_at(ws, at(2026, 11, 23, 11)) as service:
        assert service.casework is not None
        for unit, summary in (
            ("Skolan", "Ringde om skolskjutsen: bussen kom inte i morse."),
            ("Förskolan", "Ingen svarar i telefon på avdelningen."),  # two areas, no words
        ):
            service.casework.add(kind="complaint", channel="phone", summary=summary,
                                 unit=unit, actor="anna@testby.se", contact="070-123 45 67")  # fmt: skip
        assert service.sessions is not None
        with service.sessions() as session:
            areas = {c.unit.name: c.service_area for c in session.scalars(select(Case))}
            report = annual_report(session, 2026, date(2027, 2, 15))
    assert areas == {"Skolan": "skolskjuts", "Förskolan": None}
    by_unit = {u.unit: u for u in report.units}
    assert dict(by_unit["Skolan"].by_area) == {"skolskjuts": {"klagomål": 1}}
    assert dict(by_unit["Förskolan"].by_area) == {"övrigt": {"klagomål": 1}}


# ------------------------------------------------------------------------------ the config


def test_an_area_belongs_to_one_unit(workspace: Workspace) -> None:
    text = workspace.config_path.read_text() + UNITS.replace(
        'areas = ["skola", "skolskjuts"]', 'areas = ["skola", "förskola"]'
    )
    workspace.config_path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(workspace.config_path)
    message = str(info.value)
    assert "units[3].areas[1]" in message
    assert "hör redan till enheten 'Förskolan'" in message


@pytest.mark.parametrize(
    ("table", "line", "key"),
    [
        ('[[units]]\nname = "X"\nhead = "x@testby.se"\n', 'areas = [""]', "units[2].areas"),
        ("[organisation]\n", 'web_form_fields = ["Verksamhet:", ""]', "web_form_fields"),
    ],
)
def test_bad_area_settings_are_named(workspace: Workspace, table: str, line: str, key: str) -> None:
    text = workspace.config_path.read_text()
    text = text.replace(table, table + line + "\n", 1) if table in text else text + table + line
    workspace.config_path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(workspace.config_path)
    assert key in str(info.value)


# ------------------------------------------------------------------------------ the rule itself


def config_with_units(ws: Workspace) -> Config:
    ws.config_path.write_text(ws.config_path.read_text() + UNITS)
    for sub in ("cur", "new", "tmp"):
        (ws.root / "mail" / "forskola" / sub).mkdir(parents=True, exist_ok=True)
    return load_config(ws.config_path)


@pytest.mark.parametrize(
    ("form_text", "text", "expected"),
    [
        # The form's words: exact, a word of it, a compound ending in the area.
        ("Verksamhet: Förskola\nMeddelande: x", "", ("förskola", "Förskolan")),
        ("Område: Grundskola\nMeddelande: x", "", ("skola", "Skolan")),
        ("Service: Skolskjuts och resor\nMessage: x", "", ("skolskjuts", "Skolan")),
        ("Verksamhet: Pedagogisk omsorg\nMeddelande: x", "", ("pedagogisk omsorg", "Förskolan")),
        # The text: the longest area word a word holds decides it.
        ("", "Förskolans gård är lerig.", ("förskola", "Förskolan")),
        ("", "Skolgården är lerig och skolan svarar inte.", ("skola", "Skolan")),
        ("", "Min son går i grundskolan.", ("skola", "Skolan")),
        ("", "Skolbussen? Nej, skolskjutsen kom inte, skolskjutsen igen!", ("skolskjuts", "Skolan")),
        # As many words for two areas: nobody guesses.
        ("", "Förskolan och skolan ligger bredvid varandra.", None),
        ("", "Snön på Björkvägen är inte plogad.", None),
    ],
)  # fmt: skip
def test_find_area(
    workspace: Workspace, form_text: str, text: str, expected: tuple[str, str] | None
) -> None:
    config = config_with_units(workspace)
    found = find_area(config, form_text=form_text, text=text, own_unit="Kontaktcenter")
    assert (None if found is None else (found.area, found.unit)) == expected


def test_the_only_area_of_the_receiving_unit(workspace: Workspace) -> None:
    config = config_with_units(workspace)
    one = config.model_copy(
        update={
            "units": tuple(
                u.model_copy(update={"areas": ("förskola",)}) if u.name == "Förskolan" else u
                for u in config.units
            )
        }
    )
    assert find_area(one, form_text="", text="Ingen svarar.", own_unit="Förskolan") == (
        AreaFinding(
            "förskola", "Förskolan", "verksamhetsområde förskola: enhetens område (Förskolan)"
        )
    )
    assert find_area(config, form_text="", text="Ingen svarar.", own_unit="Förskolan") is None


def test_area_words() -> None:
    assert area_words("Förskola") == ("förskol",)
    assert area_words("gator och belysning") == ("gator", "belysning")
    assert area_words("LSS") == ("lss",)


def test_a_person_corrects_the_area_and_the_case_goes_to_the_unit_that_has_it(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """The area is the machine's guess: the head who got the case says it is the school's."""
    from postvakt.cli import main

    ws = with_areas(workspace)
    one_case(ws, form("Förskola"))
    argv = ["--config", str(ws.config_path), "cases", "area", "KS 2026/1"]
    later = fixed_clock(at(2026, 11, 23, 11))
    assert main([*argv, "--area", " Skola ", "--by", "forskolechef@testby.se"], clock=later) == 0
    assert "verksamhetsområde skola, nu hos Skolan (handläggare rektor@testby.se)" in (
        capsys.readouterr().out
    )
    with service_at(ws, at(2026, 11, 23, 12)) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.service_area == "skola" and case.unit is not None
            assert (case.unit.name, case.handler) == ("Skolan", "rektor@testby.se")
            moved = [e for e in case.events if e.kind is EventKind.ASSIGNED][-1]
            assert moved.actor == "forskolechef@testby.se"
            assert "från förskola till skola; ärendet lämnat till Skolan" in moved.detail
    # The same again is said, not done twice; someone without rights is refused in Swedish.
    assert main([*argv, "--area", "skola", "--by", "rektor@testby.se"], clock=later) == 2
    assert "har redan verksamhetsområdet skola" in capsys.readouterr().err
    assert main([*argv, "--area", "förskola", "--by", "anna@testby.se"], clock=later) == 2
    refused = capsys.readouterr().err
    assert "får inte" in refused or "behörighet" in refused, refused
    assert main(["--config", str(ws.config_path), "cases", "show", "KS 2026/1"]) == 0
    shown = capsys.readouterr().out
    assert "Område:       skola" in shown
    assert "Ny handläggare: forskolechef@testby.se: forskolechef@testby.se ändrade" in shown
    assert "assigned" not in shown  # the events in Swedish, as on the case page
