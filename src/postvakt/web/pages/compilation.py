"""Sammanställning: the yearly compilation per unit, as .docx (per unit) and .xlsx, built by
:mod:`postvakt.registry.report` and :meth:`postvakt.casework.Casework.compilation_docx`."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from postvakt.casework import DOCX
from postvakt.registry.db import database_errors
from postvakt.registry.report import annual_report, to_xlsx
from postvakt.web.deps import context, render, require
from postvakt.web.roles import Role, User

__all__ = ["router"]

router = APIRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
head = require(Role.UNIT_HEAD)


def _units(request: Request, user: User) -> list[str]:
    names = [u.name for u in context(request).config.units]
    return names if user.is_admin else [n for n in names if n in user.heads]


def _report(request: Request, user: User, year: int, unit: str | None):  # type: ignore[no-untyped-def]
    ctx = context(request)
    allowed = _units(request, user)
    if unit is not None and unit not in allowed:
        raise HTTPException(status_code=403, detail="Du är inte chef för den enheten.")
    if not 2000 <= year <= ctx.today().year + 1:
        raise HTTPException(status_code=404)
    deadline = ctx.policy.compilation_due(year)
    with ctx.sessions() as session, database_errors():
        report = annual_report(session, year, deadline, unit=unit)
    if unit is None and not user.is_admin:
        report.units = [u for u in report.units if u.unit in allowed]
    return report


@router.get("/sammanstallning")
def page(request: Request, user: User = Depends(head), year: int | None = None) -> Response:  # noqa: B008
    ctx = context(request)
    chosen = year or ctx.today().year - (1 if ctx.today().month <= 2 else 0)
    report = _report(request, user, chosen, None)
    years = list(range(ctx.today().year, ctx.today().year - 6, -1))
    return render(request, "compilation.html", user, report=report, year=chosen, years=years)


def _filename(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text.encode("ascii", "ignore").decode()).strip("-")


@router.get("/sammanstallning/{year}.xlsx")
def xlsx(request: Request, year: int, user: User = Depends(head)) -> Response:  # noqa: B008
    report = _report(request, user, year, None)
    return Response(
        to_xlsx(report),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="sammanstallning-{year}.xlsx"'},
    )


@router.get("/sammanstallning/{year}/{unit}.docx")
def docx(request: Request, year: int, unit: str, user: User = Depends(head)) -> Response:  # noqa: B008
    report = _report(request, user, year, unit)
    if not report.units:
        raise HTTPException(status_code=404)
    data = context(request).casework.compilation_docx(report, report.units[0])
    name = f"sammanstallning-{year}-{_filename(unit) or 'enhet'}.docx"
    return Response(
        data, media_type=DOCX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
