"""Comparing numbers exactly enough.

Function exercises (decomposition, forward, reverse) compare with the floating-point error bound of the
instructor's reference (``expected``); ``DEFAULT_RTOL`` is the relative tolerance of everything else (the
variables kind, and a function exercise whose reference cannot be traced).

The tolerance is relative to the *scale* of a quantity, not only to its value: an adjoint that is a sum of
terms of size 1 that cancel to 1e-12 carries rounding errors of size 1e-16, far above 1e-9 of its own value.
The scale of an adjoint (a tangent) is the same backward (forward) pass run on absolute values of the local
derivatives, which bounds every term that was summed.
"""

from __future__ import annotations

import math
from typing import Any

from ..notation import fmt  # noqa: F401 - the checks' modules read the one number format from here

#: The default relative tolerance of an exercise spec (its one definition; see ``spec.DEFAULTS``).
DEFAULT_RTOL = 1e-9

#: A wrong value this close (relative) to the right one is a finite-difference or rounded answer, not a slip.
NEAR = 1e-3


def as_number(v: Any) -> float | None:
    """A float from collected value data (a float, or "nan"/"inf"/"-inf"); None for anything else."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return None


def finite(v: Any) -> bool:
    """``v`` is a float and finite: a student's value that can be compared at all."""
    return isinstance(v, float) and math.isfinite(v)


def close(received: float, expected: float, scale: float, rtol: float, atol: float) -> bool:
    """``received`` equals ``expected`` up to ``rtol`` times the larger of |expected| and ``scale``, plus
    atol."""
    if not (math.isfinite(received) and math.isfinite(expected)):
        return False
    bound = rtol * max(abs(expected), abs(scale)) + atol
    return abs(received - expected) <= bound


def near(received: float, expected: float, scale: float) -> bool:
    """Close but not exact: within ``NEAR`` relative (the tell-tale of finite differences or rounding)."""
    if not (math.isfinite(received) and math.isfinite(expected)):
        return False
    return abs(received - expected) <= NEAR * max(abs(expected), abs(scale), 1e-12)
