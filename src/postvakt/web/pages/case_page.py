"""A case's page — the citizen's own text and attachments, the classifier's judgment, its
letters, its events — and the actions on it — answer, close, forward, reopen, wait — through
:class:`postvakt.casework.Casework`, the same operations as the command line.  The
corrections (confirm, change kind, withdraw, assign, merge) are in
:mod:`postvakt.web.pages.corrections`, those of its messages (not in the case, flag for
review) in :mod:`postvakt.web.pages.message_corrections`; the service area, who chose it and
its correction in :mod:`postvakt.web.pages.case_area`; the list of cases in
:mod:`postvakt.web.pages.cases`.

Cases are addressed by their database id, which says nothing about the citizen.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool

from postvakt.casework import DOCX
from postvakt.clock import STOCKHOLM
from postvakt.errors import PermissionDeniedError, PostvaktError
from postvakt.registry.access import WHAT_SV, access_log, record_access
from postvakt.registry.db import database_errors
from postvakt.registry.lifecycle import ALLOWED
from postvakt.registry.models import Case, CaseStatus, Draft, EventKind
from postvakt.registry.notes import NOTE_LIMIT, may_note, write_note
from postvakt.registry.original import attachment_bytes, original_view
from postvakt.rules.deadline_state import case_deadlines
from postvakt.web.auth import client_of
from postvakt.web.deps import context, flash, render, signed_in
from postvakt.web.events import timeline
from postvakt.web.pages import case_area
from postvakt.web.pages.case_watch import Changed, open_by_others, unchanged
from postvakt.web.pages.corrections import stopped_in_queue
from postvakt.web.pages.message_corrections import awaiting_in, flaggable, followups
from postvakt.web.roles import (
    User,
    can_act_on_case,
    can_correct_case,
    can_fetch_original,
    can_view_case,
)
from postvakt.web.views import STATUS_SV

__all__ = ["Changed", "changed_page", "router"]

router = APIRouter()
router.include_router(case_area.router)  # the service area's correction, on the same page

NOTE_REFUSED = (
    "Du får inte anteckna i det här ärendet. Det får bara den som får handlägga eller rätta "
    "det: handläggaren, enhetens handläggare, brevlådans ansvariga, enhetens chef, "
    "registratorn och administratörer."
)
ACCESS_SHOWN = 200
"""The newest views of a case shown to an admin on its page (``cases audit`` shows all)."""


def _case(session: Session, user: User, case_id: int) -> Case:
    case = session.scalars(
        select(Case)
        .options(
            selectinload(Case.events),
            selectinload(Case.unit),
            selectinload(Case.mailbox),
            selectinload(Case.merged_into),
        )
        .where(Case.id == case_id)
    ).one_or_none()
    if case is None or not can_view_case(user, case):
        raise HTTPException(status_code=404)  # the same answer whether it exists or not
    return case


def _actions(case: Case) -> list[str]:
    allowed = [a for a, states in ALLOWED.items() if case.status in states]
    if case.anonymous and case.status in (CaseStatus.REGISTERED, CaseStatus.ACKNOWLEDGED):
        allowed.append("close")
    if case.status in (
        CaseStatus.REGISTERED,
        CaseStatus.ACKNOWLEDGED,
        CaseStatus.REOPENED,
        CaseStatus.ANSWERED,
    ):
        allowed.append("wait")
    return sorted(set(allowed))


def _viewed(request: Request, session: Session, user: User, case: Case, what: str) -> None:
    """Put the view in the case's access log (committed before anything is shown)."""
    record_access(
        session,
        case.id,
        actor=user.address,
        via="web",
        what=what,
        client=client_of(request),
        now=context(request).now(),
    )
    session.commit()


