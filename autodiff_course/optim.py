"""Optimisers that update leaf tensors in place from their ``.grad``, as ``torch.optim`` does."""

from __future__ import annotations

import math

import numpy as np

from .tensor import Tensor


class Optimizer:
    def __init__(self, params, lr: float):
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.is_leaf or not p.requires_grad:
                raise TypeError(f"parameter {i} must be a leaf Tensor with requires_grad=True")
        self.lr = lr

    def zero_grad(self) -> None:
        """Forget the gradients (set to None, as PyTorch does by default)."""
        for p in self.params:
            p.grad = None


class SGD(Optimizer):
    """p <- p - lr * grad."""

    def step(self) -> None:
        for p in self.params:
            if p.grad is not None:
                p.value -= self.lr * p.grad.value


class Adam(Optimizer):
    """Adam (Kingma & Ba), with the same update and bias correction as ``torch.optim.Adam``."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0
        self.m = [np.zeros_like(p.value) for p in self.params]
        self.v = [np.zeros_like(p.value) for p in self.params]

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size = self.lr / (1 - b1 ** self.t)
        root_c2 = math.sqrt(1 - b2 ** self.t)
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad.value
            # In place and in PyTorch's order of operations, so both give the same numbers.
            m += (1 - b1) * (g - m)  # PyTorch's lerp: the same m as b1 * m + (1 - b1) * g, rounded alike
            v *= b2
            v += (1 - b2) * (g * g)
            denom = np.sqrt(v)
            denom /= root_c2
            denom += self.eps
            update = m / denom
            update *= step_size
            p.value -= update
