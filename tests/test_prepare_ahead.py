"""The helper process that parses and classifies the next batch (:mod:`postvakt.intake.prepare`):
a pass with it ends exactly as a pass without it; a helper that dies or cannot start costs
nothing; a crash mid-pass still loses only the batch it was in; another model in use
replaces the helper."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from postvakt.classifier import find_contact, screen
from postvakt.clock import Clock
from postvakt.config import load_config
from postvakt.intake import Intake, Work
from postvakt.intake.prepare import PART, Handed, Preparer, prepare_one
from postvakt.intake.steps import classify, parse
from postvakt.mailbox.base import FetchedMessage
from postvakt.registry.models import Case, Draft, FailedMessage, MessageRecord, SyncState
from postvakt.service import Service
from tests.support.memory_connector import MemoryConnector
from tests.support.workspace import citizen_mail, make_workspace
from tests.test_intake import COMPLAINT, OPINION, QUESTION, Crash, _steps_with

EML = Path(__file__).parent / "data" / "eml"


def _mixed(connector: MemoryConnector, count: int) -> None:
    """Real .eml files of the test data, then complaints, opinions, questions and
    auto-replies, ``count`` in all."""
    files = sorted(EML.glob("*.eml"))
    for path in files[:count]:
        connector.add(path.read_bytes())
    texts = (COMPLAINT, OPINION, QUESTION)
    for n in range(count - min(count, len(files))):
        headers = {"Auto-Submitted": "auto-replied"} if n % 9 == 4 else None
        connector.add(
            citizen_mail(
                f"{texts[n % 3]}\n{n}",
                subject=("Klagomål", "Förslag", "Fråga")[n % 3] + f" {n}",
                message_id=f"<m{n}@example.net>",
                headers=headers,
            )
        )


def _outcome_table(service: Service) -> list[tuple[object, ...]]:
    assert service.sessions is not None
    with service.sessions() as session:
        records = session.execute(
            select(
                MessageRecord.message_key,
                MessageRecord.disposition,
                MessageRecord.label,
                MessageRecord.confidence,
                MessageRecord.reasons,
                MessageRecord.defects,
                MessageRecord.content_hash,
                MessageRecord.reply_due,
            ).order_by(MessageRecord.id)
        ).all()
        cases = session.execute(
            select(
                Case.reference,
                Case.kind,
                Case.needs_review,
                Case.heading,
                Case.summary,
                Case.language,
                Case.classifier_confidence,
            ).order_by(Case.id)
        ).all()
        drafts = session.scalars(select(Draft.subject).order_by(Draft.id)).all()
    return [*map(tuple, records), *map(tuple, cases), *drafts]


def _with_helpers(ws_path: Path, processes: int) -> Path:
    text = ws_path.read_text(encoding="utf-8")
    ws_path.write_text(
        text + f"\n[service]\nprepare_processes = {processes}\nbatch_size = 20\n",
        encoding="utf-8",
    )
    return ws_path


def test_a_pass_with_the_helper_ends_as_one_without_it(tmp_path: Path, clock: Clock) -> None:
    tables = []
    for processes in (1, 0):
        ws = make_workspace(tmp_path / f"ws{processes}")
        connector = MemoryConnector("kontakt@testby.se")
        _mixed(connector, 110)
        config = load_config(_with_helpers(ws.config_path, processes))
        with Service(config, clock=clock).open(need_connectors=False) as service:
            assert service.intake is not None
            report = service.intake.run_mailbox(connector)
            preparer = service.intake._preparer
            assert (preparer is not None) == (processes == 1)
            if preparer is not None:
                assert not preparer.broken and preparer.pids()  # it did run
            assert len(report.outcomes) == 110 and not report.errors
            tables.append(_outcome_table(service))
    with_helper, without = tables
    assert with_helper == without
    assert sum(1 for row in with_helper if isinstance(row, tuple) and len(row) == 7) > 30


def test_what_the_helper_returns_is_what_the_steps_make(tmp_path: Path, clock: Clock) -> None:
    ws = make_workspace(tmp_path / "ws")
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.intake is not None
        intake = service.intake
        raws = [path.read_bytes() for path in sorted(EML.glob("*.eml"))]
        preparer = Preparer(intake.classify, own_addresses=intake.own_addresses)
        try:
            ahead = preparer.results(preparer.submit(raws))
        finally:
            preparer.close()
        assert ahead is not None and len(ahead) == len(raws)
        for raw, prepared in zip(raws, ahead, strict=True):
            work = Work(
                session=None,  # type: ignore[arg-type]  # parse and classify read no database
                mailbox=None,  # type: ignore[arg-type]
                fetched=FetchedMessage(folder="INBOX", key="1:1", raw=raw, received_at=None),
                now=intake.now(),
            )
            parse(intake, work)
            classify(intake, work)
            assert prepared.message == work.message
            assert prepared.verdict == work.verdict
            assert prepared.screening == screen(work.msg)
            assert prepared.contact == find_contact(work.msg, intake.own_addresses)
            assert prepared == prepare_one(raw, intake.classify, intake.own_addresses)


@pytest.mark.parametrize(
    ("how", "told"),
    [(signal.SIGKILL, "BrokenProcessPool"), (signal.SIGSTOP, "TimeoutError")],
    ids=["killed", "stopped"],
)
def test_a_helper_that_dies_or_hangs_leaves_its_batches_to_the_pass(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture, how: int, told: str
) -> None:
    """A helper killed, or one that never answers (stopped here; stuck on something, in
    life), costs the pass at most ``patience`` seconds: the pass does the work, every
    message is recorded once, the helper is ended and the service closes without waiting
    for it."""
    ws = make_workspace(tmp_path / "ws")
    connector = MemoryConnector("kontakt@testby.se")
    _mixed(connector, 70)
    config = load_config(_with_helpers(ws.config_path, 1))
    with Service(config, clock=clock).open(need_connectors=False) as service:
        assert service.intake is not None and service.sessions is not None
        preparer = service.intake.preparer
        assert preparer is not None
        preparer.warm()
        preparer.patience = 1.0
        (pid,) = preparer.pids()
        os.kill(pid, how)
        caplog.set_level(logging.WARNING, logger="postvakt")
        began = time.monotonic()
        report = service.intake.run_mailbox(connector)
        waited = time.monotonic() - began
        assert len(report.outcomes) == 70 and not report.errors
        assert preparer.broken
        with service.sessions() as session:
            keys = session.scalars(select(MessageRecord.message_key)).all()
    assert sorted(keys) == sorted(f"1:{n}" for n in range(1, 71))
    assert waited < 30  # at most one patience and the pass's own work, never for ever
    assert not _exists(pid)
    warnings = [r.getMessage() for r in caplog.records if "helper process" in r.getMessage()]
    assert len(warnings) == 1 and told in warnings[0]


def test_a_part_left_unanswered_by_a_dead_helper_is_not_waited_for(
    tmp_path: Path, clock: Clock
) -> None:
    """CPython 3.11's process pool, when its process dies while a part was taken back, can
    leave the other parts unanswered for ever (gh-107219).  Such a part: running, never
    answered, its helper killed. The pass sees the helper gone and does the batch."""
    ws = make_workspace(tmp_path / "ws")
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.intake is not None
        preparer = Preparer(service.intake.classify)
        try:
            preparer.warm()
            (pid,) = preparer.pids()
            orphan: Future[list] = Future()
            orphan.set_running_or_notify_cancel()  # begun: cannot be taken back
            os.kill(pid, signal.SIGKILL)
            began = time.monotonic()
            ahead = preparer.results(Handed([b"x"], [(0, 1, orphan)]))
            waited = time.monotonic() - began
        finally:
            preparer.close()
    assert ahead is None and preparer.broken
    assert waited < 10 and not orphan.done()


@pytest.mark.parametrize(
    ("crash_at", "committed"), [(27, 20), (7, 0)], ids=["second-batch", "first-batch"]
)
def test_a_crash_in_a_batch_behind_a_sealed_one_loses_only_what_was_not_committed(
    tmp_path: Path, clock: Clock, crash_at: int, committed: int
) -> None:
    """45 messages in batches of 20; the process dies in the second batch (the first has
    committed) or in the first (the second is with the helper).  The state stands after
    what committed; the next pass reads the rest again, and every message ends as one
    record.  A batch handed over and never run is released: the helper may still rest."""
    ws = make_workspace(tmp_path / "ws")
    connector = MemoryConnector("kontakt@testby.se")
    for n in range(45):
        connector.add(citizen_mail(f"{COMPLAINT}\n{n}", message_id=f"<c{n}@example.net>"))
    config = load_config(_with_helpers(ws.config_path, 1))
    with Service(config, clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None

        def crash(intake: Intake, work: Work) -> None:
            if work.msg.message_id == f"c{crash_at}@example.net":
                raise Crash

        crashing = Intake(
            service.config, service.sessions, clock=clock, steps=_steps_with(12, crash)
        )
        try:
            with pytest.raises(Crash):
                crashing.run_mailbox(connector)
            preparer = crashing._preparer
            assert preparer is not None and preparer.pids() and preparer._outstanding == 0
        finally:
            crashing.close()
        with service.sessions() as session:
            inbox = session.scalars(select(SyncState).where(SyncState.folder == "INBOX")).all()
            assert [s.state for s in inbox] == ([{"last_uid": 20}] if committed else [])
            assert len(session.scalars(select(MessageRecord.id)).all()) == committed
        assert service.intake is not None
        report = service.intake.run_mailbox(connector)
        assert [o.key for o in report.outcomes] == [f"1:{n}" for n in range(committed + 1, 46)]
        with service.sessions() as session:
            keys = session.scalars(select(MessageRecord.message_key)).all()
            references = session.scalars(select(Case.reference)).all()
    assert sorted(keys) == sorted(f"1:{n}" for n in range(1, 46))
    assert sorted(references) == sorted(f"KS 2026/{n}" for n in range(1, 46))


def test_another_model_in_use_replaces_the_helper(tmp_path: Path, clock: Clock) -> None:
    ws = make_workspace(tmp_path / "ws")
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        intake = service.intake
        assert intake is not None
        first = intake.preparer
        assert first is not None and first.model is intake.classify
        assert intake.preparer is first  # the same model: the same helper
        first.warm()
        assert first.pids()
        model = intake.classify
        intake.reload_classifier(lambda: _copy(model))  # a retraining took another into use
        second = intake.preparer
        assert second is not None and second is not first
        assert second.model is intake.classify and second.model is not model
        assert first.pids() == []  # the old helper was stopped
        intake.close()
        assert second.pids() == []


def _copy(model: object) -> object:
    import copy

    return copy.deepcopy(model)


def test_a_classifier_given_to_the_intake_gets_no_helper(tmp_path: Path, clock: Clock) -> None:
    ws = make_workspace(tmp_path / "ws")
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.intake is not None and service.sessions is not None
        own = Intake(
            service.config, service.sessions, clock=clock, classify=service.intake.classify
        )
        assert own.preparer is None
        off = load_config(_with_helpers(ws.config_path, 0))
        assert Intake(off, service.sessions, clock=clock).preparer is None


def test_a_helper_ends_when_its_process_is_killed(tmp_path: Path) -> None:
    """kill -9 of the process leaves no helper behind holding its copy of the model."""
    script = (
        "import sys, time\n"
        "from postvakt.intake.prepare import Preparer\n"
        "preparer = Preparer({'a model': 1})\n"
        "preparer.warm()\n"
        "print(preparer.pids()[0], flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        helper = int(parent.stdout.readline())
        assert _alive(helper)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(helper) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(helper)
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; its parent (init) reaps it


def test_a_folder_of_less_than_a_batch_asks_for_no_helper(tmp_path: Path, clock: Clock) -> None:
    ws = make_workspace(tmp_path / "ws")
    connector = MemoryConnector("kontakt@testby.se")
    _mixed(connector, 19)
    with Service(load_config(_with_helpers(ws.config_path, 1)), clock=clock).open(
        need_connectors=False
    ) as service:
        assert service.intake is not None
        report = service.intake.run_mailbox(connector)  # batch_size 20: one batch, not full
        assert len(report.outcomes) == 19
        assert service.intake._preparer is None
        connector.add(citizen_mail(COMPLAINT, message_id="<one-more@example.net>"))
        for n in range(20):
            connector.add(citizen_mail(f"{OPINION}\n{n}", message_id=f"<o{n}@example.net>"))
        service.intake.run_mailbox(connector)  # 21: a full batch and one more
        assert service.intake._preparer is not None and service.intake._preparer.pids()


def test_parts_the_helper_has_not_begun_are_taken_back_by_the_pass(
    tmp_path: Path, clock: Clock
) -> None:
    ws = make_workspace(tmp_path / "ws")
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.intake is not None
        model = service.intake.classify
        raws = [path.read_bytes() for path in sorted(EML.glob("*.eml"))] * 3
        assert len(raws) > 3 * PART
        preparer = Preparer(model, own_addresses=frozenset({"kontakt@testby.se"}))
        try:
            preparer.warm()
            pool = preparer._started()
            assert pool is not None
            busy = pool.submit(time.sleep, 3)  # the helper is behind
            handed = preparer.submit(raws)
            ahead = preparer.results(handed)
        finally:
            preparer.close()
    assert busy.done()
    # What the helper had already taken (one part) was waited for; the pass did
    # the others itself.
    assert preparer.parts_taken_back == len(handed.parts) - 1 >= 5
    assert ahead == [prepare_one(raw, model, frozenset({"kontakt@testby.se"})) for raw in raws]


def test_a_helper_with_nothing_to_do_ends_and_the_next_batch_starts_another(
    tmp_path: Path, clock: Clock
) -> None:
    """Its copy of the model is memory a watching service does not need: after ``idle``
    seconds with nothing handed over the helper ends, never while a batch handed over waits
    to be taken; the next batch starts a new one and is prepared as before."""
    ws = make_workspace(tmp_path / "ws")
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.intake is not None
        model = service.intake.classify
        raws = [path.read_bytes() for path in sorted(EML.glob("*.eml"))][:PART]
        expected = [prepare_one(raw, model, frozenset()) for raw in raws]
        preparer = Preparer(model, idle=1.0)
        try:
            handed = preparer.submit(raws)
            (first,) = preparer.pids()
            time.sleep(2.5)  # more than ``idle``, but a batch waits to be taken
            assert preparer.pids() == [first]
            assert preparer.results(handed) == expected
            deadline = time.monotonic() + 20
            while preparer.pids() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert preparer.pids() == []
            while _exists(first) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _exists(first)  # ended and reaped
            again = preparer.results(preparer.submit(raws))
            (second,) = preparer.pids()
        finally:
            preparer.close()
    assert again == expected and second != first and not preparer.broken


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Slow:
    """A model that takes its time (a large message), then fails: the pass does the work."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __call__(self, message):
        time.sleep(self.seconds)
        raise ValueError("no model here")


