"""``one_of`` (registry/one_of.py): the rows ``IN`` would find, on both databases, with one
array parameter on PostgreSQL whatever the count of values."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event, select

from postvakt.clock import STOCKHOLM
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.models import Disposition, Mailbox, MessageRecord
from postvakt.registry.one_of import one_of

WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=STOCKHOLM)


def test_one_of_finds_what_in_finds_with_one_parameter_on_postgresql(db_url: str) -> None:
    engine = open_database(db_url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        box = Mailbox(
            address="ko@exempel.se", name="Kontaktcenter", kind="function", connector="imap"
        )
        session.add(box)
        session.flush()
        for n in range(150):
            session.add(
                MessageRecord(
                    mailbox_id=box.id,
                    folder="INBOX",
                    message_key=str(n),
                    message_id=f"<m{n}@exempel.se>",
                    received_at=WHEN,
                    processed_at=WHEN,
                    disposition=Disposition.NOT_CASE,
                )
            )
    statements: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def seen(_conn, _cursor, statement, params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        statements.append((statement, params))

    wanted = [f"<m{n}@exempel.se>" for n in range(0, 150, 2)] + ["<okänd@exempel.se>", "'; --"]
    with sessions() as session:
        for values in (wanted, wanted[:3], [], iter(wanted[:1])):
            listed = list(values) if not isinstance(values, list) else values
            found = set(
                session.scalars(
                    select(MessageRecord.message_id).where(
                        one_of(session, MessageRecord.message_id, iter(listed))
                    )
                )
            )
            expected = set(
                session.scalars(
                    select(MessageRecord.message_id).where(MessageRecord.message_id.in_(listed))
                )
            )
            assert found == expected == {v for v in listed if v.startswith("<m")}
    ours = [(s, p) for s, p in statements if "ANY" in s or " IN " in s]
    if engine.dialect.name == "postgresql":
        anys = [(s, p) for s, p in ours if "ANY" in s]
        assert len(anys) == 4  # every round one statement with one array parameter
        assert all(len(p) == 1 and isinstance(next(iter(p.values())), list) for _s, p in anys)
        assert len({s for s, _p in anys}) == 1  # one text, whatever the count
    else:
        assert not [s for s, _p in ours if "ANY" in s]
