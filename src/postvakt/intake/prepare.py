"""Parsing and classifying the next batch in a process of its own.

Parsing a message and classifying it read nothing but the message's bytes and the model, and
take about a third of a pass's work.  In a pass of several batches
(:mod:`postvakt.intake.batch`), the next batch is handed to a helper process as soon as it is
read; the pass's own process meanwhile registers, letters and records the batch before it.
On a machine with two cores or more the two run at once.

- The helper (``[service] prepare_processes``, default 1; 0 turns it off) is started when a
  folder's first batch is full (:meth:`Preparer.warm` starts it at once: the benchmarks do,
  before their clock).  It holds a copy of the organisation's model; when another model is
  taken into use the helper is replaced.  A helper with nothing handed over for
  :data:`IDLE_SECONDS` ends (a watching service needs no second copy of the model), never
  while a batch handed over waits to be taken; the next full batch starts another.
- A batch goes over in parts of :data:`PART` messages, fed to the helper one part at a
  time, in the order handed over: the pool itself would take two parts at once, and a
  part in its queue can no longer be taken back.  When the pass needs a batch and the
  helper has not begun one of its parts (large messages take the helper longer than the
  pass), the pass takes that part back and does it itself: the two share the work without
  a setting to tune, and the pass waits at most for the one part the helper is on.
- What it returns is what the intake's own ``parse`` and ``classify`` steps would have made
  of the same bytes (:func:`prepare_one`, the same functions); the steps take it instead of
  doing the work again.  Only the organisation's model is used there: an intake given a
  classifier of its own (tests, ``classifier evaluate``) does everything itself.
- **Nothing depends on the helper.**  A helper that dies, cannot start, or fails on a batch
  leaves that batch to the pass's own process, which parses and classifies it as before; a
  message whose parsing or classifying raises (there or in the pass) is left to the steps,
  which send it to the failed store as without the helper; a batch larger than
  :data:`MAX_HANDED_BYTES` is never handed over.  The pass never waits for the helper
  without a bound: it looks every :data:`WAIT_STEP_SECONDS` whether the helper still lives
  (when it is killed while a part is taken back, Python 3.11's pool leaves the other parts
  unanswered for ever: CPython gh-107219), and a part not answered within ``patience``
  seconds (a helper stopped, or stuck) ends the helper; closing waits for it no longer than
  that either.  The database is never touched there, and what is written, when, and in
  which transaction, does not change.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import CancelledError, Future, InvalidStateError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool, _ExecutorManagerThread
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from postvakt.classifier import Contact, Screening, find_contact, screen
from postvakt.classifier.limits import cap_text
from postvakt.classifier.verdict import Verdict
from postvakt.mailbox.identity import content_hash
from postvakt.mailbox.message import IncomingMessage, parse_message
from postvakt.process import settle_garbage_collector

__all__ = ["MAX_HANDED_BYTES", "PART", "Handed", "Prepared", "Preparer", "prepare_one"]

log = logging.getLogger("postvakt.intake")

T = TypeVar("T")

MAX_HANDED_BYTES = 32 * 1024 * 1024
"""A batch whose messages are larger together than this is parsed in the pass's process:
handing it over would copy it twice more."""


@dataclass(frozen=True)
class Prepared:
    """One message parsed and classified ahead (what the parse and classify steps make)."""

    message: IncomingMessage
    cut: bool
    """The text was cut at the steps' limit (:func:`~postvakt.classifier.limits.cap_text`)."""
    content_hash: str
    verdict: Verdict
    screening: Screening | None
    """What the screening step finds in the message (:func:`~postvakt.classifier.screen`)."""
    contact: Contact
    """How its sender can be reached (:func:`~postvakt.classifier.find_contact` with the
    intake's own addresses)."""


def prepare_one(raw: bytes, classify: object, own_addresses: frozenset[str]) -> Prepared:
    """Parse, cap, screen and classify ``raw``, and find its contact details, as the intake's
    steps do."""
    message, cut = cap_text(parse_message(raw))
    verdict = classify(message)  # type: ignore[operator]
    return Prepared(
        message=message,
        cut=cut,
        content_hash=content_hash(raw),
        verdict=verdict,
        screening=screen(message),
        contact=find_contact(message, own_addresses),
    )


_MODEL: object | None = None
"""The helper process's copy of the model."""
_OWN: frozenset[str] = frozenset()
"""The intake's own addresses, in the helper process."""


WAIT_STEP_SECONDS = 0.5
"""How often the pass, waiting for a part, looks whether the helper still lives."""

