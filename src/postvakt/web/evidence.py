"""Was a mailbox opened today: the daily-open check's record, else the mail system's
evidence now, judged by the same rule (:func:`postvakt.rules.daily_open.judge`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.config import MailboxConfig
from postvakt.mailbox import open_connector
from postvakt.mailbox.base import SupportsOpenedEvidence
from postvakt.registry.messages import load_state
from postvakt.registry.models import DailyCheck, Mailbox
from postvakt.rules.daily_open import judge
from postvakt.web.context import WebContext

__all__ = ["Opened", "opened_today"]

log = logging.getLogger("postvakt.web")

CACHE = timedelta(minutes=2)
"""Asking an IMAP or Exchange server on every page view would be slow and rude."""


@dataclass(frozen=True)
class Opened:
    opened: bool | None
    """None: no evidence either way (or the mailbox is not checked)."""
    words: str
    checked: bool
    """Whether the daily-open rule applies to this mailbox."""


def _live(ctx: WebContext, session: Session, mailbox: MailboxConfig, mailbox_id: int) -> Opened:
    now = ctx.now()
    cached = ctx.evidence_cache.get(mailbox.address)
    if cached is not None and now - cached[0] < CACHE and cached[0].date() == now.date():
        return Opened(*cached[1], checked=True)
    try:
        connector = open_connector(mailbox, ctx.config, ctx.environ)
        if hasattr(connector, "clock"):  # day boundaries follow the dashboard's clock
            connector.clock = ctx.clock
        if not isinstance(connector, SupportsOpenedEvidence):
            result: tuple[bool | None, str] = (None, "e-postsystemet ger inga uppgifter om läsning")
        else:
            folder = connector.folders("inbox")[0]
            evidence = connector.opened_evidence(folder, load_state(session, mailbox_id, folder))
            result = judge(evidence, datetime.combine(now.date(), datetime.min.time(), now.tzinfo))
        connector.close()
    except Exception as exc:  # a server that is down gives no evidence; the page still shows
        log.warning("opened evidence for a mailbox: %s", type(exc).__name__)
        result = (None, "e-postsystemet svarade inte")
    ctx.evidence_cache[mailbox.address] = (now, result)
    return Opened(*result, checked=True)


def opened_today(ctx: WebContext, session: Session, mailbox: MailboxConfig) -> Opened:
    if not ctx.config.daily_open_checked(mailbox):
        return Opened(None, "kontrolleras inte", checked=False)
    row = session.scalars(select(Mailbox).where(Mailbox.address == mailbox.address)).one_or_none()
    if row is None:
        return Opened(None, "inte läst av Postvakt än", checked=True)
    check = session.scalars(
        select(DailyCheck).where(DailyCheck.mailbox_id == row.id, DailyCheck.day == ctx.today())
    ).one_or_none()
    if check is not None:
        return Opened(check.opened, check.evidence, checked=True)
    return _live(ctx, session, mailbox, row.id)
