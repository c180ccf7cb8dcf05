"""The checker's own guarantees: it never blames a student for its faults, and its time limit leaves the
process as it found it."""

import signal
import threading
import time

import answers_by_hand as S
import pytest

from autodiff_course.checks import InternalCheckError, check_forward, check_reverse
from autodiff_course.checks.timeout import CheckTimeout, time_limit
from autodiff_course.engine import primitives as P


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
    # The first node where they disagree is the input, named by its argument (x0) or its alias (v0): which
    # one depends on what ran before in the process (seen run alone against after test_check_bounds).
    with pytest.raises(InternalCheckError, match=r"disagree about the adjoint of (v3|v0|x0) "):
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


def test_an_outer_deadline_before_ours_fires_on_time_and_ours_still_holds():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(time.monotonic()))
    try:
        start = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(CheckTimeout):
            with time_limit(0.3):
                while True:  # the outer handler runs at 0.05 s and returns; our limit ends the loop at 0.3 s
                    pass
        assert len(fired) == 1 and fired[0] - start < 0.25
        assert time.monotonic() - start >= 0.29
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0  # it fired: nothing to re-arm
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_an_outer_deadline_that_raises_interrupts_the_check_as_it_would_without_it():
    class OuterTimeout(BaseException):
        pass

    def outer(*_):
        raise OuterTimeout

    previous = signal.signal(signal.SIGALRM, outer)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(OuterTimeout):
            check_reverse(S.never_returns, S.Y, points=S.POINT_Y, time_limit=5)
        assert signal.getsignal(signal.SIGALRM) is outer
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


def test_off_the_main_thread_checks_leave_signals_alone():
    # The limit itself off the main thread: tests/checks/test_check_bounds.py.
    results = []
    before = signal.getsignal(signal.SIGALRM)
    thread = threading.Thread(
        target=lambda: results.append(
            check_reverse(S.reverse_seed_fixed, S.Y, points=S.POINT_Y, time_limit=5)
        )
    )
    thread.start()
    thread.join(60)
    assert results and results[0].passed
    assert signal.getsignal(signal.SIGALRM) is before
