"""Every error the engine raises. Each message names the operation (and, when tracing, the student's line)."""

from __future__ import annotations


class AutodiffError(Exception):
    """Base class of the engine's errors."""


class DomainError(AutodiffError, ValueError):
    """An operation was applied outside its domain (log of a negative number, division by zero, ...)."""


class MissingRuleError(AutodiffError, NotImplementedError):
    """A primitive has no derivative rule for the mode that asked for one."""

    def __init__(self, primitive: str, mode: str):
        self.primitive = primitive
        self.mode = mode
        super().__init__(f"primitive '{primitive}' has no {mode} rule")


class TraceError(AutodiffError):
    """Tracing met something that would make the recorded graph wrong (a Python `if` on a traced value, a
    conversion to a plain float, a call into a library the engine cannot follow)."""


class GraphFreedError(AutodiffError, RuntimeError):
    """A second backward pass went through a graph whose first pass did not ask to retain it."""


class ShapeError(AutodiffError, ValueError):
    """Operands whose shapes cannot be combined, or a gradient whose shape does not match its tensor."""


class ByHandError(AutodiffError):
    """An answer that must write its derivatives by hand called the engine's differentiation (``grad``,
    ``vjp``, ``jvp``, ``backward``) to compute them."""
