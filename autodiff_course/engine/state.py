"""Global switches of the engine: whether operations are recorded, and the tracer (if one is running)."""

from __future__ import annotations

import functools


class _State:
    __slots__ = ("grad_enabled", "tracer", "by_hand")

    def __init__(self):
        self.grad_enabled = True
        self.tracer = None
        #: Set while a checker runs an answer that must compute its derivatives by hand.
        self.by_hand = False


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


class by_hand:
    """While this context is active, every way the package hands out a derivative refuses to run: ``grad``,
    ``vjp``, ``jvp``, ``backward`` and the backward pass itself, ``Graph.tangents``/``adjoints``/
    ``local_partials``, making a ``Dual`` or reading its tangent, a primitive's ``partial``/``jvp``/``vjp``/
    ``partials``, and ``numerical_gradient`` (so ``gradcheck``). A checker runs a hand-written forward or reverse
    answer in it (and only the answer: judging happens after), so an answer that asks the engine for its
    derivatives is told so instead of being graded as if written by hand. A ``.grad`` can only have been filled
    by a backward pass, which is refused here."""

    def __enter__(self):
        self._prev = STATE.by_hand
        STATE.by_hand = True
        return self

    def __exit__(self, *exc):
        STATE.by_hand = self._prev
        return False


def refuse_by_hand(what: str) -> None:
    """Raise ByHandError when ``what`` (the engine's differentiation) is called inside ``by_hand``."""
    if STATE.by_hand:
        from .errors import ByHandError

        raise ByHandError(
            f"{what} computes derivatives for you, but this exercise asks you to write each one yourself "
            "from the chain rule"
        )


def is_grad_enabled() -> bool:
    return STATE.grad_enabled
