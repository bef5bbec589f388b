"""What a request may carry before a page acts on it: numbers in the address the database
can hold, and form texts without control characters.

A router takes :func:`checked_input` as a dependency (``APIRouter(dependencies=...)``), so
every route of it is checked in one place:

- a number in the address (``/arenden/{case_id}/…``) outside what an id column holds (the
  schema's INTEGER, 32 bits on PostgreSQL, which refuses a larger value in the query; SQLite
  cannot even be asked for one past 64 bits) is a page that does not exist: 404, as for any
  number no case or message has, never the "unexpected error" page;
- a form text with a control character (NUL and the others below space, but tab, line feed
  and carriage return), which PostgreSQL cannot store in a text column and a Word letter or
  a diary system's XML cannot carry, is refused with a Swedish sentence (422) before
  anything is written.  A browser sends none from what a person types; it comes from a
  script or from pasting from another program.
"""

from __future__ import annotations

import re

from fastapi import HTTPException, Request

__all__ = ["BAD_TEXT", "LARGEST_ID", "checked_input", "has_control_characters"]

LARGEST_ID = 2**31 - 1
"""The largest number an id can be (an INTEGER column: 32 bits on PostgreSQL)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
BAD_TEXT = (
    "Texten innehåller ett tecken som inte går att spara (ett styrtecken, som kan följa med "
    "när man klistrar in från ett annat program). Gå tillbaka, skriv in texten igen i "
    "stället för att klistra in den och skicka igen."
)


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a character that is not stored (see the module)."""
    return _CONTROL.search(text) is not None


def _out_of_range(value: object) -> bool:
    """Whether ``value`` (a path parameter as given) is an integer no id can be."""
    if not isinstance(value, str | int):
        return False
    try:
        number = int(value)
    except ValueError:
        return False  # not a number: the route's own validation answers (404)
    return not -LARGEST_ID - 1 <= number <= LARGEST_ID


async def checked_input(request: Request) -> None:
    """Refuse an id no database row can have (404) and a form text with a control character
    (422, in Swedish)."""
    if any(_out_of_range(v) for v in request.path_params.values()):
        raise HTTPException(status_code=404)
    if request.method in _SAFE:
        return
    if not request.headers.get("content-type", "").lower().startswith(_FORMS):
        return
    form = await request.form()  # Starlette keeps the parsed form: the endpoint reuses it
    for _name, value in form.multi_items():
        if isinstance(value, str) and has_control_characters(value):
            raise HTTPException(status_code=422, detail=BAD_TEXT)
