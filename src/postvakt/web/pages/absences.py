"""Frånvaro: a unit head creates, changes and ends absences for their staff — person, dates,
kind, substitutes, the auto-reply (prefilled from the absence, editable) and a preview of
what the citizen will get — and sees who covers whom today.

Built on the absence registry (:mod:`postvakt.registry.absences`: ``add_absence``,
``change_absence``, ``end_absence``, ``may_manage``, ``roster``) and the reply texts
(:func:`postvakt.delegation.texts.auto_reply`); the mail system is changed by delegation at
its next pass, not here.  Works without JavaScript: "Förhandsgranska" posts the form and
shows the reply; "Spara" saves it.

An emergency delegation (someone unreachable, nothing planned: "Akut delegering") is ordered
by the unit head or the head's nearest manager and is in force only when both have approved;
the other one approves here ("Godkänn", shown to them only) or with ``postvakt absence
approve``.  Both are told at once, and the page shows who ordered and approved
(:mod:`postvakt.delegation.emergency`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.config import Config, PersonConfig
from postvakt.delegation import commands as absence_commands
from postvakt.delegation import emergency
from postvakt.delegation.cover import AbsenceView
from postvakt.delegation.emergency_notices import send_due
from postvakt.delegation.texts import KIND_SV, KINDS
from postvakt.errors import PostvaktError
from postvakt.registry.absences import (
    add_absence,
    change_absence,
    end_absence,
    may_manage,
    view,
)
from postvakt.registry.db import database_errors
from postvakt.registry.models import Absence
from postvakt.web.context import WebContext
from postvakt.web.deps import context, flash, render, signed_in
from postvakt.web.presence import presence, today_roster
from postvakt.web.roles import User

__all__ = ["router"]

router = APIRouter()


def _staff(config: Config, user: User) -> list[PersonConfig]:
    """The people ``user`` may set absences for: themself, and the staff of units they head."""
    return sorted(
        (p for p in config.people if may_manage(config, user.address, p.address)),
        key=lambda p: (p.address != user.address, p.unit or "", p.name),
    )


def substitutes_for(
    config: Config,
    person: str,
    start: date,
    end: date | None,
    away: list[AbsenceView],
    keep: tuple[str, ...] = (),
) -> list[PersonConfig]:
    """Who may stand in for ``person`` from ``start`` to ``end`` (None: until further
    notice): the colleagues of their unit and their standing delegates — never the person
    themself, nor anyone ``away`` some day of that period.  ``keep`` (the substitutes an
    absence already has) stay offered whatever: changing the dates must not drop them."""
    staff = config.person(person)
    if staff is None:
        return []
    last = end or date.max
    busy = {a.person for a in away if a.start <= last and (a.end is None or a.end >= start)}
    wanted = {
        p.address
        for p in config.people
        if (staff.unit and p.unit == staff.unit) or p.address in staff.standing_delegates
    }
    return sorted(
        (
            p
            for p in config.people
            if p.address in keep or (p.address in wanted and p.address not in busy)
        ),
        key=lambda p: (p.unit != staff.unit, p.name),
    )


def _offered(
    ctx: WebContext, session: Session, draft: Draft, editing: int | None
) -> list[PersonConfig]:
    """The substitutes the form offers for ``draft``'s person and dates."""
    away = [
        view(a)
        for a in session.scalars(select(Absence).where(Absence.ended_at.is_(None)))
        if a.id != editing
    ]
    keep: tuple[str, ...] = ()
    if editing is not None:
        keep = tuple(session.get_one(Absence, editing).substitutes)
    start = _day(draft.start) or ctx.today()
    offered = substitutes_for(ctx.config, draft.person, start, _day(draft.end), away, keep)
    return [p for p in offered if p.address != draft.person]