@router.get("/arenden/{case_id}")
def case_page(request: Request, case_id: int, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    return _page(request, user, case_id)


def _page(
    request: Request,
    user: User,
    case_id: int,
    *,
    warning: str | None = None,
    kept: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    """The case's page; ``warning`` and ``kept`` when an action was stopped because someone
    else changed the case (``kept``: what was typed, by form)."""
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        case = _case(session, user, case_id)
        now = ctx.now()
        others = open_by_others(session, ctx.config, case.id, user, now)
        _viewed(request, session, user, case, "visa")
        accesses = access_log(session, case.id, limit=ACCESS_SHOWN) if user.is_admin else None
        drafts = list(
            session.scalars(
                select(Draft)
                .where(Draft.case_id == case.id, Draft.attachment.is_not(None))
                .order_by(Draft.id)
            )
        )
        drafted = {d.attachment_name for d in drafts}
        folder = ctx.config.path(ctx.config.templates.letters_folder)
        saved = [
            e
            for e in case.events
            if e.kind is EventKind.DRAFTED
            and e.document
            and e.document not in drafted
            and (folder / e.document).is_file()
        ]
        may_act = can_act_on_case(user, case)
        merged_here = list(
            session.scalars(select(Case).where(Case.merged_into_id == case.id).order_by(Case.id))
        )
        return render(  # inside the session: the page reads the case's relations
            request,
            "case.html",
            user,
            status_code=status_code,
            case=case,
            drafts=drafts,
            saved=saved,
            saved_ids={e.id for e in saved},
            may_act=may_act,
            actions=_actions(case) if may_act else [],
            units=[u.name for u in ctx.config.units if not case.unit or u.name != case.unit.name],
            area=case_area.area_view(ctx.config, case),
            accesses=accesses,
            access_shown=ACCESS_SHOWN,
            what_sv=WHAT_SV,
            message=original_view(case.original),
            may_original=can_fetch_original(user, case),
            may_correct=can_correct_case(user, case) and case.status is not CaseStatus.WITHDRAWN,
            may_note=may_note(user, case),
            note_limit=NOTE_LIMIT,
            merged_here=merged_here,
            flaggable=flaggable(session, user, case),
            followups=followups(session, user, case),
            awaiting=awaiting_in(session, user, case),
            people=_handlers(ctx.config, case),
            timeline=timeline(list(case.events)),
            deadlines=case_deadlines(case, now.astimezone(STOCKHOLM).date(), ctx.calendar),
            loaded_at=now.isoformat(),
            open_by_others=others,
            warning=warning,
            kept=kept or {},
            **_reviewers(ctx.config, session, case),
        )


async def changed_page(request: Request, exc: Exception) -> Response:
    """The case page again, with the warning and what was typed (409: nothing was done);
    Granska again when the form was sent from there."""
    assert isinstance(exc, Changed)
    user = await run_in_threadpool(signed_in, request)
    if exc.back == "granska":
        return await run_in_threadpool(stopped_in_queue, request, user, exc)
    assert exc.case_id is not None
    return await run_in_threadpool(
        lambda: _page(
            request, user, exc.case_id, warning=exc.warning, kept=exc.kept, status_code=409
        )
    )


def _reviewers(config, session: Session, case: Case) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The reopen form's choice: the nearest manager Postvakt proposes, and everyone who may
    be named instead (unit heads first)."""
    from postvakt.reviewer import nearest_manager

    proposed = nearest_manager(session, config, case)
    names = {p.address: p.name for p in config.people}
    heads = [(u.head, f"{names.get(u.head, u.head)} (chef för {u.name})") for u in config.units]
    others = [(a, label) for a, label in _handlers(config, case) if a not in dict(heads)]
    nearest = proposed and names.get(proposed.address, proposed.address)
    return {"nearest": nearest, "reviewers": heads + others}


def _handlers(config, case: Case) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(address, 'Name (unit)') of everyone the case may be given to, its unit's first."""
    unit = case.unit.name if case.unit else None
    people = sorted(
        (p for p in config.people if p.address != case.handler),
        key=lambda p: (p.unit != unit, p.unit or "", p.name),
    )
    return [(p.address, f"{p.name} ({p.unit})" if p.unit else p.name) for p in people]


def _download(data: bytes, filename: str, media_type: str = DOCX) -> Response:
    safe = re.sub(r"[^\w .-]", "_", filename, flags=re.UNICODE).strip(" .")[:150] or "fil"
    ascii_name = safe.encode("ascii", "replace").decode().replace("?", "_")
    from urllib.parse import quote

    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(safe)}"
        },
    )


