"""The labelled corpus the model learns from: the shipped one, plus an organisation's own.

The shipped corpus is made of **sources**, written independently of each other so that a
model can be measured on phrasing it never learnt from (leave one source out, see
:mod:`postvakt.classifier.sources`).  ``corpus/*.jsonl`` beside this module is the source
``mallar``, one file per service area, written by ``corpus/make_corpus.py`` from templates
(see its docstring for how the messages are made and split); every folder
``corpus/<source>/*.jsonl`` is another source.  Each line is one message::

    {"id": "snorojning-0012", "fold": 2, "label": "complaint", "lang": "sv",
     "service": "snöröjning", "tone": "arg", "channel": "email", "anonymous": false,
     "followup": false, "personal_data": false, "from": "…", "to": "…", "subject": "…",
     "body": "…", "headers": {"In-Reply-To": "<…>"}, "forwarded": null,
     "source": "mallar", "category": "complaint-question", "individual_care": false}

``forwarded`` is the message a member of staff forwarded as an attachment (from, to, date,
subject, body).  Fold 4 is the held-out part: training never sees it.  Folds 0–3 are the
training part and the folds of cross-validation.

An organisation adds its own messages as a folder of ``.eml`` files with ``labels.csv``
(``file,label[,anonymous][,followup]``); they are always training data.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from postvakt.classifier.verdict import Label
from postvakt.errors import ConfigError, ConfigProblem, NotFoundError
from postvakt.mailbox.message import IncomingMessage, parse_message

__all__ = [
    "CORPUS_DIR",
    "HELD_OUT_FOLD",
    "Example",
    "LabelledText",
    "corpus_digest",
    "load_corpus",
    "load_labelled_dir",
    "parse_flag",
    "parse_label",
    "texts_digest",
]

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
HELD_OUT_FOLD = 4
_DATE_HEADER = format_datetime(datetime(2026, 11, 23, 9, 15, tzinfo=ZoneInfo("Europe/Stockholm")))

_LABELS = {
    "complaint": Label.COMPLAINT,
    "klagomål": Label.COMPLAINT,
    "klagomal": Label.COMPLAINT,
    "opinion": Label.OPINION,
    "synpunkt": Label.OPINION,
    "synpunkter": Label.OPINION,
    "other": Label.OTHER,
    "annat": Label.OTHER,
    "övrigt": Label.OTHER,
    "ovrigt": Label.OTHER,
}
_TRUE = frozenset({"1", "ja", "j", "yes", "y", "true", "sant", "x"})
_FALSE = frozenset({"", "0", "nej", "n", "no", "false", "falskt", "-"})


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    id: str
    label: Label
    message: IncomingMessage
    fold: int = 0
    """0–3 training (and the cross-validation folds), 4 held out; extra messages are 0."""
    anonymous: bool | None = None
    followup: bool | None = None
    personal_data: bool | None = None
    lang: str = "sv"
    service: str = ""
    tone: str = ""
    channel: str = ""
    source: str = ""
    """Which independently written part of the corpus it comes from ("" for an
    organisation's own messages and corrections)."""
    category: str = ""
    """The form it takes (``complaint-question``, ``other-complaint-words`` …), if recorded."""
    individual_care: bool | None = None
    """A user's or relative's complaint or opinion about that person's own care."""

    @property
    def held_out(self) -> bool:
        return self.fold == HELD_OUT_FOLD


def parse_label(value: str) -> Label:
    try:
        return _LABELS[value.strip().lower()]
    except KeyError:
        raise ValueError(
            f"okänd etikett {value!r}: använd complaint/klagomål, opinion/synpunkt eller other/annat"
        ) from None


def parse_flag(value: str | None) -> bool | None:
    """A flag column: ja/nej, 1/0, true/false, x; None when the column is missing."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"okänt värde {value!r} (använd ja/nej, 1/0 eller true/false)")


def _header(name: str, value: str) -> str:
    if value.isascii():
        return f"{name}: {value}"
    if name in ("From", "To", "Cc", "Reply-To"):
        if "<" in value and value.rstrip().endswith(">"):
            # "Förening, ledamot <a@b>": a comma in an unquoted name is the writer's, not a
            # second address; the encoded word carries it.
            cut = value.rindex("<")
            display, address = value[:cut].strip().strip('"'), value[cut + 1 : -1].strip()
        else:
            display, address = parseaddr(value)
        if display and address:
            return f"{name}: {Header(display, 'utf-8').encode()} <{address}>"
    return f"{name}: {Header(value, 'utf-8').encode()}"


def _raw(record: dict, *, outer: bool = True) -> bytes:
    """RFC 5322 bytes as a mail program writes them: UTF-8 text, 8bit, CRLF."""
    lines = [
        _header("From", record["from"]),
        _header("To", record.get("to") or "kontaktcenter@exempel.se"),
        _header("Subject", record.get("subject", "")),
        f"Date: {record.get('date') or _DATE_HEADER}",
    ]
    if outer:
        lines.append(f"Message-ID: <{record['id']}@korpus.postvakt.invalid>")
    lines += [_header(name, value) for name, value in (record.get("headers") or {}).items()]
    lines.append("MIME-Version: 1.0")
    text = record.get("body", "").replace("\r\n", "\n").replace("\n", "\r\n")
    plain = 'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 8bit'
    inner = record.get("forwarded")
    head = "\r\n".join(lines)
    if not inner:
        return f"{head}\r\n{plain}\r\n\r\n{text}\r\n".encode()
    boundary = f"=_vb_{hashlib.sha256(head.encode()).hexdigest()[:16]}"
    attached = _raw(inner, outer=False).decode()
    return (
        f'{head}\r\nContent-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\n{plain}\r\n\r\n{text}\r\n"
        f"--{boundary}\r\nContent-Type: message/rfc822\r\n"
        f'Content-Disposition: attachment; filename="vidarebefordrat.eml"\r\n\r\n'
        f"{attached}\r\n--{boundary}--\r\n"
    ).encode()


def to_message(record: dict) -> IncomingMessage:
    """A corpus record as the parsed message the mail system would have delivered."""
    return parse_message(_raw(record))


def _records(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path.name}:{number}: {exc}") from exc


DEFAULT_SOURCE = "mallar"
"""The source of the files at the top of the corpus folder (the template generator's)."""


def corpus_files(directory: Path = CORPUS_DIR) -> list[Path]:
    """Every source's files: the top folder's, then each ``<source>/`` folder's."""
    return sorted(directory.glob("*.jsonl")) + sorted(directory.glob("*/*.jsonl"))


def source_of(path: Path, directory: Path = CORPUS_DIR) -> str:
    return DEFAULT_SOURCE if path.parent == directory else path.parent.name


def load_corpus(directory: Path = CORPUS_DIR) -> list[Example]:
    """Every message of the shipped corpus, in a fixed order."""
    examples: list[Example] = []
    for path in corpus_files(directory):
        default_source = source_of(path, directory)
        for record in _records(path):
            care = record.get("individual_care")
            examples.append(
                Example(
                    id=record["id"],
                    label=Label(record["label"]),
                    message=to_message(record),
                    fold=int(record["fold"]),
                    anonymous=record.get("anonymous"),
                    followup=record.get("followup"),
                    personal_data=record.get("personal_data"),
                    lang=record.get("lang", "sv"),
                    service=record.get("service", ""),
                    tone=record.get("tone", ""),
                    channel=record.get("channel", ""),
                    source=record.get("source") or default_source,
                    category=record.get("category", ""),
                    individual_care=None if care is None else bool(care),
                )
            )
    return examples


def load_labelled_dir(directory: Path) -> list[Example]:
    """``directory/*.eml`` with ``directory/labels.csv`` (``file,label[,anonymous][,followup]``).

    A header row is optional.  Raises :class:`NotFoundError` when there is no labels.csv and
    :class:`ConfigError` naming the line of every problem in it: an unknown label, a file
    that is missing, an unreadable flag.
    """
    labels_path = directory / "labels.csv"
    if not labels_path.is_file():
        raise NotFoundError(
            f"{labels_path} finns inte: lägg en rad file,label[,anonymous][,followup] per "
            ".eml-fil i mappen"
        )
    problems: list[ConfigProblem] = []
    examples: list[Example] = []
    with labels_path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    for number, row in enumerate(rows, 1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() in ("file", "fil", "filnamn") and len(cells) > 1:
            continue
        if len(cells) < 2:
            problems.append(ConfigProblem(f"rad {number}", "väntade file,label"))
            continue
        name = cells[0]
        path = directory / name
        try:
            label = parse_label(cells[1])
            anonymous = parse_flag(cells[2] if len(cells) > 2 else None)
            followup = parse_flag(cells[3] if len(cells) > 3 else None)
        except ValueError as exc:
            problems.append(ConfigProblem(f"rad {number}", str(exc)))
            continue
        if not path.is_file():
            problems.append(ConfigProblem(f"rad {number}", f"filen {name} finns inte"))
            continue
        examples.append(
            Example(
                id=name,
                label=label,
                message=parse_message(path.read_bytes()),
                anonymous=anonymous,
                followup=followup,
            )
        )
    if problems:
        raise ConfigError(problems, source=str(labels_path))
    return examples


def corpus_digest(directory: Path = CORPUS_DIR, extra: Path | None = None) -> str:
    """SHA-256 over the shipped corpus files and, when given, an extra labelled folder."""
    digest = hashlib.sha256()
    for path in corpus_files(directory):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(path.read_bytes())
    if extra is not None:
        for path in sorted(extra.iterdir()) if extra.is_dir() else ():
            if path.suffix.lower() in (".eml", ".csv") and path.is_file():
                digest.update(b"extra/" + path.name.encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class LabelledText:
    """A labelled subject and text kept in a database (a person's correction), not yet made
    into a message: it becomes one (:meth:`example`) only when a model is trained on it."""

    id: str
    label: Label
    subject: str
    text: str
    fold: int = 0
    """:data:`HELD_OUT_FOLD` when it is held out to measure, else 0."""
    sender: str = "Medborgare <medborgare@rattelse.postvakt.invalid>"
    """Someone outside the organisation."""

    @property
    def held_out(self) -> bool:
        return self.fold == HELD_OUT_FOLD

    def example(self) -> Example:
        record = {"id": self.id, "from": self.sender, "subject": self.subject, "body": self.text}
        return Example(
            id=self.id,
            label=self.label,
            message=to_message(record),
            fold=self.fold,
            channel="rättelse",
        )


def texts_digest(items: Iterable[LabelledText]) -> str:
    """SHA-256 over labelled texts (their labels, subjects and texts, in order): two lists
    with the same digest train the same model."""
    digest = hashlib.sha256()
    for item in items:
        for part in (item.label.value, item.subject, item.text):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()


def split(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    """(training part, held-out part)."""
    train: list[Example] = []
    held: list[Example] = []
    for example in examples:
        (held if example.held_out else train).append(example)
    return train, held
