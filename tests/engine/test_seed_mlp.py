"""The MLP of seed notebook 000 ([3, 50, 50, 1], sigmoid, MSE, Adam lr 1e-2, batch 100) trains on the engine
alone, and its gradients equal PyTorch's (float64, same initial weights and batches) at each of the first 20
steps.

Tolerance 1e-10 relative to the largest gradient of each parameter: both engines compute the same sums of
products, but BLAS and PyTorch may add them in different orders (~1e-16 relative per operation); the Adam
updates feed those differences back into the weights, and 20 steps of training amplify them by orders of
magnitude at most (the initial weights are torch.rand, as in the notebook, so the first loss is in the
hundreds)."""

from __future__ import annotations

import numpy as np
import torch

import autodiff_course as ac
from autodiff_course import Tensor, optim

SHAPE = [3, 50, 50, 1]


def problem(seed=0, n=2000):
    rng = np.random.default_rng(seed)
    inputs = rng.random((n, 3))
    targets = np.sqrt(inputs[:, [0]] / inputs[:, [1]]) * np.sin(inputs[:, [0]] * inputs[:, [1]]) \
        * np.exp(inputs[:, [2]])
    weights = [rng.random((a, b)) for a, b in zip(SHAPE, SHAPE[1:])]
    biases = [np.zeros(b) for b in SHAPE[1:]]
    batches = rng.integers(0, n, (20, 100))
    return inputs, targets, weights, biases, batches


def forward(lib, x, ws, bs):
    for i in range(len(ws)):
        x = x @ ws[i] + bs[i]
        if i < len(ws) - 1:
            x = lib.sigmoid(x)
    return x


def test_seed_mlp_gradients_equal_pytorch_at_each_of_20_adam_steps():
    inputs, targets, w0, b0, batches = problem()
    ours = [Tensor(p, requires_grad=True) for p in w0 + b0]
    theirs = [torch.tensor(p, requires_grad=True) for p in w0 + b0]
    opt = optim.Adam(ours, lr=1e-2)
    topt = torch.optim.Adam(theirs, lr=1e-2)
    lossfn = torch.nn.MSELoss()
    losses = []
    for step, k in enumerate(batches):
        opt.zero_grad()
        pred = forward(ac, Tensor(inputs[k]), ours[:3], ours[3:])
        loss = ((pred - Tensor(targets[k])) ** 2).mean()
        loss.backward()

        topt.zero_grad()
        tpred = forward(torch, torch.tensor(inputs[k]), theirs[:3], theirs[3:])
        tloss = lossfn(tpred, torch.tensor(targets[k]))
        tloss.backward()

        assert abs(loss.item() / tloss.item() - 1) < 1e-10, step
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            expected = tp.grad.numpy()
            scale = np.abs(expected).max()
            np.testing.assert_allclose(p.grad.value, expected, rtol=1e-10, atol=1e-10 * scale,
                                       err_msg=f"step {step}, parameter {i}")
        opt.step()
        topt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 2  # it does train (the notebook's loss falls from ~600 as this one does)
