"""Trusted recomputations that grader expectations call (`equals = "reference.mlp_weight_grads(...)[0]"`).

Each helper recomputes, in float64 numpy and by hand-written backpropagation, a quantity the students obtain
from PyTorch, starting only from the values of the tensors they leave behind, and regenerates the data the
notebooks' locked cells create from their seeds (``*_data``: torch only draws the same random numbers, it
computes nothing that is compared). Nothing here runs student code, so an answer is never compared with
itself. Arguments may be variable snapshots (anything
with a `.values` array), tensors' numpy arrays, or nested lists.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..checks.variables import EXPRESSION_MODULES

__all__ = [
    "allclose",
    "gradient",
    "linear_gd",
    "linear_mse_grad",
    "linear_mse_loss",
    "mlp_loss",
    "mlp_weight_grads",
    "sequential_input_grad",
    "sequential_param_grads",
    "autodiff_by_hand_mlp_data",
    "autograd_basics_a_data",
    "autograd_basics_network_data",
    "chain_rule_training_line_data",
    "doubling_factor",
    "tensors_grad_fn_vector_data",
    "worksheet_x_data",
]


def _array(value: Any) -> np.ndarray:
    """The float64 array behind a snapshot (`.values`), a tensor (`.detach()`), an array or a nested list."""
    values = getattr(value, "values", None)
    if values is not None and not callable(values):  # torch.Tensor.values is a method, a snapshot's an array
        return np.asarray(values, dtype=np.float64)
    if hasattr(value, "detach"):
        return np.asarray(value.detach().cpu().numpy(), dtype=np.float64)
    return np.asarray(value, dtype=np.float64)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def _mlp_forward(weights, biases, x):
    """Activations of the course's MLP: x @ W + b, sigmoid on hidden layers, identity on the output."""
    ws = [_array(w) for w in weights]
    bs = [_array(b) for b in biases]
    if len(ws) != len(bs):
        raise ValueError(f"the MLP has {len(ws)} weight matrices but {len(bs)} bias vectors")
    activations = [_array(x)]
    for layer, (w, b) in enumerate(zip(ws, bs, strict=True)):
        a = activations[-1] @ w + b
        activations.append(_sigmoid(a) if layer < len(ws) - 1 else a)
    return ws, activations


def mlp_loss(weights, biases, x, y) -> float:
    """Mean squared error of the MLP of notebook `autodiff_by_hand` on the batch (x, y)."""
    _, activations = _mlp_forward(weights, biases, x)
    return float(np.mean((activations[-1] - _array(y)) ** 2))


def mlp_weight_grads(weights, biases, x, y) -> list[np.ndarray]:
    """d(MSE loss)/d(weights[k]) for every layer k of the MLP of notebook `autodiff_by_hand`.

    The network computes h_{k+1} = sigmoid(h_k @ W_k + b_k) on hidden layers and h_k @ W_k + b_k on the last
    one; the loss is the mean over every element of (prediction - y)^2, as `torch.nn.MSELoss()` computes it.
    Raises ValueError if the shapes do not chain.
    """
    ws, activations = _mlp_forward(weights, biases, x)
    target = _array(y)
    prediction = activations[-1]
    if prediction.shape != target.shape:
        raise ValueError(f"prediction has shape {prediction.shape} but the targets have {target.shape}")
    delta = 2.0 * (prediction - target) / prediction.size  # d loss / d (pre-activation of the last layer)
    grads: list[np.ndarray] = [np.empty(0)] * len(ws)
    for layer in range(len(ws) - 1, -1, -1):
        grads[layer] = activations[layer].T @ delta
        if layer > 0:
            h = activations[layer]
            delta = (delta @ ws[layer].T) * h * (1.0 - h)
    return grads


def _sequential_forward(params, x):
    """nn.Sequential(Linear, ReLU, Linear, ReLU, ..., Linear) with PyTorch's layout: y = x @ W.T + b."""
    arrays = [_array(p) for p in params]
    if len(arrays) % 2:
        raise ValueError(f"expected (weight, bias) pairs, got {len(arrays)} parameter tensors")
    layers = [(arrays[i], arrays[i + 1]) for i in range(0, len(arrays), 2)]
    pre, post = [], [_array(x)]
    for index, (w, b) in enumerate(layers):
        a = post[-1] @ w.T + b
        pre.append(a)
        post.append(np.maximum(a, 0.0) if index < len(layers) - 1 else a)
    return layers, pre, post


