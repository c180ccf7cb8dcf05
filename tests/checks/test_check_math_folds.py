"""`math.fsum` and `math.prod` in an honest answer are followed as the sums and products they are (an
outside review's right reverse answer that summed one adjoint's two paths with `math.fsum` scored 0.4)."""

import math
from pathlib import Path

import numpy as np
import pytest
from generate import compile_function

from autodiff_course.checks import collect, judge
from autodiff_course.course.config import load_course

SPECS = {s["id"]: s for s in load_course(Path(__file__).resolve().parents[2])["autodiff_by_hand"].exercises}


REVERSE = """
from math import fsum


def function_reverse(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    vbar8 = 1.0
    vbar7 = vbar8
    vbar6 = vbar8
    vbar5 = vbar7
    vbar4 = vbar5 * v1
    vbar3 = vbar7
    vbar2 = vbar6 * (-v1 / v2**2)
    vbar1 = {total}
    vbar0 = vbar3 * np.cos(v0) - vbar4 * np.sin(v0)
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8
"""


def reverse_with(total: str):
    """The reverse answer with ``vbar1`` written as ``total``, compiled from a file of its own (the checker
    reads its lines) whose globals hold math and numpy, as a notebook cell's do."""
    return compile_function(REVERSE.format(total=total), "function_reverse")


def _judge(fn):
    spec = SPECS["reverse"]
    return judge(spec, collect(spec, {"function_reverse": fn}))


@pytest.mark.parametrize("total", ["math.fsum([vbar5 * v4, vbar6 / v2])", "sum([vbar5 * v4, vbar6 / v2])",
                                   "fsum([vbar5 * v4, vbar6 / v2])"], ids=["math.fsum", "sum", "from math"])
def test_a_sum_of_two_paths_by_math_fsum_passes(total):
    result = _judge(reverse_with(total))
    assert result.passed and result.score == 1.0, result.messages


def test_a_product_by_math_prod_passes():
    def function_dx1(x0, x1):
        v0 = x0
        dv0dx1 = 0.0
        v1 = x1
        dv1dx1 = 1.0
        v2 = v0 / v1
        dv2dx1 = (v1 * dv0dx1 - v0 * dv1dx1) / v1**2
        v3 = math.prod([v0, v2])
        dv3dx1 = v0 * dv2dx1 + v2 * dv0dx1
        v4 = np.exp(v2)
        dv4dx1 = np.exp(v2) * dv2dx1
        v5 = np.cos(v0)
        dv5dx1 = -np.sin(v0) * dv0dx1
        v6 = v3 * v5
        dv6dx1 = math.fsum([v3 * dv5dx1, v5 * dv3dx1])
        v7 = v4 + v6
        dv7dx1 = dv4dx1 + dv6dx1
        return v7, dv7dx1
    spec = SPECS["forward_dx1"]
    result = judge(spec, collect(spec, {spec["function"]: function_dx1}))
    assert result.passed and result.score == 1.0, result.messages


def test_a_missing_path_summed_by_fsum_is_still_named():
    # The same answer with one path left out of the fsum: vbar1 is the culprit, by its own name.
    result = _judge(reverse_with("math.fsum([vbar5 * v4])"))
    assert not result.passed and result.culprit == "vbar1", result.messages
