"""CPU used by the code under test, not by threads other tests left behind.

``time.process_time`` counts every thread of the pytest process: a server thread or a
scheduler another test did not stop (or that stops a moment late) would be charged to the
component a test measures.  ``CpuWindow`` takes the process's CPU over a window and
subtracts what the threads alive before the component started used in it (each thread's
own clock, ``time.pthread_getcpuclockid``), so what is left is the CPU of the threads
started since, transient ones included.  A thread from before that ends within the window
is not subtracted: the figure can only err on the high side.
"""

from __future__ import annotations

import threading
import time

MAX_CPU_SHARE = 0.2
"""A spin takes a whole core (half of it even when it shares one); the counts of calls and
log lines check the back-off itself.  On CI's two busy cores a correct back-off measured
up to 8.5 % over a 1.5 s window (start-up, log formatting, the scheduler), so the CPU bound
is the coarse guard it is meant to be, well above that noise and well below a spin."""


def _thread_cpu(thread: threading.Thread) -> float | None:
    if thread.ident is None:
        return None
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    except (OSError, ProcessLookupError):  # it ended between the listing and the read
        return None


class CpuWindow:
    """Take ``CpuWindow()`` before starting the component, then ``share(seconds)``."""

    def __init__(self) -> None:
        self.before = [t for t in threading.enumerate() if t is not threading.current_thread()]

    def share(self, seconds: float) -> float:
        """The CPU the component's threads used over the next ``seconds``, as a share."""
        others = {t: _thread_cpu(t) for t in self.before}
        cpu, wall = time.process_time(), time.monotonic()
        time.sleep(seconds)
        used = time.process_time() - cpu
        wall = time.monotonic() - wall
        self.elsewhere = 0.0
        for thread, start in others.items():
            end = _thread_cpu(thread)
            if start is not None and end is not None:
                self.elsewhere += end - start
        return max(0.0, used - self.elsewhere) / wall

    def explain(self) -> str:
        """For an assertion message: what the subtraction took away and which threads ran."""
        names = sorted(t.name for t in threading.enumerate())
        return (
            f"{getattr(self, 'elsewhere', 0.0):.3f} s CPU of {len(self.before)} earlier threads "
            f"left out; threads now: {', '.join(names)}"
        )
