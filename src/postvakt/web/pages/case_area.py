"""A case's service area (verksamhetsområde) on its page: the area, the unit that answers for
it, who or what chose it — and a form to correct it.

The area is the machine's decision (the web form's field, the words of the message, the
receiving unit's only area: :mod:`postvakt.areas`) and decides which unit answers the case
and how the compilation groups it.  The page shows it with Postvakt's reason, or the person
who changed it and when (from the case's events); those who may correct the case
(:func:`postvakt.roles.can_correct_case`) change it here through
:meth:`postvakt.corrections.Corrections.set_area` — the same as ``postvakt cases area``.

The form is a POST with the session's CSRF token (checked app-wide) and the page's
``loaded_at`` (:func:`~postvakt.web.pages.case_watch.unchanged`), behind a ``<details>``
confirmation.  Only an area the configuration has (``[[units]] areas``) is taken from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from postvakt.config import Config
from postvakt.errors import PermissionDeniedError, PostvaktError
from postvakt.registry.db import database_errors
from postvakt.registry.models import Case, EventKind
from postvakt.web.deps import context, flash, signed_in
from postvakt.web.pages.case_watch import unchanged
from postvakt.web.pages.corrections import _correctable, _said
from postvakt.web.roles import User, can_view_case

__all__ = ["AreaView", "area_view", "configured_areas", "router"]

router = APIRouter()

_CHANGED = " ändrade verksamhetsområde från"
"""The words of the event :meth:`~postvakt.corrections.Corrections.set_area` writes."""
_MACHINE = "verksamhetsområde"
"""How Postvakt's reason for the area begins (:class:`postvakt.areas.AreaFinding`)."""


@dataclass(frozen=True)
class AreaView:
    """The case's service area as its page shows it."""

    area: str | None
    """The area as configured (lower case), or None when the case has none."""
    unit: str | None
    """The unit that answers for the area by the configuration; None when no unit has it."""
    changed_by: str | None
    """The person who set the area by hand (the latest change), else None: Postvakt chose it."""
    changed_at: datetime | None
    reason: str | None
    """Postvakt's reason (the web form's field, the words of the text), when it gave one."""
    choices: list[tuple[str, list[str]]]
    """(unit, its areas) for the form, without the case's own area."""


def configured_areas(config: Config) -> list[str]:
    """Every service area of the configuration, in the units' order."""
    return [area for unit in config.units for area in unit.areas]


def _for(reason: str, area: str | None) -> bool:
    """Whether ``reason`` is Postvakt's reason for ``area`` (not for an area since changed)."""
    if not area:
        return False
    return reason.startswith(f"{_MACHINE} {area}:") or (
        reason.startswith(f"{_MACHINE} från webbformulärets fält") and area in reason.lower()
    )


def area_view(config: Config, case: Case) -> AreaView:
    """The case's area, its unit, and who or what chose it (the latest change by hand in the
    case's events, else Postvakt with its reason)."""
    area = case.service_area
    unit = next((u.name for u in config.units if area and area in u.areas), None)
    to_this = re.compile(rf"{_CHANGED}.* till {re.escape(area)}(?:;|\.|$)") if area else None
    changed = next(
        (
            e
            for e in sorted(case.events, key=lambda e: (e.at, e.id or 0), reverse=True)
            if e.kind is EventKind.ASSIGNED and to_this and to_this.search(e.detail or "")
        ),
        None,
    )
    reason = next((r for r in reversed(case.classifier_reasons or []) if _for(r, area)), None)
    choices = [
        (u.name, [a for a in u.areas if a != area])
        for u in config.units
        if any(a != area for a in u.areas)
    ]
    return AreaView(
        area=area,
        unit=unit,
        changed_by=changed.actor if changed is not None else None,
        changed_at=changed.at if changed is not None else None,
        reason=reason,
        choices=choices,
    )


@router.post("/arenden/{case_id}/verksamhetsomrade", dependencies=[Depends(unchanged)])
def set_area(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    area: str = Form(""),
) -> Response:
    """Give the case another of the configured service areas; it goes to the unit that has it."""
    reference = _correctable(request, user, case_id)  # 403 for one who may not correct it
    ctx = context(request)
    back = f"/arenden/{case_id}"
    wanted = " ".join(area.split()).lower()
    known = configured_areas(ctx.config)
    if not wanted:
        flash(request, "Välj ett verksamhetsområde i listan.", "fel")
        return RedirectResponse(back, status_code=303)
    if wanted not in known:
        listed = ", ".join(known) if known else "inga finns i konfigurationen"
        flash(
            request,
            f"”{area.strip()[:60]}” är inget verksamhetsområde i konfigurationen; välj ett i "
            f"listan. Verksamhetsområden: {listed}.",
            "fel",
        )
        return RedirectResponse(back, status_code=303)
    try:
        done = ctx.corrections.set_area(reference, area=wanted, by=user.address)
    except PermissionDeniedError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc
    except PostvaktError as exc:
        flash(request, _said(exc), "fel")
        return RedirectResponse(back, status_code=303)
    with ctx.sessions() as session, database_errors():
        case = session.get(Case, case_id)
        still = case is not None and can_view_case(user, case)
    if not still:  # it went to a unit whose cases this person does not see
        flash(
            request,
            f"{done.text} Du kan inte längre öppna ärendet: det hör nu till en enhet vars "
            "ärenden du inte ser.",
        )
        return RedirectResponse("/arenden", status_code=303)
    flash(request, done.text)
    return RedirectResponse(back, status_code=303)
