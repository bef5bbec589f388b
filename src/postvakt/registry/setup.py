"""Bring the database's units, people and mailboxes in line with the config."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from postvakt.config import Config
from postvakt.registry.models import Mailbox, MailboxOwner, Person, Unit

__all__ = ["sync_organisation"]

ORGANISATION_LOCK = int.from_bytes(b"pv-setup", "big")
"""PostgreSQL advisory lock key held by the transaction that syncs the organisation."""


def sync_organisation(session: Session, config: Config) -> None:
    """Insert or update every unit, person and mailbox in ``config``.

    Mailboxes no longer in the config are marked inactive, never deleted: their messages
    and cases keep pointing at them.

    Call inside a transaction.  Two processes starting at once take turns: on PostgreSQL
    the transaction first takes an advisory lock (released at commit), so the second reads
    what the first inserted instead of inserting it again; SQLite's ``BEGIN IMMEDIATE``
    already holds the database's write lock for the whole transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ORGANISATION_LOCK})
    units = {u.name: u for u in session.scalars(select(Unit))}
    for cfg in config.units:
        unit = units.get(cfg.name) or Unit(name=cfg.name, head=cfg.head)
        unit.head = cfg.head
        session.add(unit)
        units[cfg.name] = unit
    session.flush()
    for cfg in config.units:
        units[cfg.name].parent = units[cfg.parent] if cfg.parent else None

    people = {p.address: p for p in session.scalars(select(Person))}
    for pcfg in config.people:
        person = people.get(pcfg.address) or Person(address=pcfg.address, name=pcfg.name)
        person.name, person.phone, person.title = pcfg.name, pcfg.phone, pcfg.title
        person.unit = units.get(pcfg.unit) if pcfg.unit else None
        session.add(person)

    mailboxes = {m.address: m for m in session.scalars(select(Mailbox))}
    configured = set()
    for mcfg in config.mailboxes:
        configured.add(mcfg.address)
        mailbox = mailboxes.get(mcfg.address) or Mailbox(address=mcfg.address)
        mailbox.name, mailbox.kind, mailbox.connector = mcfg.name, mcfg.kind, mcfg.connector
        mailbox.unit = units.get(mcfg.unit)
        mailbox.active = True
        wanted = list(mcfg.owners)
        if [o.address for o in mailbox.owners] != wanted:
            mailbox.owners.clear()
            session.flush()
            mailbox.owners.extend(
                MailboxOwner(address=address, position=i) for i, address in enumerate(wanted)
            )
        session.add(mailbox)
    for address, mailbox in mailboxes.items():
        if address not in configured:
            mailbox.active = False
    session.flush()
