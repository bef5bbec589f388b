"""What may go into a header line: names on one line, addresses in ASCII.

A citizen's mail can carry a display name with a line break in it (a folded quoted string,
or an encoded word that decodes to CR/LF), or an address a header cannot hold as it is: an
internationalised domain (``kalle@räksmörgås.se``, written in a header as punycode,
``kalle@xn--rksmrgs-5wao1o.se``) or a local part in UTF-8 (``källe@example.se``, which needs
SMTPUTF8 and cannot be written in a plain RFC 5322 header at all).  Names are cleaned when
a message is parsed and again when a draft is built; an address is put in header form only
when a draft is built, and one that has no header form is left to a person.
"""

from __future__ import annotations

import re

import idna

__all__ = ["AddressError", "draft_recipient", "header_address", "header_message_id", "one_line"]

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: none belongs in a
# name or a subject, and CR/LF would end the header line (or start a new header).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# RFC 5322 atext plus dots: a local part that needs no quoting.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_LITERAL = re.compile(r"\[[0-9A-Fa-f:.]{2,45}\]")
_MESSAGE_ID = re.compile(r"[!-~]{1,900}")
"""Printable ASCII without spaces; the angle brackets are checked apart."""


class AddressError(ValueError):
    """An address that cannot be written in a header (a programmer's error to pass one)."""


def one_line(text: str | None) -> str:
    """``text`` as a single header-safe line: control characters and runs of white space
    become one space, and the ends are trimmed."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


def _ascii_domain(domain: str) -> str | None:
    domain = domain.strip().rstrip(".")
    if _LITERAL.fullmatch(domain):
        return domain
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            try:  # IDNA 2003, which still admits names that IDNA 2008 refuses (symbols)
                domain = domain.encode("idna").decode("ascii")
            except UnicodeError:
                return None
    domain = domain.lower()
    labels = domain.split(".")
    if len(domain) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return domain


def header_address(address: str) -> str | None:
    """``address`` as it can be written in a header, or None when it cannot be.

    An internationalised domain is written as punycode (IDNA 2008 with the UTS 46 mapping,
    IDNA 2003 as a fallback).  A local part outside RFC 5322's dot-atom (UTF-8, spaces,
    control characters, quotes) has no such form: None.
    """
    local, at, domain = address.strip().rpartition("@")
    if not at or not _LOCAL.fullmatch(local) or local.startswith(".") or local.endswith("."):
        return None
    ascii_domain = _ascii_domain(domain)
    return f"{local}@{ascii_domain}" if ascii_domain else None


def header_message_id(message_id: str) -> str | None:
    """A Message-ID (without angle brackets) as it can be written in a header, or None."""
    if _MESSAGE_ID.fullmatch(message_id) and "<" not in message_id and ">" not in message_id:
        return message_id
    return header_address(message_id)


def draft_recipient(address: str) -> str | None:
    """A draft's ``to_address`` in header form; None for a draft without a recipient ("").

    Raises :class:`AddressError` for an address with no header form: the draft step never
    stores one (it stores "" and marks the case), so this is a programmer's error.
    """
    if not address:
        return None
    ascii_address = header_address(address)
    if ascii_address is None:
        raise AddressError(f"the address {address!r} cannot be written in a header")
    return ascii_address