def test_a_new_helper_not_warmed_is_waited_for_not_given_up() -> None:
    """The intake starts its helper with the first full batch (no ``warm``): the helper's
    process starts only when a part is fed to it, so the pass, waiting longer than one look
    for that part, finds the process then and waits on; it does not give the helper up."""
    raws = [b"From: a@example.net\r\nSubject: x\r\n\r\nhej\r\n"] * 2
    preparer = Preparer(Slow(0.6))
    try:
        ahead = preparer.results(preparer.submit(raws))  # the part takes over 1 s there
    finally:
        preparer.close()
    assert not preparer.broken and preparer.parts_taken_back == 0
    assert ahead == [None, None]  # raised there: left to the steps, the helper kept


class Flaky:
    """The organisation's model, raising on a message that says BOOM (a classifier bug)."""

    def __init__(self, model: object):
        self.model = model

    def __call__(self, message):
        if "BOOM" in message.body_text:
            raise ValueError("a bug in the classifier")
        return self.model(message)  # type: ignore[operator]


def test_a_message_whose_preparing_raises_is_left_to_the_steps_not_its_batch(
    tmp_path: Path, clock: Clock
) -> None:
    """In the helper or taken back by the pass, a message the classifier fails on is None
    in the results (the steps do it, and it goes to the failed store alone); the helper is
    not given up and the others come prepared."""
    ws = make_workspace(tmp_path / "ws")
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.intake is not None
        model = Flaky(service.intake.classify)
        raws = [path.read_bytes() for path in sorted(EML.glob("*.eml"))] * 3
        boom = [3, len(raws) - 2]  # in the first part (the helper's) and in the last
        for n in boom:
            raws[n] = citizen_mail(f"{COMPLAINT}\nBOOM", message_id=f"<boom{n}@example.net>")
        preparer = Preparer(model)
        try:
            preparer.warm()
            pool = preparer._started()
            assert pool is not None
            pool.submit(time.sleep, 2)  # behind: the last parts are taken back
            ahead = preparer.results(preparer.submit(raws))
        finally:
            preparer.close()
    assert ahead is not None and not preparer.broken and preparer.parts_taken_back >= 1
    assert [n for n, prepared in enumerate(ahead) if prepared is None] == boom
    assert ahead[0] == prepare_one(raws[0], model, frozenset())


