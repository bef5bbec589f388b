"""Request dependencies: the context, the signed-in user, role checks, rendering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from postvakt.web.auth import SESSION_KEY, NotSignedIn, session_user
from postvakt.web.context import WebContext
from postvakt.web.csrf import csrf_token
from postvakt.web.roles import Role, User
from postvakt.web.views import who_of
from postvakt.web.wording import web_words

__all__ = ["context", "flash", "render", "require", "signed_in"]


def context(request: Request) -> WebContext:
    return request.app.state.ctx


def signed_in(request: Request) -> User:
    ctx = context(request)
    with ctx.sessions() as session:
        user = session_user(request, ctx.config, session, ctx.now())
    if user is None:
        if request.session.get(SESSION_KEY):
            request.session.clear()  # ended, expired or no longer allowed
        raise NotSignedIn()
    return user


def require(*roles: Role) -> Callable[..., User]:
    """A dependency: the signed-in user, who must have one of ``roles`` (admins always do)."""

    def check(user: User = Depends(signed_in)) -> User:  # noqa: B008 - FastAPI's idiom
        if not user.has(*roles):
            raise HTTPException(
                status_code=403, detail="Du har inte behörighet till den här sidan."
            )
        return user

    return check


def flash(
    request: Request, text: str, kind: str = "ok", link: tuple[str, str] | None = None
) -> None:
    """A message shown once on the next page (after a redirect); ``link`` is (one of the
    dashboard's own paths, its words), shown after the text.  An error's text is put in the
    page's words (:func:`postvakt.web.wording.web_words`): no command-line flags."""
    if kind == "fel":
        text = web_words(text)
    request.session["flash"] = [kind, text, *(link or ())]


def render(
    request: Request,
    template: str,
    user: User | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    message = request.session.pop("flash", None)
    ctx = context(request)
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "csrf": csrf_token(request),
            "flash": message,
            "today": ctx.today(),
            "organisation": ctx.config.organisation.name,
            "Role": Role,
            "who": who_of(ctx.config),
            **values,
        },
        status_code=status_code,
    )
