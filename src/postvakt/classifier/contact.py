"""Can the sender be reached?  Reply address, and contact details written in the text.

The routines register anonymous complaints under the year's collective number and answer
only those who left a name, phone number or e-mail address.  A message from a no-reply
web-form gateway with empty contact fields is anonymous; one whose form fields hold an
e-mail address is answered at that address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from postvakt.classifier.webform import form_fields
from postvakt.mailbox.message import Address, IncomingMessage
from postvakt.privacy import EMAIL_ADDRESS

__all__ = ["Contact", "find_contact", "is_no_reply"]

_NO_REPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|noreply[-_.\w]*|no[-_.]?svar|"
    r"ej[-_.]?svar|svara[-_.]?ej|inget[-_.]?svar|mailer-daemon|postmaster|webform|"
    r"e-?tjanst(er)?|formular)@",
    re.IGNORECASE,
)
# Starts only where a run of local-part characters starts: linear in the text (the pattern
# without that look-behind tried every position of a long run, 228 s on 200,000 letters).
_EMAIL = EMAIL_ADDRESS
_PHONE = re.compile(
    r"(?<![\d-])(?:\+46|0046|0)[ \t-]{0,2}\(?0?\)?\d{1,3}(?:[ \t-]{0,2}\d{2,4}){2,4}(?![\d-])"
)
# A personnummer written with its separator or with the century.  Ten bare digits that start
# with 0 are read as a phone number (070…, 08…): that is how Swedish mobiles are often written.
_WRITTEN_PERSONNUMMER = re.compile(r"(?<![\d-])(?:(?:19|20)\d{10}|\d{6}[-+]\d{4})(?![\d-])")
_POSTAL = re.compile(r"\b\d{3}\s?\d{2}\s+[A-ZÅÄÖ][a-zåäö]+")


def is_no_reply(address: str) -> bool:
    return bool(_NO_REPLY.match(address))


@dataclass(frozen=True)
class Contact:
    reply_to: Address | None
    """Where an answer can be sent by e-mail, or None."""
    name: str | None
    phone: str | None
    postal: str | None
    emails_in_text: tuple[str, ...]

    @property
    def anonymous(self) -> bool:
        """No usable way at all to reach the sender."""
        return self.reply_to is None and not self.phone and not self.postal


def _phone(text: str) -> str | None:
    # A personnummer must not be taken for a phone number.
    without_ids = _WRITTEN_PERSONNUMMER.sub(" ", text)
    match = _PHONE.search(without_ids)
    return re.sub(r"\s+", " ", match.group()).strip() if match else None


def find_contact(msg: IncomingMessage, own_addresses: Iterable[str] = ()) -> Contact:
    """How the sender can be reached.  ``own_addresses`` are ignored when found in the text."""
    own = {a.lower() for a in own_addresses}
    fields = form_fields(msg.body_text)
    candidate = msg.reply_address
    reply: Address | None = None
    if candidate and not is_no_reply(candidate.address) and candidate.address not in own:
        reply = candidate
        if "@" in candidate.name:  # '"anna@x.se" <anna@x.se>': the address is no name
            reply = Address(name="", address=candidate.address)
    emails = tuple(
        dict.fromkeys(
            e.lower().rstrip(".")
            for e in _EMAIL.findall(msg.body_text)
            if e.lower().rstrip(".") not in own and not is_no_reply(e)
        )
    )
    form_email = fields.get("epost", "")
    form_match = _EMAIL.search(form_email)
    if form_match and (form_match.group().lower() in own or is_no_reply(form_match.group())):
        form_match = None  # the citizen typed the municipality's own address
    name = fields.get("namn") or (reply.name if reply else None) or None
    if reply is None and form_match:
        reply = Address(name=name or "", address=form_match.group().lower())
    phone = _phone(fields.get("telefon", "")) or _phone(msg.body_text)
    postal_field = fields.get("adress", "")
    if _POSTAL.search(postal_field):
        postal: str | None = postal_field
    else:
        in_text = _POSTAL.search(msg.body_text)
        postal = in_text.group() if in_text else None
    if reply is None and emails:
        reply = Address(name=name or "", address=emails[0])
    return Contact(
        reply_to=reply, name=name or None, phone=phone, postal=postal, emails_in_text=emails
    )
