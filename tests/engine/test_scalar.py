"""Scalar: operators, backward, grads, the three spellings of elementary functions, long graphs, higher
order."""

from __future__ import annotations

import gc
import math
import sys

import numpy as np
import pytest

import autodiff_course as ac
from autodiff_course import GraphFreedError, Scalar, TraceError


def test_operators_with_scalars_floats_and_ints_on_either_side_give_value_and_partials():
    x, y = Scalar(3.0), Scalar(-2.0)
    cases = [
        (lambda: x + y, 1.0, 1.0, 1.0), (lambda: x - y, 5.0, 1.0, -1.0), (lambda: x * y, -6.0, -2.0, 3.0),
        (lambda: x / y, -1.5, -0.5, -0.75), (lambda: x ** 2, 9.0, 6.0, 0.0),
        (lambda: 2 ** x, 8.0, 8 * math.log(2), 0),
        (lambda: 1 - x, -2.0, -1.0, 0.0), (lambda: 6 / x, 2.0, -6 / 9, 0.0), (lambda: -x, -3.0, -1.0, 0.0),
        (lambda: abs(y), 2.0, 0.0, -1.0), (lambda: 2.5 * x + y * 1, 5.5, 2.5, 1.0),
    ]
    for make, value, dx, dy in cases:
        x.grad = y.grad = 0.0
        out = make()
        out.backward()
        assert out.value == pytest.approx(value, rel=1e-15)
        assert (x.grad, y.grad) == (pytest.approx(dx, rel=1e-15), pytest.approx(dy, rel=1e-15))


def test_elementary_functions_three_ways_build_the_same_node():
    for fn_engine, fn_numpy, method in [(ac.sin, np.sin, "sin"), (ac.exp, np.exp, "exp"),
                                        (ac.sqrt, np.sqrt, "sqrt"), (ac.tanh, np.tanh, "tanh")]:
        results = []
        for apply in (fn_engine, fn_numpy, lambda v, m=method: getattr(v, m)()):
            x = Scalar(0.7)
            out = apply(x)
            out.backward()
            assert isinstance(out, Scalar) and out._op.name == method
            results.append((out.value, x.grad))
        assert results[0] == results[1] == results[2]


def test_math_functions_are_traced_inside_trace_and_refused_as_plain_floats_elsewhere():
    def f(x):
        return math.sin(x) * x

    g = ac.trace(f, 0.5)
    assert [n.op for n in g.variables] == ["input", "sin", "mul"]
    # Outside a trace, math.sin of a Scalar converts it to a float: the result is a plain number, no graph.
    assert type(math.sin(Scalar(0.5))) is float

    def converts(x):
        return int(x) * 2

    # float() keeps a traced value traced (tests/trace); int() would cut the graph and is refused.
    with pytest.raises(TraceError, match="plain number"):
        ac.trace(converts, 0.5)


def test_backward_accumulates_into_grad_like_pytorch_and_zero_grad_resets():
    x = Scalar(2.0)
    (x * x).backward()
    (x * 3).backward()
    assert x.grad == 4.0 + 3.0
    x.zero_grad()
    assert x.grad == 0.0


def test_a_second_backward_through_a_freed_graph_fails_unless_retained():
    x = Scalar(2.0)
    y = ac.sin(x) * x
    y.backward(retain_graph=True)
    first = x.grad
    y.backward()
    assert x.grad == pytest.approx(2 * first, rel=1e-15)
    with pytest.raises(GraphFreedError, match="second time.*retain_graph=True"):
        y.backward()


def test_nodes_used_twice_receive_the_sum_of_both_paths():
    x = Scalar(1.5)
    a = x * x
    y = a * a + a  # y = x^4 + x^2
    y.backward()
    assert x.grad == pytest.approx(4 * 1.5**3 + 2 * 1.5, rel=1e-15)
    assert a.grad == pytest.approx(2 * 1.5**2 + 1, rel=1e-15)


def test_a_chain_of_100000_nodes_backpropagates_without_recursion_error():
    limit = sys.getrecursionlimit()
    x = Scalar(1.0)
    y = x
    for _ in range(50_000):
        y = y * 1.0001
        y = y + 0.5
    y.backward()
    assert sys.getrecursionlimit() == limit
    assert x.grad == pytest.approx(1.0001 ** 50_000, rel=1e-10)
    del y
    gc.collect()  # freeing the chain must not overflow the C stack either


