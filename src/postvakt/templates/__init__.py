"""Word letters: the shipped templates (Swedish; a citizen's letters in English too) and
rendering them.

Each letter is a docxtpl template with a fixed set of variables (:data:`LETTERS`).  An
organisation replaces a letter by putting a .docx of the same file name in its templates
folder (an English one in its ``en/`` subfolder).  Templates are checked when loaded: a
variable the letter does not provide is an error that names the template and the variable.
Every value is escaped on rendering, so a citizen's text can never break or inject into the
document.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from postvakt.errors import TemplateError
from postvakt.templates.compiled import CompiledTemplate

__all__ = ["LETTERS", "Letter", "LetterRenderer"]

SHIPPED = Path(__file__).with_name("files")
LANGUAGES = ("sv", "en")
"""Swedish, and English for citizens who write in English."""
CITIZEN = LANGUAGES
"""The languages of a letter to a citizen."""

_COMMON = frozenset(
    {
        "organisation",
        "unit",
        "date",
        "number",
        "handler_name",
        "handler_title",
        "handler_email",
        "handler_phone",
    }
)


@dataclass(frozen=True)
class Letter:
    name: str
    filename: str
    title: str
    """What the letter is called in Swedish (used in file names and events)."""
    variables: frozenset[str]
    languages: tuple[str, ...] = ("sv",)
    """The languages it is shipped in: a citizen's letters follow the language they wrote in
    (the English template is ``en/<filename>``); internal ones are Swedish."""
    neuter: bool = False
    """'Svar' is 'ett svar': the e-mail says "Svar finns bifogat", not "bifogad"."""


LETTERS: dict[str, Letter] = {
    "acknowledgment": Letter(
        "acknowledgment",
        "mottagningsbekraftelse.docx",
        "Mottagningsbekräftelse",
        _COMMON
        | {
            "recipient_name",
            "kind_phrase",
            "received_date",
            "heading",
            "answer_due",
            "summary",
            "letter_kind",
        },
        CITIZEN,
    ),
    "acknowledgment_care": Letter(
        "acknowledgment_care",
        "mottagningsbekraftelse_omsorg.docx",
        "Mottagningsbekräftelse",
        # No heading, no summary: a care case's letter says nothing of the person's health
        # beyond what the citizen wrote (OSL 26 kap.), so the complaint's words are not
        # offered to the template at all.
        _COMMON | {"recipient_name", "kind_phrase", "received_date", "answer_due"},
        CITIZEN,
    ),
    "answer": Letter(
        "answer",
        "svar.docx",
        "Svar",
        _COMMON
        | {
            "recipient_name",
            "kind_phrase",
            "received_date",
            "heading",
            "answer_text",
            "actions",
            "letter_kind",
        },
        CITIZEN,
        neuter=True,
    ),
    "handover": Letter(
        "handover",
        "overlamning.docx",
        "Överlämning",
        _COMMON
        | {"recipient_name", "received_date", "heading", "to_unit", "to_contact", "new_handler"},
        CITIZEN,
    ),
    "new_review": Letter(
        "new_review",
        "ny_provning.docx",
        "Ny prövning",
        _COMMON | {"recipient_name", "heading", "reviewer_name", "reviewer_title", "answer_due"},
        CITIZEN,
    ),
    "cover": Letter(
        "cover",
        "foljebrev.docx",
        "Följebrev",
        # To the administration a case is handed over to; signed by the forwarder.
        _COMMON
        | {
            "recipient_name",
            "heading",
            "kind_text",
            "received_date",
            "answer_due",
            "sender",
            "message",
            "reply_to",
            "reply_name",
            "attached",
        },
        neuter=True,
    ),
    "case_card": Letter(
        "case_card",
        "arendekort.docx",
        "Ärendekort",
        _COMMON
        | {
            "heading",
            "kind_text",
            "received_at",
            "registered_at",
            "channel",
            "sender",
            "contact",
            "subject",
            "mailbox",
            "answer_due",
            "individual_care",
            "message_id",
            "summary",
        },
        neuter=True,
    ),
    "compilation": Letter(
        "compilation",
        "sammanstallning.docx",
        "Sammanställning",
        _COMMON
        | {
            "year",
            "complaints",
            "opinions",
            "total",
            "answered_in_time",
            "median_days",
            "by_area",
            "items",
            "care",
            "deadline",
            "as_of",
            "levels",
            "sections",
        },
    ),
}


LOOK_AGAIN = 1.0
"""Seconds a letter's template file is taken as unchanged before it is looked at again."""


