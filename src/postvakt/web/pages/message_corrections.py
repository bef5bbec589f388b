"""Granska och rätta, for messages: what becomes of a message that was not made a case —
registered, attached to the case it belongs to ("hör till ett ärende"), set aside ("inte ett
ärende") in the review queue (``/granska``) — and, on a case's page, a later message taken
off the case ("hör inte till ärendet") and a withdrawn case's message sent back to the queue
("flagga för granskning"); and a message answered another way (Översikt, a case's page).
All through :class:`postvakt.corrections.Corrections`, as ``postvakt cases …``; the checks,
the confirmation and the way back as for a case's corrections
(:mod:`postvakt.web.pages.corrections`).

A decision in Granska sent from a page loaded before someone else decided the message is
stopped (:func:`_message_unchanged`); a form on a case's page names the case, and is stopped
as every action on the case is when someone else changed it since the page was loaded
(:func:`postvakt.web.pages.case_watch.unchanged`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from postvakt.corrections import Corrected
from postvakt.corrections.messages import may_answer_otherwise
from postvakt.errors import ConfigError, InvalidInputError
from postvakt.registry.case_query import answered_in, awaiting_reply
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Disposition,
    DraftStatus,
    Mailbox,
    MessageRecord,
)
from postvakt.web.deps import context, flash, signed_in
from postvakt.web.pages.case_watch import stop_if_changed, unchanged
from postvakt.web.pages.corrections import _message, _run
from postvakt.web.roles import (
    User,
    can_correct_case,
    can_correct_message,
    can_view_case,
)

__all__ = ["answerable_by", "awaiting_in", "flaggable", "followups", "router"]

router = APIRouter()  # ids and form text are checked app-wide (web/input_check.py)


async def _message_unchanged(
    request: Request,
    record_id: int,
    user: User = Depends(signed_in),  # noqa: B008
) -> None:
    """A dependency of Granska's decisions on a message: someone else decided it (registered,
    attached, set aside) or sent it back to the queue after the page was loaded — the
    decision is stopped and Granska shown again (:func:`case_watch.stop_if_changed`)."""

    def newest(session: Session, since: datetime, user: User) -> tuple[str, datetime] | None:
        record = session.get(MessageRecord, record_id)
        if record is None:
            return None
        stamps = [
            (by, at)
            for by, at in (
                (record.reviewed_by, record.reviewed_at),
                (record.flagged_by, record.flagged_at),
            )
            if by and at and at > since and by != user.address
        ]
        return max(stamps, key=lambda stamp: stamp[1], default=None)

    await stop_if_changed(
        request,
        user,
        newest,
        what=f"meddelande nr {record_id}",
        then="se hur det ser ut nu",
        record_id=record_id,
        back="granska",
    )


def flaggable(session: Session, user: User, case: Case) -> list[MessageRecord]:
    """The messages of a withdrawn (not merged) case that ``user`` may send back to the
    review queue, to be registered anew."""
    if case.status is not CaseStatus.WITHDRAWN or case.merged_into_id or case.mailbox is None:
        return []
    unit = case.unit.name if case.unit else None
    if not can_correct_message(user, case.mailbox.address, unit):
        return []
    return list(
        session.scalars(
            select(MessageRecord)
            .where(
                MessageRecord.case_id == case.id,
                MessageRecord.disposition == Disposition.NOT_CASE,
            )
            .order_by(MessageRecord.id)
        )
    )


@router.post("/arenden/{case_id}/meddelanden/{record_id}/flagga", dependencies=[Depends(unchanged)])
def flag(
    request: Request,
    case_id: int,
    record_id: int,
    user: User = Depends(signed_in),  # noqa: B008
) -> Response:
    """Send a message back to the review queue (from its withdrawn case's page)."""
    back = f"/arenden/{case_id}"
    if (refused := _not_in(request, user, case_id, record_id)) is not None:
        return refused
    corrections = context(request).corrections

    def run() -> str:
        flagged = corrections.flag(record_id, by=user.address)
        if flagged.already:  # a double click, or a colleague first: who and when
            return flagged.text
        return (
            f"Meddelande nr {record_id} står nu i granskningskön, där det kan registreras på nytt."
        )

    return _run(request, back, run)


@router.post(
    "/granska/meddelanden/{record_id}/registrera", dependencies=[Depends(_message_unchanged)]
)
def register(
    request: Request,
    record_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    kind: str = Form(""),
) -> Response:
    record = _message(request, user, record_id)
    ctx = context(request)
    if record.disposition is not Disposition.NOT_CASE or not record.message_id:
        flash(request, f"Meddelande nr {record_id} kan inte registreras härifrån.", "fel")
        return RedirectResponse("/granska", status_code=303)
    if kind not in ("klagomal", "synpunkt"):
        flash(request, "Välj klagomål eller synpunkt.", "fel")
        return RedirectResponse("/granska", status_code=303)
    message_id = record.message_id

    def run() -> Corrected:
        with ctx.reading:  # one reader per mailbox at a time
            try:
                ctx.open_reader(record.mailbox.address)
            except ConfigError as exc:
                missing = "; ".join(p.message for p in exc.problems)
                raise InvalidInputError(
                    f"Webbpanelen kan inte läsa {record.mailbox.address} ({missing}). "
                    "Registrera meddelandet med 'postvakt cases register' på servern."
                ) from exc
            return ctx.corrections.register(
                message_id, kind=kind, by=user.address, record_id=record.id
            )

    return _run(request, "/granska", run, drafts=DraftStatus.PENDING)


@router.post("/granska/meddelanden/{record_id}/knyt", dependencies=[Depends(_message_unchanged)])
def attach(
    request: Request,
    record_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    to: str = Form(""),
) -> Response:
    """The message belongs to an existing case: it joins it instead of becoming a new one."""
    _message(request, user, record_id)
    corrections = context(request).corrections
    if not to.strip():
        flash(request, "Skriv numret på ärendet som meddelandet hör till, t.ex. KS 2026/17.", "fel")
        return RedirectResponse("/granska", status_code=303)
    return _run(
        request, "/granska", lambda: corrections.attach(record_id, to=to[:120], by=user.address)
    )


@router.post("/arenden/{case_id}/meddelanden/{record_id}/lossa", dependencies=[Depends(unchanged)])
def detach(
    request: Request,
    case_id: int,
    record_id: int,
    user: User = Depends(signed_in),  # noqa: B008
) -> Response:
    """The message does not belong to its case: back to the review queue (from the case page)."""
    back = f"/arenden/{case_id}"
    if (refused := _not_in(request, user, case_id, record_id)) is not None:
        return refused
    corrections = context(request).corrections
    return _run(request, back, lambda: corrections.detach(record_id, by=user.address))


def _not_in(request: Request, user: User, case_id: int, record_id: int) -> Response | None:
    """The refusal of a case page's form for a message not in that case, or None."""
    if _message(request, user, record_id).case_id == case_id:
        return None
    return _elsewhere(request, f"/arenden/{case_id}", record_id)


def _elsewhere(request: Request, back: str, record_id: int) -> Response:
    """A case page's form for a message that is not in that case (no longer, or a crafted
    address): nothing is done to whatever case it is in."""
    flash(
        request,
        f"Meddelande nr {record_id} ligger inte i det här ärendet; ingenting ändrades. Ladda "
        "om sidan och se efter var det är.",
        "fel",
    )
    return RedirectResponse(back, status_code=303)


@router.post("/meddelanden/{record_id}/besvarat")
def answered_otherwise(
    request: Request,
    record_id: int,
    user: User = Depends(signed_in),  # noqa: B008
    how: str = Form(""),
    case: str = Form(""),
) -> Response:
    """The message was answered another way (by telephone), or needs no answer: its reply
    clock stops, with who said so and how (from Översikt's unanswered messages)."""
    corrections = context(request).corrections
    # back where the form was: the case's page, or Översikt's list
    back = f"/arenden/{case}" if case.isdigit() else "/#meddelanden"
    return _run(
        request,
        back,
        lambda: corrections.answered_otherwise(record_id, how=how, by=user.address),
    )


def answerable_by(session: Session, user: User, record_ids: Iterable[int | None]) -> set[int]:
    """Which of these messages ``user`` may say were answered otherwise (the form is offered
    by the rule the action keeps: :func:`may_answer_otherwise`)."""
    ids = [i for i in record_ids if i is not None]
    if not ids:
        return set()
    records = session.scalars(
        select(MessageRecord)
        .options(
            selectinload(MessageRecord.mailbox).selectinload(Mailbox.unit),
            selectinload(MessageRecord.case).selectinload(Case.unit),
            selectinload(MessageRecord.case).selectinload(Case.mailbox),
        )
        .where(MessageRecord.id.in_(ids))
    )
    return {r.id for r in records if may_answer_otherwise(user, r, answered_in(r))}


def awaiting_in(session: Session, user: User, case: Case) -> list[tuple[MessageRecord, bool]]:
    """The citizen's messages in ``case`` that wait for their own reply (written after the
    answer), each with whether ``user`` may say it was answered otherwise."""
    records = list(
        session.scalars(
            select(MessageRecord)
            .where(
                MessageRecord.case_id == case.id,
                MessageRecord.disposition == Disposition.FOLLOWUP,  # not a withdrawn case's own
                *awaiting_reply(),
            )
            .order_by(MessageRecord.received_at, MessageRecord.id)
        )
    )
    return [(r, may_answer_otherwise(user, r, case)) for r in records]


def followups(session: Session, user: User, case: Case) -> list[MessageRecord]:
    """The later messages in an open case that ``user`` may take off it (``detach``): rights
    to the case and to the mailbox each message came to."""
    if case.status is CaseStatus.WITHDRAWN:
        return []
    if not (can_view_case(user, case) and can_correct_case(user, case)):
        return []
    records = session.scalars(
        select(MessageRecord)
        .options(selectinload(MessageRecord.mailbox).selectinload(Mailbox.unit))
        .where(
            MessageRecord.case_id == case.id,
            MessageRecord.disposition == Disposition.FOLLOWUP,
        )
        .order_by(MessageRecord.received_at, MessageRecord.id)
    )
    return [
        r
        for r in records
        if can_correct_message(
            user, r.mailbox.address, r.mailbox.unit.name if r.mailbox.unit else None
        )
    ]


@router.post(
    "/granska/meddelanden/{record_id}/inte-arende", dependencies=[Depends(_message_unchanged)]
)
def dismiss(
    request: Request,
    record_id: int,
    user: User = Depends(signed_in),  # noqa: B008
) -> Response:
    _message(request, user, record_id)
    corrections = context(request).corrections

    return _run(request, "/granska", lambda: corrections.dismiss(record_id, by=user.address))