@router.get("/arenden/{case_id}/brev/{draft_id}")
def draft_letter(
    request: Request,
    case_id: int,
    draft_id: int,
    user: User = Depends(signed_in),  # noqa: B008
) -> Response:
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        case = _case(session, user, case_id)
        draft = session.get(Draft, draft_id)
        if draft is None or draft.case_id != case.id or draft.attachment is None:
            raise HTTPException(status_code=404)
        _viewed(request, session, user, case, "brev")
        return _download(draft.attachment, draft.attachment_name or "brev.docx")


@router.get("/arenden/{case_id}/original")
def original_message(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
) -> Response:
    """The message as it came (.eml), for the registrar, the mailbox's owners, the unit's
    head and admins (:func:`~postvakt.roles.can_fetch_original`)."""
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        case = _case(session, user, case_id)
        if not case.original:
            raise HTTPException(status_code=404)
        if not can_fetch_original(user, case):
            raise HTTPException(
                status_code=403,
                detail="Originalmeddelandet (.eml) får bara registratorn, brevlådans ansvariga, "
                "enhetens chef och administratörer hämta. Medborgarens text och bilagor finns "
                "på ärendets sida.",
            )
        _viewed(request, session, user, case, "original")
        name = f"Originalmeddelande {case.reference.replace('/', '-')}.eml"
        return _download(bytes(case.original), name, "message/rfc822")


SAFE_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.ms-excel",
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/heic",
        "text/plain",
        "text/csv",
    }
)
"""Types an attachment is served as; anything else (HTML, SVG, XML, scripts) goes out as
application/octet-stream.  Always as a download, never shown inside the dashboard."""


@router.get("/arenden/{case_id}/bilaga/{index}")
def attached_file(
    request: Request,
    case_id: int,
    index: int,
    user: User = Depends(signed_in),  # noqa: B008
) -> Response:
    """One of the files the citizen attached, for whoever may see the case (logged)."""
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        case = _case(session, user, case_id)
        found = attachment_bytes(case.original, index) if index >= 0 else None
        if found is None:
            raise HTTPException(status_code=404)
        name, kind, data = found
        _viewed(request, session, user, case, "bilaga")
        media_type = kind if kind in SAFE_TYPES else "application/octet-stream"
        return _download(data, name or f"bilaga-{index + 1}", media_type)


@router.get("/arenden/{case_id}/dokument/{event_id}")
def saved_letter(
    request: Request,
    case_id: int,
    event_id: int,
    user: User = Depends(signed_in),  # noqa: B008
) -> Response:
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        case = _case(session, user, case_id)
        event = next((e for e in case.events if e.id == event_id), None)
        if event is None or not event.document:
            raise HTTPException(status_code=404)
        folder = ctx.config.path(ctx.config.templates.letters_folder)
        path = (folder / event.document).resolve()
        if folder.resolve() not in path.parents or not path.is_file():
            raise HTTPException(status_code=404)
        _viewed(request, session, user, case, "brev")
        return _download(path.read_bytes(), event.document)


# ------------------------------------------------------------------------------ actions


def _acting(request: Request, user: User, case_id: int) -> str:
    """The case's reference, when ``user`` may act on it."""
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        case = _case(session, user, case_id)
        if not can_act_on_case(user, case):
            raise HTTPException(status_code=403, detail="Du får läsa ärendet men inte ändra det.")
        return case.reference


def _done(request: Request, case_id: int, run) -> Response:  # type: ignore[no-untyped-def]
    try:
        done = run()
    except PostvaktError as exc:
        flash(request, str(exc), "fel")
    else:
        text = f"{done.case}: {STATUS_SV.get(done.status, done.status).lower()}."
        if done.letter:
            where = done.where or ""
            if where.startswith("utkast i "):
                where += " (läggs i brevlådan vid nästa läsning)"
            text += f" {done.letter}: {where}."
        flash(request, text)
    return RedirectResponse(f"/arenden/{case_id}", status_code=303)


