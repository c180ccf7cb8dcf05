"""Arrays the student makes with np.zeros (and the like) while traced: they hold traced values, and they
compute what the float arrays of the plain run compute, number for number, whether or not they hold one."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_course.engine import primitives as P
from autodiff_course.engine.errors import TraceError
from autodiff_course.engine.scalar import Scalar
from autodiff_course.graph.arrays import TracingArray
from autodiff_course.graph.tracing import run_traced


def untouched(x0, x1):
    # No traced value is ever stored: every operation is the float array's own.
    a = np.zeros(4)
    a[1] = 2.5
    a[2:] = [1, True]
    b = np.ones(4) * 3 - a
    c = np.linalg.norm(b) + np.sum(a / np.full(4, 7.0)) + np.dot(a, b) + (a @ b)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (a / np.zeros(4))[0]  # 0/0 is nan and 2.5/0 inf, as in a float array
    return c, d, *np.cumsum(b), *np.sort(b), a.mean(), a.max()


def holding(x0, x1):
    a = np.zeros(5)
    a[0] = x0
    a[1] = x1 * a[0]
    a[2] = np.sin(a[1]) + 1
    a[3:] = [x0, 2]
    a += 1.0
    b = np.exp(a) * 0.5 - a ** 2
    s = a[1:4]  # a view, as numpy's are
    s[0] = s[0] * 2.0
    total = b.sum() + np.sum(a) + np.dot(a, b) + a @ a
    c = np.zeros_like(a)
    c[4] = a[4] / x1
    return (total, *[a[k] for k in range(5)], *b, *c, np.maximum(a[0], x1), a.mean())


def _raw(v):
    return float(P.raw(v)) if isinstance(v, Scalar) else float(v)


def _same(traced, plain, tol=0.0):
    assert len(traced) == len(plain)
    for t, p in zip(traced, plain, strict=True):
        t, p = _raw(t), float(p)
        assert (math.isnan(t) and math.isnan(p)) or t == p or math.isclose(t, p, rel_tol=tol, abs_tol=tol), (t, p)


numbers = st.floats(min_value=-3, max_value=3, allow_nan=False).filter(lambda v: abs(v) > 1e-3)


@settings(max_examples=30, deadline=None)
@given(numbers, numbers)
def test_an_array_that_holds_no_traced_value_computes_exactly_as_a_float_array(x0, x1):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same warnings as a float array: none here
        traced = run_traced(untouched, [x0, x1]).returned
    _same(traced, untouched(x0, x1))


@settings(max_examples=30, deadline=None)
@given(numbers, numbers)
def test_an_array_holding_traced_values_computes_what_a_float_array_computes(x0, x1):
    traced = run_traced(holding, [x0, x1]).returned
    # Not bit for bit: the engine's elementary functions may differ from numpy's in the last bit (and b
    # cancels), and arrays of objects add in order where numpy adds floats pairwise. A slip of the array's
    # meaning (a view not shared, an item not stored) is off by far more than 1e-12.
    _same(traced, holding(x0, x1), tol=1e-12)
    assert all(isinstance(v, Scalar) for v in traced[1:5]), traced


def test_stored_values_keep_their_place_in_the_graph_and_plain_ones_read_back_as_numpy_numbers():
    def f(x0, x1):
        a = np.zeros(3)
        a[0] = x0 * x1
        return a, a[0], a[1], type(a[2])

    array, stored, plain, kind = run_traced(f, [2.0, 3.0]).returned
    assert isinstance(array, TracingArray) and isinstance(stored, Scalar) and stored._op is not None
    assert (type(plain), kind) == (np.float64, np.float64)


def test_a_function_with_no_code_for_arrays_of_objects_stops_tracing_at_the_students_line():
    def f(x0, x1):
        a = np.zeros((2, 2))
        a[0, 0] = x0
        a[1, 1] = 1.0
        return np.linalg.det(a)

    with pytest.raises((TraceError, TypeError)):
        run_traced(f, [2.0, 3.0])


def test_an_array_of_zeros_returned_is_traced_as_the_values_it_holds():
    from autodiff_course import trace

    def f(x0, x1):
        a = np.zeros(2)
        a[0] = np.sin(x0)
        a[1] = a[0] * x1
        return a

    graph = trace(f, 1.0, 2.0)
    assert [n.name for n in graph.nodes] == ["x0", "x1", "a[0]", "a[1]"], graph
    assert graph.equation(3) == "a[1] = a[0] * x1"


def vectors(x0, x1):
    # Arrays of floats meeting traced values (forward mode with a tangent vector per variable): none is made
    # with np.zeros, so they are arrays the engine makes by broadcasting a traced value over a float array.
    d0, d1 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    t = x1 * d0 - x0 * d1  # a traced value on the left of a float array
    u = d0 * x0 + t / x1  # on its right, and an array of traced values divided by one
    w = x1 * u + u * x0  # an array of traced values beside a bare traced value, on either side
    m = np.maximum(t, u)  # two arrays of traced values: the engine's maximum of each pair
    e = np.exp(w) - np.sin(x0) * t
    return (*t, *u, *w, *m, *e)


@settings(max_examples=30, deadline=None)
@given(numbers, numbers)
def test_a_traced_value_broadcast_over_a_float_array_computes_what_the_float_array_computes(x0, x1):
    # Before: "mul: cannot combine a Scalar with ndarray" at the first line, and an array holding traced
    # values beside a bare traced value (``x1 * u``) raised "numpy's multiply (vectorized) has no derivative
    # rule".
    run = run_traced(vectors, [x0, x1])
    _same(run.returned, vectors(x0, x1), tol=1e-12)
    assert all(isinstance(v, Scalar) and v._op is not None for v in run.returned), run.returned
    assert all(isinstance(run.locals[name], TracingArray) for name in "tuwme")
