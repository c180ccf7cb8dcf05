"""The checker's own guarantees: it never blames a student for its faults, and its time limit leaves the
process as it found it."""

import signal
import threading
import time

import answers_by_hand as S
import pytest

from autodiff_course import primitives as P
from autodiff_course.checks import InternalCheckError, check_forward, check_reverse
from autodiff_course.checks.timeout import CheckTimeout, time_limit


def test_engine_and_pytorch_disagreeing_is_an_internal_error_not_a_student_mistake(monkeypatch):
    # Fault injection: PyTorch's version of cos made slightly wrong, so the two references disagree.
    monkeypatch.setattr(P.cos, "torch_impl", lambda t, x: t.cos(x) * (1 + 1e-6))
    with pytest.raises(InternalCheckError, match="disagree"):
        check_reverse(S.reverse_seed_fixed, S.Y, points=S.POINT_Y)
    with pytest.raises(InternalCheckError, match="disagree"):
        check_forward(S.forward_seed, S.Y, points=S.POINT_Y)


def test_a_derivative_rule_that_only_pytorch_gets_right_is_caught(monkeypatch):
    # The engine's rule for sin broken (cos replaced by sin): the engine's adjoints change, PyTorch's do not.
    monkeypatch.setattr(P.sin, "partials", (lambda ans, x: P.sin(x),))
    with pytest.raises(InternalCheckError, match="v3|v0"):
        check_reverse(S.reverse_seed_fixed, S.Y, points=S.POINT_Y)


def test_time_limit_restores_the_previous_handler_and_timer():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(True))
    signal.setitimer(signal.ITIMER_REAL, 5.0)
    try:
        result = check_reverse(S.never_returns, S.Y, points=S.POINT_Y, time_limit=0.2)
        assert result.status == "timeout"
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 4.0 < left <= 5.0  # the outer timer kept running, less the ~0.2 s the check took
        assert signal.getsignal(signal.SIGALRM) is not None and not fired
        handler = signal.getsignal(signal.SIGALRM)
        handler(signal.SIGALRM, None)
        assert fired == [True]  # it is the outer handler again
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_an_outer_timer_that_expires_during_a_check_still_fires():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with time_limit(1.0):
            time.sleep(0.1)
        time.sleep(0.05)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_time_limit_raises_a_base_exception_a_students_except_cannot_swallow():
    def swallow():
        try:
            while True:
                pass
        except Exception:  # noqa: BLE001 - what a student might write
            return "swallowed"

    with pytest.raises(CheckTimeout):
        with time_limit(0.1):
            swallow()


def test_off_the_main_thread_checks_run_without_a_limit_and_leave_signals_alone():
    results = []
    before = signal.getsignal(signal.SIGALRM)
    thread = threading.Thread(
        target=lambda: results.append(
            check_reverse(S.reverse_seed_fixed, S.Y, points=S.POINT_Y, time_limit=0.01)
        )
    )
    thread.start()
    thread.join(60)
    assert results and results[0].passed
    assert signal.getsignal(signal.SIGALRM) is before
