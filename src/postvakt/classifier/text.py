"""What the classifier reads of a message: the citizen's own words, nothing else.

- A message forwarded by staff: only the forwarded citizen's message (the forwarding note
  is a colleague's).  A citizen who forwards their own earlier mail ("I sent this two weeks
  ago and nobody answered") is read whole: the note is theirs too.
- A web-form submission: the form's message field, and the case type the citizen chose.
- A reply: only the new text; the quoted answer from the municipality (which may well say
  "Tack för ditt klagomål") is cut off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from postvakt.classifier.forwarded import (
    REPLY_SUBJECT,
    forwards_citizen,
    in_domains,
    inline_forwards,
)
from postvakt.classifier.webform import form_fields, form_side
from postvakt.mailbox.message import IncomingMessage

__all__ = ["CitizenText", "citizen_text", "is_reply", "new_text", "without_signature"]

MAX_CHARS = 8000
"""Longer texts are cut: the first pages say what the message is about."""

# "Den ons 17 jan. 2024 kl 09:12 skrev Kontaktcenter <…>:", "On Mon, … <…> wrote:" — the
# line a mail program writes above a quoted message, sometimes wrapped onto a second line.
_ATTRIBUTION = re.compile(
    r"^[ \t]*(?:den|on|le|am|el|op|d\.|mån|tis|ons|tors|fre|lör|sön)\b[^\n]{0,160}"
    r"\b(?:skrev|wrote|schrieb|a écrit|escribió|schreef|kirjoitti)\b[^\n]{0,120}"
    r"(?:\n[^\n]{0,80})?:[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTE_MARKERS = re.compile(
    r"^[ \t]*(-{3,}\s*(ursprungligt meddelande|originalmeddelande|original message|"
    r"vidarebefordrat meddelande|forwarded message)\s*-{3,}|_{20,})[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_OUTLOOK_BLOCK = re.compile(
    r"^[ \t]*\**(från|from)\**[ \t]*:[^\n]*\n[ \t]*\**(skickat|sent|datum|date|till|to)\**[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$\n?", re.MULTILINE)
# A line that closes a letter: what follows is a name, a title, an address, a phone number.
_SIGN_OFF = re.compile(
    r"^[ \t]*(?:(?:med )?vänlig(?:a)? hälsning(?:ar)?|mvh|m\.v\.h\.?|hälsning(?:ar)?|"
    r"bästa hälsningar|varma hälsningar|allt gott|vänligen|ha det (?:bra|gott)|hälsar|"
    r"kind regards|best regards|warm regards|regards|best wishes|best|sincerely|yours sincerely|"
    r"yours faithfully|cheers|many thanks|thanks|thank you|tack|tack på förhand|"
    r"tack i förväg|thanks in advance)[ \t]*[,.!]*[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_KEEP_SIGN_OFF = re.compile(r"tack|thank", re.IGNORECASE)
_DEVICE = re.compile(
    r"^[ \t]*(?:skickat från min|sent from my|hämta outlook för|get outlook for)\b.*$",
    re.IGNORECASE | re.MULTILINE,
)
_CONTACT_LINE = re.compile(
    r"^[ \t]*(?:/\s*\w+.*|(?:[A-ZÅÄÖ][\w'’-]*\.?)(?:[ \t]+[A-ZÅÄÖ][\w'’-]*\.?){0,3}|"
    r"(?:[Tt]el|[Tt]elefon|[Mm]obil|[Pp]hone)?\.?:?[ \t]*[+\d][\d \t-]{6,}|"
    r"[A-ZÅÄÖ][\wåäö.-]*(?:[ \t][\wåäö.-]+)?[ \t]+\d+[ \t]?[A-Za-z]?|"
    r"\d{3}[ \t]?\d{2}[ \t]+[A-ZÅÄÖ]\w*(?:[ \t]+[A-ZÅÄÖ]\w*)?)[ \t]*$"
)
SIGNATURE_LINES = 10
"""A sign-off further up than this many lines from the end is taken for text."""
CONTACT_LINE_MAX = 120
"""A longer line is text, never a name, address or phone number (and the contact-line
pattern, whose runs of blanks overlap, would take quadratic time over it)."""


@dataclass(frozen=True)
class CitizenText:
    subject: str
    body: str
    """The citizen's own words: quotes cut off, only the message field of a web form."""
    form_type: str | None
    """The case type chosen in a web form ("Klagomål", "Synpunkt", "Fråga" …), if any."""
    forwarded: bool
    """Read from a message forwarded by staff."""
    reply: bool
    """The message answers an earlier one (threading headers or an SV:/Re: subject)."""
    message: IncomingMessage
    """The message the words come from: the forwarded one, or the message itself."""
    from_form: bool = False
    """The words are a web form's message field (its subject is the form system's)."""

    @property
    def own_subject(self) -> str | None:
        """The subject the citizen wrote for this message; None when it is an earlier
        message's (a reply's or a forward's, or one above a quoted answer: a reply without
        threading headers or "SV:") or a web form's (the form system's)."""
        own = self.message.subject or ""
        if not own or self.reply or self.from_form or _EARLIER_SUBJECT.match(own):
            return None
        return None if _quotes_earlier(self.message.body_text or "") else own

    @property
    def own_text(self) -> str:
        """The citizen's own subject (:attr:`own_subject`) and body: not a web form's or an
        earlier message's subject ("Synpunkter och klagomål – webbformulär" says nothing
        of what the citizen thinks)."""
        subject = self.own_subject
        return f"{subject}\n{self.body}" if subject else self.body

    @property
    def text(self) -> str:
        """Subject and body; a reply's subject is the earlier message's, so it is left out."""
        if not self.subject or (self.reply and REPLY_SUBJECT.match(self.subject)):
            return self.body
        return f"{self.subject}\n{self.body}"


