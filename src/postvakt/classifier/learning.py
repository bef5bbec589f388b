"""People's corrections as labelled examples: what the next model learns from.

Whoever confirms a case, changes its kind, withdraws it, registers a message the machine
passed over or merges two cases leaves a row in ``corrections``
(:class:`~postvakt.registry.models.Correction`): the text the classifier read and the label
the person gave.  Here those rows become labelled texts
(:class:`~postvakt.classifier.corpus.LabelledText`), made into messages only to train:

- **One example per message.**  A message corrected twice (its kind changed, then
  confirmed) is one example with the last label.  A message is known by the hash of its
  content, else its case, else its record (:func:`message_key`).
- **A fixed fifth is held out.**  Chosen by a hash of the message's key, so a message stays
  on its side in every retraining and never trains the model that is measured on it.  The
  held-out corrections, with the shipped corpus's held-out fold, decide whether a retrained
  model may replace the one in use (:mod:`postvakt.classifier.retrain`); the other four
  fifths are trained on beside the corpus.
- **Up to a moment.**  A model learned from the corrections made up to its training time
  (``classifier_models.trained_at``): that is how the model in use is found again, bit for
  bit, when the cache is emptied or another process needs it.

Nothing here writes; the rows are read in the caller's session.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.classifier.corpus import HELD_OUT_FOLD, LabelledText
from postvakt.classifier.verdict import Label
from postvakt.registry.models import Correction

__all__ = [
    "HELD_OUT_EVERY",
    "as_text",
    "correction_texts",
    "is_held_out",
    "latest_per_message",
    "load_corrections",
    "message_key",
    "split_corrections",
]

log = logging.getLogger("postvakt.classifier")

HELD_OUT_EVERY = 5
"""One corrected message in five (by hash) is held out to measure, never trained on."""


def message_key(row: Correction) -> str:
    """What tells one corrected message from another: its content, else its case, else its
    record, else the correction itself."""
    if row.content_hash:
        return f"hash:{row.content_hash}"
    if row.case_id is not None:
        return f"case:{row.case_id}"
    if row.message_record_id is not None:
        return f"record:{row.message_record_id}"
    return f"row:{row.id}"


def is_held_out(key: str) -> bool:
    """Whether the message with ``key`` belongs to the held-out fifth (stable across runs)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % HELD_OUT_EVERY == 0


def latest_per_message(rows: Iterable[Correction]) -> list[Correction]:
    """The last correction of each message (by time, then by id), oldest first."""
    latest: dict[str, Correction] = {}
    for row in sorted(rows, key=lambda r: (r.at, r.id)):
        key = message_key(row)
        latest.pop(key, None)  # re-inserted: the order is that of the last correction
        latest[key] = row
    return list(latest.values())


def as_text(row: Correction) -> LabelledText | None:
    """The correction as a labelled text, or None when there is nothing to learn from it
    (no text, or a label that is not complaint, opinion or other)."""
    try:
        label = Label(row.label)
    except ValueError:
        log.warning("correction %s has the unknown label %r; left out", row.id, row.label)
        return None
    subject = " ".join((row.subject or "").split())  # one header line
    text = row.text or ""
    if not subject and not text.strip():
        return None
    return LabelledText(
        id=f"rattelse-{row.id}",
        label=label,
        subject=subject,
        text=text,
        fold=HELD_OUT_FOLD if is_held_out(message_key(row)) else 0,
    )


def correction_texts(rows: Iterable[Correction]) -> list[LabelledText]:
    """One labelled text per corrected message (its last correction), oldest first."""
    return [t for row in latest_per_message(rows) if (t := as_text(row)) is not None]


def load_corrections(session: Session, until: datetime | None = None) -> list[LabelledText]:
    """Every corrected message as a labelled text, from the corrections made up to ``until``."""
    query = select(Correction).order_by(Correction.at, Correction.id)
    if until is not None:
        query = query.where(Correction.at <= until)
    return correction_texts(session.scalars(query))


def split_corrections(
    texts: Sequence[LabelledText],
) -> tuple[list[LabelledText], list[LabelledText]]:
    """(the texts trained on, the held-out texts that measure)."""
    return [t for t in texts if not t.held_out], [t for t in texts if t.held_out]
