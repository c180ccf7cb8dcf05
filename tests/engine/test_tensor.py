"""Tensor: PyTorch's vocabulary (requires_grad, grad, grad_fn names, backward, retain_grad, detach, zero_,
no_grad), float64 by default, broadcasting, and the optimisers; checked against real PyTorch where it has an
answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff_course as ac
from autodiff_course import AutodiffError, GraphFreedError, ShapeError, Tensor, optim

# Expressions over x (2x2), v (2,), b (2, 2, 2), evaluated with this engine and with torch: same grad_fn name.
GRAD_FN_EXPRESSIONS = [
    "x ** 2", "y + 5", "z.sum()", "z.mean()", "x * 2", "x / 2", "2 / x", "x - 1", "1 - x", "-x", "2 ** x",
    "x ** x", "x ** t", "x.sum(dim=0)", "x.mean(dim=1, keepdim=True)", "x.reshape(4)", "x.view(4)", "x.T",
    "x.t()",
    "x.transpose(0, 1)", "x.permute(1, 0)", "x[0]", "x[:, 1]", "x[0, 0:1]", "x[[0, 1]]", "x[:]", "x[None]",
    "x @ x", "v @ v", "x @ v", "v @ x", "b @ x", "x.sin()", "x.cos()", "x.tan()", "x.exp()", "x.log()",
    "x.sqrt()", "x.tanh()", "x.sigmoid()", "x.relu()", "x.abs()", "x.clone()", "x.maximum(y)", "x * y",
    "x + y", "x / y", "x.sinh()", "x.cosh()", "(x / 5).asin()", "(x / 5).acos()", "x.atan()", "x.atan2(y)",
    "x.hypot(y)", "x.log1p()", "x.expm1()", "x.log2()", "x.log10()", "x.exp2()", "x.sign()",
]


def _namespace(lib):
    t = lib.tensor
    kw = {"dtype": torch.float64} if lib is torch else {}
    x = t([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, **kw)
    ns = {
        "x": x, "v": t([0.5, -1.5], requires_grad=True, **kw),
        "b": t(np.ones((2, 2, 2)), requires_grad=True, **kw),
        "t": t(2.0, **kw),
    }
    ns["y"] = x * 3
    ns["z"] = ns["y"] * ns["y"]
    return ns


@pytest.mark.parametrize("expr", GRAD_FN_EXPRESSIONS)
def test_grad_fn_names_match_pytorch(expr):
    ours = eval(expr, _namespace(ac))
    theirs = eval(expr, _namespace(torch))
    assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__
    np.testing.assert_allclose(ours.value, theirs.detach().numpy(), rtol=1e-15)


def test_defaults_follow_pytorch_except_float64():
    x = ac.tensor([1, 2, 3])
    assert x.dtype == np.float64 and not x.requires_grad and x.grad is None
    assert x.grad_fn is None and x.is_leaf
    f32 = ac.tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    y = f32 * 2.5 + 1
    assert y.dtype == np.float32  # a Python number does not promote, as in numpy and PyTorch
    y.sum().backward()
    assert f32.grad.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        Tensor(np.array([1, 2]), requires_grad=True, dtype=np.int64)


def test_broadcast_gradients_are_summed_back_to_each_operands_shape():
    w = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    bias = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    col = Tensor([[1.0], [2.0]], requires_grad=True)
    ((w + bias) * col).sum().backward()
    assert bias.grad.shape == (3,) and bias.grad.value.tolist() == [3.0, 3.0, 3.0]
    assert col.grad.shape == (2, 1)
    assert col.grad.value.tolist() == [[(1 + 2 + 3) + (0 + 1 + 2)], [(1 + 2 + 3) + (3 + 4 + 5)]]
    assert w.grad.value.tolist() == [[1.0] * 3, [2.0] * 3]


def test_backward_on_a_non_scalar_needs_a_gradient_of_its_shape():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    with pytest.raises(AutodiffError, match="only for scalar outputs.*shape \\(2,\\)"):
        y.backward()
    with pytest.raises(ShapeError, match="gradient has shape \\(3,\\)"):
        y.backward(np.ones(3))
    y.backward(np.array([1.0, 10.0]))
    assert x.grad.value.tolist() == [2.0, 40.0]


def test_second_backward_without_retain_graph_fails_like_pytorch():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.value.tolist() == [4.0, 8.0]  # accumulated twice
    with pytest.raises(GraphFreedError, match="backward through the graph a second time"):
        y.backward()
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = (tx * tx).sum()
    ty.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        ty.backward()


def test_retain_grad_keeps_an_intermediate_gradient_and_only_then():
    x = Tensor([1.0, -2.0], requires_grad=True)
    h = x * 3
    k = h * 2
    h.retain_grad()
    (k * k).sum().backward()
    assert h.retains_grad and h.grad.value.tolist() == [2 * 2 * 6.0 * 1, 2 * 2 * 6.0 * -2]
    assert k.grad is None and not k.retains_grad
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        Tensor([1.0]).retain_grad()


def test_detach_zero_and_no_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    (x * x).sum().backward()
    x.grad.zero_()
    assert x.grad.value.tolist() == [0.0, 0.0]
    with ac.no_grad():
        y = x * 2
        assert not ac.is_grad_enabled()
        with ac.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_sgd_step_matches_torch():
    w0 = np.array([[0.5, -1.0], [2.0, 0.25]])
    w = Tensor(w0, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (ac.sigmoid(w) * w).sum().backward()
    opt.step()
    tw = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.1)
    (torch.sigmoid(tw) * tw).sum().backward()
    topt.step()
    np.testing.assert_allclose(w.value, tw.detach().numpy(), rtol=1e-15)
    opt.zero_grad()
    assert w.grad is None
    with pytest.raises(TypeError, match="leaf Tensor"):
        optim.SGD([w * 2], lr=0.1)


def test_create_graph_gives_differentiable_tensor_grads():
    x = Tensor([0.5, 1.5], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.grad_fn is not None
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.value, 6 * x.value, rtol=1e-15)


def test_adam_skips_parameters_without_gradients_as_torch_does():
    w0, b0 = np.array([[0.5, -1.0], [2.0, 0.25]]), np.array([0.1, -0.2])
    w, b = Tensor(w0, requires_grad=True), Tensor(b0, requires_grad=True)
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    opt, topt = optim.Adam([w, b], lr=0.1), torch.optim.Adam([tw, tb], lr=0.1)
    for step in range(4):
        opt.zero_grad()
        topt.zero_grad()
        uses_b = step % 2 == 0  # b gets a gradient every other step only
        (ac.tanh(w @ b if uses_b else w.sum(axis=0)) ** 2).sum().backward()
        (torch.tanh(tw @ tb if uses_b else tw.sum(dim=0)) ** 2).sum().backward()
        opt.step()
        topt.step()
        # parameters of order 1 after a few updates: rounding differences stay within 1e-15 absolute
        np.testing.assert_allclose(w.value, tw.detach().numpy(), rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(b.value, tb.detach().numpy(), rtol=1e-14, atol=1e-15)
    assert opt.steps == [4, 2]
