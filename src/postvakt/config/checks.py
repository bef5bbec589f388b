"""The config against the machine it runs on: secrets set in the environment, folders and
files that exist, a database driver that is installed, letter templates that open.

The checks read the raw TOML data (or a loaded config's dump, which has the same shape), so
that ``postvakt check-config`` can run them even when some fields are wrong: one typo must not
hide a missing folder.  Each problem names its dotted key.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from postvakt.errors import ConfigProblem

__all__ = [
    "SESSION_SECRET_MIN",
    "database_problems",
    "environment_problems",
    "path_problems",
    "template_problems",
]

SESSION_SECRET_MIN = 32
"""The shortest session key the dashboard accepts (``postvakt.web.app.MIN_SECRET``)."""


def _table(data: Any, *keys: str) -> Mapping[str, Any] | None:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data if isinstance(data, Mapping) else None


def _text(table: Mapping[str, Any] | None, key: str) -> str | None:
    value = table.get(key) if table is not None else None
    if isinstance(value, Path):
        return str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _mailboxes(data: Mapping[str, Any]) -> list[tuple[int, str, Mapping[str, Any]]]:
    """(index, connector, connector table) of each mailbox whose table is there."""
    rows = data.get("mailboxes")
    found = []
    for i, row in enumerate(
        rows if isinstance(rows, Sequence) and not isinstance(rows, str) else []
    ):
        connector = _text(row, "connector") if isinstance(row, Mapping) else None
        settings = _table(row, connector) if connector else None
        if connector and settings is not None:
            found.append((i, connector, settings))
    return found


def _resolve(base_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def environment_problems(
    data: Mapping[str, Any], environ: Mapping[str, str]
) -> list[ConfigProblem]:
    """Secrets the config names that the environment does not hold; never a value, only names."""
    needed = [
        ("database.password_env", _text(_table(data, "database"), "password_env")),
        ("smtp.password_env", _text(_table(data, "smtp"), "password_env")),
        ("web.session_secret_env", _text(_table(data, "web"), "session_secret_env")),
        ("web.oidc.client_secret_env", _text(_table(data, "web", "oidc"), "client_secret_env")),
    ]
    registry = _table(data, "registry")
    if registry is not None and registry.get("system") == "public360":
        p360 = _table(data, "registry", "public360")
        name = _text(p360, "authkey_env") or "POSTVAKT_P360_AUTHKEY"
        needed.append(("registry.public360.authkey_env", name))
    for i, connector, settings in _mailboxes(data):
        for attr in ("password_env", "client_secret_env"):
            needed.append((f"mailboxes[{i}].{connector}.{attr}", _text(settings, attr)))
    problems = []
    for key, name in needed:
        if name is None or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            continue  # not named, or not a valid name: the schema says so
        value = environ.get(name, "")
        if not value:
            problems.append(
                ConfigProblem(
                    key, f"miljövariabeln {name} är inte satt; sätt den innan Postvakt startas"
                )
            )
        elif key == "web.session_secret_env" and len(value) < SESSION_SECRET_MIN:
            problems.append(
                ConfigProblem(
                    key,
                    f"miljövariabeln {name} är för kort: minst {SESSION_SECRET_MIN} slumpade "
                    "tecken (t.ex. från 'openssl rand -base64 48')",
                )
            )
    return problems


def _folder(key: str, path: Path, what: str, *, must_exist: bool = True) -> ConfigProblem | None:
    if path.is_dir():
        return None
    if path.exists():
        return ConfigProblem(key, f"{path} är en fil, inte en mapp; ange {what}")
    if must_exist:
        return ConfigProblem(
            key, f"mappen {path} finns inte; skapa den eller rätta sökvägen ({what})"
        )
    return None


def _file(key: str, path: Path, what: str) -> ConfigProblem | None:
    if path.is_file():
        return None
    if path.exists():
        return ConfigProblem(key, f"{path} är en mapp, inte en fil; ange {what}")
    return ConfigProblem(key, f"filen {path} finns inte; rätta sökvägen ({what})")


def path_problems(
    data: Mapping[str, Any], base_dir: Path, *, mail_stores: bool = True
) -> list[ConfigProblem]:
    """Folders and files the config names that are missing or of the wrong kind.

    ``mail_stores`` adds what belongs to one mailbox (its Maildir, CA and certificate files):
    a pass reads the other mailboxes when one of those is missing, so only the check of the
    whole file stops on them.
    """
    found: list[ConfigProblem | None] = []
    templates = _table(data, "templates")
    if folder := _text(templates, "folder"):
        found.append(
            _folder("templates.folder", _resolve(base_dir, folder), "mappen med egna Word-mallar")
        )
    if letters := _text(templates, "letters_folder"):
        found.append(
            _folder(
                "templates.letters_folder",
                _resolve(base_dir, letters),
                "mappen där brev utan e-postadress sparas",
                must_exist=False,
            )
        )
    classifier = _table(data, "classifier")
    if corpus := _text(classifier, "corpus"):
        path = _resolve(base_dir, corpus)
        problem = _folder("classifier.corpus", path, "mappen med egna märkta meddelanden")
        if problem is None and not (path / "labels.csv").is_file():
            problem = ConfigProblem(
                "classifier.corpus",
                f"{path / 'labels.csv'} finns inte: lägg en rad file,label per .eml-fil i mappen",
            )
        found.append(problem)
    if cache := _text(classifier, "cache_folder"):
        found.append(
            _folder(
                "classifier.cache_folder", _resolve(base_dir, cache), "en mapp", must_exist=False
            )
        )
    for i, connector, settings in _mailboxes(data) if mail_stores else []:
        key = f"mailboxes[{i}].{connector}"
        if connector == "maildir" and (path := _text(settings, "path")):
            found.append(
                _folder(f"{key}.path", _resolve(base_dir, path), "brevlådans Maildir-mapp")
            )
        for attr, what in (
            ("ca_file", "en PEM-fil med CA-certifikat"),
            ("certificate_path", "en PEM-fil med appens nyckel och certifikat"),
            ("last_login_dict", "Dovecots last_login-fil"),
        ):
            if value := _text(settings, attr):
                found.append(_file(f"{key}.{attr}", _resolve(base_dir, value), what))
    return [p for p in found if p is not None]


def database_problems(data: Mapping[str, Any], base_dir: Path) -> list[ConfigProblem]:
    """A database driver that is not installed, or a SQLite file whose folder is missing."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    text = _text(_table(data, "database"), "url") or "sqlite:///postvakt.db"
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        return []  # the schema says so
    try:
        url.get_dialect().import_dbapi()
    except (ImportError, NoSuchModuleError):
        return [
            ConfigProblem(
                "database.url",
                f"databasdrivrutinen {url.drivername!r} är inte installerad; använd "
                "postgresql+psycopg:// (följer med Postvakt) eller sqlite:///",
            )
        ]
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return []
    path = _resolve(base_dir, url.database)
    if path.is_dir():
        return [
            ConfigProblem(
                "database.url",
                f"{path} är en mapp; ange en databasfil, t.ex. {path / 'postvakt.db'}",
            )
        ]
    if path.is_file() and path.stat().st_size:
        try:
            with path.open("rb") as f:
                header = f.read(16)
        except OSError:
            header = b""
        if header != b"SQLite format 3\x00":
            return [
                ConfigProblem(
                    "database.url",
                    f"{path} är ingen SQLite-databas (fel fil, eller skadad); ange rätt fil "
                    "eller återställ databasen från en säkerhetskopia",
                )
            ]
    folder = path.parent
    if not folder.is_dir():
        return [
            ConfigProblem(
                "database.url",
                f"mappen för databasen, {folder}, finns inte; skapa den eller ändra url",
            )
        ]
    if not os.access(folder, os.W_OK | os.X_OK):
        return [
            ConfigProblem(
                "database.url",
                f"Postvakt får inte skriva i {folder} (där databasen och dess logg ligger); "
                "ändra behörigheten eller välj en annan mapp",
            )
        ]
    return []


