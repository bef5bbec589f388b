"""The EWS connector: Exchange Server on premises, through exchangelib, watched in place.

One service account reaches every watched mailbox, by delegate access (FullAccess on the
mailbox) or by impersonation (the ApplicationImpersonation role), with NTLM, basic or
OAuth (an Entra ID app, for hybrid set-ups); the server is a fixed endpoint or found by
autodiscover.  There is one exchangelib ``Account`` per mailbox; exchangelib shares one
connection pool between the accounts that use the same endpoint and credentials.

In place: items are only read (``SyncFolderItems`` with ``IdOnly`` and a few properties,
``GetItem`` for the MIME content), which never changes ``IsRead``; nothing is moved or
deleted.  The only write is ``CreateItem`` of reply drafts into the mailbox's Drafts, and
``SetUserOofSettings`` when asked to set an automatic reply.

Incremental sync per folder (``inbox``, ``sentitems``): the state keeps the EWS sync state
and the day's count of flag changes (the opened-today evidence).  A message's key is its
Message-ID, as on IMAP, so a lost or invalid sync state (``ErrorInvalidSyncStateData``
after a mailbox move) re-syncs the folder and registers nothing twice: only the items whose
Message-ID is not yet known are read.  Microsoft does not promise an order within a sync,
so the changes of a pass are collected first and the new messages yielded oldest first;
the new sync state goes with the last of them.

Private items: the MIME content Exchange produces carries the ``Sensitivity`` header of
RFC 2156 (``Sensitivity: Private``), which the intake reads.  Where an item is marked
private but its MIME has no such header, the connector adds one, so the mark is never lost.

Throttling: exchangelib runs with ``FailFast``, so it never sleeps on its own;
``ErrorServerBusy`` comes here with the server's ``BackOffMilliseconds`` and the
:class:`~postvakt.mailbox.graph.ThrottlePolicy` decides: wait and try again within the pass,
or end the pass with :class:`~postvakt.errors.ThrottledError` and refuse to call the server
until the back-off has passed.

Delegates and folder permissions are read (``GetDelegate``, ``PermissionSet``); exchangelib
cannot add delegates, so :meth:`EwsConnector.grant_instruction` returns the exact
Exchange Management Shell line the mail administrator runs, and :meth:`EwsConnector.has_access`
verifies it later by reading.

No ``exchangelib``, ``requests`` or ``oauthlib`` exception leaves this module.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any, TypeVar

import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    OAUTH2,
    Account,
    Configuration,
    Credentials,
    ExtendedProperty,
    FailFast,
    FileAttachment,
    Identity,
    Mailbox,
    Message,
    OAuth2Credentials,
    OofSettings,
)
from exchangelib import errors as ews_errors
from exchangelib.folders import Folder
from exchangelib.items import SAVE_ONLY
from exchangelib.protocol import BaseProtocol, NoVerifyHTTPAdapter
from oauthlib.oauth2 import OAuth2Error

from postvakt.clock import Clock, system_clock
from postvakt.config import EwsSettings
from postvakt.errors import (
    AuthenticationError,
    MailboxNotFoundError,
    ProtocolError,
    ThrottledError,
    UnavailableError,
)
from postvakt.mailbox.addresses import draft_recipient, one_line
from postvakt.mailbox.base import (
    Checkpoint,
    DraftReply,
    FetchedMessage,
    FolderRole,
    IsKnown,
    OpenedEvidence,
    OutOfOffice,
)
from postvakt.mailbox.exchange import (
    EDIT_RANK,
    PERMISSION_LEVELS,
    AutomaticReplies,
    ThrottlePolicy,
    folder_permission_line,
    folder_removal_line,
    html_reply,
    mark_sensitivity,
    oldest_first,
    permission_level,
    ps_quote,
    reply_text,
)
from postvakt.mailbox.identity import location_key
from postvakt.retry import Backoff, RetryPolicy

__all__ = [
    "DRAFTS",
    "INBOX",
    "SENT",
    "Delegate",
    "EwsConnector",
    "FolderPermission",
    "permission_level",
]

log = logging.getLogger("postvakt.mailbox.ews")

INBOX = "inbox"
SENT = "sentitems"
DRAFTS = "drafts"
"""EWS distinguished folder ids: the folder names Postvakt uses (the same on Graph)."""

SYNC_PAGE = 200  # changes per SyncFolderItems call (EWS allows up to 512)
MIME_CHUNK = 25  # items per GetItem with MIME content: bounds memory
DRAFT_GROUP = 25  # draft ids per FindItem restriction
SYNC_FIELDS = ("message_id", "datetime_received", "is_read", "sensitivity", "size")
_T = TypeVar("_T")


class _DraftKey(ExtendedProperty):
    """Postvakt's id of a draft (the draft's deterministic Message-ID), as a named property.

    Saving a draft twice must save it once; Exchange assigns drafts a Message-ID of its
    own, so the id travels in a property of ours and is searched for before saving.
    """

    distinguished_property_set_id = "PublicStrings"
    property_name = "PostvaktDraftId"
    property_type = "String"


if "postvakt_draft_id" not in {f.name for f in Message.FIELDS}:
    # exchangelib's documented way to add a custom property: registered once per process.
    Message.register("postvakt_draft_id", _DraftKey)


@dataclass(frozen=True)
class FolderPermission:
    """One entry of a folder's permissions, with the Exchange permission level it amounts to."""

    who: str
    """The user's primary SMTP address, or 'Default' / 'Anonymous'."""
    level: str
    read: bool
    create: bool
    edit: str
    delete: str


