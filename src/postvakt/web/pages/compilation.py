"""Sammanställning: the yearly compilation with its totals per unit, administration and the
whole organisation; as .docx (landscape, all of one's units or one unit) and .xlsx (a sheet
per level), and sent to ``[organisation] compilation_to`` with a button (recorded).

Built by :mod:`postvakt.registry.report` and :mod:`postvakt.compilation`.  A unit head sees and
sends the units they head (and those below them); an admin every unit and the whole.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from postvakt.charts.figures import yearly_charts
from postvakt.charts.render import svg
from postvakt.compilation import (
    DOCX,
    XLSX,
    compilation_docx,
    file_stem,
    owner,
    send_compilation,
    sendings,
    to_xlsx,
)
from postvakt.compilation.word import in_time_text, share_text
from postvakt.errors import PostvaktError
from postvakt.registry.db import database_errors
from postvakt.registry.report import AnnualReport, annual_report
from postvakt.web.case_links import case_list_url
from postvakt.web.deps import context, flash, render, require
from postvakt.web.roles import Role, User

__all__ = ["router"]

router = APIRouter()

head = require(Role.UNIT_HEAD)


def _units(request: Request, user: User) -> list[str]:
    names = [u.name for u in context(request).config.units]
    return names if user.is_admin else [n for n in names if n in user.heads]


def _report(request: Request, user: User, year: int, unit: str | None) -> AnnualReport:
    ctx = context(request)
    allowed = _units(request, user)
    if unit is not None and unit not in allowed:
        raise HTTPException(status_code=403, detail="Du är inte chef för den enheten.")
    if not 2000 <= year <= ctx.today().year + 1:
        raise HTTPException(status_code=404)
    deadline = ctx.policy.compilation_due(year)
    with ctx.sessions() as session, database_errors():
        report = annual_report(session, year, deadline, unit, as_of=ctx.today())
    if unit is None and not user.is_admin:
        report.units = [u for u in report.units if u.unit in allowed]
    return report


@router.get("/sammanstallning")
def page(request: Request, user: User = Depends(head), year: int | None = None) -> Response:  # noqa: B008
    ctx = context(request)
    chosen = year or ctx.today().year - (1 if ctx.today().month <= 2 else 0)
    report = _report(request, user, chosen, None)
    years = list(range(ctx.today().year, ctx.today().year - 6, -1))
    with ctx.sessions() as session, database_errors():
        sent = [
            s
            for s in sendings(session, chosen)
            if user.is_admin or s.unit is None or s.unit in user.heads
        ]
    whole = report.organisation(ctx.config.organisation.name if user.is_admin else "Dina enheter")
    charts = yearly_charts(report, whole.name, link=case_list_url)
    levels = [whole, *report.administrations] if user.is_admin else [whole]
    return render(
        request,
        "compilation.html",
        user,
        report=report,
        year=chosen,
        years=years,
        levels=levels,
        share=share_text,
        in_time=in_time_text,
        sent=sent,
        compilation_to=ctx.config.organisation.compilation_to,
        owner=owner(ctx.config),
        charts=[(chart, svg(chart)) for chart in charts],
    )


def _filename(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text.encode("ascii", "ignore").decode()).strip("-")


def _download(data: bytes, media_type: str, name: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/sammanstallning/{year}.xlsx")
def xlsx(request: Request, year: int, user: User = Depends(head)) -> Response:  # noqa: B008
    report = _report(request, user, year, None)
    data = to_xlsx(report, context(request).config.organisation.name)
    return _download(data, XLSX, f"sammanstallning-{year}.xlsx")


@router.get("/sammanstallning/{year}.docx")
def docx_all(request: Request, year: int, user: User = Depends(head)) -> Response:  # noqa: B008
    """Every unit the user may see, with the totals per administration (and the whole)."""
    ctx = context(request)
    report = _report(request, user, year, None)
    if not report.units:
        raise HTTPException(status_code=404)
    data = compilation_docx(ctx.casework.letters.renderer, ctx.config, report, ctx.now())
    return _download(data, DOCX, f"sammanstallning-{year}.docx")


@router.get("/sammanstallning/{year}/{unit}.docx")
def docx(request: Request, year: int, unit: str, user: User = Depends(head)) -> Response:  # noqa: B008
    ctx = context(request)
    report = _report(request, user, year, unit)
    if not report.units:
        raise HTTPException(status_code=404)
    data = compilation_docx(ctx.casework.letters.renderer, ctx.config, report, ctx.now())
    return _download(data, DOCX, f"sammanstallning-{year}-{_filename(unit) or 'enhet'}.docx")


@router.post("/sammanstallning/{year}/skicka")
def send(
    request: Request,
    year: int,
    user: User = Depends(head),  # noqa: B008
    unit: str = Form(""),
) -> Response:
    """Send the compilation of ``unit`` (a unit head's own) or of the whole (an admin)."""
    ctx = context(request)
    chosen = unit or None
    if chosen is None and not user.is_admin:
        raise HTTPException(status_code=403, detail="Bara en administratör skickar helheten.")
    if chosen is not None and chosen not in _units(request, user):
        raise HTTPException(status_code=403, detail="Du är inte chef för den enheten.")
    if not 2000 <= year <= ctx.today().year:
        raise HTTPException(status_code=404)
    back = f"/sammanstallning?year={year}"
    try:
        sent = send_compilation(
            ctx.config,
            ctx.sessions,
            ctx.casework.mailer,
            ctx.casework.letters.renderer,
            ctx.policy,
            year=year,
            by=user.address,
            now=ctx.now(),
            unit=chosen,
        )
    except PostvaktError as exc:
        flash(request, f"Sammanställningen skickades inte: {exc}", "fel")
        return RedirectResponse(back, status_code=303)
    scope = chosen or ctx.config.organisation.name
    flash(
        request,
        f"Sammanställningen {year} för {scope} är skickad till {sent.to} "
        f"({file_stem(year, scope)}.docx och .xlsx).",
    )
    return RedirectResponse(back, status_code=303)
