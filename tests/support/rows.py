"""Rows read back from a service's database in tests of what corrections and the intake did."""

from __future__ import annotations

from sqlalchemy import select

from postvakt.registry.models import Case, MessageRecord
from postvakt.service import Service

__all__ = ["case_id", "cases_by_reference", "records_of"]


def cases_by_reference(service: Service) -> dict[str, str | None]:
    """Every case's reference with the Message-ID of its own message."""
    assert service.sessions is not None
    with service.sessions() as session:
        return {c.reference: c.message_id for c in session.scalars(select(Case))}


def case_id(service: Service, reference: str) -> int:
    assert service.sessions is not None
    with service.sessions() as session:
        return session.scalars(select(Case.id).where(Case.reference == reference)).one()


def records_of(service: Service, message_id: str) -> list[MessageRecord]:
    """Every record of the e-mail, in the order they were written (detached from the session)."""
    assert service.sessions is not None
    with service.sessions() as session:
        found = list(
            session.scalars(
                select(MessageRecord)
                .where(MessageRecord.message_id == message_id)
                .order_by(MessageRecord.id)
            )
        )
        session.expunge_all()
        return found
