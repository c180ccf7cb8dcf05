"""gradcheck: central differences confirm right derivatives and catch a wrong rule, naming the input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff_course as ac
from autodiff_course import Primitive
from autodiff_course.engine.primitives import PRIMITIVES


def test_gradcheck_accepts_the_engines_derivatives_on_scalars_and_arrays():
    assert ac.gradcheck(lambda x, y: ac.sin(x) * y + ac.exp(x / y), [0.7, 1.3])
    w = np.array([[0.2, -0.4], [1.1, 0.3]])
    assert ac.gradcheck(lambda a, b: ac.tanh(a @ b).sum(), [w, np.array([0.5, -1.5])])
    assert ac.gradcheck(lambda a: (a ** 3).mean(), [np.array([1e2, -3.0, 5.0])])  # steps scale with |x|


def test_numerical_gradient_is_accurate_to_the_central_difference_error():
    (g,) = ac.numerical_gradient(lambda x: ac.sin(x), [1.0])
    # truncation h^2/6 |f'''| ~ 1e-13, rounding 1e-16/h ~ 1e-10
    assert abs(g - math.cos(1.0)) < 1e-9


@pytest.fixture
def wrong_sin():
    prim = Primitive("wrong_sin", 1, scalar=math.sin, array=np.sin, partials=(lambda ans, x: -ac.cos(x),),
                     grad_fn="SinBackward0", expr="sin({0})")
    yield prim
    del PRIMITIVES["wrong_sin"]


def test_gradcheck_catches_a_wrong_derivative_rule_and_names_the_input(wrong_sin):
    with pytest.raises(AssertionError, match="input 1: engine gives .* central differences"):
        ac.gradcheck(lambda x, y: x * 2 + wrong_sin(y), [0.5, 0.3])
    assert ac.gradcheck(lambda y: wrong_sin(y), [0.3], raise_exception=False) is False