PATIENCE_SECONDS = 120.0
"""How long the pass waits for one part (:data:`PART` messages) before it ends the helper
and does the work itself; a part of the largest batch handed over takes a few seconds."""


IDLE_SECONDS = 300.0
"""A helper with nothing handed over for this long ends (its copy of the model is memory a
watching service does not need); the next full batch starts another."""


def _quiet_pool_bug(args: threading.ExceptHookArgs) -> None:
    """CPython gh-107219 (3.11): when the helper dies while a part was taken back, the pool's
    manager thread raises InvalidStateError and ends.  The pass never waits on that pool
    (:meth:`Preparer._answer`), so it is told in the log at DEBUG, not as a traceback on
    standard error; every other thread's error goes to the hook there was before."""
    if args.exc_type is InvalidStateError and isinstance(args.thread, _ExecutorManagerThread):
        log.debug("the helper pool's manager thread ended on CPython gh-107219")
        return
    _earlier_hook(args)


_earlier_hook = threading.excepthook


def _install_quiet_pool_bug() -> None:
    global _earlier_hook
    if threading.excepthook is not _quiet_pool_bug:
        _earlier_hook, threading.excepthook = threading.excepthook, _quiet_pool_bug


PARENT_CHECK_SECONDS = 1.0
"""How often a helper looks whether the process that started it is still alive."""


def _start_helper(model: object, own_addresses: frozenset[str], parent: int) -> None:
    global _MODEL, _OWN
    _MODEL, _OWN = model, own_addresses
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the pass's to handle
    settle_garbage_collector()  # this process is Postvakt's own, and lives as long as the pass's
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this helper when its parent is gone (killed with SIGKILL, say): the queue it
    waits on never closes then, and it would wait for ever with its copy of the model."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _prepare_batch(raws: Sequence[bytes]) -> list[Prepared | None]:
    assert _MODEL is not None
    return [_prepare_or_none(raw, _MODEL, _OWN) for raw in raws]


def _prepare_or_none(raw: bytes, model: object, own: frozenset[str]) -> Prepared | None:
    """:func:`prepare_one`, or None when it raises: the message is the steps' to run, and
    a message that fails there goes to the failed store alone (never its whole batch)."""
    try:
        return prepare_one(raw, model, own)
    except Exception:
        return None


PART = 25
"""Messages handed over together: the helper answers a part at a time, and a part it has not
begun when the pass needs it is done by the pass (the two share the work by themselves)."""


@dataclass
class Handed:
    """A batch handed to the helper: its messages, and per part its slice and the answer."""

    raws: list[bytes]
    parts: list[tuple[int, int, Future[list[Prepared | None]]]] = field(default_factory=list)
    helpers: list[multiprocessing.Process] = field(default_factory=list)
    """The processes of the pool it went to (the pool may be closed meanwhile); looked up
    again while empty (a new pool starts its process with the first part fed to it)."""
    pool: ProcessPoolExecutor | None = None
    taken: bool = False
    """Its results were taken, or it was released: it counts no more as outstanding."""