def test_create_graph_makes_grads_differentiable_again():
    x = Scalar(0.8)
    y = x ** 3 * ac.sin(x)
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Scalar)
    assert g.value == pytest.approx(3 * 0.8**2 * math.sin(0.8) + 0.8**3 * math.cos(0.8), rel=1e-14)
    x.grad = 0.0
    g.backward()
    expected = 6 * 0.8 * math.sin(0.8) + 6 * 0.8**2 * math.cos(0.8) - 0.8**3 * math.sin(0.8)
    assert x.grad == pytest.approx(expected, rel=1e-14)


def test_grad_of_grad_and_third_derivative():
    f = lambda x: ac.exp(x) * ac.sin(x)  # noqa: E731
    x = 0.3
    d1 = ac.grad(f)(x)
    d2 = ac.grad(ac.grad(f))(x)
    d3 = ac.grad(ac.grad(ac.grad(f)))(x)
    e, s, c = math.exp(x), math.sin(x), math.cos(x)
    assert d1 == pytest.approx(e * (s + c), rel=1e-14)
    assert d2 == pytest.approx(2 * e * c, rel=1e-14)
    assert d3 == pytest.approx(2 * e * (c - s), rel=1e-14)


def test_grad_argnums_vjp_and_jvp_agree():
    f = lambda a, b, c: a * b + ac.log(c) * a  # noqa: E731
    args = (1.5, -2.0, 3.0)
    grads = ac.grad(f, argnums=(0, 1, 2))(*args)
    out, pullback = ac.vjp(f, *args)
    assert out == pytest.approx(1.5 * -2.0 + math.log(3.0) * 1.5, rel=1e-15)
    assert pullback(2.0) == pytest.approx(tuple(2 * g for g in grads), rel=1e-15)
    for k in range(3):
        tangents = [1.0 if i == k else 0.0 for i in range(3)]
        assert ac.jvp(f, args, tangents)[1] == pytest.approx(grads[k], rel=1e-15)
    assert grads == pytest.approx((-2.0 + math.log(3.0), 1.5, 1.5 / 3.0), rel=1e-15)


def test_grad_of_a_function_that_ignores_its_input_is_zero_when_nested():
    assert ac.grad(ac.grad(lambda x: x * 2.0))(1.0) == 0.0
    assert ac.grad(ac.grad(lambda x, y: x * y), argnums=1)(2.0, 3.0) == 1.0


def test_no_grad_records_nothing():
    x = Scalar(2.0)
    with ac.no_grad():
        y = x * x
    assert not y.requires_grad and y._op is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_detach_and_item():
    x = Scalar(2.0)
    d = (x * 3).detach()
    assert d.item() == 6.0 and not d.requires_grad


def test_dual_numbers_carry_the_tangent_of_each_line():
    x = ac.Dual(2.0, 1.0)
    y = x * x + ac.sin(x)
    assert y.primal == 4.0 + math.sin(2.0)
    assert y.tangent == pytest.approx(4.0 + math.cos(2.0), rel=1e-15)
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        ac.jvp(lambda a, b: a * b, (1.0, 2.0), (1.0,))


@pytest.mark.parametrize("number", [np.array(3.0), np.full((), 3.0), np.full((), 3, dtype=np.int64),
                                    np.full((), 3, dtype=np.uint8), np.float32(3.0), np.int16(3)],
                         ids=["0-d float", "0-d full", "0-d int64", "0-d uint8", "float32", "int16"])
def test_a_0d_array_or_numpy_number_meets_a_scalar_as_the_number_it_holds(number):
    # Before: a 0-d array on either side raised "cannot combine a Scalar with ndarray" (numpy numbers, the
    # last two, already worked: they stay so).
    x = Scalar(2.0)
    for out, value, dx in [(x * number, 6.0, 3.0), (number * x, 6.0, 3.0), (x - number, -1.0, 1.0),
                           (number / x, 1.5, -0.75), (x ** number, 8.0, 12.0), (np.cos(x) * number,
                                                                                3 * math.cos(2.0),
                                                                                -3 * math.sin(2.0))]:
        x.grad = 0.0
        assert type(out) is Scalar and type(out.value) is float
        out.backward()
        assert (out.value, x.grad) == (pytest.approx(value, rel=1e-15), pytest.approx(dx, rel=1e-15))


