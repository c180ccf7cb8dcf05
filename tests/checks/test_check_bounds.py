"""Judging is bounded: a graph too large to check is said so in milliseconds, and the time limit of a check
holds in any thread (Dask grades in worker threads, where no signal can be used)."""

import importlib
import signal
import threading
import time

import answers_by_hand as S
import numpy as np
import pytest

from autodiff_course.checks import check_decomposition, check_forward, check_reverse
from autodiff_course.checks.collect import collect
from autodiff_course.checks.judge import judge
from autodiff_course.checks.spec import MAX_OPERATIONS
from autodiff_course.checks.timeout import CheckTimeout, time_limit

judge_module = importlib.import_module("autodiff_course.checks.judge")  # the package's `judge` is the function

POINTS = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5]]
Y = "np.sin(x0) + x1*np.cos(x0) + x1/x2"


def _padded(iterations):
    """The reference's value, with a graph that grows by two operations per iteration (t = t + 0.0*v1)."""

    def answer(x0, x1, x2):
        v1 = x1 * np.cos(x0)
        t = np.sin(x0) + v1
        for _ in range(iterations):
            t = t + 0.0 * v1
        return t + x1 / x2, 0.0

    return answer


@pytest.mark.parametrize("check", [check_forward, check_reverse, check_decomposition])
def test_a_graph_of_a_hundred_thousand_operations_is_too_large_to_check_in_milliseconds(check):
    check(_padded(10), Y, points=POINTS)  # warm: the first check imports PyTorch
    # CPU time, not wall time: on a shared machine the wall clock also counts other processes' turns.
    started = time.process_time()
    result = check(_padded(100_000), Y, points=POINTS)
    elapsed = time.process_time() - started
    assert result.status == "error" and result.mistakes == ["too-large"], result.feedback
    assert f"too large to check: more than {MAX_OPERATIONS} operations" in result.feedback
    # The plain run of the loop on floats is most of this (about 20 ms per point); before the tracer's limit
    # the traced run went on until the check's 10 s ran out.
    assert elapsed < 1.0, elapsed


def test_the_collected_data_of_a_graph_over_the_limit_carries_no_graph():
    spec = {"id": "f", "kind": "forward", "function": "f", "reference": Y, "args": ["x0", "x1", "x2"],
            "test_points": POINTS, "wrt": 0}
    raw = collect(spec, {"f": _padded(3000)})
    assert raw["too_large"] == MAX_OPERATIONS
    assert all(p["graph"] is None for p in raw["points"])
    assert judge(spec, raw).mistakes == ["too-large"]


def _in_a_thread(f):
    """What ``f()`` returned or raised, run in a thread of its own (as Dask's workers judge)."""
    out = {}

    def run():
        try:
            out["value"] = f()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["raised"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    return out


def test_the_time_limit_holds_in_a_thread_and_nothing_is_raised_after_it():
    before = signal.getsignal(signal.SIGALRM)

    def swallowing_loop():
        x = 0
        try:
            while True:
                x += 1
        except Exception:  # noqa: BLE001 - what a student might write
            return "swallowed"

    def body():
        started = time.monotonic()
        with pytest.raises(CheckTimeout):
            with time_limit(0.2):
                swallowing_loop()
        elapsed = time.monotonic() - started
        time.sleep(0.6)  # the watchdog repeats every 0.2 s while the body runs: it must have stopped
        with time_limit(5):
            sum(range(1000))
        return elapsed

    out = _in_a_thread(body)
    assert "raised" not in out, out
    assert 0.19 < out["value"] < 2.0
    assert signal.getsignal(signal.SIGALRM) is before


def test_an_endless_answer_checked_in_a_thread_times_out():
    out = _in_a_thread(lambda: check_reverse(S.never_returns, S.Y, points=S.POINT_Y, time_limit=0.3))
    assert out["value"].status == "timeout", out


def test_judging_in_a_thread_stops_at_the_judges_own_time_limit(monkeypatch):
    spec = {"id": "f", "kind": "forward", "function": "f", "reference": Y, "args": ["x0", "x1", "x2"],
            "test_points": POINTS, "wrt": 0}
    raw = collect(spec, {"f": _padded(2000)})  # 4000 operations: within the size limit, ~1 s to judge
    assert "too_large" not in raw
    monkeypatch.setattr(judge_module, "JUDGE_SECONDS", 0.05)
    started = time.monotonic()
    out = _in_a_thread(lambda: judge(spec, raw))
    assert time.monotonic() - started < 0.5
    result = out["value"]
    assert result.mistakes == ["too-large"] and "took longer than 0.05 s" in result.feedback


def test_after_a_time_limit_ran_out_in_a_thread_tracing_in_another_still_finishes():
    from autodiff_course.graph.tracing import run_traced

    def endless():
        with time_limit(0.1):
            x = 0
            while True:
                x += 1

    assert isinstance(_in_a_thread(endless).get("raised"), CheckTimeout)
    out = _in_a_thread(lambda: run_traced(_padded(10), POINTS[0]))  # hung once the watchdog cleared its raise
    assert "value" in out, out
    started = time.perf_counter()
    run_traced(_padded(10), POINTS[0])
    assert time.perf_counter() - started < 1.0


def test_judging_a_forward_answer_asks_pytorch_for_the_same_passes_whatever_its_size(monkeypatch):
    """One PyTorch gradient per node made judging quadratic (11 s at 800 operations, minutes at 5000); the
    number of autograd passes, counted rather than timed (a timed bound flakes on a loaded machine), must not
    grow with the graph."""
    import torch

    spec = {"id": "f", "kind": "forward", "function": "f", "reference": Y, "args": ["x0", "x1", "x2"],
            "test_points": POINTS, "wrt": 0}
    real_grad, calls = torch.autograd.grad, []

    def counted(*args, **kwargs):
        calls.append(1)
        return real_grad(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counted)
    passes = {}
    for n in (100, 800):
        raw = collect(spec, {"f": _padded(n)})
        calls.clear()
        judge(spec, raw)
        passes[n] = len(calls)
    assert passes[100] > 0 and passes[800] == passes[100], passes
