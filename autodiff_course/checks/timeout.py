"""A wall-clock limit for running a student's code, with ``signal.setitimer`` in the main thread.

The limit raises ``CheckTimeout`` (a BaseException, so a student's ``except Exception`` cannot swallow it)
inside the running code. A timer that was already running (a harness's own deadline) keeps its deadline: if it
falls first, its handler runs at that moment, as if we were not there; afterwards the previous handler and the
time the previous timer had left are restored. Off the main thread signals cannot be used, and the code runs
without a limit.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time


class CheckTimeout(BaseException):
    """The student's code ran past the check's time limit."""


def _can_use_signals() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Run the body with a limit of ``seconds`` (None or <= 0: no limit). Raises CheckTimeout when it runs
    out."""
    if not seconds or seconds <= 0 or not _can_use_signals():
        yield
        return
    started = time.monotonic()
    previous_delay, previous_interval = signal.getitimer(signal.ITIMER_REAL)
    previous_handler = signal.getsignal(signal.SIGALRM)
    state = {"outer_pending": 0 < previous_delay < seconds}

    def on_alarm(signum, frame):
        if state["outer_pending"]:
            # The outer deadline came before ours: its handler runs now, exactly as without us; if it
            # returns, our own limit goes on for the time it has left.
            state["outer_pending"] = False
            signal.setitimer(signal.ITIMER_REAL, max(seconds - (time.monotonic() - started), 1e-6))
            if callable(previous_handler):
                previous_handler(signum, frame)
            return
        raise CheckTimeout(f"ran for more than {seconds:g} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, previous_delay if state["outer_pending"] else float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        outer_fired = 0 < previous_delay < seconds and not state["outer_pending"]
        if outer_fired and previous_interval > 0:
            signal.setitimer(signal.ITIMER_REAL, previous_interval, previous_interval)
        elif previous_delay > 0 and not outer_fired:
            left = previous_delay - (time.monotonic() - started)
            # An outer timer that expired while we held the signal fires at once rather than never.
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), previous_interval)
