"""One mailbox's conversation with Microsoft Graph: app-only tokens, requests, throttling.

:class:`GraphClient` is what :class:`~postvakt.mailbox.graph.GraphConnector` is built on.
Authentication is app-only with MSAL (a client secret or a certificate): the MSAL
application — and so its token cache — is shared by every mailbox an app registration
reads, and a token the service rejects (401) is dropped and a new one fetched once.  Every
request carries the immutable-id preference; a 429 or 503 answer's ``Retry-After`` goes
through the :class:`~postvakt.mailbox.exchange.ThrottlePolicy` (waited out within the pass,
or the pass ends with :class:`~postvakt.errors.ThrottledError` and no request goes out until
the wait has passed), and a collection is read page by page (``@odata.nextLink``).

No ``requests`` or ``msal`` exception leaves this module: each is mapped to
:mod:`postvakt.errors` with what to check.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import msal
import requests

from postvakt.clock import Clock, system_clock
from postvakt.config import GraphSettings
from postvakt.errors import (
    AuthenticationError,
    MailboxNotFoundError,
    ProtocolError,
    ThrottledError,
    UnavailableError,
)
from postvakt.mailbox.exchange import ThrottlePolicy
from postvakt.retry import Backoff, RetryPolicy

__all__ = ["IMMUTABLE_IDS", "PAGE_SIZE", "GraphClient"]

log = logging.getLogger("postvakt.mailbox.graph")

PAGE_SIZE = 100  # Prefer: odata.maxpagesize for delta pages
IMMUTABLE_IDS = 'IdType="ImmutableId"'
"""The preference that makes item ids survive a move between folders (sent on every request)."""


def _session(verify: str | bool, timeout: float) -> requests.Session:
    """A session that sends ``verify`` and ``timeout`` with every request: requests lets
    REQUESTS_CA_BUNDLE override a session's own ``verify``, which would drop ``ca_file``."""
    session = requests.Session()
    session.headers["User-Agent"] = "Postvakt"
    session.request = functools.partial(  # type: ignore[method-assign]
        session.request, verify=verify, timeout=timeout
    )
    return session


_APPLICATIONS: dict[tuple[str, ...], msal.ConfidentialClientApplication] = {}
_APPLICATIONS_LOCK = threading.Lock()


def _application(
    settings: GraphSettings, credential: str, verify: str | bool
) -> msal.ConfidentialClientApplication:
    """The MSAL application for an app registration, shared by every mailbox it reads:
    one token cache, so a hundred mailboxes cost one token an hour, not a hundred."""
    authority = f"{settings.authority.rstrip('/')}/{settings.tenant_id}"
    thumbprint = (settings.certificate_thumbprint or "").replace(":", "")
    fingerprint = hashlib.sha256(credential.encode("utf-8")).hexdigest()
    key = (authority, settings.client_id, thumbprint, fingerprint, str(verify))
    with _APPLICATIONS_LOCK:
        app = _APPLICATIONS.get(key)
        if app is None:
            client_credential: Any = (
                {"private_key": credential, "thumbprint": thumbprint}
                if settings.certificate_path
                else credential
            )
            app = msal.ConfidentialClientApplication(
                settings.client_id,
                client_credential=client_credential,
                authority=authority,
                # Only the tenant's OpenID configuration is read; no instance discovery call
                # to login.microsoftonline.com (sovereign clouds, proxies, tests).
                instance_discovery=False,
                http_client=_session(verify, settings.timeout_seconds),
            )
            _APPLICATIONS[key] = app
        return app


