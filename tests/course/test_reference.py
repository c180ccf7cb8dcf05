"""The trusted recomputations expectations call agree with PyTorch's autograd in float64.

PyTorch is the independent truth here: the helpers backpropagate by hand in numpy and never import torch.
Tolerances: both sides compute in float64 over at most a few thousand terms, so 1e-12 relative is ample.
"""
from __future__ import annotations

import numpy as np
import torch

from autodiff_course.course import reference

RTOL = 1e-12


def test_mlp_weight_grads_match_autograd_of_the_course_mlp():
    gen = torch.Generator().manual_seed(3)
    shape = [3, 7, 5, 1]
    weights = [torch.rand((a, b), generator=gen, dtype=torch.float64, requires_grad=True)
               for a, b in zip(shape, shape[1:], strict=False)]
    biases = [torch.rand(b, generator=gen, dtype=torch.float64, requires_grad=True) for b in shape[1:]]
    x = torch.rand((11, 3), generator=gen, dtype=torch.float64)
    y = torch.rand((11, 1), generator=gen, dtype=torch.float64)
    h = x
    for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = h @ w + b
        if k < len(weights) - 1:
            h = torch.sigmoid(h)
    loss = torch.nn.MSELoss()(h, y)
    loss.backward()
    as_numpy = [w.detach().numpy() for w in weights], [b.detach().numpy() for b in biases]
    grads = reference.mlp_weight_grads(*as_numpy, x.numpy(), y.numpy())
    assert len(grads) == 3
    for mine, theirs in zip(grads, weights, strict=True):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=RTOL, atol=0)
    assert abs(reference.mlp_loss(*as_numpy, x.numpy(), y.numpy()) - loss.item()) <= RTOL * loss.item()


def test_sequential_grads_match_autograd_including_units_the_relu_switches_off():
    torch.manual_seed(5)
    net = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32),
                              torch.nn.ReLU(), torch.nn.Linear(32, 1)).double()
    x = torch.rand(1, 10, dtype=torch.float64, requires_grad=True)
    net(x).backward()
    params = [p.detach().numpy() for p in net.parameters()]
    np.testing.assert_allclose(reference.sequential_input_grad(params, x.detach().numpy()), x.grad.numpy(),
                               rtol=RTOL, atol=1e-15)
    grads = reference.sequential_param_grads(params, x.detach().numpy())
    assert [g.shape for g in grads] == [tuple(p.shape) for p in net.parameters()]
    for mine, p in zip(grads, net.parameters(), strict=True):
        np.testing.assert_allclose(mine, p.grad.numpy(), rtol=RTOL, atol=1e-15)
    assert np.any(np.all(grads[0] == 0, axis=1)), "this seed must switch some first-layer units off"


def test_linear_model_loss_gradient_and_descent_match_autograd():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    y = torch.tensor([1.0, 1.5, 2.0], dtype=torch.float64)
    params = torch.tensor([1.0, 1.0], dtype=torch.float64)
    losses = []
    for _ in range(7):
        params = params.detach().requires_grad_(True)
        loss = ((y - (params[0] * x + params[1])) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        if len(losses) == 1:
            np.testing.assert_allclose(reference.linear_mse_grad([1.0, 1.0], x.numpy(), y.numpy()),
                                       params.grad.numpy(), rtol=RTOL)
            np.testing.assert_allclose(reference.linear_mse_loss([1.0, 1.0], x.numpy(), y.numpy()),
                                       loss.item(), rtol=RTOL)
        params = params - 0.05 * params.grad
    final, ref_losses = reference.linear_gd([1.0, 1.0], x.numpy(), y.numpy(), 0.05, 7)
    np.testing.assert_allclose(final, params.detach().numpy(), rtol=RTOL)
    np.testing.assert_allclose(ref_losses, losses, rtol=RTOL)
    # The numbers the notebook states: gradient (20/3, 3) at a = b = 1.
    np.testing.assert_allclose(reference.linear_mse_grad([1.0, 1.0], [1, 2, 3], [1, 1.5, 2]), [20 / 3, 3.0],
                               rtol=RTOL)


def test_helpers_accept_snapshot_like_objects_with_values():
    class Snap:
        def __init__(self, values):
            self.values = np.asarray(values)

    grad = reference.linear_mse_grad(Snap([1.0, 1.0]), Snap([1, 2, 3]), Snap([1, 1.5, 2]))
    np.testing.assert_allclose(grad, [20 / 3, 3.0], rtol=RTOL)
