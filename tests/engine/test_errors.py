"""Bad input gives a clear error that names the operation: non-numbers, shapes that do not fit, backward
without a gradient, values outside a primitive's domain, and a primitive that lacks a rule for the mode asked
of it."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff_course as ac
from autodiff_course import (
    AutodiffError,
    DomainError,
    Dual,
    MissingRuleError,
    Primitive,
    Scalar,
    ShapeError,
    Tensor,
    TraceError,
)
from autodiff_course.engine.primitives import PRIMITIVES


@pytest.mark.parametrize("make, message", [
    (lambda: Scalar("a"), "Scalar needs a real number, got str"),
    (lambda: Scalar(True), "got bool"),
    (lambda: Scalar(1.0) + "a", "add: cannot combine a Scalar with str"),
    (lambda: [1.0] * Scalar(2.0), "mul: cannot combine a Scalar with list"),
    (lambda: Tensor(["a", "b"]), "Tensor needs numbers, got list of str"),
    (lambda: Tensor([1.0]) - "a", "sub: Tensor needs numbers"),
    (lambda: Tensor([1.0]) + Scalar(1.0), "add: cannot combine a Tensor with a Scalar"),
    (lambda: np.floor(Scalar(1.0)), "numpy's floor .* has no derivative rule"),
])
def test_non_numeric_inputs_raise_type_errors_naming_the_operation(make, message):
    with pytest.raises(TypeError, match=message):
        make()


@pytest.mark.parametrize("make, message", [
    (lambda: Tensor(np.ones((2, 3))) + Tensor(np.ones(4)), r"add: operands of shapes \(2, 3\) and \(4,\)"),
    (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3))),
     r"matmul: operands of shapes \(2, 3\) and \(2, 3\)"),
    (lambda: Tensor(np.ones((2, 3))).reshape(4), r"reshape: an operand of shape \(2, 3\)"),
])
def test_shape_mismatches_raise_shape_errors_naming_operation_and_shapes(make, message):
    with pytest.raises(ShapeError, match=message):
        make()


def test_backward_on_a_non_scalar_without_gradient_says_what_to_pass():
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(AutodiffError, match=r"backward\(gradient\)"):
        y.backward()
    with pytest.raises(AutodiffError, match="one output number"):
        ac.grad(lambda x: x * 2)(np.array([1.0, 2.0]))


@pytest.mark.parametrize("make, message", [
    (lambda: ac.log(Scalar(-1.0)), r"log of -1\.0: log is only defined for inputs > 0"),
    (lambda: ac.log(Scalar(0.0)), r"log of 0\.0"),
    (lambda: np.log(Scalar(-1.0)), r"log of -1\.0"),
    (lambda: Scalar(-2.0).log(), r"log of -2\.0"),
    (lambda: ac.log(Tensor([1.0, -2.0])), r"log of -2\.0"),
    (lambda: ac.log(Dual(-1.0, 1.0)), r"log of -1\.0"),
    (lambda: ac.log(-3.0), r"log of -3\.0"),
    (lambda: ac.sqrt(Scalar(-4.0)), r"sqrt of -4\.0: sqrt is only defined for inputs >= 0"),
    (lambda: Scalar(1.0) / 0, r"div: division by zero"),
    (lambda: Tensor([1.0, 2.0]) / Tensor([1.0, 0.0]), r"div: division by zero"),
    (lambda: Scalar(-8.0) ** (1 / 3), r"pow: a negative base \(-8\.0\) to a non-integer power"),
    (lambda: Scalar(0.0) ** -1, r"pow: zero to a negative power"),
    (lambda: ac.exp(Scalar(1000.0)), r"exp\(1000\.0\)"),
    (lambda: ac.sqrt(Scalar(0.0)).backward(), r"sqrt\(0\.0\): its local derivative is not finite"),
    (lambda: ac.sqrt(Dual(0.0, 1.0)), r"sqrt\(0\.0\): its local derivative is not finite"),
])
def test_values_outside_the_domain_raise_domain_errors_not_nan(make, message):
    with pytest.raises(DomainError, match=message):
        make()


def test_numpy_semantics_keep_overflow_to_inf_for_tensors():
    with pytest.warns(RuntimeWarning, match="overflow"):
        assert ac.exp(Tensor([1000.0])).value.tolist() == [math.inf]


def test_a_function_computing_outside_the_engine_is_refused_by_grad_and_trace():
    with pytest.raises(TypeError, match="returned float, which does not depend on its inputs"):
        ac.grad(lambda x: float(x) * 2)(1.0)
    # Tracing follows float() (it keeps the value; see tests/trace), but int() cuts the graph.
    with pytest.raises(TraceError, match=r"int\(\.\.\.\)"):
        ac.trace(lambda x: int(x) * 2, 1.0)


@pytest.fixture
def ruleless():
    """A primitive declared with a forward computation and nothing else (removed from the table after)."""
    prim = Primitive("floor_for_test", 1, scalar=math.floor, array=np.floor, grad_fn="FloorBackward0",
                     expr="floor({0})")
    yield prim
    del PRIMITIVES["floor_for_test"]


def test_a_missing_rule_names_the_primitive_and_the_mode(ruleless):
    with pytest.raises(MissingRuleError, match="'floor_for_test' has no forward-mode"):
        ruleless(Dual(1.5, 1.0))
    with pytest.raises(MissingRuleError, match="'floor_for_test' has no reverse-mode"):
        ruleless(Scalar(1.5)).backward()
    with pytest.raises(MissingRuleError, match="'floor_for_test' has no reverse-mode"):
        ruleless(Tensor([1.5], requires_grad=True)).sum().backward()
    with pytest.raises(MissingRuleError, match="'floor_for_test' has no PyTorch"):
        ruleless.torch(None, 1.5)
    with pytest.raises(MissingRuleError, match="'floor_for_test' has no text"):
        ruleless.partial_words(0, ["v0"], "v1")
    g = ac.trace(lambda x: ruleless(x) * 2, 1.5)
    with pytest.raises(MissingRuleError, match="'floor_for_test' has no local-derivative"):
        g.local_partials(1)
    err = MissingRuleError("floor_for_test", "forward-mode (jvp)")
    assert (err.primitive, err.mode) == ("floor_for_test", "forward-mode (jvp)")
    assert isinstance(err, NotImplementedError)
