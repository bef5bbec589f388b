"""Reading the file: TOML, validation, every problem as a Swedish line with its key."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from postvakt.config.references import reference_problems
from postvakt.config.schema import Config
from postvakt.errors import ConfigError, ConfigProblem

__all__ = ["check_environment", "load_config", "parse_config"]


_MESSAGES = {
    "missing": "saknas men måste anges",
    "string_type": "ska vara en text inom citattecken",
    "int_type": "ska vara ett heltal",
    "int_parsing": "ska vara ett heltal",
    "float_type": "ska vara ett tal",
    "float_parsing": "ska vara ett tal",
    "bool_type": "ska vara true eller false",
    "bool_parsing": "ska vara true eller false",
    "date_type": "ska vara ett datum, t.ex. 2026-12-24",
    "date_from_datetime_parsing": "ska vara ett datum, t.ex. 2026-12-24",
    "date_parsing": "ska vara ett datum, t.ex. 2026-12-24",
    "tuple_type": 'ska vara en lista, t.ex. ["a", "b"]',
    "list_type": 'ska vara en lista, t.ex. ["a", "b"]',
    "model_type": "ska vara en tabell",
    "string_too_short": "får inte vara tom",
    "too_short": "har för få värden",
    "too_long": "har för många värden",
}


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif (isinstance(part, str) and part.startswith("function-")) or part in ("tagged-union",):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the table at ``loc`` (for 'did you mean' on typos)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        current = _model_in(annotation)
        if current is None:
            return []
    return [name for name, f in current.model_fields.items() if not f.exclude]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _problems_from(exc: ValidationError) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        key = _key(loc)
        kind = error["type"]
        ctx = error.get("ctx") or {}
        original = ctx.get("error")
        if kind == "extra_forbidden":
            allowed = _fields_at(Config, loc)
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            suggestion = f" — menade du {hint[0]!r}?" if hint else ""
            message = f"okänd nyckel (stavfel?){suggestion} Tillåtna här: {', '.join(allowed)}"
        elif kind == "literal_error":
            allowed = str(ctx.get("expected", "")).replace(" or ", " eller ")
            message = f"ogiltigt värde {error.get('input')!r}; tillåtna: {allowed}"
        elif kind == "value_error" and original is not None:
            message = str(original)
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            bound = next(iter(ctx.values()), "")
            word = {
                "greater_than_equal": "minst",
                "less_than_equal": "högst",
                "greater_than": "större än",
                "less_than": "mindre än",
            }[kind]
            message = f"ska vara {word} {bound} (var {error.get('input')!r})"
        else:
            message = _MESSAGES.get(kind, error["msg"])
        problems.append(ConfigProblem(key, message))
    return problems


def parse_config(data: Mapping[str, Any], *, base_dir: Path, source: str | None = None) -> Config:
    """Validate already-parsed TOML data; relative paths are taken from ``base_dir``."""
    references = reference_problems(data)
    try:
        config = Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(_problems_from(exc) + references, source=source) from None
    if references:
        raise ConfigError(references, source=source)
    return config


def load_config(path: Path | str) -> Config:
    """Read and validate the TOML file at ``path``."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"Konfigurationsfilen {path} finns inte. Ange rätt fil med --config eller "
            "POSTVAKT_CONFIG, eller kör 'postvakt demo' för att se ett exempel."
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} är inte UTF-8 ({exc}); spara filen som UTF-8.") from None
    except OSError as exc:
        raise ConfigError(f"Kan inte läsa {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [ConfigProblem("", f"TOML-syntaxfel: {exc}. Rätta raden och försök igen.")],
            source=str(path),
        ) from None
    return parse_config(data, base_dir=path.resolve().parent, source=str(path))


def check_environment(
    config: Config, environ: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    """Secrets the config names that the environment does not hold.

    Only the variable's *name* is ever reported, never a value.
    """
    environ = os.environ if environ is None else environ
    needed: list[tuple[str, str]] = []
    if config.database.password_env:
        needed.append(("database.password_env", config.database.password_env))
    if config.smtp and config.smtp.password_env:
        needed.append(("smtp.password_env", config.smtp.password_env))
    if config.web.session_secret_env:
        needed.append(("web.session_secret_env", config.web.session_secret_env))
    if config.web.oidc:
        needed.append(("web.oidc.client_secret_env", config.web.oidc.client_secret_env))
    for i, mailbox in enumerate(config.mailboxes):
        settings = mailbox.settings
        for attr in ("password_env", "client_secret_env"):
            name = getattr(settings, attr, None)
            if name:
                needed.append((f"mailboxes[{i}].{mailbox.connector}.{attr}", name))
    return [
        ConfigProblem(key, f"miljövariabeln {name} är inte satt; sätt den innan Postvakt startas")
        for key, name in needed
        if not environ.get(name)
    ]
