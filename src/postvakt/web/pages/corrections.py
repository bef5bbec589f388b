"""Granska och rätta: the corrections on a case's page — confirm, change kind, withdraw,
assign, merge — and the review queue (``/granska``) with the same actions and the register /
"hör till ett ärende" / "inte ett ärende" of a message that was not made a case.  All through
:class:`postvakt.corrections.Corrections`, the same operations as ``postvakt cases …``.

Every action is a POST form carrying the session's CSRF token, behind a confirmation that
needs no script (a ``<details>`` that opens on Enter or Space), and is checked here,
server-side, before Corrections checks it again: someone who may not correct is refused
with 403 and a Swedish page, whatever the form says.  After an action the browser is sent
back (POST-redirect-GET) with one Swedish sentence of what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from postvakt.corrections import Corrected
from postvakt.corrections.common import may_see_message
from postvakt.corrections.messages import may_answer_otherwise
from postvakt.errors import (
    ConfigError,
    InvalidInputError,
    PermissionDeniedError,
    PostvaktError,
)
from postvakt.registry.case_query import answered_in, awaiting_reply
from postvakt.registry.db import database_errors
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Disposition,
    Draft,
    DraftStatus,
    Mailbox,
    MessageRecord,
)
from postvakt.web.context import WebContext
from postvakt.web.deps import context, flash, render, signed_in
from postvakt.web.pages.case_watch import Changed, stop_if_changed, unchanged
from postvakt.web.roles import (
    CORRECTORS_SV,
    User,
    can_correct_case,
    can_correct_message,
    can_view_case,
)

__all__ = ["SHOWN", "flaggable", "followups", "router", "stopped_in_queue"]

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
    items = items[:SHOWN]
    return render(
        request,
        "review.html",
        user,
        status_code=409 if stopped else 200,
        items=items,
        excerpts=_case_excerpts(ctx, [i.id for i in items if i.kind == "case"]),
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


@router.post("/granska/meddelanden/{record_id}/flagga")
def flag(
    request: Request,
    record_id: int,
    user: User = Depends(signed_in),  # noqa: B008
) -> Response:
    """Send a message back to the review queue (from its withdrawn case's page)."""
    record = _message(request, user, record_id)
    corrections = context(request).corrections
    back = f"/arenden/{record.case_id}" if record.case_id else "/granska"

    def run() -> str:
        corrections.flag(record_id, by=user.address)
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


@router.post("/granska/meddelanden/{record_id}/lossa")
def detach(
    request: Request,
    record_id: int,
    user: User = Depends(signed_in),  # noqa: B008
) -> Response:
    """The message does not belong to its case: back to the review queue (from the case page)."""
    record = _message(request, user, record_id)
    corrections = context(request).corrections
    back = f"/arenden/{record.case_id}" if record.case_id else "/granska"
    return _run(request, back, lambda: corrections.detach(record_id, by=user.address))


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

    def run() -> str:
        corrections.dismiss(record_id, by=user.address)
        return (
            f"Meddelande nr {record_id}: inte klagomål eller synpunkt; borta ur kön. Det "
            "bevakas som vanligt med svarstiden för alla meddelanden."
        )

    return _run(request, "/granska", run)
