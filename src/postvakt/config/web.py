"""The dashboard's table: where it listens and how people sign in."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator, model_validator

from postvakt.config.fields import EmailAddress, EnvName, HostName, Strict, WebAddress

__all__ = ["OidcConfig", "WebConfig"]


class OidcConfig(Strict):
    """Sign-in with OpenID Connect (Entra ID, Keycloak, …), as a confidential client."""

    issuer: WebAddress = Field(
        description="The issuer URL; its /.well-known/openid-configuration is read, e.g. "
        "https://login.microsoftonline.com/<tenant>/v2.0 or https://sso.x.se/realms/kommun.",
    )
    client_id: str = Field(min_length=1, description="The client (application) id.")
    client_secret_env: EnvName = Field(description="Environment variable with the client secret.")
    scopes: tuple[str, ...] = Field(
        ("openid", "email", "profile"), description="Scopes asked for; 'openid' is required."
    )
    address_claim: str = Field(
        "email",
        description="The ID token claim holding the person's e-mail address (Entra ID: "
        "'email' or 'preferred_username').",
    )
    label: str = Field("Logga in med organisationens konto", description="The button's text.")

    @field_validator("scopes")
    @classmethod
    def _openid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "openid" not in value:
            raise ValueError("scopes måste innehålla 'openid'")
        return value


class WebConfig(Strict):
    """The dashboard (``postvakt web``): where it listens and how people sign in.

    Roles come from the rest of the config: unit heads (``units[].head``), function-mailbox
    owners (``mailboxes[].owners``), the registrar (``organisation.registrar``), staff
    (``people``), and ``admins`` here.  Local accounts (password hashes) live in the
    database, made with ``postvakt web adduser``; never in this file.
    """

    host: HostName = Field("127.0.0.1", description="Address to listen on; loopback by default.")
    port: int = Field(8080, ge=1, le=65535, description="Port to listen on.")
    base_url: WebAddress | None = Field(
        None,
        description="The dashboard's public address behind a reverse proxy, e.g. "
        "https://postvakt.exempel.se (used for the OIDC redirect).",
    )
    session_secret_env: EnvName | None = Field(
        None,
        description="Environment variable with the key that signs session cookies (32 "
        "characters or more). Without it a random key is made at each start, so sign-ins end "
        "at a restart; required when host is not loopback.",
    )
    cookie_secure: bool | None = Field(
        None,
        description="Send the session cookie over HTTPS only; default on, except on loopback "
        "without base_url.",
    )
    session_hours: float = Field(
        9.0, gt=0, le=336, description="How long a sign-in lasts at most, however active."
    )
    session_idle_minutes: float = Field(
        60.0, gt=0, le=1440, description="A sign-in ends after this long without a request."
    )
    local_accounts: bool = Field(
        True, description="Allow sign-in with local accounts (postvakt web adduser)."
    )
    admins: tuple[EmailAddress, ...] = Field(
        (), description="Addresses with the admin role: every page and every unit."
    )
    oidc: OidcConfig | None = None
    metrics_from: tuple[str, ...] = Field(
        ("127.0.0.1", "::1"),
        description="Client addresses or networks (10.0.0.0/8) that may read /metrics; "
        "an empty list turns /metrics off. /healthz and /readyz answer everyone.",
    )

    @field_validator("metrics_from")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} är ingen IP-adress eller nätverk; ange t.ex. 127.0.0.1 eller "
                    "10.0.0.0/8"
                ) from None
        return value

    @property
    def loopback(self) -> bool:
        return self.host in ("localhost", "::1") or self.host.startswith("127.")

    @property
    def secure_cookie(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return not (self.loopback and self.base_url is None)

    @model_validator(mode="after")
    def _exposed(self) -> WebConfig:
        if not self.loopback and self.session_secret_env is None:
            raise ValueError(
                "session_secret_env krävs när webbpanelen lyssnar på annat än loopback, så att "
                "inloggningar överlever en omstart och flera instanser delar nyckel"
            )
        if not (self.local_accounts or self.oidc):
            raise ValueError(
                "ingen inloggning är möjlig: slå på local_accounts eller ange [web.oidc]"
            )
        return self
