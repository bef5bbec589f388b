"""One event loop watches the IDLE connections of every mailbox: no thread per mailbox.

:class:`IdleHub` runs one thread with a :mod:`selectors` loop (epoll on Linux: no limit of
1,024 descriptors) over the IDLE connections of every mailbox whose connector
:class:`~postvakt.mailbox.base.SupportsIdleSocket`.  What blocks is done on small fixed
pools, never in the loop:

- opening a connection (connect, log in, EXAMINE, IDLE) and renewing the IDLE (DONE, IDLE:
  before the 29 minutes RFC 2177 allows, and to test a socket that reads as readable with
  nothing in it) run on ``openers`` threads;
- logins are paced: at most ``logins_per_second`` on average, each gap drawn at random
  between half and one and a half of the mean, at start and after failures alike, and never
  more than ``openers`` at once, so a thousand mailboxes do not storm the server;
- the passes the watch asks for run on a :class:`~postvakt.watch.PassRunner` (one pass per
  mailbox at a time; a burst of news gives one more pass, not one per event);
- a connector that can only block in ``wait_for_new`` is stepped on ``waiters`` threads, one
  short wait after another, round robin.

Each mailbox keeps the guarantees of :class:`~postvakt.watch.WatchState`: back-off after
failures, one log line per change of state, a pass as soon as the IDLE stands again, and a
connection that keeps reading as readable with nothing in it counts as failed (no spinning).

Stopping (``stop`` set, or :meth:`IdleHub.close`) takes no longer than a turn of the loop:
an open or a renewal waiting for a silent server is broken off (the connector's
``idle_close``, from the stopping thread), and a job that starts after that touches no
server.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random as _random
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Literal

from postvakt.errors import ConnectorError
from postvakt.mailbox.base import SupportsIdle, SupportsIdleSocket
from postvakt.retry import RetryPolicy
from postvakt.watch import IDLE_POLL, QUICK_RETURNS, IdleWatch, PassRunner, WatchState

__all__ = ["IDLE_RENEW", "IdleHub"]

log = logging.getLogger("postvakt.service")

IDLE_RENEW = 25 * 60
"""Seconds after which an IDLE is ended and started again (RFC 2177: at most 29 minutes)."""
_TICK = 1.0  # the longest the loop sleeps without looking at the stop flag
_BREAK_OFF = 2.0  # the longest close() waits for the calls it broke off to return

Timer = Literal["due", "stand", "renew"]


class _Entry:
    """One watched mailbox as the loop sees it."""

    __slots__ = ("address", "connector", "fd", "folder", "gen", "opened_at", "phase", "watch")

    def __init__(self, address: str, connector: object, folder: Callable[[], str]):
        self.address = address
        self.connector = connector
        self.folder = folder
        self.phase = "due"
        """due (waiting for its turn), opening/busy/stepping (on a pool), idling, resting."""
        self.gen = 0
        """Bumped on every change of connection: timers of an older generation are void."""
        self.fd: int | None = None
        self.opened_at = 0.0
        self.watch: WatchState | IdleWatch | None = None

    @property
    def socketed(self) -> bool:
        return not isinstance(self.watch, IdleWatch)

    def needs_login(self) -> bool:
        return self.socketed or not self.watch.open  # type: ignore[union-attr]


class IdleHub:
    """Watch every added mailbox with IDLE from one loop; see the module's docstring.

    ``run_pass(address)`` runs one pass (on the hub's pass pool).  :meth:`start` starts the
    loop; :meth:`close` (or ``stop`` being set) ends it, lets running passes finish and
    closes the IDLE connections."""

    def __init__(
        self,
        run_pass: Callable[[str], None],
        *,
        stop: threading.Event | None = None,
        policy: RetryPolicy | None = None,
        logins_per_second: float = 20.0,
        openers: int = 4,
        pass_workers: int = 4,
        waiters: int = 2,
        stand: float = IDLE_POLL,
        renew: float = IDLE_RENEW,
        monotonic: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ):
        self.runner = PassRunner(run_pass, workers=pass_workers)
        self._stop = stop or threading.Event()
        self._policy = policy or RetryPolicy()
        self._login_gap = 1.0 / logins_per_second
        self._openers = openers
        self._waiters_max = waiters
        self._stand = stand
        self._renew_after = renew
        self._now = monotonic
        self._random = random
        self._entries: list[_Entry] = []
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._calls: deque[Callable[[], None]] = deque()
        self._timers: list[tuple[float, int, _Entry, int, Timer]] = []
        self._seq = itertools.count()
        self._to_open: deque[_Entry] = deque()
        self._to_step: deque[_Entry] = deque()
        self._next_login = 0.0
        self._busy_ops = 0
        self._busy_waiters = 0
        self._ops = ThreadPoolExecutor(max_workers=openers, thread_name_prefix="idle-open")
        self._waiters: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self._guard = threading.Condition()
        self._calling: set[_Entry] = set()
        """Entries whose connector an opener thread is calling now (open, renew)."""
        self.logins = 0
        """Connections the hub has started to open (for tests and benchmarks)."""

    # -- set-up ------------------------------------------------------------------------

    def add(self, address: str, connector: object, folder: Callable[[], str]) -> None:
        """Watch ``address`` (before :meth:`start`); ``folder()`` names the folder to IDLE on."""
        entry = _Entry(address, connector, folder)
        if isinstance(connector, SupportsIdleSocket):
            entry.watch = WatchState(address, policy=self._policy, monotonic=self._now)
        elif isinstance(connector, SupportsIdle):
            entry.watch = IdleWatch(
                address,
                connector,
                folder=folder,
                run_pass=lambda: self.runner.request(address),
                stop=self._stop,
                policy=self._policy,
                monotonic=self._now,
            )
            if self._waiters is None:
                self._waiters = ThreadPoolExecutor(
                    max_workers=self._waiters_max, thread_name_prefix="idle-wait"
                )
        else:
            raise TypeError(f"{type(connector).__name__} cannot wait for new mail")
        self._entries.append(entry)
        self._to_open.append(entry)

    def start(self) -> None:
        blocking = [e.watch for e in self._entries if isinstance(e.watch, IdleWatch)]
        for watch in blocking:  # round robin on the waiters: each mailbox's turn comes soon
            watch.timeout = min(IDLE_POLL, max(0.2, IDLE_POLL * self._waiters_max / len(blocking)))
        self._thread = threading.Thread(target=self._loop, name="idle-hub", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the loop, let running passes finish, close the IDLE connections (those being
        opened or renewed too: see the module's docstring)."""
        self._halt()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        self._await_calls()
        self._ops.shutdown(wait=False, cancel_futures=True)
        if self._waiters is not None:
            self._waiters.shutdown(wait=False, cancel_futures=True)
        self.runner.close()

    def standing(self) -> int:
        """How many mailboxes have their IDLE open now (for tests and benchmarks)."""
        return sum(1 for e in self._entries if e.phase == "idling" or _waiting_open(e))

    # -- the loop ----------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while not (self._closing or self._stop.is_set()):
                try:
                    self._turn()
                except Exception:  # a bug must not end the watch of every mailbox
                    log.exception("the IDLE loop hit an unexpected error; it goes on in 1 s")
                    self._stop.wait(1.0)
        finally:
            with self._guard:
                self._closing = True  # jobs that end now close their connection themselves
            for entry in self._entries:
                if entry.phase == "idling":
                    self._unregister(entry)
                if entry.socketed:  # also one being opened, renewed, or opened and not told
                    self._close_quietly(entry)
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _turn(self) -> None:
        """One turn of the loop: results from the pools, timers, logins, readable sockets."""
        while self._calls:
            self._guarded(self._calls.popleft())
        now = self._now()
        self._fire(now)
        self._dispatch(now)
        for key, _mask in self._selector.select(self._sleep(self._now())):
            if key.data is None:
                self._drain_wake()
            else:
                self._guarded(lambda entry=key.data: self._readable(entry))

    def _guarded(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # a bug in one step must not end the watch of every mailbox
            log.exception("the IDLE loop hit an unexpected error")

    def _sleep(self, now: float) -> float:
        wake = now + _TICK
        if self._timers:
            wake = min(wake, self._timers[0][0])
        if self._to_open and self._busy_ops < self._openers:
            head = self._to_open[0]  # a blocking watch waits for a waiter thread, not a time
            if head.socketed or self._busy_waiters < self._waiters_max:
                wake = min(wake, self._next_login)
        if self._to_step and self._busy_waiters < self._waiters_max:
            wake = now
        return max(0.0, wake - now)

    def _submit(self, pool: ThreadPoolExecutor, job: Callable[[], None]) -> None:
        try:
            pool.submit(job)
        except RuntimeError:  # the pool is shut down: the process is ending
            self._closing = True

    # -- stopping while an opener thread waits for a server ---------------------------

    def _begin(self, entry: _Entry) -> bool:
        """Before an opener thread calls ``entry``'s connector: False when closing (then it
        must not), else the call is marked as one :meth:`_halt` breaks off."""
        with self._guard:
            if self._closing:
                return False
            self._calling.add(entry)
            return True

    def _end(self, entry: _Entry) -> None:
        with self._guard:
            self._calling.discard(entry)
            self._guard.notify_all()

    def _halt(self) -> None:
        """Close from now on, and break off the calls that wait for a server."""
        with self._guard:
            self._closing = True
            calling = list(self._calling)
        for entry in calling:
            self._close_quietly(entry)

    def _await_calls(self) -> None:
        """Wait (up to :data:`_BREAK_OFF` s) for the calls broken off to return.  Broken off
        again every 0.1 s: one may have begun just before the connector could be told."""
        deadline = time.monotonic() + _BREAK_OFF  # real time, whatever clock the hub was given
        while True:
            with self._guard:
                if not self._calling or time.monotonic() >= deadline:
                    left = len(self._calling)
                    break
                self._guard.wait(0.1)
            self._halt()
        if left:
            log.debug("%d IDLE connections did not close in %.0f s", left, _BREAK_OFF)

    def _post(self, call: Callable[[], None]) -> None:
        """Run ``call`` on the loop's thread (from a pool thread)."""
        self._calls.append(call)
        self._wake()

    def _wake(self) -> None:
        with suppress(OSError):  # already awake (the buffer is full), or closed
            self._wake_w.send(b"x")

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _timer(self, entry: _Entry, at: float, what: Timer) -> None:
        heapq.heappush(self._timers, (at, next(self._seq), entry, entry.gen, what))

    def _fire(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            _at, _seq, entry, gen, what = heapq.heappop(self._timers)
            if gen != entry.gen:
                continue
            if what == "due" and entry.phase == "resting":
                entry.phase = "due"
                (self._to_open if entry.needs_login() else self._to_step).append(entry)
            elif what == "stand" and entry.phase == "idling":
                assert entry.watch is not None
                entry.watch.stood()
            elif what == "renew" and entry.phase == "idling":
                assert entry.watch is not None
                entry.watch.quick = 0
                self._renew(entry)

    def _dispatch(self, now: float) -> None:
        while self._to_open and self._busy_ops < self._openers and now >= self._next_login:
            entry = self._to_open[0]
            if not entry.socketed and self._busy_waiters >= self._waiters_max:
                break
            self._to_open.popleft()
            gap = self._login_gap * (0.5 + self._random())
            self._next_login = max(now, self._next_login) + gap
            self.logins += 1
            if entry.socketed:
                self._open(entry)
            else:
                self._step(entry)
        while self._to_step and self._busy_waiters < self._waiters_max:
            self._step(self._to_step.popleft())

    # -- a mailbox whose connector gives a socket --------------------------------------

    def _open(self, entry: _Entry) -> None:
        entry.phase = "opening"
        entry.gen += 1
        self._busy_ops += 1
        connector: SupportsIdleSocket = entry.connector  # type: ignore[assignment]

        def job() -> None:
            fd: int | None = None
            failure: tuple[str, bool] | None = None
            try:
                folder = entry.folder()
            except Exception as exc:  # a bug: backed off like a failure, never a spin
                log.debug("IDLE on %s failed", entry.address, exc_info=_first(entry))
                failure = (f"{type(exc).__name__}: {exc}", True)
            if not self._begin(entry):
                return  # closing: no login after close
            try:
                if failure is None:
                    fd = connector.idle_open(folder)
            except ConnectorError as exc:
                failure = (str(exc), False)
            except Exception as exc:
                log.debug("IDLE on %s failed", entry.address, exc_info=_first(entry))
                failure = (f"{type(exc).__name__}: {exc}", True)
            finally:
                self._after(entry, lambda: self._opened(entry, fd, failure))

        self._submit(self._ops, job)

    def _after(self, entry: _Entry, result: Callable[[], None]) -> None:
        """The end of an opener job: its result to the loop, or, when closing, the connection
        closed (the loop is gone or going)."""
        try:
            if self._closing:
                self._close_quietly(entry)
            else:
                self._post(result)
        finally:
            self._end(entry)

    def _opened(self, entry: _Entry, fd: int | None, failure: tuple[str, bool] | None) -> None:
        self._busy_ops -= 1
        if failure is not None or fd is None:
            why, unexpected = failure or ("no descriptor", True)
            self._fail(entry, why, unexpected=unexpected)
            return
        now = self._now()
        entry.fd, entry.opened_at = fd, now
        if not self._register(entry):
            return
        self._timer(entry, now + self._stand, "stand")
        self._timer(entry, now + self._renew_after, "renew")
        self.runner.request(entry.address)  # what came while nobody watched

    def _register(self, entry: _Entry) -> bool:
        assert entry.fd is not None
        try:
            self._selector.register(entry.fd, selectors.EVENT_READ, entry)
        except (KeyError, ValueError, OSError) as exc:
            self._fail(entry, f"cannot watch the connection: {exc}", unexpected=True)
            return False
        entry.phase = "idling"
        return True

    def _unregister(self, entry: _Entry) -> None:
        """Stop selecting on ``entry``'s descriptor, if it is still registered for it: a
        renewal that failed closed its socket on an opener thread, and the number may have
        gone to another mailbox's new connection since (never unregister that one)."""
        if entry.fd is not None:
            with suppress(KeyError, ValueError):
                if self._selector.get_key(entry.fd).data is entry:
                    self._selector.unregister(entry.fd)

    def _readable(self, entry: _Entry) -> None:
        if entry.phase != "idling":
            return
        assert entry.watch is not None
        connector: SupportsIdleSocket = entry.connector  # type: ignore[assignment]
        try:
            news = connector.idle_read()
        except ConnectorError as exc:
            self._fail(entry, str(exc))
            return
        except Exception as exc:
            log.debug("IDLE on %s failed", entry.address, exc_info=_first(entry))
            self._fail(entry, f"{type(exc).__name__}: {exc}", unexpected=True)
            return
        if news is None:  # the end of the stream, or half a line: DONE tells which
            entry.watch.quick += 1
            if entry.watch.quick >= QUICK_RETURNS:
                self._fail(entry, f"readable {entry.watch.quick} times in a row with nothing in it")
            else:
                self._renew(entry)
            return
        entry.watch.quick = 0
        if news:
            entry.watch.stood()
            log.info("new mail in %s", entry.address)
            self.runner.request(entry.address)

    def _renew(self, entry: _Entry) -> None:
        entry.phase = "busy"
        self._unregister(entry)  # the descriptor stays the connector's: DONE, IDLE on it
        entry.gen += 1
        self._busy_ops += 1
        connector: SupportsIdleSocket = entry.connector  # type: ignore[assignment]

        def job() -> None:
            news = False
            failure: tuple[str, bool] | None = None
            if not self._begin(entry):
                self._close_quietly(entry)  # the loop left it to this job
                return
            try:
                news = connector.idle_renew()
            except ConnectorError as exc:
                failure = (str(exc), False)
            except Exception as exc:
                log.debug("IDLE on %s failed", entry.address, exc_info=_first(entry))
                failure = (f"{type(exc).__name__}: {exc}", True)
            finally:
                self._after(entry, lambda: self._renewed(entry, news, failure))

        self._submit(self._ops, job)

    def _renewed(self, entry: _Entry, news: bool, failure: tuple[str, bool] | None) -> None:
        self._busy_ops -= 1
        if failure is not None:
            self._fail(entry, failure[0], unexpected=failure[1])
            return
        if not self._register(entry):
            return
        assert entry.watch is not None
        now = self._now()
        if not entry.watch.proven:
            self._timer(entry, max(now, entry.opened_at + self._stand), "stand")
        self._timer(entry, now + self._renew_after, "renew")
        if news:
            entry.watch.stood()
            log.info("new mail in %s", entry.address)
            self.runner.request(entry.address)

    def _fail(self, entry: _Entry, why: str, *, unexpected: bool = False) -> None:
        entry.phase = "resting"
        self._unregister(entry)
        entry.fd = None
        self._close_quietly(entry)
        entry.gen += 1
        assert entry.watch is not None
        wait = entry.watch.failed(why, unexpected=unexpected)
        self._timer(entry, self._now() + wait, "due")

    @staticmethod
    def _close_quietly(entry: _Entry) -> None:
        close = getattr(entry.connector, "idle_close", None)
        if close is None:
            return
        try:
            close()
        except Exception:  # closing a connection that may be gone must not stop anything
            log.debug("closing the IDLE connection of %s failed", entry.address, exc_info=True)

    # -- a mailbox whose connector can only block --------------------------------------

    def _step(self, entry: _Entry) -> None:
        assert isinstance(entry.watch, IdleWatch) and self._waiters is not None
        watch = entry.watch
        entry.phase = "stepping"
        self._busy_waiters += 1

        def job() -> None:
            if self._closing:
                return  # a wait that would start after close: the loop is gone
            delay = watch.step()  # guards itself: a failure comes back as a back-off
            self._post(lambda: self._stepped(entry, delay))

        self._submit(self._waiters, job)

    def _stepped(self, entry: _Entry, delay: float) -> None:
        self._busy_waiters -= 1
        entry.gen += 1
        if delay > 0:
            entry.phase = "resting"
            self._timer(entry, self._now() + delay, "due")
        else:
            entry.phase = "due"
            (self._to_open if entry.needs_login() else self._to_step).append(entry)


def _waiting_open(entry: _Entry) -> bool:
    """A blocking watch between two waits with its IDLE open counts as standing."""
    return isinstance(entry.watch, IdleWatch) and entry.watch.open


def _first(entry: _Entry) -> bool:
    """Whether a failure starts a run of failures: its traceback is logged (at DEBUG), the
    same one again at every back-off is not."""
    watch = entry.watch
    return watch is None or watch.backoff.failures == 0
