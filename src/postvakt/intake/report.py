"""What a pass did: one outcome per message, drafts placed, errors, for the CLI and the demo."""

from __future__ import annotations

from dataclasses import dataclass, field

from postvakt.registry.models import Disposition

__all__ = ["MessageOutcome", "PassReport"]


@dataclass(frozen=True)
class MessageOutcome:
    mailbox: str
    folder: str
    key: str
    disposition: Disposition
    subject: str = ""
    sender: str | None = None
    case: str | None = None
    reason: str = ""


@dataclass
class PassReport:
    """What one pass did, for the command line and the demo."""

    outcomes: list[MessageOutcome] = field(default_factory=list)
    drafts_saved: list[tuple[str, str]] = field(default_factory=list)
    """(case reference, where the draft is)"""
    drafts_removed: list[tuple[str, str]] = field(default_factory=list)
    """Postvakt's own drafts of withdrawn cases taken out of Drafts: (case reference, where)."""
    registrar_notices: list[str] = field(default_factory=list)
    """Cases whose card went to the registrar."""
    care_routed: list[str] = field(default_factory=list)
    """Care cases whose card (or word that they no longer are) went to the deviation function."""
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Mailboxes left this pass to another process working them (not an error)."""

    def merge(self, other: PassReport) -> None:
        self.outcomes += other.outcomes
        self.drafts_saved += other.drafts_saved
        self.drafts_removed += other.drafts_removed
        self.registrar_notices += other.registrar_notices
        self.care_routed += other.care_routed
        self.errors += other.errors
        self.skipped += other.skipped

    def count(self, disposition: Disposition) -> int:
        return sum(1 for o in self.outcomes if o.disposition is disposition)