# Arrays of numbers with elements ([1.0, 2.0], np.zeros((1,))) were in this list: a Scalar now broadcasts over
# them element by element (the next tests); arrays of booleans, complex numbers and text are still refused.
@pytest.mark.parametrize("other", [np.array(True), np.array(1 + 2j), np.array("3"), np.array([True, False]),
                                   np.array([1 + 2j]), np.array(["3"])])
def test_arrays_of_booleans_complex_and_text_are_still_refused_with_the_tensor_hint(other):
    with pytest.raises(TypeError, match="cannot combine a Scalar with ndarray"):
        Scalar(2.0) * other
    with pytest.raises(TypeError, match="cannot combine a Scalar with ndarray"):
        other * Scalar(2.0)


def test_a_scalar_broadcasts_over_an_array_of_numbers_into_an_array_of_scalars_in_the_graph():
    # Before: "cannot combine a Scalar with ndarray"; numpy broadcasts a float over an array of floats, and
    # forward mode with one tangent vector per variable (``dv2 = (v1 * dv0 - v0 * dv1) / v1 ** 2``) relies on it.
    x, y = Scalar(3.0), Scalar(-2.0)
    dx, dy = np.array([1.0, 0.0]), np.array([0, 1])  # floats and ints, as numpy would take them
    d = (y * dx - x * dy) / y ** 2  # the tangent vector of x / y
    assert type(d) is np.ndarray and d.dtype == object and d.shape == (2,)
    assert all(type(e) is Scalar for e in d)
    assert [e.value for e in d] == [pytest.approx(-0.5, rel=1e-15), pytest.approx(-0.75, rel=1e-15)]
    d[1].backward()  # d/dx (-x / y**2) = -1/y**2, d/dy = 2x/y**3: the items are nodes of the graph
    assert (x.grad, y.grad) == (pytest.approx(-0.25, rel=1e-15), pytest.approx(-0.75, rel=1e-15))


@pytest.mark.parametrize("make, expected", [
    (lambda x, a: x * a, [6.0, -3.0]), (lambda x, a: a * x, [6.0, -3.0]), (lambda x, a: a - x, [-1.0, -4.0]),
    (lambda x, a: x / a, [1.5, -3.0]), (lambda x, a: a ** x, [8.0, -1.0]), (lambda x, a: x ** a, [9.0, 1 / 3]),
    (lambda x, a: -np.sin(x) * a, [-2 * math.sin(3.0), math.sin(3.0)]),
    (lambda x, a: np.arctan2(a, x), [math.atan2(2.0, 3.0), math.atan2(-1.0, 3.0)]),
    (lambda x, a: np.maximum(x, a * 2), [4.0, 3.0]),
], ids=["mul", "rmul", "rsub", "div", "rpow", "pow", "ufunc", "binary ufunc", "maximum"])
def test_every_operator_and_ufunc_broadcasts_a_scalar_over_an_array_on_either_side(make, expected):
    x = Scalar(3.0)
    out = make(x, np.array([2.0, -1.0]))
    assert type(out) is np.ndarray and out.dtype == object and all(type(e) is Scalar for e in out)
    assert [e.value for e in out] == [pytest.approx(v, rel=1e-15) for v in expected]


def test_a_scalar_broadcasts_over_an_array_of_scalars_and_an_array_of_two_dimensions():
    x, y = Scalar(2.0), Scalar(5.0)
    items = np.empty(2, dtype=object)
    items[:] = [y, 1.5]
    out = x * items
    assert [type(e) for e in out] == [Scalar, Scalar] and [e.value for e in out] == [10.0, 3.0]
    out[0].backward()
    assert (x.grad, y.grad) == (5.0, 2.0)
    grid = Scalar(2.0) + np.ones((2, 3))
    assert grid.shape == (2, 3) and all(e.value == 3.0 for e in grid.flat)


def test_an_operation_that_is_not_element_wise_still_refuses_a_scalar_with_an_array():
    with pytest.raises(TypeError, match="cannot combine a Scalar with ndarray"):
        Scalar(2.0) @ np.array([1.0, 2.0])
