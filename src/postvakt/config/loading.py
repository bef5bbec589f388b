"""Reading the file: TOML, validation, every problem as a Swedish line with its key."""

from __future__ import annotations

import errno
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from postvakt.config.checks import (
    database_problems,
    environment_problems,
    path_problems,
    template_problems,
)
from postvakt.config.messages import problems_from, toml_problem
from postvakt.config.references import reference_problems
from postvakt.config.schema import Config
from postvakt.errors import ConfigError, ConfigProblem

__all__ = [
    "check_environment",
    "check_paths",
    "inspect_config",
    "load_config",
    "parse_config",
    "read_data",
]


def parse_config(data: Mapping[str, Any], *, base_dir: Path, source: str | None = None) -> Config:
    """Validate already-parsed TOML data; relative paths are taken from ``base_dir``."""
    references = reference_problems(data)
    try:
        config = Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, Config) + references, source=source) from None
    if references:
        raise ConfigError(references, source=source)
    return config


def _read(path: Path) -> str:
    """The file's text; every way reading can fail, said in Swedish with what to do."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"Konfigurationsfilen {path} finns inte. Ange rätt fil med --config eller "
            "POSTVAKT_CONFIG, eller kör 'postvakt demo' för att se ett exempel."
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path} är en mapp, inte en fil. Ange konfigurationsfilen, t.ex. "
            f"{path / 'postvakt.toml'}."
        ) from None
    except PermissionError:
        raise ConfigError(
            f"Du får inte läsa {path}. Kör som den användare som äger filen eller ändra "
            "behörigheten (chmod)."
        ) from None
    except OSError as exc:
        code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        raise ConfigError(f"{path} går inte att läsa (felkod {code}).") from None
    try:
        # utf-8-sig: Windows Notepad starts a UTF-8 file with a byte-order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            [
                ConfigProblem(
                    f"rad {line}",
                    f"filen är inte sparad som UTF-8 (byte 0x{raw[exc.start]:02X} går inte att "
                    "läsa); spara den som UTF-8, så att å, ä och ö blir rätt",
                )
            ],
            source=str(path),
        ) from None
    if not text.strip():
        raise ConfigError(
            f"Konfigurationsfilen {path} är tom. Utgå från exemplet i README eller från "
            "postvakt.toml i mappen som 'postvakt demo' skapar."
        )
    return text


def read_data(path: Path | str) -> tuple[dict[str, Any], Path]:
    """The TOML data of the file at ``path`` and the folder relative paths start from."""
    path = Path(path).expanduser()
    text = _read(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([toml_problem(exc, text)], source=str(path)) from None
    return data, path.resolve().parent


def load_config(path: Path | str) -> Config:
    """Read and validate the TOML file at ``path``."""
    data, base_dir = read_data(path)
    return parse_config(data, base_dir=base_dir, source=str(Path(path).expanduser()))


def check_environment(
    config: Config, environ: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    """Secrets the config names that the environment does not hold.

    Only the variable's *name* is ever reported, never a value.
    """
    return environment_problems(config.model_dump(), os.environ if environ is None else environ)


def check_paths(config: Config, *, mail_stores: bool = False) -> list[ConfigProblem]:
    """Folders, files and the database driver the config needs that this machine lacks;
    ``mail_stores`` adds each mailbox's own (see :func:`~postvakt.config.checks.path_problems`)."""
    data = config.model_dump()
    return path_problems(data, config.base_dir, mail_stores=mail_stores) + database_problems(
        data, config.base_dir
    )


def inspect_config(
    path: Path | str, environ: Mapping[str, str] | None = None
) -> tuple[Config | None, list[ConfigProblem]]:
    """Everything wrong with the file at ``path``, all at once (``postvakt check-config``):
    the schema, the references between tables, the environment, folders and files, the
    database driver and the letter templates.  The config is None when it does not validate.
    """
    data, base_dir = read_data(path)
    environ = os.environ if environ is None else environ
    config: Config | None = None
    try:
        config = parse_config(data, base_dir=base_dir)
        problems: list[ConfigProblem] = []
    except ConfigError as exc:
        problems = list(exc.problems)
    problems += environment_problems(data, environ)
    problems += path_problems(data, base_dir, mail_stores=True)
    problems += database_problems(data, base_dir)
    problems += template_problems(data, base_dir)
    return (config if not problems else None), problems