class Preparer:
    """The helper process of one intake, for one model."""

    def __init__(
        self,
        model: object,
        processes: int = 1,
        own_addresses: frozenset[str] = frozenset(),
        *,
        patience: float = PATIENCE_SECONDS,
        idle: float = IDLE_SECONDS,
    ):
        self.model = model
        self.patience = patience
        self.idle = idle
        self.own_addresses = own_addresses
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._used = time.monotonic()
        self._outstanding = 0
        """Batches handed over whose results the pass has not taken yet: no rest meanwhile."""
        self._watcher: threading.Thread | None = None
        self._closed = False
        self.broken = False
        """The helper failed: no more batches are handed over (the pass does the work)."""
        self.parts_taken_back = 0
        """Parts of batches the pass prepared itself because the helper had not begun them."""
        self.waited = 0.0
        """Seconds the pass waited for the helper's answers (``benchmarks/``)."""
        self._waiting: deque[tuple[ProcessPoolExecutor, list[bytes], Future[list[Prepared | None]]]]
        self._waiting = deque()
        """Parts handed over and not yet fed to the helper, in order: the pass may take any
        of them back (cancel it) until it is fed."""
        self._feeding = False
        """A part is with the helper: the next is fed when its answer has come."""
        self._feed_lock = threading.Lock()

    def warm(self) -> None:
        """Start the helper now and wait (within ``patience``) until it holds the model, so
        that the first batch does not wait for it (the benchmarks, before their clock)."""
        with self._lock:
            pool = self._start()
            if pool is None:
                return
            try:
                started = pool.submit(_prepare_batch, [])
            except Exception as exc:
                self._give_up(exc)
                return
            self._used = time.monotonic()
            helpers = _processes_of(pool)
        try:
            self._answer(started, helpers)
        except Exception as exc:
            self._give_up(exc)

    def _started(self) -> ProcessPoolExecutor | None:
        with self._lock:
            return self._start()

    def _start(self) -> ProcessPoolExecutor | None:
        """The pool, started if need be (with ``self._lock`` held); None once the helper
        failed or this preparer was closed."""
        if self.broken or self._closed:
            return None
        if self._pool is None:
            _install_quiet_pool_bug()
            try:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_helper,
                    initargs=(self.model, self.own_addresses, os.getpid()),
                )
            except Exception as exc:  # no processes to be had: the pass does the work
                self._give_up(exc)
                return None
            if self.idle > 0 and self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._rest_when_idle, name="postvakt-helper-idle", daemon=True
                )
                self._watcher.start()
        return self._pool

    def _rest_when_idle(self) -> None:
        """End the helper once nothing has been handed over for :attr:`idle` seconds (and
        every batch handed over has been taken)."""
        while True:
            with self._lock:
                pool = self._pool
                if pool is None or self._watcher is not threading.current_thread():
                    return  # closed, or replaced
                quiet = time.monotonic() - self._used
                # Not while a part is with the helper (one of a batch released, which no
                # pass waits for): its limit ends it first (:meth:`release`).
                if self._outstanding == 0 and quiet >= self.idle and not self._feeding:
                    self._pool, self._watcher = None, None
                else:
                    pool = None
                    wait = self.idle - quiet if self._outstanding == 0 else self.idle
            if pool is not None:
                pool.shutdown(wait=True)  # nothing is handed over: it ends at once
                log.debug("the helper process had nothing to do for %g s; it ended", self.idle)
                return
            time.sleep(max(wait, 0.05))

    def submit(self, raws: Sequence[bytes]) -> Handed | None:
        """Hand a batch over, in parts of :data:`PART`; None when it is the pass's to do
        (too large, no helper)."""
        if not raws or sum(map(len, raws)) > MAX_HANDED_BYTES:
            return None
        with self._lock:  # handed over whole before the helper may rest
            pool = self._start()
            if pool is None:
                return None
            handed = Handed(list(raws), pool=pool)
            with self._feed_lock:
                for start in range(0, len(raws), PART):
                    end = min(start + PART, len(raws))
                    part: Future[list[Prepared | None]] = Future()
                    handed.parts.append((start, end, part))
                    self._waiting.append((pool, handed.raws[start:end], part))
            handed.helpers = _processes_of(pool)
            self._outstanding += 1
            self._used = time.monotonic()
        self._feed()
        return handed

    def _feed(self) -> None:
        """Give the helper the next part waiting, unless it is on one; a part the pass took
        back is passed over.  Called when a batch is handed over and when a part's answer
        comes (then in the pool's own thread)."""
        while True:
            with self._feed_lock:
                if self._feeding:
                    return
                while self._waiting:
                    pool, raws, part = self._waiting.popleft()
                    if part.set_running_or_notify_cancel():  # from now on not taken back
                        break
                else:
                    return
                self._feeding = True
            try:
                answer = pool.submit(_prepare_batch, raws)
            except BaseException as exc:  # closed, or broken: the pass does this part's batch
                part.set_exception(exc)
                with self._feed_lock:
                    self._feeding = False
                if not isinstance(exc, Exception):
                    raise  # an interrupt: the feed is free again for whoever goes on
                continue
            answer.add_done_callback(partial(self._answered, part))
            return

    def _answered(self, part: Future[Any], done: Future[list[Prepared | None]]) -> None:
        try:
            if done.cancelled():
                part.set_exception(CancelledError())
            elif (exc := done.exception()) is not None:
                part.set_exception(exc)
            else:
                part.set_result(done.result())
        finally:
            with self._feed_lock:
                self._feeding = False
            self._feed()

    def release(self, handed: Handed | None) -> None:
        """A batch handed over that the pass will not take (it stopped on an error): its
        parts not begun are cancelled and it no longer keeps the helper from its rest."""
        if handed is None:
            return
        for _start, _end, future in handed.parts:
            if not future.cancel() and not future.done():
                self._limit(future, handed)
        self._taken(handed)

    def _limit(self, part: Future[Any], handed: Handed) -> None:
        """The part of a released batch the helper is on: no pass waits for it now, so it
        gets the limit a waiting pass would give it (``patience``), then the helper is ended
        and given up, as a pass gives up one stuck on its part.  Else it would hold the feed
        (no later part would reach the helper: every one taken back, nothing said) and keep
        the helper, and the process at its exit, from ever ending."""

        def check() -> None:
            if part.done():
                return
            helpers = handed.helpers or (
                _processes_of(handed.pool) if handed.pool is not None else []
            )
            self._give_up(TimeoutError(f"no answer from the helper in {self.patience:g} s"))
            _end(helpers)

        timer = threading.Timer(self.patience, check)
        timer.name, timer.daemon = "postvakt-helper-limit", True
        timer.start()

    def _taken(self, handed: Handed) -> None:
        with self._lock:
            if not handed.taken:
                handed.taken = True
                self._outstanding -= 1
            self._used = time.monotonic()

    def results(self, handed: Handed | None) -> list[Prepared | None] | None:
        """The batch prepared (None for a message the steps must do: its preparing raised),
        or None when the pass must do the whole batch itself.

        A part the helper has not begun yet (it is behind: large messages) is taken back and
        prepared here, with the same model and functions, instead of waiting for it.
        """
        if handed is None:
            return None
        try:
            return self._collect(handed)
        finally:
            self._taken(handed)

    def _collect(self, handed: Handed) -> list[Prepared | None] | None:
        # Every part not begun is taken back at once (the helper goes on with what it has),
        # then done here while the helper finishes its own.
        back = [part for part in handed.parts if part[2].cancel()]
        self.parts_taken_back += len(back)
        done = {
            start: [
                _prepare_or_none(raw, self.model, self.own_addresses)
                for raw in handed.raws[start:end]
            ]
            for start, end, _future in back
        }
        prepared: list[Prepared | None] = []
        for start, _end, future in handed.parts:
            if start in done:
                prepared += done[start]
                continue
            began = time.monotonic()
            try:
                prepared += self._answer(future, handed.helpers, handed.pool)
            except Exception as exc:  # a helper that died, or a bug there: the pass does it
                self._give_up(exc)
                return None
            finally:
                self.waited += time.monotonic() - began
        return prepared

    def _answer(
        self,
        future: Future[T],
        helpers: list[multiprocessing.Process],
        pool: ProcessPoolExecutor | None = None,
    ) -> T:
        """The answer of ``future``, sent to ``helpers`` (of ``pool``: filled in from it
        while empty); raises when they are gone or take longer than ``patience`` (then they
        are ended: they may be stuck on something)."""
        waited = 0.0
        while True:
            try:
                return future.result(timeout=WAIT_STEP_SECONDS)
            except TimeoutError:
                waited += WAIT_STEP_SECONDS
            if not helpers and pool is not None:
                helpers += _processes_of(pool)  # a part fed to it started its process
            if not helpers or not all(process.is_alive() for process in helpers):
                raise BrokenProcessPool("the helper process ended without an answer")
            if waited >= self.patience:
                _end(helpers)
                raise TimeoutError(f"no answer from the helper process in {self.patience:g} s")

    def _helpers(self) -> list[multiprocessing.Process]:
        with self._lock:
            pool = self._pool
        return _processes_of(pool) if pool is not None else []

    def _give_up(self, exc: BaseException) -> None:
        if not self.broken:
            log.warning(
                "the helper process that parses and classifies ahead failed (%s); "
                "this process does that work from now on",
                type(exc).__name__,
            )
        self.broken = True

    def pids(self) -> list[int]:
        """The helper processes' ids (for ``benchmarks/``: their CPU time is not this
        process's)."""
        return [process.pid for process in self._helpers() if process.pid is not None]

    def close(self) -> None:
        """End the helper: what it is on may finish within ``patience`` (another thread's
        pass may wait for it), then it is killed.  No helper starts here again."""
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
        with self._feed_lock:  # never fed now: a pass that wants them does them itself
            waiting, self._waiting = self._waiting, deque()
        for _pool, _raws, part in waiting:
            part.cancel()
        if pool is None:
            return
        helpers = _processes_of(pool)
        if self.broken:  # it may be stuck: waiting would be for nothing
            _end(helpers)
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + self.patience
        for process in helpers:
            process.join(max(deadline - time.monotonic(), 0))
        _end(helpers)


def _processes_of(pool: ProcessPoolExecutor) -> list[multiprocessing.Process]:
    return list((getattr(pool, "_processes", None) or {}).values())


def _end(helpers: list[multiprocessing.Process]) -> None:
    for process in helpers:
        if process.is_alive():
            process.kill()
            process.join(5)
