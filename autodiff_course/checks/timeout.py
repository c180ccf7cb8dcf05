"""A wall-clock limit for running a student's code, with ``signal.setitimer`` in the main thread.

The limit raises ``CheckTimeout`` (a BaseException, so a student's ``except Exception`` cannot swallow it)
inside the running code. Any handler and timer that were in place before are restored afterwards, the timer
with the time it had left, so a limit of the harness around us keeps running. Off the main thread signals
cannot be used, and the code runs without a limit."""

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

    def on_alarm(signum, frame):
        raise CheckTimeout(f"ran for more than {seconds:g} s")

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, float(seconds))
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay > 0:
            left = previous_delay - (time.monotonic() - started)
            # An outer timer that expired while we held the signal fires at once rather than never.
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), previous_interval)
