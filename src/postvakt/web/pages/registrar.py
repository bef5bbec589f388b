"""Registrator: cases registered automatically that wait to be entered in the diary system,
marked as entered with the diary system's own number (who, when); export for import."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from postvakt.diary.delivery import uncertain
from postvakt.errors import InvalidInputError
from postvakt.registry.db import database_errors
from postvakt.registry.diary_numbers import set_diary_number
from postvakt.registry.documents import DeliveryStatus, DiaryEntry
from postvakt.registry.export import export_rows, to_csv
from postvakt.registry.models import Case
from postvakt.web.deps import context, flash, render, require
from postvakt.web.roles import Role, User
from postvakt.wording import count

__all__ = ["router"]

router = APIRouter()

registrar = require(Role.REGISTRAR)
STATUS_SV = {
    "pending": "väntar",
    "sending": "skickas",
    "sent": "levererat",
    "failed": "misslyckades",
}


def _waiting(session) -> list[Case]:  # type: ignore[no-untyped-def]
    return list(
        session.scalars(
            select(Case)
            .options(selectinload(Case.unit), selectinload(Case.mailbox))
            .where(Case.registrar_status != "none", Case.diary_entered_at.is_(None))
            .order_by(Case.year, Case.seq, Case.entry)
        )
    )


@router.get("/registrator")
def page(request: Request, user: User = Depends(registrar)) -> Response:  # noqa: B008
    ctx = context(request)
    with ctx.sessions() as session, database_errors():
        waiting = _waiting(session)
        now = ctx.now()
        outbox = [
            (entry, "osäker" if uncertain(entry, now) else STATUS_SV[entry.status.value])
            for entry in session.scalars(
                select(DiaryEntry)
                .options(selectinload(DiaryEntry.case))
                .where(DiaryEntry.status != DeliveryStatus.SENT)
                .order_by(DiaryEntry.id)
                .limit(200)
            )
        ]
        entered = list(
            session.scalars(
                select(Case)
                .where(Case.diary_entered_at.is_not(None))
                .order_by(Case.diary_entered_at.desc())
                .limit(20)
            )
        )
    return render(
        request,
        "registrar.html",
        user,
        waiting=waiting,
        entered=entered,
        outbox=outbox,
        diary_mode=ctx.config.registry.numbering == "diary",
        since=ctx.today() - timedelta(days=30),
    )


@router.post("/registrator/{case_id}/infort")
def mark_entered(
    request: Request,
    case_id: int,
    user: User = Depends(registrar),  # noqa: B008
    diary_number: str = Form(""),
) -> Response:
    ctx = context(request)
    number = " ".join(diary_number.split())[:100]
    if not number:
        flash(request, "Skriv diariesystemets nummer för ärendet.", "fel")
        return RedirectResponse("/registrator", status_code=303)
    with ctx.sessions() as session, database_errors(), session.begin():
        case = session.get(Case, case_id)
        if case is None:
            raise HTTPException(status_code=404)
        if case.diary_entered_at is not None:
            flash(
                request,
                f"{case.label} är redan infört som {case.diary_entered_number}.",
                "fel",
            )
            return RedirectResponse("/registrator", status_code=303)
        if ctx.config.registry.numbering == "diary":  # the diary's number is the case's now
            try:
                with session.begin_nested():
                    set_diary_number(
                        session, case, number, by=user.address, at=ctx.now(), how="Registratorsidan"
                    )
            except InvalidInputError as exc:
                flash(request, str(exc), "fel")
                return RedirectResponse("/registrator", status_code=303)
        case.diary_entered_number = number
        case.diary_entered_by = user.address
        case.diary_entered_at = ctx.now()
        reference = case.reference
    flash(request, f"{reference} är markerat som infört i diariet som {number}.")
    return RedirectResponse("/registrator", status_code=303)


@router.post("/registrator/diariet/forsok")
def retry_diary(request: Request, user: User = Depends(registrar)) -> Response:  # noqa: B008
    """Failed documents (and those a stopped process left uncertain) are tried again now."""
    ctx = context(request)
    deliverer = ctx.service.diary
    if deliverer is None:
        raise HTTPException(status_code=404)
    tried = deliverer.retry()
    report = deliverer.run(daily=True)
    flash(
        request,
        f"{tried} dokument försöktes igen: {count(len(report.sent), 'levererat', 'levererade')}, "
        f"{len(report.retrying)} väntar på nytt försök, {len(report.failed)} misslyckades.",
        "fel" if report.failed or report.retrying else "ok",
    )
    return RedirectResponse("/registrator", status_code=303)


@router.post("/registrator/export")
def export(
    request: Request,
    user: User = Depends(registrar),  # noqa: B008
    since: str = Form(""),
    only_waiting: str = Form(""),
) -> Response:
    ctx = context(request)
    try:
        start = date.fromisoformat(since) if since else ctx.today() - timedelta(days=30)
    except ValueError:
        flash(request, "Skriv datumet som ÅÅÅÅ-MM-DD.", "fel")
        return RedirectResponse("/registrator", status_code=303)
    with ctx.sessions() as session, database_errors():
        ids = [c.id for c in _waiting(session)] if only_waiting else None
        rows = export_rows(session, start, case_ids=ids)
    data = ("\ufeff" + to_csv(rows)).encode("utf-8")  # the BOM makes Excel read UTF-8
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="arenden-fran-{start}.csv"'},
    )
