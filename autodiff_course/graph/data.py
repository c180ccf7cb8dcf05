"""The graph as plain data: its format tag, how values and parameters are encoded, how a number is shown.

Everything that crosses a process boundary or reaches a page goes through here, so the tag is written once and
every number a student reads (in feedback, in the stepper, in a graph's repr) is printed the same way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: The tag of ``Graph.to_dict()`` data (see docs/architecture.md for the layout).
FORMAT = "autodiff-course.graph/1"


def check_format(data: Any, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` unless ``data`` is a mapping tagged with this module's ``FORMAT``."""
    tag = data.get("format") if isinstance(data, dict) else None
    if tag != FORMAT:
        raise error(f"not a graph of format {FORMAT}: {tag!r}")


def encode_value(v):
    """A value as JSON-safe data: floats (nan/inf kept as floats) or nested lists."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.floating, np.integer)):
        return float(v)
    return v


def decode_value(v):
    """The inverse of ``encode_value``: a float, a float array for a (nested) list, or None."""
    return np.asarray(v, dtype=float) if isinstance(v, list) else (float(v) if v is not None else v)


def encode_param(v):
    """A primitive's parameter (an axis tuple, a slice, an index array) as JSON-safe data."""
    if isinstance(v, tuple):
        return {"tuple": [encode_param(x) for x in v]}
    if isinstance(v, slice):
        return {"slice": [v.start, v.stop, v.step]}
    if v is Ellipsis:
        return {"ellipsis": True}
    if isinstance(v, np.ndarray):
        return {"array": v.tolist()}
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def decode_param(v):
    """The inverse of ``encode_param``."""
    if isinstance(v, dict):
        if "tuple" in v:
            return tuple(decode_param(x) for x in v["tuple"])
        if "slice" in v:
            return slice(*v["slice"])
        if "ellipsis" in v:
            return Ellipsis
        if "array" in v:
            return np.asarray(v["array"])
    if isinstance(v, list):
        return tuple(v)
    return v


def _number(f: float, digits: int) -> str:
    if f == 0:
        return "0"  # also folds -0.0, which only confuses a student
    if math.isfinite(f) and f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    return format(f, f".{digits}g")


def format_number(value: Any, digits: int = 6) -> str:
    """A short text form of a value: ``digits`` significant digits for a number (integers without a decimal
    point), the elements of an array of at most four, the shape of a larger one; "" for None."""
    if value is None:
        return ""
    if type(value) is float or type(value) is int:  # the common case, without numpy's overhead
        return _number(float(value), digits)
    array = np.asarray(value)
    if array.ndim == 0:
        return _number(float(array), digits)
    if array.size <= 4:
        return "[" + ", ".join(format_number(x, digits) for x in array.reshape(-1)) + "]"
    return "array " + "\u00d7".join(str(n) for n in array.shape)