class GraphClient:
    """The authenticated, throttled HTTP requests of one mailbox (``/users/{address}``)."""

    def __init__(
        self,
        address: str,
        settings: GraphSettings,
        credential: str,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        backoff: Backoff | None = None,
        throttle: ThrottlePolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """``credential`` is the client secret, or with ``certificate_path`` the private key (PEM)."""
        self.address = address
        self.settings = settings
        self._credential = credential
        self.clock = clock or system_clock()
        self._backoff = backoff or Backoff(retry or RetryPolicy())
        self.throttle = throttle or ThrottlePolicy(max_wait=settings.throttle_wait_seconds)
        self._sleep = sleep
        self._app: msal.ConfidentialClientApplication | None = None
        self._session: requests.Session | None = None
        self.calls = 0
        """Graph requests made (for tests and the idle-cost benchmark)."""

    # -- authentication ------------------------------------------------------------------

    @property
    def _verify(self) -> str | bool:
        return str(self.settings.ca_file) if self.settings.ca_file else True

    @property
    def scope(self) -> str:
        parts = urlsplit(self.settings.endpoint)
        return f"{parts.scheme}://{parts.netloc}/.default"

    def _client(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            with self._token_errors("hämta en token"):
                self._app = _application(self.settings, self._credential, self._verify)
        return self._app

    def _token(self) -> str:
        app = self._client()
        with self._token_errors("hämta en token"):
            result = app.acquire_token_for_client(scopes=[self.scope])
        if "access_token" not in result:
            error = str(result.get("error") or "okänt fel")
            raise AuthenticationError(
                f"Entra ID gav ingen token till appen {self.settings.client_id}: "
                f"{result.get('error_description') or error}. Kontrollera tenant_id, client_id "
                "och hemligheten eller certifikatet.",
                mailbox=self.address,
                code=error,
            )
        return str(result["access_token"])

    def _forget_token(self) -> None:
        """Drop cached access tokens: the service said ours is no longer good."""
        if self._app is None:
            return
        cache = self._app.token_cache
        for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(entry)

    @contextmanager
    def _token_errors(self, action: str) -> Iterator[None]:
        """Map MSAL's and requests' exceptions during token work to Postvakt's errors."""
        try:
            yield
        except requests.RequestException as exc:
            self._backoff.failed()
            raise UnavailableError(
                f"inloggningstjänsten ({self.settings.authority}) svarade inte när Postvakt "
                f"skulle {action} ({type(exc).__name__}). Postvakt försöker igen.",
                mailbox=self.address,
            ) from exc
        except ValueError as exc:
            # MSAL raises ValueError for an unknown tenant or a key it cannot read.
            raise AuthenticationError(
                f"appen kunde inte logga in mot {self.settings.authority}: {exc}. "
                "Kontrollera tenant_id, authority och certifikatet.",
                mailbox=self.address,
                code="invalid_configuration",
            ) from exc

    # -- HTTP ----------------------------------------------------------------------------

    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = _session(self._verify, self.settings.timeout_seconds)
        return self._session

    def close(self) -> None:
        """Close the connections; the next request opens new ones (MSAL keeps its tokens)."""
        if self._session is not None:
            self._session.close()

    def _url(self, path: str) -> str:
        if path.startswith("https://") or path.startswith("http://"):
            return path
        return f"{self.settings.endpoint.rstrip('/')}/users/{quote(self.address)}{path}"

    @staticmethod
    def _retry_after(response: requests.Response) -> float | None:
        value = response.headers.get("Retry-After")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def _request(
        self,
        method: str,
        path: str,
        action: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        authorised: bool = True,
    ) -> requests.Response:
        """One Graph request, with a fresh token on 401 and the throttle policy on 429/503."""
        attempt = 0
        renewed = False
        while True:
            attempt += 1
            wait = self._backoff.wait_left()
            if wait > 0 and self._backoff.failures:
                raise UnavailableError(
                    f"Microsoft Graph svarade inte nyss; nästa försök om {wait:.0f} s",
                    mailbox=self.address,
                )
            if wait > 0:
                raise ThrottledError(
                    f"Microsoft Graph bad nyss Postvakt vänta; nästa försök om {wait:.0f} s",
                    mailbox=self.address,
                    code="TooManyRequests",
                    retry_after=wait,
                )
            sent = dict(headers or {})
            # Immutable ids on every request (delta queries too): a message keeps its id when
            # its owner moves it between folders, so it is never taken for a new one.
            sent["Prefer"] = ", ".join(p for p in (sent.get("Prefer"), IMMUTABLE_IDS) if p)
            if authorised:
                sent["Authorization"] = f"Bearer {self._token()}"
            try:
                self.calls += 1
                response = self._http().request(
                    method, self._url(path), json=json, params=params, headers=sent, data=data
                )
            except requests.RequestException as exc:
                self._backoff.failed()
                self.close()
                raise UnavailableError(
                    f"förbindelsen med Microsoft Graph bröts eller kunde inte öppnas när Postvakt "
                    f"skulle {action} ({type(exc).__name__}). Postvakt försöker igen.",
                    mailbox=self.address,
                ) from exc
            status = response.status_code
            if status == 401 and authorised and not renewed:
                # Expired or revoked before MSAL expected: one new token, one new try.
                renewed = True
                self._forget_token()
                continue
            if status in (429, 503):
                hint = self._retry_after(response)
                pause = self.throttle.pause(hint, attempt)
                if pause is None:
                    self._backoff.not_before = self._backoff.monotonic() + (
                        hint or self.throttle.default_wait
                    )
                    raise ThrottledError(
                        "Microsoft Graph ber Postvakt vänta"
                        + (f" {hint:.0f} s" if hint else "")
                        + f" innan den kan {action}.",
                        mailbox=self.address,
                        code=self._error_code(response) or str(status),
                        retry_after=hint,
                    )
                log.info("Graph throttles %s; waiting %.1f s", self.address, pause)
                self._sleep(pause)
                continue
            if status >= 400:
                self._raise(response, action)
            self._backoff.succeeded()
            return response

    @staticmethod
    def _error_code(response: requests.Response) -> str | None:
        try:
            error = response.json().get("error")
        except ValueError:
            return None
        if isinstance(error, Mapping):
            return str(error.get("code") or "") or None
        return str(error) if error else None

    def _raise(self, response: requests.Response, action: str) -> None:
        status = response.status_code
        code = self._error_code(response) or str(status)
        try:
            message = response.json().get("error", {}).get("message", "")
        except (ValueError, AttributeError):
            message = response.text[:200]
        text = f"Microsoft Graph svarade {status} {code} när Postvakt skulle {action}"
        if status == 401:
            raise AuthenticationError(
                f"{text}: tokenen godtogs inte ({message}). Kontrollera appens registrering.",
                mailbox=self.address,
                code=code,
            )
        if status == 403:
            raise AuthenticationError(
                f"{text}: åtkomst nekad ({message}). Appen behöver Mail.ReadWrite och "
                "MailboxSettings.ReadWrite (programbehörigheter med administratörsmedgivande), "
                "och brevlådan måste ingå i programåtkomstprincipen (New-ApplicationAccessPolicy).",
                mailbox=self.address,
                code=code,
            )
        if status == 404:
            raise MailboxNotFoundError(
                f"{text}: finns inte ({message}). Kontrollera adressen och att brevlådan finns "
                "i Exchange Online.",
                mailbox=self.address,
                code=code,
            )
        if status >= 500:
            self._backoff.failed()
            raise UnavailableError(
                f"{text}. Postvakt försöker igen.", mailbox=self.address, code=code
            )
        raise ProtocolError(f"{text}: {message}", mailbox=self.address, code=code)

    def _pages(
        self, path: str, action: str, params: Mapping[str, str] | None = None
    ) -> Iterator[dict]:
        """Every page of a collection, following @odata.nextLink."""
        response = self._request(
            "GET", path, action, params=params, headers={"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
        )
        while True:
            page = response.json()
            yield page
            link = page.get("@odata.nextLink")
            if not link:
                return
            response = self._request(
                "GET", link, action, headers={"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
            )
