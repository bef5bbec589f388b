"""``[delegation]``: how absences are applied beyond the auto-reply and the delegate's access."""

from __future__ import annotations

from pydantic import Field

from postvakt.config.fields import Strict

__all__ = ["DelegationConfig"]


class DelegationConfig(Strict):
    move_private: bool = Field(
        False,
        description="When an absence starts, move the mail already in the inbox that is marked "
        "private (Sensitivity: Private, or organisation.private_marker in the subject) to the "
        "folder 'Privat', which the delegate has no rights on, and move it back at the return "
        "(IMAP and Maildir). Off: the delegate reads everything in the inbox.",
    )