def test_a_pass_with_a_message_the_classifier_fails_on_records_every_other(
    tmp_path: Path, clock: Clock
) -> None:
    ws = make_workspace(tmp_path / "ws")
    connector = MemoryConnector("kontakt@testby.se")
    _mixed(connector, 29)
    connector.add(citizen_mail(f"{COMPLAINT}\nBOOM", message_id="<boom@example.net>"))
    _mixed(connector, 40)  # the message is in the second batch: the helper's
    config = load_config(_with_helpers(ws.config_path, 1))
    with Service(config, clock=clock).open(need_connectors=False) as service:
        assert service.intake is not None and service.sessions is not None
        intake = service.intake
        intake._classify = Flaky(intake.classify)
        report = intake.run_mailbox(connector)
        assert intake._preparer is not None and not intake._preparer.broken
        with service.sessions() as session:
            recorded = session.scalars(select(MessageRecord.message_key)).all()
            failed = session.scalars(select(FailedMessage.message_key)).all()
    assert len(report.outcomes) == 70 and not report.errors
    assert failed == ["1:30"] and sorted(recorded) == sorted(f"1:{n}" for n in range(1, 71))


def test_closing_waits_for_a_stuck_helper_no_longer_than_its_patience(
    tmp_path: Path, clock: Clock
) -> None:
    """Closed (the service stops, another model replaces it) while the helper is stuck on a
    part and a pass waits for it: the pass gives the part up, the close ends the helper
    within ``patience``, and a closed preparer starts no helper again."""
    ws = make_workspace(tmp_path / "ws")
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.intake is not None
        raws = [path.read_bytes() for path in sorted(EML.glob("*.eml"))][:PART]
        preparer = Preparer(service.intake.classify, patience=2.0)
        preparer.warm()
        (pid,) = preparer.pids()
        os.kill(pid, signal.SIGSTOP)  # stuck before it could answer
        handed = preparer.submit(raws)
        assert handed is not None
        deadline = time.monotonic() + 10
        while not handed.parts[0][2].running() and time.monotonic() < deadline:
            time.sleep(0.01)  # with the helper: not to be taken back
        waiting: list[object] = []
        pass_thread = threading.Thread(
            target=lambda: waiting.append(preparer.results(handed)), daemon=True
        )
        pass_thread.start()
        time.sleep(0.2)
        began = time.monotonic()
        preparer.close()
        closing = time.monotonic() - began
        pass_thread.join(10)
        assert not pass_thread.is_alive() and waiting == [None]
        assert closing < 10 and not _exists(pid)
        assert preparer.submit(raws) is None and preparer.pids() == []