def is_reply(msg: IncomingMessage) -> bool:
    return bool(msg.in_reply_to or msg.references or REPLY_SUBJECT.match(msg.subject))


def new_text(body: str) -> str:
    """The text above the first quoted message; lines quoted with '>' are dropped."""
    cut = len(body)
    for pattern in (_ATTRIBUTION, _QUOTE_MARKERS, _OUTLOOK_BLOCK):
        match = pattern.search(body, 0, cut)
        # A quote at the very start (nothing written above it) is not cut away: then the
        # text is all there is to read.
        if match and match.start() > 0:
            cut = match.start()
    return _QUOTED_LINE.sub("", body[:cut]).strip()


def _quotes_earlier(body: str) -> bool:
    """The text quotes an earlier message (an attribution line, a quote block, '>' lines)."""
    if any(p.search(body) for p in (_ATTRIBUTION, _QUOTE_MARKERS, _OUTLOOK_BLOCK)):
        return True
    return bool(_QUOTED_LINE.search(body))


def without_signature(text: str) -> str:
    """The text above the sign-off ("Med vänlig hälsning", "Mvh", "Kind regards" …).

    Names, titles, addresses and phone numbers say nothing about whether a message is a
    complaint, and a model would learn them by heart.  A closing thanks ("Tack på förhand!")
    is kept: it is part of what the writer says.
    """
    text = _DEVICE.sub("", text).rstrip()
    lines_total = text.count("\n") + 1
    for match in _SIGN_OFF.finditer(text):
        line_no = text.count("\n", 0, match.start())
        if line_no == 0 or lines_total - line_no > SIGNATURE_LINES:
            continue
        end = match.end() if _KEEP_SIGN_OFF.search(match.group()) else match.start()
        return text[:end].rstrip()
    # No sign-off: drop a trailing name, address or phone number ("Karl Berg", "/Karl").
    lines = text.split("\n")
    while (
        len(lines) > 1
        and len(lines[-1]) <= CONTACT_LINE_MAX
        and _CONTACT_LINE.match(lines[-1])
        and any(x.strip() for x in lines[:-1])
    ):
        lines.pop()
        while lines and not lines[-1].strip():
            lines.pop()
    return "\n".join(lines)


def _sent_by_staff(msg: IncomingMessage, own_domains: tuple[str, ...]) -> bool:
    """Whether the forwarder is a colleague.

    Without configured domains: the sender shares its domain with a recipient (a colleague
    passing mail on inside the organisation).
    """
    if msg.sender is None:
        return False
    if own_domains:
        return in_domains(msg.sender.address, own_domains)
    recipients = {a.domain for a in (*msg.to, *msg.cc)}
    return msg.sender.domain in recipients


def _form(body: str) -> tuple[str, str | None, bool]:
    """(the words, the web form's case type, whether it was a web form)."""
    fields = form_fields(body)
    message = fields.get("meddelande")
    if message is None:
        return without_signature(body), None, False
    kind = fields.get("ärendetyp") or None
    if kind is None and form_side(fields.get("typ")) is not None:
        kind = fields["typ"]  # 'Type: Question', not 'Kategori: Gator och vägar'
    return without_signature(message), kind, True


def citizen_text(msg: IncomingMessage, own_domains: Iterable[str] = ()) -> CitizenText:
    """The words of ``msg`` that the classifier weighs; see the module docstring."""
    domains = tuple(own_domains)
    inner = forwards_citizen(msg, domains)
    if inner is not None and _sent_by_staff(msg, domains):
        body, form_type, inner_form = _form(_own_part(inner))
        return CitizenText(
            subject=_strip_prefixes(inner.subject or msg.subject),
            body=body[:MAX_CHARS],
            form_type=form_type,
            forwarded=True,
            reply=is_reply(inner),
            message=inner,
            from_form=inner_form,
        )
    own = _own_part(msg)
    body, form_type, from_form = _form(own)
    if inner is not None and not from_form:
        forwarded = _own_part(inner)
        if forwarded not in body:
            body = f"{body}\n\n{forwarded}".strip()
    return CitizenText(
        subject=msg.subject,
        body=body[:MAX_CHARS],
        form_type=form_type,
        forwarded=False,
        reply=is_reply(msg),
        message=msg,
        from_form=from_form,
    )


def _own_part(msg: IncomingMessage) -> str:
    """The text before any quoted or forwarded message."""
    body = msg.body_text
    blocks = inline_forwards(body)
    if blocks:
        before = body[: blocks[0].start]
        # Nothing before the first block: the message is the block (a letter that starts
        # with its own "Från: … Till: … Ämne: …" lines, or a forward without a note).
        body = before if before.strip() else blocks[0].body
    return new_text(body)


_PREFIXES = re.compile(r"^\s*((vb|fw|fwd|sv|re|vs|tr|aw|wg)\s*:\s*)+", re.IGNORECASE)
_EARLIER_SUBJECT = re.compile(
    r"^\W*(?:\[[^\]]{0,30}\]\W*)*"
    r"(?:sv|re|svar|aw|antw|odp|ref|ynt|vb|fw|fwd|tr|wg|vs|vl|rv|r|i)\s*(?:\[\d+\])?\s*:",
    re.IGNORECASE,
)
"""A prefix (SV:, Re:, VB:, Fwd: …), also after a gateway's tag ("[EXTERN] SV:"): the subject
is an earlier message's.  Wider than :data:`_PREFIXES`, which shapes the words the model
was trained on and so stays as it is."""


def _strip_prefixes(subject: str) -> str:
    return _PREFIXES.sub("", subject).strip()
