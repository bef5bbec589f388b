"""Granska och rätta: the corrections on a case's page — confirm, change kind, withdraw,
assign, merge — and the review queue (``/granska``) with the same actions.  What becomes of
a message that was not made a case (register, "hör till ett ärende", "inte ett ärende"), and
the case page's forms for its messages, are in :mod:`postvakt.web.pages.message_corrections`.
All through :class:`postvakt.corrections.Corrections`, the same operations as ``postvakt
cases …``.

Every action is a POST form carrying the session's CSRF token, behind a confirmation that
needs no script (a ``<details>`` that opens on Enter or Space), and is checked here,
server-side, before Corrections checks it again: someone who may not correct is refused
with 403 and a Swedish page, whatever the form says.  After an action the browser is sent
back (POST-redirect-GET) with one Swedish sentence of what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from postvakt.corrections import Corrected
from postvakt.corrections.common import may_see_message
from postvakt.errors import (
    InvalidInputError,
    PermissionDeniedError,
    PostvaktError,
)
from postvakt.registry.db import database_errors
from postvakt.registry.models import (
    Case,
    Disposition,
    Draft,
    DraftStatus,
    Mailbox,
    MessageRecord,
)
from postvakt.web.context import WebContext
from postvakt.web.deps import context, flash, render, signed_in
from postvakt.web.pages.case_watch import Changed, unchanged
from postvakt.web.roles import (
    CORRECTORS_SV,
    User,
    can_correct_case,
    can_correct_message,
    can_view_case,
)

__all__ = ["SHOWN", "router", "stopped_in_queue"]

router = APIRouter()  # ids and form text are checked app-wide (web/input_check.py)
"""Every route: an id the database cannot hold is not found; a form text with a control
character is refused in Swedish (:mod:`postvakt.web.input_check`)."""

SHOWN = 200
"""Rows of the review queue on the page, the oldest; the count says how many there are."""
REFUSED_CASE = f"Du får inte rätta det här ärendet. Det får bara {CORRECTORS_SV}."
REFUSED_MESSAGE = (
    "Du får inte granska meddelanden i den brevlådan. Det får bara brevlådans ansvariga, den "
    "vars brevlåda det är, enhetens chef, registratorn och administratörer."
)
CHOICES_SV = {
    ("bekrafta", ""): "Bekräfta bedömningen",
    ("andra-typ", "klagomal"): "Ändra till klagomål",
    ("andra-typ", "synpunkt"): "Ändra till synpunkt",
    ("andra-typ", "annat"): "Annat: makulera",
    ("makulera", ""): "Makulera",
    ("registrera", "klagomal"): "Registrera som klagomål",
    ("registrera", "synpunkt"): "Registrera som synpunkt",
    ("knyt", ""): "Knyt till ärendet",
    ("inte-arende", ""): "Inte ett ärende",
}
"""What a Granska form's button says, by the form's route and the kind chosen: told back
when the action was stopped because someone else changed the case or message."""


@dataclass(frozen=True)
class Stopped:
    """A decision in Granska stopped because someone else changed its case or message since
    the page was loaded (case_watch's :class:`Changed`), as shown again: who changed it
    (``warning``), the person's choice and typed reason, the case's page (``link``), the
    row (``kind`` 'case' or 'message', ``id``) and what was typed by form (``kept``)."""

    warning: str
    choice: str
    reason: str
    link: tuple[str, str] | None
    kind: str
    id: int
    kept: dict[str, dict[str, str]]


def _back(case_id: int, tillbaka: str) -> str:
    """Where the browser goes after an action: a fixed place, never a given address."""
    return "/granska" if tillbaka == "granska" else f"/arenden/{case_id}"


def _said(exc: PostvaktError) -> str:
    """The error's Swedish sentence, without the command line's argument name."""
    text = str(exc)
    if isinstance(exc, InvalidInputError) and exc.argument:
        text = text.removeprefix(f"{exc.argument}: ")
    return text[:1].upper() + text[1:]


def _correctable(request: Request, user: User, case_id: int) -> str:
    """The case's reference when ``user`` may correct it; 403 otherwise — the same answer
    for a case that does not exist, so the refusal tells nothing."""
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        case = session.scalars(
            select(Case)
            .options(selectinload(Case.unit), selectinload(Case.mailbox))
            .where(Case.id == case_id)
        ).one_or_none()
        if case is None or not (can_view_case(user, case) and can_correct_case(user, case)):
            raise HTTPException(status_code=403, detail=REFUSED_CASE)
        return case.reference


def _drafts(request: Request, reference: str, status: DraftStatus) -> int:
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        return (
            session.scalar(
                select(func.count())
                .select_from(Draft)
                .join(Case, Case.id == Draft.case_id)
                .where(Case.reference == reference, Draft.status == status)
            )
            or 0
        )


def _run(
    request: Request,
    back: str,
    action: Callable[[], Corrected | str],
    *,
    drafts: DraftStatus | None = None,
) -> Response:
    """Do ``action``; tell what happened (or why not) on the page the browser goes back to."""
    try:
        done = action()
    except PermissionDeniedError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc
    except PostvaktError as exc:
        flash(request, _said(exc), "fel")
        return RedirectResponse(back, status_code=303)
    if isinstance(done, str):
        flash(request, done)
        return RedirectResponse(back, status_code=303)
    text = done.text
    waiting = _drafts(request, done.case, drafts) if drafts is not None else 0
    if waiting and drafts is DraftStatus.REMOVE:
        text += (
            f" Postvakts {'utkast' if waiting == 1 else f'{waiting} utkast'} för ärendet tas "
            "bort ur Utkast-mappen vid nästa läsning av brevlådan."
        )
    elif waiting:
        text += " Brevet läggs som utkast i brevlådan vid nästa läsning."
    link = None
    if back == "/granska":
        ctx = context(request)
        with ctx.sessions() as session, database_errors():
            case_id = session.scalar(select(Case.id).where(Case.reference == done.case))
        link = (f"/arenden/{case_id}", f"Öppna {done.case}") if case_id else None
    flash(request, text, link=link)
    return RedirectResponse(back, status_code=303)


# ----------------------------------------------------------------------- a case's corrections


@router.post("/arenden/{case_id}/bekrafta", dependencies=[Depends(unchanged)])
def confirm(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    tillbaka: str = Form(""),
) -> Response:
    reference = _correctable(request, user, case_id)
    corrections = context(request).corrections
    return _run(
        request,
        _back(case_id, tillbaka),
        lambda: corrections.confirm(reference, by=user.address),
    )


@router.post("/arenden/{case_id}/andra-typ", dependencies=[Depends(unchanged)])
def reclassify(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    kind: str = Form(""),
    tillbaka: str = Form(""),
) -> Response:
    reference = _correctable(request, user, case_id)
    corrections = context(request).corrections
    return _run(
        request,
        _back(case_id, tillbaka),
        lambda: corrections.reclassify(reference, kind=kind, by=user.address),
        drafts=DraftStatus.REMOVE if kind == "annat" else None,
    )


@router.post("/arenden/{case_id}/makulera", dependencies=[Depends(unchanged)])
def withdraw(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    reason: str = Form(""),
    tillbaka: str = Form(""),
) -> Response:
    reference = _correctable(request, user, case_id)
    corrections = context(request).corrections
    return _run(
        request,
        _back(case_id, tillbaka),
        lambda: corrections.withdraw(reference, reason=reason[:1000], by=user.address),
        drafts=DraftStatus.REMOVE,
    )


@router.post("/arenden/{case_id}/tilldela", dependencies=[Depends(unchanged)])
def assign(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    to: str = Form(""),
) -> Response:
    reference = _correctable(request, user, case_id)
    corrections = context(request).corrections
    return _run(
        request,
        _back(case_id, ""),
        lambda: corrections.assign(reference, to=to[:320], by=user.address),
    )


@router.post("/arenden/{case_id}/sammanfor", dependencies=[Depends(unchanged)])
def merge(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    into: str = Form(""),
) -> Response:
    reference = _correctable(request, user, case_id)
    corrections = context(request).corrections
    if not into.strip():
        flash(request, "Skriv numret på ärendet som gäller, t.ex. KS 2026/17.", "fel")
        return RedirectResponse(_back(case_id, ""), status_code=303)
    return _run(
        request,
        _back(case_id, ""),
        lambda: corrections.merge(reference, into=into[:120], by=user.address),
        drafts=DraftStatus.REMOVE,
    )


# ------------------------------------------------------------------------- the review queue


@router.get("/granska")
def queue(request: Request, user: User = Depends(signed_in)) -> Response:  # noqa: B008
    return _queue_page(request, user)


def _queue_page(request: Request, user: User, *, stopped: Stopped | None = None) -> Response:
    """Granska; ``stopped`` when an action was refused because someone else changed the case
    or message since the page was loaded (409: nothing was done)."""
    ctx = context(request)
    try:
        items = ctx.corrections.queue(user.address)
    except PermissionDeniedError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc
    shown = items[:SHOWN]  # counted before the cut: the page says when there are more
    return render(
        request,
        "review.html",
        user,
        status_code=409 if stopped else 200,
        items=shown,
        excerpts=_case_excerpts(ctx, [i.id for i in shown if i.kind == "case"]),
        total=len(items),
        shown=SHOWN,
        loaded_at=ctx.now().isoformat(),  # each form carries it: case_watch.stop_if_changed
        stopped=stopped,
    )


def stopped_in_queue(request: Request, user: User, exc: Changed) -> Response:
    """Granska again after a decision sent from it was stopped (:class:`Changed`): the
    warning, the choice the person made and what they typed, on the case or message the
    form was for — only to someone who may correct it (else refused as the action is)."""
    if exc.record_id is not None:
        _message(request, user, exc.record_id)
        kind, item_id, name, link = "message", exc.record_id, f"meddelande nr {exc.record_id}", None
    else:
        assert exc.case_id is not None
        reference = _correctable(request, user, exc.case_id)
        kind, item_id, name = "case", exc.case_id, reference
        link = (f"/arenden/{exc.case_id}", f"Öppna {reference}")
    ((slug, typed),) = exc.kept.items()
    choice = CHOICES_SV.get((slug, typed.get("kind", "")), "")
    if slug == "knyt" and typed.get("to"):
        choice += f" {typed['to']}"
    return _queue_page(
        request,
        user,
        stopped=Stopped(
            warning=exc.warning,
            choice=f"Ditt val har inte utförts: {choice} ({name})." if choice else "",
            reason=typed.get("reason", ""),
            link=link,
            kind=kind,
            id=item_id,
            kept=exc.kept,
        ),
    )


def _case_excerpts(ctx: WebContext, case_ids: list[int]) -> dict[int, str]:
    """The start of the citizen's text of each case, as the intake kept it with the message
    (the queue gives a case's summary, which for mail is its subject)."""
    if not case_ids:
        return {}
    with ctx.sessions() as session, database_errors():
        rows = session.execute(
            select(MessageRecord.case_id, MessageRecord.excerpt)
            .where(
                MessageRecord.case_id.in_(case_ids),
                MessageRecord.disposition == Disposition.CASE,
                MessageRecord.excerpt.is_not(None),
            )
            .order_by(MessageRecord.id)
        )
        found: dict[int, str] = {}
        for case_id, excerpt in rows:
            found.setdefault(case_id, excerpt)
        return found


def _message(request: Request, user: User, record_id: int) -> MessageRecord:
    """The message record, when ``user`` may review it; 403 otherwise (also when missing,
    and for a private message the mailbox's other owners may not see)."""
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        record = session.scalars(
            select(MessageRecord)
            .options(selectinload(MessageRecord.mailbox).selectinload(Mailbox.unit))
            .where(MessageRecord.id == record_id)
        ).one_or_none()
        if record is None:
            raise HTTPException(status_code=403, detail=REFUSED_MESSAGE)
        mailbox = record.mailbox
        unit = mailbox.unit.name if mailbox.unit else None
        if not (can_correct_message(user, mailbox.address, unit) and may_see_message(user, record)):
            raise HTTPException(status_code=403, detail=REFUSED_MESSAGE)
        session.expunge(record)
        return record