def test_the_pools_manager_thread_meeting_cpython_gh_107219_is_told_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A part taken back (cancelled while queued), then the helper killed: Python 3.11's pool
    raises InvalidStateError in its manager thread.  That goes to the log at DEBUG; any
    other thread's error still reaches the hook there was before."""
    from postvakt.intake import prepare

    seen: list[type[BaseException]] = []
    earlier = threading.excepthook
    threading.excepthook = lambda args: seen.append(args.exc_type)
    try:
        prepare._install_quiet_pool_bug()
        caplog.set_level(logging.DEBUG, logger="postvakt")
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        try:
            parts = [pool.submit(time.sleep, 30) for _ in range(4)]  # two queued, two waiting
            deadline = time.monotonic() + 20
            while not parts[1].running() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert parts[3].cancel()
            (process,) = list(pool._processes.values())  # type: ignore[attr-defined]
            process.kill()
            while not parts[0].done() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        other = threading.Thread(target=lambda: 1 / 0)
        other.start()
        other.join()
    finally:
        threading.excepthook = earlier
    assert seen == [ZeroDivisionError]  # the pool's error did not reach it; this one did
    if sys.version_info < (3, 12):  # fixed in later Pythons: nothing to tell there
        assert any("gh-107219" in r.getMessage() for r in caplog.records)


