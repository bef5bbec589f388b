"""Who is who, derived from the config, and what each may see and do.

Roles are never stored: a unit head is whoever ``units[].head`` names, a function-mailbox
owner whoever ``mailboxes[].owners`` names, the registrar ``organisation.registrar``, staff
the ``people``, admins ``web.admins``.  Changing the config changes what a person may do at
their next request.  Every page and every action asks these functions, server-side.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from postvakt.config import Config, MailboxConfig
from postvakt.registry.models import Case

__all__ = [
    "CORRECTORS_SV",
    "ROLE_SV",
    "Role",
    "User",
    "can_act_on_case",
    "can_correct_case",
    "can_correct_message",
    "can_fetch_original",
    "can_see_mailbox",
    "can_view_case",
    "units_below",
    "user_for",
]


class Role(enum.StrEnum):
    STAFF = "staff"
    OWNER = "owner"
    UNIT_HEAD = "unit_head"
    REGISTRAR = "registrar"
    ADMIN = "admin"


ROLE_SV = {
    Role.STAFF: "handläggare",
    Role.OWNER: "ansvarig för funktionsbrevlåda",
    Role.UNIT_HEAD: "enhetschef",
    Role.REGISTRAR: "registrator",
    Role.ADMIN: "administratör",
}


@dataclass(frozen=True)
class User:
    """A signed-in person and everything their roles reach."""

    address: str
    name: str
    roles: frozenset[Role]
    unit: str | None
    """The unit they work in (from ``people``)."""
    heads: frozenset[str]
    """Units they head, with every unit below them."""
    owns: frozenset[str]
    """Mailbox addresses they are responsible for."""

    def has(self, *roles: Role) -> bool:
        return Role.ADMIN in self.roles or any(r in self.roles for r in roles)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def sees_every_case(self) -> bool:
        """Admins and the registrar (who enters every case in the diary) read every case."""
        return self.has(Role.REGISTRAR)

    @property
    def role_names(self) -> str:
        return ", ".join(ROLE_SV[r] for r in Role if r in self.roles)


def units_below(config: Config, names: Iterable[str]) -> frozenset[str]:
    """``names`` and every unit whose parent chain reaches one of them."""
    found = set(names)
    changed = True
    while changed:
        changed = False
        for unit in config.units:
            if unit.parent in found and unit.name not in found:
                found.add(unit.name)
                changed = True
    return frozenset(found)


def user_for(config: Config, address: str) -> User | None:
    """The user ``address`` is, or None when the config gives them no role at all."""
    address = address.strip().lower()
    roles: set[Role] = set()
    person = config.person(address)
    if person is not None:
        roles.add(Role.STAFF)
    headed = [u.name for u in config.units if u.head == address]
    if headed:
        roles.add(Role.UNIT_HEAD)
    owned = [m for m in config.mailboxes if address in m.owners]
    owns = frozenset(m.address for m in owned)
    if any(m.kind == "function" for m in owned):
        roles.add(Role.OWNER)
    if config.organisation.registrar == address:
        roles.add(Role.REGISTRAR)
    if address in config.web.admins:
        roles.add(Role.ADMIN)
    if not roles:
        return None
    return User(
        address=address,
        name=person.name if person else address,
        roles=frozenset(roles),
        unit=person.unit if person else None,
        heads=units_below(config, headed),
        owns=owns,
    )


def can_see_mailbox(user: User, mailbox: MailboxConfig) -> bool:
    """Owners their mailboxes, unit heads their units', everyone their own, admins all."""
    return (
        user.is_admin
        or mailbox.address in user.owns
        or mailbox.address == user.address
        or mailbox.unit in user.heads
    )


def _reaches(user: User, case: Case) -> bool:
    unit = case.unit.name if case.unit else None
    mailbox = case.mailbox.address if case.mailbox else None
    if user.address in (case.handler, case.regular_handler):
        return True
    if unit is not None and unit in user.heads:
        return True
    if case.private:  # kept from delegates and colleagues: the handler and the head only
        return mailbox == user.address
    if mailbox is not None and (mailbox in user.owns or mailbox == user.address):
        return True
    return Role.STAFF in user.roles and unit is not None and unit == user.unit


def can_view_case(user: User, case: Case) -> bool:
    """Whether ``user`` may open ``case``: their unit's, their mailboxes', their own."""
    return user.sees_every_case or _reaches(user, case)


def can_act_on_case(user: User, case: Case) -> bool:
    """Whether ``user`` may answer, close, forward, reopen or put ``case`` on wait.

    The registrar reads every case but acts on none of them by that role alone.
    """
    return user.is_admin or _reaches(user, case)


def can_correct_case(user: User, case: Case) -> bool:
    """Whether ``user`` may confirm or correct the machine's decision on ``case``: its
    mailbox's owners, its handler, the head of its unit, the registrar and admins."""
    if user.has(Role.REGISTRAR):
        return True
    unit = case.unit.name if case.unit else None
    mailbox = case.mailbox.address if case.mailbox else None
    return (
        user.address in (case.handler, case.regular_handler)
        or (unit is not None and unit in user.heads)
        or (mailbox is not None and (mailbox in user.owns or mailbox == user.address))
    )


def can_correct_message(user: User, mailbox: str, unit: str | None) -> bool:
    """Whether ``user`` may register (or set aside) a message of ``mailbox``: its owners, the
    person whose mailbox it is, the head of its unit, the registrar and admins."""
    return (
        user.has(Role.REGISTRAR)
        or mailbox in user.owns
        or mailbox == user.address
        or (unit is not None and unit in user.heads)
    )


def can_fetch_original(user: User, case: Case) -> bool:
    """Whether ``user`` may download the message as it came (.eml, with every header and
    attachment): the registrar, the mailbox's owners, the head of its unit and admins, among
    those who may open the case.  Handlers read the text and attachments on the case page."""
    if not can_view_case(user, case):
        return False
    unit = case.unit.name if case.unit else None
    mailbox = case.mailbox.address if case.mailbox else None
    return (
        user.has(Role.REGISTRAR)
        or (unit is not None and unit in user.heads)
        or (mailbox is not None and (mailbox in user.owns or mailbox == user.address))
    )


CORRECTORS_SV = (
    "brevlådans ansvariga, handläggaren, enhetens chef, registratorn och administratörer"
)
"""Who may correct, as the refusal tells it."""
