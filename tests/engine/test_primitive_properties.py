"""Every primitive, on random inputs inside its domain: forward mode == reverse mode == PyTorch autograd
(float64) == central differences, for Scalars, for Tensors with broadcasting, and for second derivatives.

Tolerances. Forward and reverse mode evaluate the same declared partials, so they agree to the last bit or two
(rtol 1e-12). PyTorch computes the same formulas, but its vectorised sin/exp/log may differ from the C
library's by an ulp, and it may multiply the factors of a chain in another order; both are ~1e-16 relative, so
rtol 1e-12 holds, with an absolute floor of 1e-13 for derivatives that are a cancellation near 0 (cos near
pi/2, a sum of broadcast terms of opposite signs), where a relative comparison means nothing. Central
differences with a step of 1e-6 * max(1, |x|) carry a truncation error ~1e-12 * f''' and a rounding error
~1e-10 * |f|: rtol 1e-6."""

from __future__ import annotations

import numpy as np
import pytest
import strategies as S  # tests/strategies.py: pytest puts tests/ on sys.path for its conftest.py
import torch
import torch.autograd.forward_ad as fwAD
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff_course as ac
from autodiff_course import Dual, Scalar, Tensor
from autodiff_course.engine.gradcheck import numerical_gradient
from autodiff_course.engine.primitives import PRIMITIVES

RTOL, ATOL = 1e-12, 1e-13
# torch.autograd.forward_ad warns, once, that torch.jit.script is deprecated: not ours to act on.
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:DeprecationWarning")
SETTINGS = settings(max_examples=50, deadline=None)


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=atol)


def torch_grads(name, args, cotangent=None, create_graph=False):
    """PyTorch's value and gradient of ``name`` at ``args`` (float64), with the given output adjoint."""
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args]
    out = PRIMITIVES[name].torch(torch, *ts)
    w = torch.ones_like(out) if cotangent is None else torch.tensor(cotangent, dtype=torch.float64)
    grads = torch.autograd.grad(out, ts, w, create_graph=create_graph)
    return out, grads, ts


def torch_jvp(fn, primals, tangents):
    """PyTorch's forward-mode AD: the tangent of ``fn`` at ``primals`` along ``tangents``."""
    with fwAD.dual_level():
        duals = [fwAD.make_dual(torch.tensor(p), torch.tensor(t)) for p, t in zip(primals, tangents)]
        tangent = fwAD.unpack_dual(fn(*duals)).tangent
        return np.zeros(np.shape(fn(*map(torch.tensor, primals)))) if tangent is None else tangent.numpy()


