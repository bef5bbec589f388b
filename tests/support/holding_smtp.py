"""The real aiosmtpd server of :mod:`tests.support.smtp`, which can hold a mail at DATA (so
that the client process can be stopped while its mail is on the way), refuse one after a
hook ran (so that something can happen while the mail is on the way), or keep a mail and
lose the reply (so that the client thinks it was refused)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from tests.support.smtp import SmtpServer

__all__ = ["HoldingSmtp"]


class HoldingSmtp(SmtpServer):
    hold_next: bool = False
    """Hold the next mail at DATA until :attr:`release` is set, then refuse it."""
    arrived: threading.Event
    """Set when the held mail is at DATA."""
    release: threading.Event
    refuse_for: str | None = None
    """Refuse the next mail to this address (451), after :attr:`hook` ran."""
    hook: Callable[[], None] | None = None
    lose_next: bool = False
    """Keep the next mail, then break the connection before the 250 reaches the client."""

    @classmethod
    def start(cls) -> HoldingSmtp:  # type: ignore[override]
        server = super().start()
        assert isinstance(server, HoldingSmtp)
        server.arrived, server.release = threading.Event(), threading.Event()
        return server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold_next:
            self.hold_next = False
            self.arrived.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 the client went away"
        if self.refuse_for and self.refuse_for in envelope.rcpt_tos:
            self.refuse_for = None
            if self.hook is not None:
                self.hook()
            return "451 4.3.0 try again later"
        reply = await super().handle_DATA(server, session, envelope)
        if self.lose_next:
            self.lose_next = False
            server.transport.close()
        return reply
