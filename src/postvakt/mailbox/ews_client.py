"""One Exchange mailbox's EWS session: the account, the connection pool, errors, throttling.

:class:`EwsClient` is what :class:`~postvakt.mailbox.ews.EwsConnector` is built on.  One
service account reaches every watched mailbox, by delegate access (FullAccess on the
mailbox) or by impersonation (the ApplicationImpersonation role), with NTLM, basic or
OAuth (an Entra ID app, for hybrid set-ups); the server is a fixed endpoint or found by
autodiscover.  There is one exchangelib ``Account`` per mailbox; exchangelib shares one
connection pool between the accounts that use the same endpoint and credentials.

Throttling: exchangelib runs with ``FailFast``, so it never sleeps on its own;
``ErrorServerBusy`` comes here with the server's ``BackOffMilliseconds`` and the
:class:`~postvakt.mailbox.exchange.ThrottlePolicy` decides: wait and try again within the
pass, or end the pass with :class:`~postvakt.errors.ThrottledError` and refuse to call the
server until the back-off has passed.

No ``exchangelib``, ``requests`` or ``oauthlib`` exception leaves this module: each is mapped
to :mod:`postvakt.errors` by :meth:`EwsClient._errors`, keeping the EWS response code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
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
    FailFast,
    Identity,
    OAuth2Credentials,
)
from exchangelib import errors as ews_errors
from exchangelib.folders import Folder
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
from postvakt.mailbox.exchange import ThrottlePolicy
from postvakt.retry import Backoff, RetryPolicy

__all__ = ["DRAFTS", "INBOX", "SENT", "EwsClient", "plain_datetime"]

log = logging.getLogger("postvakt.mailbox.ews")

INBOX = "inbox"
SENT = "sentitems"
DRAFTS = "drafts"
"""EWS distinguished folder ids: the folder names Postvakt uses (the same on Graph)."""
_T = TypeVar("_T")


class EwsClient:
    """The exchangelib account of one mailbox, and every call to it under the error mapping,
    the throttle policy and the back-off.  One pass at a time per client."""

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
                "Exchange nekade tjänstekontot (inställningen username) åtkomst till brevlådan "
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
                f"inloggningen nekades av {where}. Kontrollera "
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

    def _folder(self, name: str) -> Folder:
        """The folder called ``name`` (INBOX, SENT or DRAFTS), fetched from the server."""
        account = self._connection()
        attribute = {INBOX: "inbox", SENT: "sent", DRAFTS: "drafts"}.get(name)
        if attribute is None:
            raise MailboxNotFoundError(
                f"mappen {name!r} stöds inte av EWS-kopplingen (inbox, sentitems, drafts)",
                mailbox=self.address,
            )
        return self._call(f"öppna mappen {name}", lambda: getattr(account, attribute))


# ----------------------------------------------------------------------------------- helpers


def plain_datetime(value: datetime | None) -> datetime | None:
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
