"""Återuppringningar: take a phone message for someone who was not there (who is to call, the
citizen's name and phone, what it is about), see the callbacks waiting with their deadlines
(red once passed), and mark one done with a note.

Everyone signed in may take a message, for anyone in the config.  A request is seen by the
person it is for, whoever covers them today, the head of their unit, whoever took it and
admins; done is marked by the same people except whoever took it
(:meth:`postvakt.callbacks.Callbacks.may_do`).  Works without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from postvakt.callbacks import Callbacks, CallbackView
from postvakt.errors import NotFoundError, RequestError
from postvakt.registry.callbacks import CallbackRequest
from postvakt.registry.db import database_errors
from postvakt.registry.models import Case
from postvakt.roles import can_view_case
from postvakt.rules.notify import swedish_day
from postvakt.web.deps import context, flash, render, require
from postvakt.web.roles import Role, User

__all__ = ["router"]

router = APIRouter()

anyone = require(Role.STAFF, Role.OWNER, Role.UNIT_HEAD, Role.REGISTRAR)
PATH = "/aterringningar"


@dataclass
class Draft:
    """The form's values, as typed."""

    for_address: str = ""
    name: str = ""
    phone: str = ""
    about: str = ""


def _callbacks(request: Request) -> Callbacks:
    callbacks = context(request).service.callbacks
    assert callbacks is not None
    return callbacks


def _page(
    request: Request, user: User, draft: Draft, *, error: str = "", status_code: int = 200
) -> Response:
    ctx = context(request)
    config = ctx.config
    callbacks = _callbacks(request)
    with ctx.sessions() as session, database_errors():
        known: dict[str, str] = {}  # who covers whom today, asked once per person
        waiting = callbacks.visible(user, session)
        may_do = {v.id for v in waiting if callbacks.may_do(user, v, session, known)}
        recent = [
            v
            for v in callbacks.recently_done(session)
            if callbacks.may_see(user, v, session, known)
        ]
        case_ids = {v.case_id for v in [*waiting, *recent] if v.case_id}
        viewable = {
            c.id
            for c in session.scalars(
                select(Case)
                .options(selectinload(Case.unit), selectinload(Case.mailbox))
                .where(Case.id.in_(case_ids))
            )
            if can_view_case(user, c)
        }
    people = {p.address: p.name for p in config.people}
    for unit in config.units:
        people.setdefault(unit.head, unit.head)
    return render(
        request,
        "callbacks.html",
        user,
        status_code=status_code,
        waiting=waiting,
        recent=recent[:20],
        may_do=may_do,
        viewable=viewable,
        people=sorted(people.items(), key=lambda p: p[1].lower()),
        draft=draft,
        error=error,
        callback_time=str(ctx.policy.callback),
    )


@router.get(PATH)
def page(request: Request, user: User = Depends(anyone)) -> Response:  # noqa: B008
    return _page(request, user, Draft())


@router.post(PATH)
def add(
    request: Request,
    user: User = Depends(anyone),  # noqa: B008
    for_address: str = Form(""),
    name: str = Form(""),
    phone: str = Form(""),
    about: str = Form(""),
) -> Response:
    draft = Draft(
        for_address=for_address.strip().lower()[:320],
        name=" ".join(name.split())[:500],
        phone=phone.strip()[:100],
        about=about.strip()[:2000],
    )
    if not draft.for_address:
        return _page(request, user, draft, error="Välj vem som ska ringa upp.", status_code=400)
    try:
        made = _callbacks(request).add(
            for_address=draft.for_address,
            phone=draft.phone,
            about=draft.about,
            by=user.address,
            name=draft.name or None,
        )
    except RequestError as exc:
        return _page(request, user, draft, error=_form_words(str(exc)), status_code=400)
    view = made.view
    flash(
        request,
        f"Återuppringning {view.id}: {view.for_name} ringer {view.citizen} senast "
        f"{swedish_day(view.due, weekday=True)}. {made.told}".rstrip(),
    )
    return RedirectResponse(PATH, status_code=303)


def _form_words(message: str) -> str:
    """A message written for the command line, with the form's words for its flags."""
    for flag, field in (
        ("--phone: ", "Telefon: "),
        ("--about: ", "Gäller: "),
        ("--for: ", "Ringer upp: "),
        ("--by: ", ""),
    ):
        message = message.replace(flag, field)
    return message


@router.post(PATH + "/{callback_id}/klar")
def done(
    request: Request,
    callback_id: int,
    user: User = Depends(anyone),  # noqa: B008
    note: str = Form(""),
) -> Response:
    callbacks = _callbacks(request)
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        if session.get(CallbackRequest, callback_id) is None:
            raise HTTPException(status_code=404)
        view: CallbackView = callbacks.get(callback_id, session)
        allowed = callbacks.may_do(user, view, session)
    if not allowed:
        raise HTTPException(
            status_code=403,
            detail=f"Återuppringningen görs av {view.for_name}, den som ersätter hen i dag "
            "eller enhetschefen.",
        )
    if not note.strip():
        flash(request, "Skriv vad som kom ut av samtalet innan du markerar det som klart.", "fel")
        return RedirectResponse(PATH, status_code=303)
    try:
        done = callbacks.done(callback_id, by=user.address, note=note.strip()[:4000])
    except NotFoundError as exc:
        raise HTTPException(status_code=404) from exc
    except RequestError as exc:
        flash(request, _form_words(str(exc)), "fel")
        return RedirectResponse(PATH, status_code=303)
    if done.already:  # a double click, or a colleague first: nothing was changed
        flash(request, done.already)
        return RedirectResponse(PATH, status_code=303)
    finished = done.view
    if finished.case_label:
        ctx.service.deliver_diary()  # the note to the diary now
        flash(
            request,
            f"Återuppringning {finished.id} är klar; samtalet är antecknat i ärende "
            f"{finished.case_label}.",
        )
    else:
        flash(request, f"Återuppringning {finished.id} är klar.")
    return RedirectResponse(PATH, status_code=303)
