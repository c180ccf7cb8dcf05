"""The collect half of the variables check (PyTorch exercises): each named variable as plain data.

Runs in the student's process: torch tensors and engine Tensors/Scalars become their values, shape, dtype,
requires_grad, is_leaf, grad, grad_fn name and retains_grad; numbers, strings, bools, None, lists/tuples and
dicts become themselves (bounded), a ``grad_fn`` object its name. ``variables`` (the judge half) rebuilds them
as read-only snapshots.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import numpy as np

_MAX_ELEMENTS = 200_000
_MAX_ITEMS = 10_000
_MAX_DEPTH = 6
_REPR = 200


# -- collecting (student's process) ------------------------------------------------------------------------
def collect_variables(spec: dict, namespace: dict) -> dict:
    out = {}
    for name in spec.get("variables") or []:
        if name not in namespace:
            out[name] = {"kind": "missing"}
            continue
        try:
            out[name] = snapshot(namespace[name])
        except Exception as exc:  # noqa: BLE001 - a strange object is described, not a crash
            out[name] = {
                "kind": "object",
                "type": type(namespace[name]).__name__,
                "repr": f"<could not read it: {type(exc).__name__}>",
            }
    return out


def _plain_number(v):
    f = float(v)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else f


def _array_data(a: np.ndarray):
    if a.size > _MAX_ELEMENTS:
        raise ValueError(f"an array of {a.size} elements is too large to check")
    if a.dtype.kind == "b":
        return a.tolist()
    a = np.asarray(a, dtype=float)
    if np.all(np.isfinite(a)):
        return a.tolist()
    return np.vectorize(_plain_number, otypes=[object])(a).tolist() if a.ndim else _plain_number(a)


def _is_torch_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and hasattr(x, "requires_grad")


def _is_grad_fn(x) -> bool:
    return hasattr(x, "next_functions") and re.search(r"Backward\d*$", type(x).__name__) is not None


def snapshot(x: Any, depth: int = 0) -> dict:
    """Plain data describing ``x`` (see the module docstring)."""
    if depth > _MAX_DEPTH:
        return {"kind": "object", "type": type(x).__name__, "repr": "<nested too deeply>"}
    if x is None:
        return {"kind": "none"}
    if isinstance(x, (bool, np.bool_)):
        return {"kind": "bool", "value": bool(x)}
    if isinstance(x, (int, float, np.integer, np.floating)):
        return {"kind": "number", "value": _plain_number(x)}
    if isinstance(x, str):
        return {"kind": "str", "value": x[:10_000]}
    if _is_torch_tensor(x):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reading .grad of a non-leaf warns; it is exactly what we check
            t = x.detach().cpu()
            grad = x.grad
            return {
                "kind": "tensor",
                "values": _array_data(
                    t.numpy()
                    if t.dtype.is_floating_point or t.dtype == _torch_bool(x)
                    else t.double().numpy()
                ),
                "shape": list(x.shape),
                "dtype": str(x.dtype),
                "requires_grad": bool(x.requires_grad),
                "is_leaf": bool(x.is_leaf),
                "retains_grad": bool(getattr(x, "retains_grad", False)),
                "grad": None if grad is None else _array_data(grad.detach().cpu().double().numpy()),
                "grad_fn": None if x.grad_fn is None else type(x.grad_fn).__name__,
            }
    if _is_engine(x):
        value = np.asarray(x.value, dtype=float)
        grad = getattr(x, "grad", None)
        grad_fn = (
            getattr(x, "grad_fn", None)
            if hasattr(type(x), "grad_fn")
            else (x._op.grad_fn_name if getattr(x, "_op", None) is not None else None)
        )
        if grad_fn is not None and not isinstance(grad_fn, str):
            grad_fn = type(grad_fn).__name__
        grad_raw = getattr(grad, "value", grad)
        return {
            "kind": "tensor",
            "values": _array_data(value),
            "shape": list(value.shape),
            "dtype": "float64",
            "requires_grad": bool(x.requires_grad),
            "is_leaf": getattr(x, "_op", None) is None,
            "retains_grad": bool(getattr(x, "_retain", False)),
            "grad": None if grad_raw is None else _array_data(np.asarray(grad_raw, dtype=float)),
            "grad_fn": grad_fn,
        }
    if isinstance(x, np.ndarray):
        return {
            "kind": "tensor",
            "values": _array_data(x),
            "shape": list(x.shape),
            "dtype": str(x.dtype),
            "requires_grad": False,
            "is_leaf": True,
            "retains_grad": False,
            "grad": None,
            "grad_fn": None,
            "numpy": True,
        }
    if _is_grad_fn(x):
        return {"kind": "str", "value": type(x).__name__}
    if isinstance(x, (list, tuple)) or type(x).__name__ == "Size":
        items = list(x)[:_MAX_ITEMS]
        return {
            "kind": "list",
            "tuple": not isinstance(x, list),
            "items": [snapshot(i, depth + 1) for i in items],
        }
    if isinstance(x, dict):
        return {
            "kind": "dict",
            "items": {str(k): snapshot(v, depth + 1) for k, v in list(x.items())[:_MAX_ITEMS]},
        }
    try:
        text = repr(x)[:_REPR]
    except Exception:  # noqa: BLE001
        text = f"<{type(x).__name__} object>"
    return {"kind": "object", "type": type(x).__name__, "repr": text}


def _torch_bool(x):
    import torch

    return torch.bool


def _is_engine(x) -> bool:
    return type(x).__module__.startswith("autodiff_course") and hasattr(x, "_op") and hasattr(x, "value")


def collect_into(spec: dict, namespace: dict, raw: dict) -> None:
    """The collect half of the variables kind (see ``kinds``)."""
    raw["variables"] = collect_variables(spec, namespace)
    from .provenance import input_history, records_history

    if records_history(spec):
        # What the cells say, for the judge to tell a derivation from autograd's result and autograd's result
        # from a typed number (checks/provenance).
        raw["cells"] = input_history(namespace)
