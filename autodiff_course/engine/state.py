"""Global switches of the engine: whether operations are recorded, and the tracer (if one is running)."""

from __future__ import annotations

import functools


class _State:
    __slots__ = ("grad_enabled", "tracer")

    def __init__(self):
        self.grad_enabled = True
        self.tracer = None


STATE = _State()


class _GradMode:
    """Context manager and decorator that sets whether operations build a graph."""

    _enabled = True

    def __enter__(self):
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = self._enabled
        return self

    def __exit__(self, *exc):
        STATE.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Inside ``with no_grad():`` operations compute values only, as in PyTorch (e.g. for optimiser updates)."""

    _enabled = False


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad`` block."""

    _enabled = True


def is_grad_enabled() -> bool:
    return STATE.grad_enabled
