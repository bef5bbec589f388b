"""What every table of the config shares: no unknown keys, and the two value types checked
everywhere (e-mail addresses, names of environment variables)."""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, field_validator

__all__ = ["EmailAddress", "EnvName", "HostName", "Strict", "WebAddress"]

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _address(value: str) -> str:
    value = value.strip()
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} är ingen e-postadress (väntade t.ex. namn@exempel.se)")
    return value.lower()


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        # The value is not repeated: it may be the password itself, pasted by mistake.
        raise ValueError(
            "är inget namn på en miljövariabel (bara A–Z, 0–9 och _); ange variabelns namn, "
            "till exempel POSTVAKT_IMAP_PASSWORD — aldrig själva lösenordet"
        )
    return value


_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")


def _host(value: str) -> str:
    # A URL or host:port here is the common mistake; the port has its own key.
    if not _HOST.match(value):
        raise ValueError(
            f"{value!r} är inget värdnamn; ange bara namnet, t.ex. imap.exempel.se "
            "(utan https:// och utan :port — porten anges med port)"
        )
    return value


def _web_address(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+", value):
        raise ValueError(f"{value!r} är ingen webbadress; skriv hela adressen, t.ex. https://…")
    return value


EmailAddress = Annotated[str, AfterValidator(_address)]
EnvName = Annotated[str, AfterValidator(_env_name)]
HostName = Annotated[str, AfterValidator(_host)]
WebAddress = Annotated[str, AfterValidator(_web_address)]


def _scalar(annotation: Any) -> type | None:
    """``int``, ``float`` or ``bool`` when the field holds one of them (or None), else None."""
    if annotation in (int, float, bool):
        return annotation  # type: ignore[no-any-return]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(kinds) == 1 and kinds[0] in (int, float, bool):
            return kinds[0]  # type: ignore[no-any-return]
    return None


_SCALAR_SV = {
    int: "ett heltal utan citattecken, t.ex. 60",
    float: "ett tal utan citattecken, t.ex. 30 eller 2.5",
    bool: "true eller false, utan citattecken",
}


class Strict(BaseModel):
    """Base of every table: unknown keys are errors, values are immutable after loading, and
    numbers and truth values must be written as such."""

    # inf and nan are valid TOML floats, and no timeout or interval means either.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_lax_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic would read "80" as 80 and "no" as False; in a TOML file a quoted number or
        # a quoted "false" is a mistake worth saying, not a value to guess at.
        field = cls.model_fields.get(info.field_name or "")
        kind = _scalar(field.annotation) if field is not None else None
        if kind is None or value is None:
            return value
        wrong = (
            not isinstance(value, bool)
            if kind is bool
            else isinstance(value, (str, bool)) or not isinstance(value, (int, float))
        )
        if wrong:
            raise ValueError(f"ska vara {_SCALAR_SV[kind]} (var {value!r})")
        return value
