"""Five hundred cases, made fast straight into the registry's tables: every unit and mailbox of
the web tests' municipality, both kinds, every status, deadlines passed and not, answers in
time and late, reopened cases, anonymous and private ones.  Seeded, so a run is repeatable;
no test hard-codes what it yields — each compares counts made different ways."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select

from postvakt.clock import STOCKHOLM
from postvakt.registry.models import Case, CaseEvent, CaseKind, CaseStatus, EventKind, Mailbox, Unit
from tests.web.support import NOW, ctx_of

STATUSES = (
    (CaseStatus.REGISTERED, 20),
    (CaseStatus.ACKNOWLEDGED, 15),
    (CaseStatus.ANSWERED, 15),
    (CaseStatus.WAITING, 5),
    (CaseStatus.REOPENED, 5),
    (CaseStatus.CLOSED, 30),
    (CaseStatus.FORWARDED, 5),
    (CaseStatus.WITHDRAWN, 5),
)
HANDLERS = ("anna@testby.se", "cecilia@testby.se", "bo@testby.se", "chef@testby.se", None)


def seed_cases(app: FastAPI, n: int = 500, seed: int = 19) -> None:
    rng = random.Random(seed)
    ctx = ctx_of(app)
    statuses, weights = zip(*STATUSES, strict=True)
    with ctx.sessions() as session, session.begin():
        units = list(session.scalars(select(Unit).order_by(Unit.name)))
        mailboxes = {m.address: m for m in session.scalars(select(Mailbox))}
        for seq in range(1, n + 1):
            status = rng.choices(statuses, weights)[0]
            kind = rng.choice((CaseKind.COMPLAINT, CaseKind.OPINION))
            received = NOW - timedelta(days=rng.randint(0, 150), minutes=rng.randint(0, 600))
            day = received.astimezone(STOCKHOLM).date()
            unit = rng.choice([*units, None])
            address = rng.choice(["kontakt@testby.se", "bygglov@testby.se", None])
            answer_due = day + timedelta(days=rng.randint(5, 20)) if rng.random() > 0.05 else None
            anonymous = rng.random() < 0.05
            number = f"KS {received.year}/{seq}"
            case = Case(
                reference=number,
                number=number,
                year=received.year,
                seq=seq,
                kind=kind,
                status=status,
                heading=f"Synpunkter och klagomål – Ärende {seq}",
                summary=f"Ärende nummer {seq}",
                unit=unit,
                mailbox=mailboxes.get(address) if address else None,
                handler=rng.choice(HANDLERS),
                sender_address=None if anonymous else f"person{seq}@example.net",
                anonymous=anonymous,
                private=rng.random() < 0.05,
                service_area=rng.choice(["skola", "gata", None]),
                received_at=received,
                registered_at=received,
                ack_due=day + timedelta(days=2) if kind is CaseKind.COMPLAINT else None,
                answer_due=answer_due,
                classifier_reasons=[],
            )
            session.add(case)
            events: list[tuple[EventKind, datetime]] = []
            answered_states = (CaseStatus.ANSWERED, CaseStatus.CLOSED, CaseStatus.REOPENED)
            if status in answered_states and rng.random() < 0.9:
                after = received + timedelta(days=rng.randint(0, 25))
                events.append((EventKind.ANSWERED, after))
                if status is CaseStatus.REOPENED:
                    events.append((EventKind.REOPENED, after + timedelta(days=1)))
                    if rng.random() < 0.3:
                        events.append((EventKind.ANSWERED, after + timedelta(days=3)))
            for kind_, at in events:
                at = min(at, NOW - timedelta(minutes=1))
                session.add(CaseEvent(case=case, at=at, kind=kind_, actor="anna@testby.se"))
            if status is CaseStatus.REOPENED:  # a new review gets a new deadline
                case.answer_due = (NOW + timedelta(days=rng.randint(-10, 10))).date()
