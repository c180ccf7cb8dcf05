"""Judging is bounded: a graph too large to check is said so in milliseconds, and the time limit of a check
holds in any thread (Dask grades in worker threads, where no signal can be used)."""

import time

import numpy as np
import pytest

from autodiff_course.checks import check_decomposition, check_forward, check_reverse
from autodiff_course.checks.collect import collect
from autodiff_course.checks.judge import judge
from autodiff_course.checks.spec import MAX_OPERATIONS

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
    started = time.perf_counter()
    result = check(_padded(100_000), Y, points=POINTS)
    elapsed = time.perf_counter() - started
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
