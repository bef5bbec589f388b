"""What the user sees when a command fails in a way nobody expected, and where the details go.

A bug must not show the user a traceback, nor lose it: :func:`report_crash` writes the
traceback to a crash file readable by its owner only, and returns one Swedish line that names
the command, the kind of error and where in Postvakt it came from, and the file.  The crash
file keeps the frames and the exception's class; its text goes through the log redaction
(addresses, personnummer and secrets masked), since a driver's or a parser's message can quote
a citizen's data.

The folder is ``$POSTVAKT_CRASH_DIR``, else ``$XDG_STATE_HOME/postvakt/krascher``, else
``~/.local/state/postvakt/krascher``; when none can be written, the system's temporary folder.
"""

from __future__ import annotations

import os
import re
import tempfile
import traceback
from datetime import datetime
from pathlib import Path

from postvakt.clock import STOCKHOLM

__all__ = ["crash_folder", "report_crash"]

_PACKAGE = Path(__file__).resolve().parents[1]


def crash_folder() -> Path:
    """Where crash files go (see the module docstring)."""
    override = os.environ.get("POSTVAKT_CRASH_DIR")
    if override:
        return Path(override).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "postvakt" / "krascher"


def _where(exc: BaseException) -> str:
    """The innermost frame in Postvakt's own code, ``cli/cases.py:120``, else the last one."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        path = Path(frame.filename).resolve()
        if _PACKAGE in path.parents:
            return f"{path.relative_to(_PACKAGE).as_posix()}:{frame.lineno}"
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "okänd plats"


# Bounded runs on both sides of the @: linear in the length of the text.
_ADDRESS = re.compile(r"[^\s@<>\"'(),;:\[\]]{1,64}@[^\s@<>\"'(),;:\[\]]{1,255}")
_SECRET = re.compile(r"(?i)\b(password|passwd|lösenord|token|secret)(\s*[=:]\s*)(\S+)")


def _details(exc: BaseException, command: str) -> str:
    from postvakt.privacy import mask_personnummer

    text = "".join(traceback.format_exception(exc))
    text = _SECRET.sub(r"\1\2***", _ADDRESS.sub("<adress>", mask_personnummer(text)))
    return f"Postvakt {_version()}, {command}, {datetime.now(STOCKHOLM).isoformat()}\n\n{text}"


def _version() -> str:
    from postvakt import __version__

    return __version__


def _write(text: str) -> Path | None:
    stamp = datetime.now(STOCKHOLM).strftime("%Y%m%d-%H%M%S")
    for folder in (
        crash_folder(),
        Path(tempfile.gettempdir()) / f"postvakt-krascher-{os.getuid()}",
    ):
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, name = tempfile.mkstemp(prefix=f"krasch-{stamp}-", suffix=".txt", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp: mode 0600
                f.write(text)
            return Path(name)
        except OSError:
            continue
    return None


def report_crash(exc: BaseException, command: str) -> str:
    """Save the traceback of ``exc`` and return what to tell the user, in Swedish."""
    where = f"{type(exc).__name__} i {_where(exc)}"
    try:
        path = _write(_details(exc, command))
    except Exception:  # reporting a bug must not raise another one at the user
        path = None
    saved = (
        f"Detaljerna finns i {path}; skicka filen till den som sköter Postvakt."
        if path
        else "Detaljerna gick inte att spara (ingen skrivbar mapp för kraschfiler; sätt "
        "POSTVAKT_CRASH_DIR)."
    )
    return (
        f"Oväntat fel i '{command}' ({where}). Det är ett fel i Postvakt, inte i det du "
        f"angav. {saved}"
    )
