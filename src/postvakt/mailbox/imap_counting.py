"""How many messages an IMAP folder holds that arrived before a moment (``start_from``).

Read-only: the folder is opened with EXAMINE.  IMAP's ``SEARCH BEFORE`` compares whole days
of the internal date in its own time zone, so the messages of the days around the moment
have their INTERNALDATE fetched and compared exactly; the rest are counted by SEARCH alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postvakt.mailbox.imap_connection import ImapConnection

    _Base = ImapConnection
else:
    _Base = object

__all__ = ["ImapCounting"]

_CHUNK = 500  # UIDs per FETCH of INTERNALDATE


class ImapCounting(_Base):
    """:class:`~postvakt.mailbox.base.SupportsCountBefore` for the IMAP connector."""

    def count_before(self, folder: str, moment: datetime) -> int:
        client = self._connection()
        day = moment.astimezone(UTC).date()
        with self._errors(f"räkna meddelanden i {folder}"):
            self.commands += 1
            client.select_folder(folder, readonly=True)
            self._selected = folder
            # A day of internal date is within a day of UTC's, whatever its zone.
            surely = client.search(["BEFORE", day - timedelta(days=1)])
            near = client.search(
                ["SINCE", day - timedelta(days=1), "BEFORE", day + timedelta(days=2)]
            )
            self.commands += 2
            earlier = 0
            for start in range(0, len(near), _CHUNK):
                data = client.fetch(near[start : start + _CHUNK], [b"INTERNALDATE"])
                self.commands += 1
                for item in data.values():
                    stamp = item.get(b"INTERNALDATE")
                    if stamp is None:
                        continue
                    aware = stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)
                    earlier += aware < moment
        return len(surely) + earlier
