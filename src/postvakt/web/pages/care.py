"""Vård och omsorg on a case's page: setting or clearing the mark that a case concerns an
individual's own care, through :class:`postvakt.care.CareRouting` — the same as
``postvakt cases care``.  Setting it sends the case card to the deviation function and tells
the unit's head; clearing it tells the deviation function.

A POST form with the session's CSRF token (checked app-wide), behind a ``<details>``
confirmation; the right is the corrections' (:func:`postvakt.roles.can_correct_case`),
checked here server-side — refused with 403 — and again by the routing.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from postvakt.web.deps import context, signed_in
from postvakt.web.pages.case_watch import unchanged
from postvakt.web.pages.corrections import _correctable, _run
from postvakt.web.roles import User

__all__ = ["router"]

router = APIRouter()


@router.post("/arenden/{case_id}/omsorg", dependencies=[Depends(unchanged)])
def care(
    request: Request,
    case_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    omsorg: str = Form(""),
) -> Response:
    if omsorg not in ("ja", "nej"):  # a form without its choice changes nothing
        raise HTTPException(status_code=400, detail="Välj ja eller nej för vård och omsorg.")
    reference = _correctable(request, user, case_id)
    routing = context(request).service.care
    assert routing is not None
    wanted = omsorg == "ja"
    return _run(
        request,
        f"/arenden/{case_id}",
        lambda: routing.set_by_hand(reference, by=user.address, care=wanted).text,
    )