def _sequential_backward(params, x):
    layers, pre, post = _sequential_forward(params, x)
    # backward() on a one-element output seeds it with 1; a sum over the output is the same seed everywhere.
    delta = np.ones_like(post[-1])
    param_grads: list[np.ndarray] = []
    for index in range(len(layers) - 1, -1, -1):
        w, _ = layers[index]
        param_grads[:0] = [delta.T @ post[index], delta.sum(axis=0)]
        delta = delta @ w
        if index > 0:
            # PyTorch's ReLU passes no gradient where its input is exactly 0; (a > 0) does the same.
            delta = delta * (pre[index - 1] > 0)
    return delta, param_grads


def sequential_input_grad(params, x) -> np.ndarray:
    """dy/dx for the ReLU network of notebook `autograd_basics`, given `list(net.parameters())` and x."""
    return _sequential_backward(params, x)[0]


def sequential_param_grads(params, x) -> list[np.ndarray]:
    """dy/d(parameter) for every parameter of that network, in `net.parameters()` order."""
    return _sequential_backward(params, x)[1]


def linear_mse_loss(params, x, y) -> float:
    """mean((a*x + b - y)^2) for params = (a, b), the loss of notebook `chain_rule_training`."""
    a, b = _array(params)
    return float(np.mean((a * _array(x) + b - _array(y)) ** 2))


def linear_mse_grad(params, x, y) -> np.ndarray:
    """(dL/da, dL/db) of `linear_mse_loss`, derived by hand: 2*mean(r*x), 2*mean(r) with r = a*x + b - y."""
    a, b = _array(params)
    xs, ys = _array(x), _array(y)
    residual = a * xs + b - ys
    return np.array([2.0 * np.mean(residual * xs), 2.0 * np.mean(residual)])


def linear_gd(params, x, y, alpha: float, epochs: int) -> tuple[np.ndarray, list[float]]:
    """Plain gradient descent on `linear_mse_loss`: the parameters after `epochs` steps of size `alpha`, and
    the loss measured before each step (the numbers a training loop prints)."""
    current = _array(params).copy()
    losses = []
    for _ in range(int(epochs)):
        losses.append(linear_mse_loss(current, x, y))
        current = current - alpha * linear_mse_grad(current, x, y)
    return current, losses


def gradient(expression: str, at) -> np.ndarray:
    """The gradient of ``expression``, a function of ``x0, x1, ...`` written as an exercise's ``reference`` is
    (numpy's functions as ``np.tanh``), at the point ``at`` (a snapshot, a tensor's values or a list of numbers),
    by this package's own reverse mode. An expectation can then check a PyTorch gradient against the function
    the exercise states, without its test cell spelling out the derivative (``equals = 'reference.gradient(
    "np.tanh(x0*x1) + x0/x1", x)'``). Raises ValueError for an expression that does not give one number."""
    from ..checks.errors import InternalCheckError
    from ..checks.points import reference_function
    from ..engine import grad

    point = _array(at).reshape(-1)
    names = [f"x{i}" for i in range(point.size)]
    try:
        f = reference_function({"id": "gradient", "reference": expression, "args": names})
        return np.array(grad(f, argnums=tuple(range(point.size)))(*map(float, point)), dtype=np.float64)
    except (InternalCheckError, TypeError) as exc:
        raise ValueError(f"reference.gradient({expression!r}, ...): {exc}") from None


# -- instructor-owned data: what the notebooks' locked cells create, regenerated here from their seeds ------
#: ``torch.allclose``'s default tolerances: a student asked to compare two gradients with it gets this answer.
ALLCLOSE_RTOL, ALLCLOSE_ATOL = 1e-5, 1e-8


def allclose(a, b) -> bool:
    """What ``torch.allclose(a, b)`` answers: ``|a - b| <= atol + rtol * |b|`` everywhere, with torch's default
    tolerances, shapes broadcast; NaN equals nothing. So a student's "do my gradients match?" is recomputed
    from the two gradients themselves, never believed. Raises ValueError for a missing gradient (None) or
    shapes that do not broadcast."""
    if a is None or b is None:
        raise ValueError("one of the gradients to compare is None")
    x, y = _array(a), _array(b)
    try:
        return bool(np.all(np.abs(x - y) <= ALLCLOSE_ATOL + ALLCLOSE_RTOL * np.abs(y)))
    except ValueError:
        raise ValueError(f"gradients of shapes {x.shape} and {y.shape} cannot be compared") from None