class Stuck:
    """A model stuck (for longer than any test) on a message that says STUCK: a helper stuck
    on something; any other message it leaves to the steps."""

    def __call__(self, message):
        if "STUCK" in message.body_text:
            time.sleep(600)
        raise ValueError("no model here")


def test_a_released_part_the_helper_is_stuck_on_holds_up_nothing() -> None:
    """The pass stopped on an error and released its batch while the helper was stuck on the
    batch's part: no pass waits for that part, yet it gets a waiting pass's limit.  Within
    ``patience`` the helper is ended and given up (said once; the next batches are the
    pass's), the helper rests meanwhile neither, and the process ends when its work does
    (concurrent.futures joins its pools at exit: a stuck one held it for ever)."""
    script = (
        "import time\n"
        "from postvakt.intake.prepare import Preparer\n"
        "from tests.test_prepare_ahead import Stuck\n"
        "raw = b'From: a@example.net\\r\\nSubject: x\\r\\n\\r\\nSTUCK\\r\\n'\n"
        "preparer = Preparer(Stuck(), patience=1.0, idle=0.5)\n"
        "handed = preparer.submit([raw])\n"
        "deadline = time.monotonic() + 30\n"
        "while not handed.parts[0][2].running() and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)\n"
        "(pid,) = preparer.pids()\n"
        "print('helper', pid, flush=True)\n"
        "preparer.release(handed)\n"
        "began = time.monotonic()\n"
        "while not preparer.broken and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "print('given up', preparer.broken, round(time.monotonic() - began, 1), flush=True)\n"
        "print('next batch', preparer.submit([raw]), flush=True)\n"
        "time.sleep(1.0)  # more than idle\n"
        "print('end', flush=True)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    try:
        out, err = child.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
    lines = out.splitlines()
    helper = int(lines[0].split()[1])
    if _alive(helper):
        os.kill(helper, signal.SIGKILL)  # a failing run's: not left behind
    assert child.returncode == 0, (out, err)  # exited, not killed at the timeout
    assert lines[1].startswith("given up True") and float(lines[1].split()[-1]) < 10
    assert lines[2:] == ["next batch None", "end"]
    assert not _alive(helper)
    assert err.count("this process does that work from now on") == 1