@dataclass
class Draft:
    """The form's values, as typed."""

    person: str = ""
    kind: str = "semester"
    start: str = ""
    end: str = ""
    substitutes: list[str] = field(default_factory=list)
    self_handling: bool = False
    emergency: bool = False
    """Ordered as an emergency delegation (only when adding)."""
    subject: str = ""
    text: str = ""
    generated: str = ""
    """The text the form was prefilled with: sent back unchanged, it is not the person's own."""


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _reply(ctx: WebContext, session, draft: Draft, editing: int | None = None) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The auto-reply Postvakt writes for ``draft`` (subject, text)."""
    reply = absence_commands.preview(
        ctx.service,
        person=draft.person,
        kind=draft.kind,
        start=_day(draft.start) or ctx.today(),
        end=_day(draft.end),
        substitutes=draft.substitutes,
        replacing=editing,
        session=session,
    )
    return reply.subject, reply.text


def _page(
    request: Request,
    user: User,
    draft: Draft,
    *,
    editing: int | None = None,
    preview: bool = False,
    status_code: int = 200,
) -> Response:
    ctx = context(request)
    config = ctx.config
    today = ctx.today()
    staff = _staff(config, user)
    allowed = {p.address for p in staff}
    if not draft.person and staff:
        draft.person = staff[0].address
    with ctx.sessions() as session, database_errors():
        plan = today_roster(session, config)
        covering = [presence(config, plan, p.address, today) for p in staff]
        absences = [
            (a, view(a))
            for a in session.scalars(select(Absence).order_by(Absence.start, Absence.id))
            if a.person in allowed
        ]
        current = [
            (a, seen)
            for a, seen in absences
            if a.ended_at is None and (seen.end is None or seen.end >= today)
        ]
        urgent = {
            a.id: {
                "waiting": emergency.waiting_for(a),
                "approved": emergency.approved_by(a),
                "may_approve": user.address in emergency.waiting_for(a),
                "events": emergency.events(a),
            }
            for a, _seen in current
            if a.emergency
        }
        generated = _reply(ctx, session, draft, editing) if draft.person in allowed else ("", "")
        substitutes = _offered(ctx, session, draft, editing) if draft.person in allowed else []
    if not draft.text or draft.text == draft.generated:
        draft.subject, draft.text = generated  # not edited by hand: follows the form
    draft.generated = draft.text if draft.text == generated[1] else draft.generated
    names = {p.address: p.name for p in config.people}
    return render(
        request,
        "absences.html",
        user,
        status_code=status_code,
        staff=staff,
        substitutes=substitutes,
        names=names,
        covering=covering,
        current=current,
        urgent=urgent,
        draft=draft,
        kinds=KIND_SV,
        editing=editing,
        preview=preview,
        default_start=today,
        default_end=today + timedelta(days=7),
    )


async def _draft(request: Request) -> tuple[Draft, str]:
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    substitutes = [s for s in (text("substitute1"), text("substitute2")) if s]
    draft = Draft(
        person=text("person").lower(),
        kind=text("kind") or "semester",
        start=text("start"),
        end=text("end"),
        substitutes=list(dict.fromkeys(substitutes)),
        self_handling=bool(text("self_handling")),
        emergency=bool(text("emergency")),
        subject=text("subject")[:300],
        text=(form.get("text") if isinstance(form.get("text"), str) else "")
        .replace("\r\n", "\n")
        .strip()[:4000],  # type: ignore[union-attr]
        generated=(form.get("generated") if isinstance(form.get("generated"), str) else "")
        .replace("\r\n", "\n")
        .strip(),  # type: ignore[union-attr]
    )
    return draft, text("step")


def _values(ctx: WebContext, draft: Draft) -> dict[str, object]:
    start = _day(draft.start)
    if start is None:
        raise ValueError("Ange första dagen som ett datum (ÅÅÅÅ-MM-DD).")
    if draft.end and _day(draft.end) is None:
        raise ValueError("Ange sista dagen som ett datum (ÅÅÅÅ-MM-DD), eller lämna den tom.")
    if draft.kind not in KINDS:
        raise ValueError("Välj vilken sorts frånvaro det är.")
    own_text = draft.text and draft.text != draft.generated
    return {
        "kind": draft.kind,
        "start": start,
        "end": _day(draft.end),
        "substitutes": draft.substitutes,
        "self_handling": draft.self_handling,
        "reply_subject": draft.subject if own_text else None,
        "reply_text": draft.text if own_text else None,
    }


@router.get("/franvaro")
def page(request: Request, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    today = context(request).today()
    return _page(request, user, Draft(start=today.isoformat()))


@router.post("/franvaro")
async def create(request: Request, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    draft, step = await _draft(request)
    return await _save(request, user, draft, step, None)


async def _save(
    request: Request, user: User, draft: Draft, step: str, absence_id: int | None
) -> Response:
    ctx = context(request)
    if step != "save":  # "person": the substitutes of the person chosen, without a script
        return _page(request, user, draft, editing=absence_id, preview=step != "person")
    try:
        values = _values(ctx, draft)
        _check_substitutes(ctx, draft, absence_id)
        with ctx.sessions() as session, database_errors(), session.begin():
            if absence_id is None:
                saved = add_absence(
                    session,
                    ctx.config,
                    person=draft.person,
                    actor=user.address,
                    now=ctx.now(),
                    **values,  # type: ignore[arg-type]
                )
                if draft.emergency:
                    emergency.order(ctx.config, saved, actor=user.address, now=ctx.now())
            else:
                before = list(session.get_one(Absence, absence_id).substitutes)
                saved = change_absence(
                    session,
                    ctx.config,
                    absence_id,
                    actor=user.address,
                    now=ctx.now(),
                    **values,  # type: ignore[arg-type]
                )
                emergency.reorder(saved, before, actor=user.address, now=ctx.now())
            saved_id, waiting = saved.id, emergency.waiting_for(saved)
    except (ValueError, PostvaktError) as exc:
        flash(request, str(exc), "fel")
        return _page(request, user, draft, editing=absence_id, preview=True, status_code=400)
    name = ctx.config.person(draft.person)
    who = name.name if name else draft.person
    if not waiting:
        flash(request, f"Frånvaron för {who} är sparad.")
        return RedirectResponse("/franvaro", status_code=303)
    problems = _tell(ctx, saved_id)
    _told(
        request,
        f"Den akuta delegeringen för {who} är beställd. Den gäller först när "
        f"{_names(ctx.config, waiting)} också har godkänt",
        "båda har fått ett meddelande",
        problems,
    )
    return RedirectResponse("/franvaro", status_code=303)


def _check_substitutes(ctx: WebContext, draft: Draft, absence_id: int | None) -> None:
    """ValueError naming a substitute the form would not have offered (someone outside the
    person's unit and standing delegates, or away in the period)."""
    with ctx.sessions() as session, database_errors():
        offered = {p.address for p in _offered(ctx, session, draft, absence_id)}
    wrong = [s for s in draft.substitutes if s != draft.person and s not in offered]
    if wrong:
        person = ctx.config.person(draft.person)
        names = _names(ctx.config, wrong)
        raise ValueError(
            f"{names} kan inte vara ersättare för {person.name if person else draft.person} "
            "den perioden: välj någon i samma enhet eller en stående ersättare som inte själv "
            "är borta då."
        )


def _told(request: Request, text: str, sent: str, problems: list[str]) -> None:
    """One flash: what was done, and that the notices went — or why they did not."""
    if problems:
        flash(request, f"{text}, men meddelandena kom inte iväg: {' '.join(problems)}", "fel")
    else:
        flash(request, f"{text}; {sent}.")


def _names(config: Config, addresses: list[str]) -> str:
    found = [p.name if (p := config.person(a)) else a for a in addresses]
    return " och ".join(found)


def _tell(ctx: WebContext, absence_id: int) -> list[str]:
    """An emergency's notices, sent now; what went wrong (Swedish)."""
    notifier = ctx.service.notifier
    mailer = notifier.mailer if notifier is not None else None
    return send_due(ctx.config, ctx.sessions, mailer, absence_id, ctx.now())


def _own(request: Request, user: User, absence_id: int) -> Absence:
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        absence = session.get(Absence, absence_id)
        if absence is None or not may_manage(ctx.config, user.address, absence.person):
            raise HTTPException(status_code=404)
        session.expunge(absence)
        return absence


@router.get("/franvaro/{absence_id}")
def edit_page(request: Request, absence_id: int, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    absence = _own(request, user, absence_id)
    subs = list(absence.substitutes)
    draft = Draft(
        person=absence.person,
        kind=absence.kind,
        start=absence.start.isoformat(),
        end=absence.end.isoformat() if absence.end else "",
        substitutes=subs,
        self_handling=absence.self_handling,
        subject=absence.reply_subject or "",
        text=absence.reply_text or "",
    )
    return _page(request, user, draft, editing=absence_id)


@router.post("/franvaro/{absence_id}")
async def change(request: Request, absence_id: int, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    absence = _own(request, user, absence_id)
    draft, step = await _draft(request)
    draft.person = absence.person  # the person of an absence does not change
    return await _save(request, user, draft, step, absence_id)


@router.post("/franvaro/{absence_id}/godkann")
def approve(request: Request, absence_id: int, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    """The other approver's approval of an emergency delegation (the form carries the CSRF
    token, checked app-wide; only the two approvers may, which ``emergency.approve`` says)."""
    ctx = context(request)
    _own(request, user, absence_id)  # someone who cannot manage the person sees no such absence
    try:
        with ctx.sessions() as session, database_errors(), session.begin():
            absence = session.get_one(Absence, absence_id)
            waiting = emergency.approve(ctx.config, absence, actor=user.address, now=ctx.now())
            person = absence.person
    except PostvaktError as exc:
        flash(request, str(exc), "fel")
        return RedirectResponse("/franvaro", status_code=303)
    problems = _tell(ctx, absence_id)
    who = ctx.config.person(person)
    name = who.name if who else person
    if waiting:
        text = f"Du har godkänt. Den akuta delegeringen för {name} väntar på {_names(ctx.config, waiting)}"
        _told(request, text, "hen har fått ett meddelande", problems)
    else:
        text = f"Den akuta delegeringen för {name} är godkänd av båda och gäller från nästa körning"
        _told(request, text, "ombudet har fått veta vad hen får öppna", problems)
    return RedirectResponse("/franvaro", status_code=303)


@router.post("/franvaro/{absence_id}/avsluta")
def finish(request: Request, absence_id: int, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    ctx = context(request)
    _own(request, user, absence_id)
    try:
        with ctx.sessions() as session, database_errors(), session.begin():
            absence = end_absence(
                session, ctx.config, absence_id, actor=user.address, now=ctx.now()
            )
            person = absence.person
    except PostvaktError as exc:
        flash(request, str(exc), "fel")
    else:
        who = ctx.config.person(person)
        flash(request, f"Frånvaron för {who.name if who else person} är avslutad från i dag.")
    return RedirectResponse("/franvaro", status_code=303)