def _torch():
    import torch

    return torch


def autodiff_by_hand_mlp_data() -> dict:
    """The fixed batch notebook `autodiff_by_hand` creates in its locked cells (seed 0), ``x_batch`` and
    ``y_batch``, so an expectation never trusts the student's copies. (The weights are the student's: the
    notebook invites training them longer.)"""
    torch = _torch()
    inputs = torch.rand((1000, 3), generator=torch.Generator().manual_seed(0))
    targets = torch.sqrt(inputs[:, [0]] / inputs[:, [1]]) * torch.sin(inputs[:, [0]] * inputs[:, [1]]) * torch.exp(
        inputs[:, [2]])
    return {
        "x_batch": inputs[:100].numpy().astype(np.float64),
        "y_batch": targets[:100].numpy().astype(np.float64),
    }


def autograd_basics_a_data() -> dict:
    """The tensor ``a`` notebook `autograd_basics` creates in a locked cell (``torch.manual_seed(0)``, then
    ``torch.rand(10)``): Exercise 1 switches tracking on for these 10 numbers, not for new ones."""
    torch = _torch()
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(0)
        a = torch.rand(10)
    finally:
        torch.random.set_rng_state(state)  # the trusted side's own random state is left as it was
    return {"a": a.numpy().astype(np.float64)}


def autograd_basics_network_data() -> dict:
    """The network and input notebook `autograd_basics` creates in a locked cell (seed 1): ``net_params``
    (W1, b1, W2, b2, W3, b3 as PyTorch's default initialisation draws them) and ``x_net``."""
    torch = _torch()
    from torch import nn

    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(1)
        net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
        x_net = torch.rand(1, 10)
    finally:
        torch.random.set_rng_state(state)  # the trusted side's own random state is left as it was
    return {
        "net_params": [p.detach().numpy().astype(np.float64) for p in net.parameters()],
        "x_net": x_net.numpy().astype(np.float64),
    }


def chain_rule_training_line_data() -> dict:
    """The data of notebook `chain_rule_training`'s line fit: the locked cell's ``x`` and starting
    ``model_params`` (the targets ``y`` are the student's own first line of the answer)."""
    return {"x": np.array([1.0, 2.0, 3.0]), "model_params": np.array([1.0, 1.0])}


def worksheet_x_data() -> dict:
    """The ``x`` every exercise of notebook `worksheet` is computed on: ``torch.linspace(-5, 5, 21)``, which its
    first exercise asks for (its values are multiples of 0.5, the same in float32 and float64)."""
    return {"x": np.linspace(-5.0, 5.0, 21)}


def tensors_grad_fn_vector_data() -> dict:
    """The vector notebook `tensors_grad_fn`'s locked cell passes to ``y.backward(v)``, in float32 as torch
    makes it."""
    return {"v": _torch().tensor([0.1, 1.0, 0.0001]).numpy().astype(np.float64)}


def doubling_factor(x, bound: float = 1000.0) -> float:
    """dy/dx of notebook `tensors_grad_fn`'s locked cell ``y = x * 2``, then ``y = y * 2`` while the norm of
    ``y`` is under ``bound``: ``2**k``, the number of doublings found from ``x`` alone (the student's ``y`` is
    not read). Doubling is exact in float32, so only a norm within rounding of ``bound`` could count
    differently from torch. Raises ValueError for an ``x`` of norm 0, which the cell would double forever."""
    values = _array(x)
    norm = float(np.linalg.norm(values))
    if not norm > 0 or not np.isfinite(norm):
        raise ValueError(f"x has norm {norm}: the notebook's loop would never end")
    factor = 2.0
    while norm * factor < bound:
        factor *= 2.0
    return factor


# Expectations of the variables kind name this module `reference`; registering it here keeps the checks from
# importing the course (the package imports this module, so every grader has it).
EXPRESSION_MODULES["reference"] = sys.modules[__name__]