def template_problems(data: Mapping[str, Any], base_dir: Path) -> list[ConfigProblem]:
    """Own letters that Postvakt would not use (an unknown file name) or cannot fill in."""
    from postvakt.errors import TemplateError
    from postvakt.templates import LETTERS, LetterRenderer

    text = _text(_table(data, "templates"), "folder")
    folder = _resolve(base_dir, text) if text else None
    if folder is not None and not folder.is_dir():
        return []  # path_problems says so
    problems = []
    if folder is not None:
        known = sorted(letter.filename for letter in LETTERS.values())
        own = sorted(p.name for p in folder.iterdir() if p.suffix.lower() == ".docx")
        english = folder / "en"  # a citizen's letters in English (templates.LANGUAGES)
        own_en = sorted(p.name for p in english.glob("*.docx")) if english.is_dir() else []
        for name in own:
            if name not in known and not name.startswith("~$"):  # ~$… is Word's lock file
                hint = difflib.get_close_matches(name, known, n=1)
                suggestion = f" — menade du {hint[0]!r}?" if hint else ""
                problems.append(
                    ConfigProblem(
                        "templates.folder",
                        f"{name} är ingen av Postvakts mallar och används inte{suggestion} "
                        f"Mallarnas namn: {', '.join(known)}",
                    )
                )
        if not any(name in known for name in own + own_en):
            problems.append(
                ConfigProblem(
                    "templates.folder",
                    f"mappen {folder} har ingen av Postvakts mallar ({', '.join(known)}); lägg "
                    "dit egna eller ta bort templates.folder",
                )
            )
    renderer = LetterRenderer(folder)
    for name, letter in LETTERS.items():
        for language in letter.languages:
            try:
                renderer.check(name, language)
            except TemplateError as exc:
                problems.append(ConfigProblem("templates.folder", str(exc)))
    return problems
