"""Bulk actions on the cases selected in the list (/arenden): give them to a handler, confirm
the machine's classification, or mark them read.  No script needed: the list's checkboxes
post to a confirmation page (:func:`confirm_page`) that names every selected case and says
which will be skipped and why; only its button (:func:`carry_out`) does anything.

Each case is checked here, server-side, whatever the form says — the same rules as the
single-case actions (:func:`~postvakt.roles.can_correct_case` to assign or confirm,
:func:`~postvakt.roles.can_view_case` to mark read) — and done through the same operations
(:class:`postvakt.corrections.Corrections`; a mark read is a line in the case's access log,
``case_access``, like opening the case).  A case the person may not act on is skipped and
said; one that exists but may not be seen is not named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from postvakt.errors import InvalidInputError, PostvaktError
from postvakt.registry.access import record_access
from postvakt.registry.db import database_errors
from postvakt.registry.models import Case, CaseStatus
from postvakt.web.auth import client_of
from postvakt.web.deps import context, flash, render, signed_in
from postvakt.web.roles import CORRECTORS_SV, User, can_correct_case, can_view_case
from postvakt.wording import count

__all__ = ["ACTIONS", "MAX_SELECTED", "router"]

router = APIRouter()

Action = Literal["tilldela", "bekrafta", "last"]
ACTIONS: dict[str, str] = {
    "tilldela": "Tilldela handläggare",
    "bekrafta": "Bekräfta bedömningen",
    "last": "Markera som läst",
}
MAX_SELECTED = 200
READ_MARK = "markerade som läst"
"""The access log's ``what`` for a case marked read from the list."""


@dataclass(frozen=True)
class Selected:
    case_id: int
    label: str | None
    """The case's number; None for a case that does not exist or may not be seen."""
    heading: str = ""
    handler: str | None = None
    refused: str | None = None
    """Why it will be skipped; None when it will be done."""


def _back(text: str) -> str:
    """The list the person came from: only a path of the list itself, never elsewhere."""
    text = text.strip()
    if text.startswith("/arenden") and not text.startswith("//") and "\n" not in text:
        return text[:2000]
    return "/arenden"


def _ids(values: list[str]) -> list[int]:
    ids: list[int] = []
    for value in values:
        if value.isdigit() and int(value) not in ids:
            ids.append(int(value))
    return ids[:MAX_SELECTED]


def _refusal(user: User, case: Case, action: str, to: str) -> str | None:
    if action == "last":
        return None
    if not can_correct_case(user, case):
        return f"du får inte ändra det (det får {CORRECTORS_SV})"
    if case.status in (CaseStatus.CLOSED, CaseStatus.WITHDRAWN, CaseStatus.FORWARDED):
        return "det är inte öppet"
    if action == "tilldela" and case.handler == to:
        return "den handläggaren har det redan"
    return None


def _selected(request: Request, user: User, ids: list[int], action: str, to: str) -> list[Selected]:
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        found = {
            c.id: c
            for c in session.scalars(
                select(Case)
                .options(selectinload(Case.unit), selectinload(Case.mailbox))
                .where(Case.id.in_(ids))
            )
        }
        rows = []
        for case_id in ids:
            case = found.get(case_id)
            if case is None or not can_view_case(user, case):
                rows.append(Selected(case_id, None, refused="finns inte eller får du inte se"))
                continue
            rows.append(
                Selected(
                    case.id,
                    case.label,
                    case.heading,
                    case.handler,
                    _refusal(user, case, action, to),
                )
            )
    return rows


async def _form(request: Request) -> tuple[list[int], str, str, str]:
    form = await request.form()
    ids = _ids([v for v in form.getlist("arende") if isinstance(v, str)])
    action = str(form.get("atgard", ""))
    to = str(form.get("till", "")).strip().lower()[:320]
    back = _back(str(form.get("tillbaka", "")))
    return ids, action, to, back


def _problem(request: Request, user: User, ids: list[int], action: str, to: str) -> str | None:
    if not ids:
        return "Välj minst ett ärende i listan först."
    if action not in ACTIONS:
        return "Välj vad som ska göras med de markerade ärendena."
    if action == "tilldela" and context(request).config.person(to) is None:
        return "Välj vilken handläggare ärendena ska gå till."
    return None


@router.post("/arenden/markerade")
async def confirm_page(request: Request, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    """What will be done with the selected cases, before anything is done."""
    ids, action, to, back = await _form(request)
    problem = _problem(request, user, ids, action, to)
    if problem:
        flash(request, problem, "fel")
        return RedirectResponse(back, status_code=303)
    rows = _selected(request, user, ids, action, to)
    return render(
        request,
        "case_bulk.html",
        user,
        rows=rows,
        action=action,
        action_words=ACTIONS[action],
        to=to,
        back=back,
        doable=sum(1 for r in rows if r.refused is None),
    )


@router.post("/arenden/markerade/utfor")
async def carry_out(request: Request, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    """Do it, case by case, each checked again; then back to the list with what happened."""
    ids, action, to, back = await _form(request)
    problem = _problem(request, user, ids, action, to)
    if problem:
        flash(request, problem, "fel")
        return RedirectResponse(back, status_code=303)
    ctx = context(request)
    done: list[str] = []
    skipped: list[str] = []
    for row in _selected(request, user, ids, action, to):
        if row.label is None:
            skipped.append("ett ärende som inte finns eller som du inte får se")
            continue
        if row.refused is not None:
            skipped.append(f"{row.label} ({row.refused})")
            continue
        try:
            if action == "last":
                with ctx.sessions() as session, database_errors(), session.begin():
                    record_access(
                        session,
                        row.case_id,
                        actor=user.address,
                        via="web",
                        what=READ_MARK,
                        client=client_of(request),
                        now=ctx.now(),
                    )
            else:
                with ctx.sessions() as session, database_errors():
                    reference = session.scalar(select(Case.reference).where(Case.id == row.case_id))
                assert reference is not None
                if action == "tilldela":
                    ctx.corrections.assign(reference, to=to, by=user.address)
                else:
                    ctx.corrections.confirm(reference, by=user.address)
        except PostvaktError as exc:
            text = str(exc)
            if isinstance(exc, InvalidInputError) and exc.argument:
                text = text.removeprefix(f"{exc.argument}: ")
            skipped.append(f"{row.label} ({text.rstrip('.')})")
            continue
        done.append(row.label)
    flash(request, _summary(ctx.config, action, to, done, skipped), "fel" if skipped else "ok")
    return RedirectResponse(back, status_code=303)


def _summary(config, action: str, to: str, done: list[str], skipped: list[str]) -> str:  # type: ignore[no-untyped-def]
    n = count(len(done), "ärende", "ärenden")
    if action == "tilldela":
        person = config.person(to)
        text = f"{n} gavs till {person.name if person else to}"
    elif action == "bekrafta":
        text = f"{n} fick bedömningen bekräftad"
    else:
        text = f"{n} markerades som lästa"
    text += f": {', '.join(done)}." if done else "."
    if skipped:
        text += f" Hoppade över {', '.join(skipped)}."
    return text