@dataclass(frozen=True)
class Delegate:
    """A delegate as Outlook's delegate dialog (``GetDelegate``) shows it."""

    address: str
    name: str | None
    inbox: str
    """The delegate's permission level on the Inbox ('None', 'Reviewer', 'Author', 'Editor')."""
    view_private_items: bool


# The rights each Exchange folder permission level stands for (read, create, edit, delete).
class EwsConnector:
    """One Exchange mailbox over EWS, read in place.  One pass at a time per connector."""

    def __init__(
        self,
        address: str,
        settings: EwsSettings,
        password: str,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        backoff: Backoff | None = None,
        throttle: ThrottlePolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.address = address
        self.settings = settings
        self._password = password
        self.clock = clock or system_clock()
        self._backoff = backoff or Backoff(retry or RetryPolicy())
        self.throttle = throttle or ThrottlePolicy(max_wait=settings.throttle_wait_seconds)
        self._sleep = sleep
        self._account: Account | None = None
        self.calls = 0
        """EWS requests made (for tests and the idle-cost benchmark)."""

    def __repr__(self) -> str:
        return f"EwsConnector({self.address!r}, {self.endpoint or 'autodiscover'})"

    # -- connecting ---------------------------------------------------------------------

    @property
    def endpoint(self) -> str | None:
        if self.settings.endpoint:
            return self.settings.endpoint
        if self.settings.server:
            return f"https://{self.settings.server}/EWS/Exchange.asmx"
        return None

    def _credentials(self) -> Credentials | OAuth2Credentials:
        settings = self.settings
        if settings.auth == "oauth":
            assert settings.oauth_client_id and settings.oauth_tenant_id  # checked by the config
            return _AppCredentials(
                authority=settings.oauth_authority,
                scope_origin=_origin(self.endpoint or f"https://{self.address.split('@')[1]}"),
                client_id=settings.oauth_client_id,
                client_secret=self._password,
                tenant_id=settings.oauth_tenant_id,
                identity=Identity(primary_smtp_address=self.address),
            )
        return Credentials(settings.username, self._password)

    def _open(self) -> Account:
        settings = self.settings
        if (
            not settings.verify_certificate
            and BaseProtocol.HTTP_ADAPTER_CLS is not NoVerifyHTTPAdapter
        ):
            # exchangelib sets the HTTP adapter for the whole process, not per server.
            log.warning(
                "verify_certificate = false for %s: certificate checks are off for every EWS "
                "server this process talks to",
                self.address,
            )
            BaseProtocol.HTTP_ADAPTER_CLS = NoVerifyHTTPAdapter
        credentials = self._credentials()
        auth_type = {"ntlm": NTLM, "basic": BASIC, "oauth": OAUTH2}[settings.auth]
        access = IMPERSONATION if settings.access == "impersonation" else DELEGATE
        config = Configuration(
            service_endpoint=self.endpoint,
            credentials=credentials,
            auth_type=auth_type,
            retry_policy=FailFast(),
        )
        # Autodiscover (when asked for) talks to the network here; _call maps its errors.
        return Account(
            primary_smtp_address=self.address,
            access_type=access,
            autodiscover=settings.autodiscover and not self.endpoint,
            credentials=credentials,
            config=config,
            locale="sv_SE",
            default_timezone=_UTC_ZONE,
        )

    def _connection(self) -> Account:
        if self._account is None:
            self._account = self._call("ansluta", self._open)
        return self._account

    def close(self) -> None:
        account, self._account = self._account, None
        if account is not None:
            # The pool is shared with other mailboxes on the same server; they reopen as needed.
            with suppress(ews_errors.EWSError, requests.RequestException, OSError):
                account.protocol.close()

    # -- errors and throttling -------------------------------------------------------------

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Map exchangelib's errors to Postvakt's, keeping the EWS response code."""
        where = self.endpoint or "autodiscover"
        try:
            yield
        except ews_errors.ErrorServerBusy as exc:
            raise ThrottledError(
                f"Exchange ({where}) ber Postvakt vänta"
                + (f" {exc.back_off:.0f} s" if exc.back_off else "")
                + f" innan den kan {action}.",
                mailbox=self.address,
                code="ErrorServerBusy",
                retry_after=exc.back_off,
            ) from exc
        except (
            ews_errors.ErrorAccessDenied,
            ews_errors.ErrorImpersonateUserDenied,
            ews_errors.ErrorImpersonationDenied,
            ews_errors.ErrorNotDelegate,
        ) as exc:
            self._drop()
            raise AuthenticationError(
                f"Exchange nekade tjänstekontot {self.settings.username} åtkomst till brevlådan "
                f"({type(exc).__name__}) när Postvakt skulle {action}. Kontrollera att kontot har "
                + (
                    "rollen ApplicationImpersonation"
                    if self.settings.access == "impersonation"
                    else "FullAccess på brevlådan (Add-MailboxPermission)"
                )
                + ".",
                mailbox=self.address,
                code=type(exc).__name__,
            ) from exc
        except ews_errors.UnauthorizedError as exc:
            self._drop()
            raise AuthenticationError(
                f"inloggningen som {self.settings.username} nekades av {where}. Kontrollera "
                "användarnamnet, auth och lösenordet i miljövariabeln som password_env anger.",
                mailbox=self.address,
                code="Unauthorized",
            ) from exc
        except UnicodeError as exc:
            self._drop()
            raise AuthenticationError(
                f"användarnamnet eller lösenordet innehåller tecken som inte kan skickas med "
                f"auth = {self.settings.auth!r} (bara Latin-1 går med basic). Byt lösenord eller "
                "använd ntlm.",
                mailbox=self.address,
                code="Unauthorized",
            ) from exc
        except OAuth2Error as exc:
            self._drop()
            raise AuthenticationError(
                f"Entra ID gav ingen token till appen {self.settings.oauth_client_id} "
                f"({exc.error}). Kontrollera oauth_client_id, oauth_tenant_id och "
                "klienthemligheten i password_env.",
                mailbox=self.address,
                code=exc.error,
            ) from exc
        except (
            ews_errors.ErrorNonExistentMailbox,
            ews_errors.ErrorFolderNotFound,
            ews_errors.ErrorMailRecipientNotFound,
        ) as exc:
            raise MailboxNotFoundError(
                f"Exchange känner inte till brevlådan eller mappen ({type(exc).__name__}: {exc}) "
                f"när Postvakt skulle {action}. Kontrollera adressen i konfigurationen.",
                mailbox=self.address,
                code=type(exc).__name__,
            ) from exc
        except (
            ews_errors.ErrorMailboxStoreUnavailable,
            ews_errors.ErrorMailboxMoveInProgress,
            ews_errors.ErrorInternalServerTransientError,
            ews_errors.ErrorTimeoutExpired,
            ews_errors.ErrorConnectionFailed,
        ) as exc:
            self._drop()
            raise UnavailableError(
                f"Exchange kunde inte {action} just nu ({type(exc).__name__}). Postvakt försöker igen.",
                mailbox=self.address,
                code=type(exc).__name__,
            ) from exc
        except ews_errors.ResponseMessageError as exc:
            raise ProtocolError(
                f"Exchange svarade {type(exc).__name__} när Postvakt skulle {action}: {exc}",
                mailbox=self.address,
                code=type(exc).__name__,
            ) from exc
        except ews_errors.AutoDiscoverError as exc:
            self._drop()
            raise UnavailableError(
                f"autodiscover hittade ingen EWS-adress för {self.address.split('@')[-1]} "
                f"({type(exc).__name__}). Ange endpoint eller server i konfigurationen.",
                mailbox=self.address,
                code=type(exc).__name__,
            ) from exc
        except (ews_errors.TransportError, requests.RequestException, OSError) as exc:
            # Connection refused or reset, TLS failures, SOAP that is not SOAP.
            self._drop()
            raise UnavailableError(
                f"förbindelsen med {where} bröts eller kunde inte öppnas när Postvakt skulle "
                f"{action} ({type(exc).__name__}: {exc}). Postvakt försöker igen.",
                mailbox=self.address,
            ) from exc
        except ews_errors.EWSError as exc:
            raise ProtocolError(
                f"Exchange svarade oväntat när Postvakt skulle {action}: {exc}",
                mailbox=self.address,
                code=type(exc).__name__,
            ) from exc

    def _drop(self) -> None:
        self._account = None

    def _call(self, action: str, work: Callable[[], _T]) -> _T:
        """Run one server round trip (or a few), under the throttle and back-off policies."""
        attempt = 0
        while True:
            attempt += 1
            wait = self._backoff.wait_left()
            if wait > 0 and self._backoff.failures:
                raise UnavailableError(
                    f"Exchange svarade inte nyss; nästa försök om {wait:.0f} s",
                    mailbox=self.address,
                )
            if wait > 0:
                raise ThrottledError(
                    f"Exchange bad nyss Postvakt vänta; nästa försök om {wait:.0f} s",
                    mailbox=self.address,
                    code="ErrorServerBusy",
                    retry_after=wait,
                )
            try:
                with self._errors(action):
                    self.calls += 1
                    result = work()
            except ThrottledError as exc:
                pause = self.throttle.pause(exc.retry_after, attempt)
                if pause is None:
                    # Respect the server's request across passes: no call until it has passed.
                    hold = exc.retry_after or self.throttle.default_wait
                    self._backoff.not_before = self._backoff.monotonic() + hold
                    raise
                log.info("Exchange throttles %s; waiting %.1f s", self.address, pause)
                self._sleep(pause)
                continue
            except UnavailableError:
                self._backoff.failed()
                raise
            self._backoff.succeeded()
            return result

    # -- folders ---------------------------------------------------------------------------

    def folders(self, role: FolderRole) -> list[str]:
        return [INBOX] if role == "inbox" else [SENT]

    def drafts_folder(self) -> str:
        """The Drafts folder (a delegate needs rights there to answer with Postvakt's drafts)."""
        return DRAFTS

    def _folder(self, name: str) -> Folder:
        account = self._connection()
        attribute = {INBOX: "inbox", SENT: "sent", DRAFTS: "drafts"}.get(name)
        if attribute is None:
            raise MailboxNotFoundError(
                f"mappen {name!r} stöds inte av EWS-kopplingen (inbox, sentitems, drafts)",
                mailbox=self.address,
            )
        return self._call(f"öppna mappen {name}", lambda: getattr(account, attribute))

    # -- reading ---------------------------------------------------------------------------

    def _sync(self, folder: Folder, sync_state: str | None) -> tuple[list[tuple[str, Any]], str]:
        """Every change since ``sync_state`` (all items when None) and the new sync state."""

        def run() -> tuple[list[tuple[str, Any]], str]:
            # exchangelib falls back to the state it last saw when given None: clear it.
            folder.item_sync_state = sync_state
            changes = list(
                folder.sync_items(
                    sync_state=sync_state,
                    only_fields=SYNC_FIELDS,
                    max_changes_returned=SYNC_PAGE,
                )
            )
            return changes, folder.item_sync_state

        return self._call(f"synkronisera {folder.name}", run)

    def fetch_new(
        self, folder: str, state: Mapping[str, Any] | None, is_known: IsKnown
    ) -> Iterator[FetchedMessage | Checkpoint]:
        target = self._folder(folder)
        old = dict(state or {})
        today = self.clock().date().isoformat()
        sync_state = old.get("sync_state")
        try:
            changes, new_sync = self._sync(target, sync_state)
        except ProtocolError as exc:
            if exc.code != "ErrorInvalidSyncStateData":
                raise
            log.warning(
                "Exchange no longer knows the sync state of a folder of %s; reading it again",
                self.address,
            )
            sync_state = None
            changes, new_sync = self._sync(target, None)
        changed = 0
        candidates: dict[str, tuple[datetime | None, str, Any]] = {}
        for kind, item in changes:
            if kind in ("read_flag_change", "update"):
                changed += 1 if sync_state else 0
            if kind not in ("create", "update"):
                continue
            if kind == "create" and sync_state and getattr(item, "is_read", False):
                changed += 1  # read before Postvakt saw it: someone opened the mailbox
            received = _aware(getattr(item, "datetime_received", None))
            # Where it is: the store's item id (it changes only when the item is moved, and a
            # moved item seen again is recognised by the intake by Message-ID and content).
            key = location_key(item.id)
            if not is_known(key):
                candidates[item.id] = (received, key, item)
        counted = int(old.get("changed_today", 0)) if old.get("day") == today else 0
        new_state = {"sync_state": new_sync, "day": today, "changed_today": counted + changed}
        ordered = sorted(candidates.values(), key=oldest_first)
        yielded_last = False
        for start in range(0, len(ordered), MIME_CHUNK):
            chunk = ordered[start : start + MIME_CHUNK]
            account = self._connection()
            fetched = self._call(
                f"hämta meddelanden i {folder}",
                lambda chunk=chunk, account=account: list(
                    account.fetch([entry[2] for entry in chunk], only_fields=["mime_content"])
                ),
            )
            for index, ((received, key, item), full) in enumerate(zip(chunk, fetched, strict=True)):
                last = start + index == len(ordered) - 1
                if isinstance(full, Exception) or not getattr(full, "mime_content", None):
                    continue  # deleted by its owner meanwhile, or not a mail item
                raw = mark_sensitivity(bytes(full.mime_content), getattr(item, "sensitivity", None))
                yield FetchedMessage(folder, key, raw, received, new_state if last else None)
                yielded_last = last
        if not yielded_last and new_state != old:
            yield Checkpoint(folder, new_state)

    # -- drafts ------------------------------------------------------------------------------

    def save_draft(self, draft: DraftReply) -> str:
        return self.save_drafts([draft])[0]

    def save_drafts(self, drafts: Sequence[DraftReply]) -> list[str]:
        """One FindItem per group of drafts for those already saved (a retry after a crash),
        one CreateItem for the rest, each with its attachments."""
        if not drafts:
            return []
        folder = self._folder(DRAFTS)
        account = self._connection()
        where: dict[str, str] = {}
        ids = [d.message_id for d in drafts]
        for start in range(0, len(ids), DRAFT_GROUP):
            group = ids[start : start + DRAFT_GROUP]
            found = self._call(
                "leta efter utkast",
                lambda group=group: list(
                    folder.filter(postvakt_draft_id__in=group).only("postvakt_draft_id")
                ),
            )
            for item in found:
                where[item.postvakt_draft_id] = f"{DRAFTS}/{item.id}"
        missing = [d for d in drafts if d.message_id not in where]
        if missing:
            items = [self._draft_item(account, folder, d) for d in missing]
            results = self._call(
                "spara utkast",
                lambda: account.bulk_create(
                    folder=folder, items=items, message_disposition=SAVE_ONLY
                ),
            )
            for draft, result in zip(missing, results, strict=True):
                if isinstance(result, Exception):
                    with self._errors("spara utkast"):
                        raise result
                where[draft.message_id] = f"{DRAFTS}/{result.id}"
        return [where[d.message_id] for d in drafts]

    def _draft_item(self, account: Account, folder: Folder, draft: DraftReply) -> Message:
        references = [*draft.references]
        if draft.in_reply_to and draft.in_reply_to not in references:
            references.append(draft.in_reply_to)
        message = Message(
            account=account,
            folder=folder,
            subject=draft.subject,
            body=draft.text,
            # None when the citizen's address needs a person's check: a draft without To.
            to_recipients=[Mailbox(name=one_line(draft.to_name) or None, email_address=to)]
            if (to := draft_recipient(draft.to_address))
            else None,
            in_reply_to=f"<{draft.in_reply_to}>" if draft.in_reply_to else None,
            references=" ".join(f"<{r}>" for r in references) or None,
            is_read=True,  # our own draft: it should not show as unread mail
            postvakt_draft_id=draft.message_id,
        )
        for attachment in draft.attachments:
            message.attach(
                FileAttachment(
                    name=attachment.filename,
                    content=attachment.data,
                    content_type=attachment.content_type,
                )
            )
        return message

    # -- opened-today evidence -----------------------------------------------------------------

    def opened_evidence(self, folder: str, state: Mapping[str, Any] | None) -> OpenedEvidence:
        """Flag changes (read, flagged) that sync has seen since the day began, and the unread
        messages that arrived before it.

        The count in ``state`` covers the passes of the day; changes since the last pass are
        read from the server without moving the saved sync state.  Exchange keeps one read
        state for the owner and every delegate, so a delegate's reading counts too.  EWS
        does not publish the owner's last logon: ``last_login`` is None.
        """
        state = state or {}
        now = self.clock()
        today = now.date()
        changed = int(state.get("changed_today", 0)) if state.get("day") == today.isoformat() else 0
        target = self._folder(folder)
        if state.get("sync_state"):
            with suppress(ProtocolError):  # an invalid state: the next pass re-syncs
                changes, _new = self._sync(target, state["sync_state"])
                changed += sum(
                    1
                    for kind, item in changes
                    if kind in ("read_flag_change", "update")
                    or (kind == "create" and getattr(item, "is_read", False))
                )
        start_of_day = datetime.combine(today, clock_time(0), tzinfo=now.tzinfo)
        unread = self._call(
            f"räkna olästa i {folder}",
            lambda: target.filter(is_read=False, datetime_received__lt=start_of_day).count(),
        )
        return OpenedEvidence(changed_today=changed, last_login=None, unread_from_before=unread)

    # -- out-of-office ----------------------------------------------------------------------------

    def automatic_replies(self) -> AutomaticReplies:
        """The mailbox's automatic replies (OofSettings) as they are now."""
        account = self._connection()
        oof = self._call("läsa frånvaromeddelandet", lambda: account.oof_settings)
        status = {"Enabled": "enabled", "Scheduled": "scheduled"}.get(oof.state, "disabled")
        audience = {"None": "none", "Known": "known"}.get(oof.external_audience or "", "all")
        return AutomaticReplies(
            status=status,  # type: ignore[arg-type]
            start=_aware(oof.start) if status == "scheduled" else None,
            end=_aware(oof.end) if status == "scheduled" else None,
            internal_text=reply_text(oof.internal_reply or ""),
            external_text=reply_text(oof.external_reply or ""),
            audience=audience,  # type: ignore[arg-type]
            internal_html=oof.internal_reply or "",
            external_html=oof.external_reply or "",
        )

    def set_automatic_replies(self, replies: AutomaticReplies) -> None:
        """Set the automatic replies: scheduled or not, internal and external text, audience.

        A schedule that has already ended is written as 'disabled' (with its texts): Exchange
        refuses an end in the past, and the effect is the same.
        """
        if replies.status == "scheduled":
            if replies.start is None or replies.end is None or replies.end <= replies.start:
                raise ValueError("ett schemalagt frånvaromeddelande behöver start före slut")
            if replies.end <= self.clock():
                replies = dataclasses.replace(replies, status="disabled")
        scheduled = replies.status == "scheduled"
        settings = OofSettings(
            state={"enabled": "Enabled", "scheduled": "Scheduled"}.get(replies.status, "Disabled"),
            external_audience={"none": "None", "known": "Known"}.get(replies.audience, "All"),
            start=replies.start.astimezone(UTC) if scheduled and replies.start else None,
            end=replies.end.astimezone(UTC) if scheduled and replies.end else None,
            internal_reply=replies.internal_html or html_reply(replies.internal_text),
            external_reply=replies.external_html or html_reply(replies.external_text),
        )
        account = self._connection()

        def store() -> None:
            account.oof_settings = settings

        self._call("sätta frånvaromeddelandet", store)

    def set_out_of_office(self, reply: OutOfOffice) -> None:
        """An automatic reply from ``reply.start`` through ``reply.end`` (whole days, local time),
        to everyone inside and outside the organisation.

        Exchange has no subject for automatic replies (it answers 'Automatiskt svar: <subject>'),
        so ``reply.subject`` is not stored.
        """
        self.set_automatic_replies(AutomaticReplies.for_days(reply, self.clock()))

    def clear_out_of_office(self) -> None:
        """Turn the automatic reply off, keeping its texts (as Outlook does)."""
        current = self.automatic_replies()
        self.set_automatic_replies(
            AutomaticReplies(
                status="disabled",
                internal_text=current.internal_text,
                external_text=current.external_text,
                audience=current.audience,
                internal_html=current.internal_html,
                external_html=current.external_html,
            )
        )

    def out_of_office(self) -> OutOfOffice | None:
        return self.automatic_replies().as_out_of_office(self.clock())

    # -- delegates and folder permissions ---------------------------------------------------------

    def delegates(self) -> list[Delegate]:
        """The mailbox's delegates (read-only: exchangelib has no AddDelegate)."""
        account = self._connection()
        found = self._call("läsa ombud", lambda: account.delegates)
        out = []
        for entry in found:
            if isinstance(entry, Exception):
                continue
            user = entry.user_id
            permissions = entry.delegate_permissions
            out.append(
                Delegate(
                    address=(user.primary_smtp_address or "").lower() if user else "",
                    name=user.display_name if user else None,
                    inbox=permissions.inbox_folder_permission_level if permissions else "None",
                    view_private_items=bool(entry.view_private_items),
                )
            )
        return out

    def permissions(self, folder: str) -> list[FolderPermission]:
        """The folder's permission entries (``PermissionSet``)."""
        target = self._folder(folder)
        # A fresh GetFolder: the folder object is cached for the connector's lifetime.
        permission_set = self._call(
            f"läsa behörigheter för {folder}", lambda: target.refresh().permission_set
        )
        out = []
        for entry in (permission_set.permissions or []) if permission_set else []:
            user = entry.user_id
            who = (
                (user.primary_smtp_address or "").lower()
                if user and user.primary_smtp_address
                else (user.distinguished_user if user else None) or "?"
            )
            rights = (
                entry.read_items == "FullDetails",
                bool(entry.can_create_items),
                entry.edit_items or "None",
                entry.delete_items or "None",
            )
            out.append(FolderPermission(who, _level_of(rights), *rights))
        return out

    def access(self, folder: str) -> dict[str, str]:
        """Who has which permission level on ``folder`` ('Default' and 'Anonymous' left out)."""
        return {
            p.who: p.level
            for p in self.permissions(folder)
            if p.who not in ("Default", "Anonymous") and p.level != "None"
        }

    def has_access(self, folder: str, who: str, rights: str) -> bool:
        """Whether ``who`` holds at least ``rights`` on ``folder`` (verifies an instruction)."""
        wanted = permission_level(rights)
        if wanted == "FullAccess":
            raise ValueError(
                "FullAccess syns inte i EWS; kontrollera med Get-MailboxPermission -Identity "
                f"{ps_quote(self.address)} -User {ps_quote(who)}"
            )
        entry = next((p for p in self.permissions(folder) if p.who == who.lower()), None)
        if entry is None:
            return wanted == "None"
        need = PERMISSION_LEVELS[wanted]
        return (
            (entry.read or not need[0])
            and (entry.create or not need[1])
            and EDIT_RANK[entry.edit] >= EDIT_RANK[need[2]]
            and EDIT_RANK[entry.delete] >= EDIT_RANK[need[3]]
        )

    def grant_instruction(self, folder: str, who: str, rights: str) -> str:
        """The Exchange Management Shell line that gives ``who`` the ``rights``.

        EWS (and exchangelib) cannot grant mailbox or folder permissions; the mail
        administrator runs this, and :meth:`has_access` checks the result afterwards.
        """
        level = permission_level(rights)
        if level == "FullAccess":
            return (
                f"Add-MailboxPermission -Identity {ps_quote(self.address)} -User {ps_quote(who)} "
                "-AccessRights FullAccess -InheritanceType All -AutoMapping $false"
            )
        identity = self._folder_identity(folder)
        verb = "Set" if who.lower() in self.access(folder) else "Add"
        return folder_permission_line(verb, identity, who, level)

    def removal_instruction(self, folder: str, who: str, *, full_access: bool = False) -> str:
        """The Exchange Management Shell line that takes ``who``'s rights away again."""
        if full_access:
            return (
                f"Remove-MailboxPermission -Identity {ps_quote(self.address)} -User {ps_quote(who)} "
                "-AccessRights FullAccess -InheritanceType All -Confirm:$false"
            )
        return folder_removal_line(self._folder_identity(folder), who)

    def _folder_identity(self, folder: str) -> str:
        # The shell names folders by their display name in the mailbox's language (Inkorgen).
        return f"{self.address}:\\{self._folder(folder).name}"


# ----------------------------------------------------------------------------------- helpers


def _level_of(rights: tuple[bool, bool, str, str]) -> str:
    # exchangelib reads the level from the wrong element name; the rights themselves are right.
    for name, levels in PERMISSION_LEVELS.items():
        if levels == rights:
            return name
    return "Custom"


def _aware(value: datetime | None) -> datetime | None:
    """A plain aware datetime (exchangelib's EWSDateTime and EWSTimeZone stay inside)."""
    if value is None:
        return None
    plain = datetime.fromisoformat(value.isoformat())
    return (plain if plain.tzinfo is not None else plain.replace(tzinfo=UTC)).astimezone(UTC)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class _AppCredentials(OAuth2Credentials):
    """Client-credentials OAuth with the authority and resource of this installation."""

    def __init__(self, *, authority: str, scope_origin: str, **kwargs: Any):
        super().__init__(**kwargs)
        self._authority = authority.rstrip("/")
        self._scope_origin = scope_origin

    @property
    def token_url(self) -> str:
        return f"{self._authority}/{self.tenant_id}/oauth2/v2.0/token"

    @property
    def scope(self) -> list[str]:
        return [f"{self._scope_origin}/.default"]


def _utc_zone() -> Any:
    from exchangelib import EWSTimeZone

    return EWSTimeZone("UTC")


_UTC_ZONE = _utc_zone()