class LetterRenderer:
    """Renders letters, preferring the organisation's own templates in ``folder``."""

    def __init__(self, folder: Path | None = None, *, look_again: float = LOOK_AGAIN):
        self.folder = folder
        self.look_again = look_again
        self._env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
        self._compiled: dict[Path, tuple[tuple[int, int], CompiledTemplate]] = {}
        self._looked: dict[tuple[str, str], tuple[float, Path, CompiledTemplate | None]] = {}
        """(letter, language) -> when its file was last looked at, which file, its template:
        a pass of thousands of letters looks at the files once per :data:`LOOK_AGAIN`."""

    def path(self, letter: Letter, language: str = "sv") -> Path:
        """The organisation's own template if there is one, else the shipped one; English
        ones are in ``en/`` (a letter with no English template is written in Swedish)."""
        sub = "en/" if language == "en" and "en" in letter.languages else ""
        if self.folder is not None:
            own = self.folder / sub / letter.filename
            if own.exists():
                return own
        return SHIPPED / sub / letter.filename

    def _current(self, letter: Letter, language: str) -> tuple[Path, CompiledTemplate]:
        """The letter's template file and its compiled form; the files are looked at again
        (a new own template, a changed one) when ``look_again`` seconds have passed."""
        key = (letter.name, language)
        now = time.monotonic()
        seen = self._looked.get(key)
        if seen is not None and seen[2] is not None and now - seen[0] < self.look_again:
            return seen[1], seen[2]
        path = self.path(letter, language)
        compiled = self._template(letter, path)
        self._looked[key] = (now, path, compiled)
        return path, compiled

    def check(self, name: str, language: str = "sv") -> Path:
        """Load the letter's template and verify its variables; return its path."""
        letter = self._letter(name)
        path = self.path(letter, language)
        self._template(letter, path)
        return path

    def _template(self, letter: Letter, path: Path) -> CompiledTemplate:
        """The compiled template at ``path``, checked; prepared again if the file changed."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise TemplateError(f"Mallen {path} finns inte.") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._compiled.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            compiled = CompiledTemplate(path, self._env)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"Mallen {path} har ett syntaxfel på rad {exc.lineno}: {exc.message}. "
                "Rätta taggen i Word-dokumentet."
            ) from exc
        except (
            Exception
        ) as exc:  # python-docx/zipfile raise several types for a file that is not a .docx
            raise TemplateError(
                f"Mallen {path} går inte att öppna som Word-dokument ({exc}). Spara den som .docx."
            ) from exc
        try:
            used = compiled.variables(self._env)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"Mallen {path} har ett syntaxfel på rad {exc.lineno}: {exc.message}. "
                "Rätta taggen i Word-dokumentet."
            ) from exc
        unknown = sorted(set(used) - letter.variables)
        if unknown:
            raise TemplateError(
                f"Mallen {path} använder okända variabler: {', '.join(unknown)}. "
                f"Tillåtna i {letter.title}: {', '.join(sorted(letter.variables))}."
            )
        self._compiled[path] = (stamp, compiled)
        return compiled

    def render(self, name: str, context: Mapping[str, Any], language: str = "sv") -> bytes:
        """The letter ``name`` filled with ``context``, in ``language`` when it has it."""
        letter = self._letter(name)
        missing = sorted(letter.variables - set(context))
        if missing:
            raise TemplateError(
                f"{letter.title}: värden saknas för {', '.join(missing)} (programfel i Postvakt)."
            )
        path, compiled = self._current(letter, language)
        values = {key: "" if value is None else value for key, value in context.items()}
        try:
            return compiled.render(values)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"Mallen {path} kunde inte fyllas i: {exc}") from exc

    @staticmethod
    def _letter(name: str) -> Letter:
        try:
            return LETTERS[name]
        except KeyError:
            raise TemplateError(f"Okänt brev {name!r}; kända: {', '.join(LETTERS)}") from None
