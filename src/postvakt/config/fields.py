"""What every table of the config shares: no unknown keys, and the two value types checked
everywhere (e-mail addresses, names of environment variables)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = ["EmailAddress", "EnvName", "Strict"]

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


EmailAddress = Annotated[str, AfterValidator(_address)]
EnvName = Annotated[str, AfterValidator(_env_name)]


class Strict(BaseModel):
    """Base of every table: unknown keys are errors, values are immutable after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
