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
    """Adam (Kingma & Ba), with the same update, bias correction and order of operations as ``torch.optim.Adam``
    (so both give the same numbers). A parameter without a gradient is skipped and keeps its own step count.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.steps = [0] * len(self.params)
        # The moments of all parameters live in two flat buffers, so that a step is a dozen numpy operations for
        # the whole model rather than a dozen per parameter; self.m[i] and self.v[i] view parameter i's part.
        sizes = [p.value.size for p in self.params]
        dtype = np.result_type(*(p.value.dtype for p in self.params)) if self.params else np.float64
        self._m = np.zeros(sum(sizes), dtype)
        self._v = np.zeros(sum(sizes), dtype)
        bounds = np.cumsum([0, *sizes])
        self._parts = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        self.m = [self._m[part].reshape(p.value.shape) for part, p in zip(self._parts, self.params)]
        self.v = [self._v[part].reshape(p.value.shape) for part, p in zip(self._parts, self.params)]

    @property
    def t(self) -> int:
        """Steps taken (by the parameter that took the most)."""
        return max(self.steps, default=0)

    def step(self) -> None:
        grads = [p.grad for p in self.params]
        n = len(self.params)
        if n and all(g is not None for g in grads) and self.steps.count(self.steps[0]) == n:
            t = self.steps[0] + 1
            g = np.concatenate([g.value.ravel() for g in grads])
            update = self._update(self._m, self._v, g, t)
            for p, part in zip(self.params, self._parts):
                p.value -= update[part].reshape(p.value.shape)
            self.steps = [t] * n
            return
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if g is None:
                continue
            self.steps[i] += 1
            p.value -= self._update(self.m[i], self.v[i], g.value, self.steps[i])

    def _update(self, m, v, g, t: int):
        """Update the moments m, v in place with gradient g at step t; return the step to subtract."""
        b1, b2 = self.beta1, self.beta2
        m += (1 - b1) * (g - m)  # PyTorch's lerp: the same m as b1 * m + (1 - b1) * g, rounded alike
        v *= b2
        v += (1 - b2) * (g * g)
        denom = np.sqrt(v)
        denom /= math.sqrt(1 - b2 ** t)
        denom += self.eps
        update = m / denom
        update *= self.lr / (1 - b1 ** t)
        return update
