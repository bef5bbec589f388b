"""Out-of-office replies as a Sieve vacation script, over ManageSieve (RFC 5804).

Only one Sieve script is active at a time, and the person's own rules (sorting into folders,
forwarding) must keep working.  So Postvakt activates a small script of its own that holds
the dated vacation and then ``include``s the script that was active before; clearing the
reply re-activates that script and removes Postvakt's.  The script's first line records,
as JSON in a comment, what Postvakt set and which script it wraps.

No ``sievelib`` or ``socket`` exception leaves this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date

from sievelib.managesieve import Client, Error

from postvakt.errors import AuthenticationError, ProtocolError, UnavailableError
from postvakt.mailbox.base import OutOfOffice

__all__ = ["SCRIPT_NAME", "SieveVacation", "vacation_script"]

SCRIPT_NAME = "postvakt-franvaro"
_MARKER = "# postvakt "


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _multiline(text: str) -> str:
    """A Sieve multi-line string (RFC 5228 2.4.2): lines starting with a dot are doubled."""
    lines = [
        ("." + line if line.startswith(".") else line)
        for line in text.replace("\r\n", "\n").split("\n")
    ]
    return "text:\n" + "\n".join(lines) + "\n.\n"


def vacation_script(reply: OutOfOffice, addresses: Sequence[str], wrapped: str | None) -> str:
    """The script Postvakt activates: the dated vacation, then the person's own rules.

    With ``reply.private_folder``, mail marked private (``Sensitivity: Private``, or the
    organisation's marker in the subject) that arrives in the period is filed there, where
    the delegate has no rights, and the person's own rules do not move it on.
    """
    meta = {
        "start": reply.start.isoformat(),
        "end": reply.end.isoformat() if reply.end else None,
        "subject": reply.subject,
        "wraps": wrapped,
        "private_folder": reply.private_folder,
    }
    conditions = [f'currentdate :value "ge" "date" {_quoted(reply.start.isoformat())}']
    if reply.end is not None:
        conditions.append(f'currentdate :value "le" "date" {_quoted(reply.end.isoformat())}')
    needs = ["vacation", "date", "relational"]
    if reply.private_folder:
        needs += ["fileinto", "mailbox"]
    if wrapped:
        needs.append("include")
    lines = [
        _MARKER + json.dumps(meta, ensure_ascii=False),
        f"require [{', '.join(_quoted(n) for n in needs)}];",
        f"if allof({', '.join(conditions)}) {{",
        f"    vacation :days 1 :subject {_quoted(reply.subject)}"
        f" :addresses [{', '.join(_quoted(a) for a in addresses)}] {_multiline(reply.text)};",
        "}",
    ]
    if reply.private_folder:
        private = ['header :is "Sensitivity" "Private"']
        if reply.private_marker:
            private.append(f'header :contains "Subject" {_quoted(reply.private_marker)}')
        lines += [
            f"if allof({', '.join(conditions)}, anyof({', '.join(private)})) {{",
            f"    fileinto :create {_quoted(reply.private_folder)};",
            "    stop;",
            "}",
        ]
    if wrapped:
        lines.append(f"include :personal {_quoted(wrapped)};")
    return "\n".join(lines) + "\n"


def _meta(script: str) -> dict[str, object] | None:
    first = script.split("\n", 1)[0]
    if not first.startswith(_MARKER):
        return None
    try:
        value = json.loads(first[len(_MARKER) :])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


_CURRENTDATE = re.compile(r'currentdate\s+:value\s+"(ge|le)"\s+"date"\s+"(\d{4}-\d{2}-\d{2})"')
_SUBJECT = re.compile(r':subject\s+"((?:[^"\\]|\\.)*)"')


class SieveVacation:
    """ManageSieve access to one person's scripts (directly, or as the master user)."""

    def __init__(
        self,
        host: str,
        port: int,
        login: str,
        password: str,
        *,
        authz_id: str = "",
        starttls: bool = True,
        mailbox: str,
        addresses: Sequence[str],
    ):
        self.host, self.port = host, port
        self._login, self._password, self._authz_id = login, password, authz_id
        self._starttls = starttls
        self.mailbox = mailbox
        self.addresses = tuple(addresses)

    @contextmanager
    def _session(self, action: str) -> Iterator[Client]:
        client = Client(self.host, self.port)
        where = f"{self.host}:{self.port}"
        try:
            try:
                ok = client.connect(
                    self._login,
                    self._password,
                    authz_id=self._authz_id,
                    starttls=self._starttls,
                    authmech="PLAIN",
                )
            except (OSError, Error) as exc:
                raise UnavailableError(
                    f"kan inte nå ManageSieve på {where} för att {action} ({exc}). "
                    "Kontrollera sieve_port och att tjänsten är igång.",
                    mailbox=self.mailbox,
                ) from exc
            if not ok:
                raise AuthenticationError(
                    f"ManageSieve på {where} nekade inloggningen. Kontrollera "
                    "användarnamn och lösenord.",
                    mailbox=self.mailbox,
                )
            yield client
        except (TimeoutError, OSError) as exc:
            raise UnavailableError(
                f"förbindelsen med {where} bröts ({exc})", mailbox=self.mailbox
            ) from exc
        finally:
            with suppress(OSError, Error, AttributeError):  # never connected, or already gone
                client.logout()

    def _check(self, ok: bool, client: Client, what: str) -> None:
        if not ok:
            raise ProtocolError(
                f"ManageSieve vägrade att {what}: {client.errmsg.decode() if isinstance(client.errmsg, bytes) else client.errmsg}",
                mailbox=self.mailbox,
            )

    def set_out_of_office(self, reply: OutOfOffice) -> None:
        with self._session("sätta frånvaromeddelandet") as client:
            active, _others = client.listscripts()
            wrapped: str | None = active or None
            if active == SCRIPT_NAME:  # already ours: keep wrapping what we wrapped before
                meta = _meta(client.getscript(SCRIPT_NAME)) or {}
                wrapped = meta.get("wraps") if isinstance(meta.get("wraps"), str) else None
            script = vacation_script(reply, self.addresses, wrapped)
            self._check(client.putscript(SCRIPT_NAME, script), client, "spara frånvaroskriptet")
            self._check(client.setactive(SCRIPT_NAME), client, "aktivera frånvaroskriptet")

    def clear_out_of_office(self) -> None:
        with self._session("ta bort frånvaromeddelandet") as client:
            active, others = client.listscripts()
            if SCRIPT_NAME not in [active, *others]:
                return
            meta = _meta(client.getscript(SCRIPT_NAME)) or {}
            wrapped = meta.get("wraps")
            if active == SCRIPT_NAME:
                restore = wrapped if isinstance(wrapped, str) and wrapped in others else ""
                self._check(client.setactive(restore), client, "återställa det tidigare skriptet")
            self._check(client.deletescript(SCRIPT_NAME), client, "ta bort frånvaroskriptet")

    def out_of_office(self) -> OutOfOffice | None:
        """The reply in force: Postvakt's own, or a vacation in the person's active script."""
        with self._session("läsa frånvaromeddelandet") as client:
            active, _others = client.listscripts()
            if not active:
                return None
            script = client.getscript(active)
        meta = _meta(script)
        if meta is not None:
            return OutOfOffice(
                start=date.fromisoformat(str(meta["start"])),
                end=date.fromisoformat(str(meta["end"])) if meta.get("end") else None,
                subject=str(meta.get("subject") or ""),
                text=_vacation_text(script),
            )
        if "vacation" not in script:
            return None
        bounds = dict((kind, value) for kind, value in _CURRENTDATE.findall(script))
        subject = _SUBJECT.search(script)
        return OutOfOffice(
            start=date.fromisoformat(bounds["ge"]) if "ge" in bounds else date.min,
            end=date.fromisoformat(bounds["le"]) if "le" in bounds else None,
            subject=subject.group(1) if subject else "",
            text=_vacation_text(script),
        )


def _vacation_text(script: str) -> str:
    """The reason text of the first vacation command (multi-line or quoted form)."""
    multi = re.search(r"\bvacation\b[^;]*?text:\r?\n(.*?)\r?\n\.\r?\n", script, re.DOTALL)
    if multi:
        return "\n".join(
            line[1:] if line.startswith("..") else line for line in multi.group(1).split("\n")
        )
    quoted = re.search(r'\bvacation\b[^;]*"((?:[^"\\]|\\.)*)"\s*;', script, re.DOTALL)
    return quoted.group(1).replace('\\"', '"').replace("\\\\", "\\") if quoted else ""