@router.post("/arenden/{case_id}/svara", dependencies=[Depends(unchanged)])
async def answer(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    text: str = Form(""),
    letter: UploadFile | None = None,
) -> Response:
    reference = _acting(request, user, case_id)
    casework = context(request).casework
    data = await letter.read() if letter is not None and letter.filename else b""
    if data:
        name = Path(letter.filename or "svar.docx").name  # type: ignore[union-attr]
        name = re.sub(r"[^\w .-]", "_", name) or "svar.docx"
        if not name.lower().endswith(".docx"):
            name += ".docx"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_bytes(data)
            return _done(
                request,
                case_id,
                lambda: casework.answer(
                    reference, actor=user.address, text=text or None, file=path
                ),
            )
    return _done(
        request,
        case_id,
        lambda: casework.answer(reference, actor=user.address, text=text.strip() or None),
    )


@router.post("/arenden/{case_id}/avsluta", dependencies=[Depends(unchanged)])
def close(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    action: str = Form(""),
) -> Response:
    reference = _acting(request, user, case_id)
    casework = context(request).casework
    return _done(
        request,
        case_id,
        lambda: casework.close(reference, actor=user.address, action=action.strip()),
    )


@router.post("/arenden/{case_id}/overlamna", dependencies=[Depends(unchanged)])
def forward(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    to: str = Form(""),
    other: str = Form(""),
    contact: str = Form(""),
) -> Response:
    reference = _acting(request, user, case_id)
    casework = context(request).casework
    target = other.strip() if to == "__other__" else to.strip()
    if not target:
        flash(request, "Välj en enhet eller skriv vilken förvaltning eller myndighet.", "fel")
        return RedirectResponse(f"/arenden/{case_id}", status_code=303)
    return _done(
        request,
        case_id,
        lambda: casework.forward(
            reference, actor=user.address, to=target, contact=contact.strip() or None
        ),
    )


@router.post("/arenden/{case_id}/ny-provning", dependencies=[Depends(unchanged)])
def reopen(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    reason: str = Form(""),
    reviewer: str = Form(""),
) -> Response:
    reference = _acting(request, user, case_id)
    ctx = context(request)
    casework = ctx.casework
    chosen = reviewer.strip().lower() or None
    if chosen and chosen not in {p.address for p in ctx.config.people} | {
        u.head for u in ctx.config.units
    }:
        flash(request, f"{reviewer} finns inte i konfigurationen; välj någon i listan.", "fel")
        return RedirectResponse(f"/arenden/{case_id}", status_code=303)
    return _done(
        request,
        case_id,
        lambda: casework.reopen(
            reference, actor=user.address, reason=reason.strip(), reviewer=chosen
        ),
    )


@router.post("/arenden/{case_id}/vanta", dependencies=[Depends(unchanged)])
def wait(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    note: str = Form(""),
) -> Response:
    reference = _acting(request, user, case_id)
    casework = context(request).casework
    return _done(
        request, case_id, lambda: casework.wait(reference, actor=user.address, note=note.strip())
    )


@router.post("/arenden/{case_id}/anteckning", dependencies=[Depends(unchanged)])
def note(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    text: str = Form(""),
) -> Response:
    """An internal note (:mod:`postvakt.registry.notes`): for colleagues, never for the
    citizen.  The text is shown back in the message and in the events."""
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        case = session.get(Case, case_id)
        # The same refusal whether the case exists or not: it tells nothing.
        if case is None or not (can_view_case(user, case) and may_note(user, case)):
            raise HTTPException(status_code=403, detail=NOTE_REFUSED)
        reference = case.reference
    try:
        noted = write_note(
            ctx.config,
            ctx.sessions,
            ctx.clock,
            reference,
            text=text[: NOTE_LIMIT + 1],
            by=user.address,
        )
    except PermissionDeniedError as exc:
        raise HTTPException(status_code=403, detail=NOTE_REFUSED) from exc
    except PostvaktError as exc:
        flash(request, str(exc), "fel")
    else:
        flash(request, f"{noted.case}: intern anteckning sparad: ”{noted.text}”")
    return RedirectResponse(f"/arenden/{case_id}#handelser", status_code=303)
