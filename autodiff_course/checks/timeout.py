"""A wall-clock limit for running a student's code, and for judging it.

The limit raises ``CheckTimeout`` (a BaseException, so a student's ``except Exception`` cannot swallow it)
inside the running code. In the main thread it comes from ``signal.setitimer``: a timer that was already
running (a harness's own deadline) keeps its deadline: if it falls first, its handler runs at that moment, as
if we were not there; afterwards the previous handler and the time the previous timer had left are restored.
Off the main thread (Dask grades in worker threads, a notebook may check in a thread) no signal can be used:
a watchdog thread raises ``CheckTimeout`` in the checked thread with ``PyThreadState_SetAsyncExc``, and again
every ``_REPEAT`` seconds until the body has ended (a bare ``except:`` that swallows one does not escape the
limit). Both stop the code between two Python bytecodes: a single long call into C ends before it is stopped.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
import time

#: How often the watchdog raises again after the limit, while the checked thread still runs.
_REPEAT = 0.2


class CheckTimeout(BaseException):
    """The student's code ran past the check's time limit."""


def _can_use_signals() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Run the body with a limit of ``seconds`` (None or <= 0: no limit). Raises CheckTimeout when it runs
    out."""
    if not seconds or seconds <= 0:
        yield
        return
    if not _can_use_signals():
        with _watchdog(float(seconds)):
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


def _raise_in(thread_id: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(CheckTimeout))


def _take_pending() -> None:
    """Nothing: entering a Python function is where the interpreter raises an exception another thread set
    for this one. (Clearing it with ``PyThreadState_SetAsyncExc(id, NULL)`` instead would leave the
    interpreter's flag for pending exceptions set, and on 3.11 a traced call then never returns.)"""


class _watchdog:
    """The limit for a thread that cannot receive signals: see the module's docstring."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.target = threading.get_ident()
        self.done = threading.Event()
        self.lock = threading.Lock()  # held while raising: once ``done`` is set under it, nothing more comes

    def _watch(self) -> None:
        wait = self.seconds
        while not self.done.wait(wait):
            with self.lock:
                if self.done.is_set():
                    return
                _raise_in(self.target)
            wait = _REPEAT

    def __enter__(self):
        self.watcher = threading.Thread(target=self._watch, name="check-time-limit", daemon=True)
        self.watcher.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        late = False
        while True:
            try:
                with self.lock:
                    self.done.set()
                # One raised as the body ended and not delivered yet must not reach the caller's code.
                _take_pending()
                break
            except CheckTimeout:  # delivered here, as the body ended: the limit ran out all the same
                late = True
        self.watcher.join()
        if late and exc_type is None:
            raise CheckTimeout(f"ran for more than {self.seconds:g} s")
        return False
