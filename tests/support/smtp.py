"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

from __future__ import annotations

import email
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_content()


@dataclass
class SmtpServer:
    port: int
    host: str = "127.0.0.1"
    received: list[Received] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    @classmethod
    def start(cls) -> SmtpServer:
        server = cls(port=free_port())
        server.controller = Controller(server, hostname=server.host, port=server.port)
        server.controller.start()
        return server

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]

    def config(self) -> str:
        return (
            f'\n[smtp]\nhost = "{self.host}"\nport = {self.port}\nsecurity = "none"\n'
            'from_address = "postvakt@testby.se"\n'
        )