# -- Scalars ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", S.ELEMENTWISE)
@SETTINGS
@given(data=st.data())
def test_scalar_forward_equals_reverse_equals_torch_and_central_differences(name, data):
    prim = PRIMITIVES[name]
    args = data.draw(S.scalar_args(name))

    # reverse mode: one backward pass gives every partial
    xs = [Scalar(a) for a in args]
    out = prim(*xs)
    out.backward()
    reverse = [x.grad for x in xs]

    # forward mode: one pass per input, seeding its tangent
    forward = []
    for k in range(len(args)):
        duals = [Dual(a, 1.0 if i == k else 0.0) for i, a in enumerate(args)]
        d = prim(*duals)
        close(d.primal, out.value, rtol=0, atol=0)
        forward.append(d.tangent)

    t_out, t_grads, _ = torch_grads(name, args)
    close(out.value, t_out.item())
    close(forward, reverse)
    close(reverse, [g.item() for g in t_grads])
    numeric = numerical_gradient(lambda *a: prim(*a), list(args))
    close(reverse, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", S.UNARY)
@SETTINGS
@given(data=st.data())
def test_scalar_second_derivative_equals_torch_create_graph(name, data):
    (a,) = data.draw(S.scalar_args(name))
    prim = PRIMITIVES[name]
    d2 = ac.grad(ac.grad(lambda x: prim(x)))(a)

    x = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(prim.torch(torch, x), x, create_graph=True)
    if g.grad_fn is None:  # relu, abs, neg: the first derivative is piecewise constant
        expected = 0.0
    else:
        (expected,) = torch.autograd.grad(g, x)
        expected = expected.item()
    close(d2, expected)


@pytest.mark.parametrize("name", S.BINARY)
@SETTINGS
@given(data=st.data())
def test_scalar_mixed_second_derivatives_equal_torch(name, data):
    args = data.draw(S.scalar_args(name))
    prim = PRIMITIVES[name]
    hessian = [[ac.grad(ac.grad(lambda x, y: prim(x, y), argnums=i), argnums=j)(*args) for j in range(2)]
               for i in range(2)]

    if name == "pow" and args[1] == 0.0:
        # PyTorch's pow backward returns a constant zero for d/dx at exponent 0, so its mixed derivative there
        # is 0; the true one, d/dy (y x^(y-1)) = x^(y-1) (1 + y log x), is 1/x.
        close(hessian[0][1], 1 / args[0])
        return
    _, grads, ts = torch_grads(name, args, create_graph=True)
    expected = []
    for g in grads:
        if g.grad_fn is None:
            expected.append([0.0, 0.0])
        else:
            expected.append([0.0 if h is None else h.item()
                             for h in torch.autograd.grad(g, ts, allow_unused=True, retain_graph=True)])
    close(hessian, expected)


# -- Tensors with broadcasting ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", S.ELEMENTWISE)
@SETTINGS
@given(data=st.data())
def test_tensor_broadcasting_reverse_and_forward_equal_torch(name, data):
    prim = PRIMITIVES[name]
    args = data.draw(S.array_args(name))
    out_shape = np.broadcast_shapes(*(a.shape for a in args))
    w = data.draw(S.cotangent(out_shape))

    ts = [Tensor(a, requires_grad=True) for a in args]
    out = prim(*ts)
    out.backward(w)
    t_out, t_grads, _ = torch_grads(name, args, w)
    close(out.value, t_out.detach().numpy())
    for t, g, a in zip(ts, t_grads, args):
        assert t.grad.shape == a.shape  # the adjoint was summed back over the broadcast axes
        close(t.grad.value, g.numpy())

    # forward mode with array tangents, against PyTorch's forward-mode AD
    tangents = [data.draw(S.cotangent(a.shape)) for a in args]
    _, tangent = ac.jvp(prim, args, tangents)
    t_tangent = torch_jvp(lambda *xs: prim.torch(torch, *xs), args, tangents)
    close(np.broadcast_to(tangent, out_shape), t_tangent)


def _check_structural(fn, torch_fn, arrays, w, create_graph_too=True):
    """Reverse (Tensor.backward), forward (jvp) and second-order (create_graph) of ``fn`` against PyTorch."""
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(w)
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    t_out = torch_fn(*tt)
    close(out.value, t_out.detach().numpy())
    t_grads = torch.autograd.grad(t_out, tt, torch.tensor(w))
    for t, g in zip(ts, t_grads):
        close(t.grad.value, g.numpy())

    tangents = [np.cos(np.arange(a.size, dtype=float)).reshape(a.shape) for a in arrays]
    _, tangent = ac.jvp(fn, arrays, tangents)
    close(tangent, torch_jvp(torch_fn, arrays, tangents))


@SETTINGS
@given(operands=S.matmul_operands(), data=st.data())
def test_matmul_of_every_rank_combination_equals_torch(operands, data):
    a, b = operands
    w = data.draw(S.cotangent(np.matmul(a, b).shape))
    _check_structural(lambda x, y: x @ y, torch.matmul, [a, b], w)


@SETTINGS
@given(case=S.reduction_case(), data=st.data())
def test_sum_and_mean_over_any_axes_equal_torch(case, data):
    x, axis, keepdims = case
    w = data.draw(S.cotangent(np.sum(x, axis=axis, keepdims=keepdims).shape))
    dim = axis if axis is not None else tuple(range(x.ndim))
    _check_structural(lambda t: t.sum(axis=axis, keepdims=keepdims),
                      lambda t: t.sum(dim=dim, keepdim=keepdims), [x], w)
    _check_structural(lambda t: t.mean(axis=axis, keepdims=keepdims),
                      lambda t: t.mean(dim=dim, keepdim=keepdims), [x], w)


@SETTINGS
@given(case=S.index_case(), data=st.data())
def test_indexing_basic_and_advanced_equals_torch(case, data):
    x, index = case
    w = data.draw(S.cotangent(x[index].shape))
    t_index = tuple(i if not isinstance(i, list) else torch.tensor(i) for i in index) \
        if isinstance(index, tuple) else (torch.tensor(index) if isinstance(index, list) else index)
    _check_structural(lambda t: t[index], lambda t: t[t_index], [x], w)


@SETTINGS
@given(x=S.hnp.arrays(np.float64, S.hnp.array_shapes(min_dims=2, max_dims=3, max_side=4),
                      elements=st.floats(-5, 5)), data=st.data())
def test_reshape_and_transpose_equal_torch(x, data):
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    w = data.draw(S.cotangent(np.transpose(x, perm).shape))
    _check_structural(lambda t: t.permute(*perm), lambda t: t.permute(*perm), [x], w)
    w = data.draw(S.cotangent((x.size,)))
    _check_structural(lambda t: t.reshape(-1), lambda t: t.reshape(-1), [x], w)
    w = data.draw(S.cotangent(x.T.shape))
    _check_structural(lambda t: t.T * 1.0, lambda t: t.permute(*reversed(range(t.dim()))) * 1.0, [x], w)


@SETTINGS
@given(data=st.data())
def test_tensor_second_order_through_backward_create_graph_equals_torch(data):
    # Hessian-vector product of a small network-like function: d/dx <grad f(x), v>.
    x = data.draw(S.hnp.arrays(np.float64, (3,), elements=st.floats(-2, 2)))
    m = data.draw(S.hnp.arrays(np.float64, (3, 3), elements=st.floats(-1, 1)))
    v = data.draw(S.cotangent((3,)))

    def f(lib, t, mat):
        h = lib.tanh(mat @ t)
        return (lib.sigmoid(h) * h + lib.exp(-t * t)).sum()

    t = Tensor(x, requires_grad=True)
    y = f(ac, t, Tensor(m))
    y.backward(create_graph=True)
    g = t.grad
    t.grad = None
    (g * Tensor(v)).sum().backward()

    tt = torch.tensor(x, requires_grad=True)
    (tg,) = torch.autograd.grad(f(torch, tt, torch.tensor(m)), tt, create_graph=True)
    (th,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), tt)
    close(g.value, tg.detach().numpy())
    close(t.grad.value, th.numpy())


def test_maximum_splits_the_adjoint_evenly_at_ties_as_torch_does():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = Tensor([1.0, 0.0, 5.0], requires_grad=True)
    ac.maximum(x, y).backward(np.ones(3))
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ty = torch.tensor([1.0, 0.0, 5.0], requires_grad=True)
    torch.maximum(tx, ty).sum().backward()
    assert x.grad.value.tolist() == tx.grad.tolist() == [0.5, 1.0, 0.0]
    assert y.grad.value.tolist() == ty.grad.tolist() == [0.5, 0.0, 1.0]


@pytest.mark.parametrize("name", ["relu", "abs"])
def test_kinks_at_zero_have_torchs_derivative(name):
    x = Scalar(0.0)
    PRIMITIVES[name](x).backward()
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    PRIMITIVES[name].torch(torch, t).backward()
    assert x.grad == t.grad.item() == 0.0
