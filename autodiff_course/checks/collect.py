"""collect: run a student's code and return only plain, JSON-safe data about what it did.

This half runs in the student's process (a sandboxed child in the grader, the kernel in a notebook), so
nothing it returns is trusted: ``judge`` recomputes everything it can. It never raises for a student's
mistake; their exceptions, wrong return values and endless loops are recorded in the data.

The raw data (format ``autodiff-course.raw/1``)::

    {"format", "exercise", "kind", "status": "ok"|"error", "message", "timed_out": bool,
     "points": [{"inputs": [...],
                 "returned": {"tuple": bool, "items": [value, ...]} | None,   # the plain run
                 "error": {type, message, line, source} | None,
                 "graph": Graph.to_dict() | None, "output_index": int | None,  # the traced run
                 "trace_error": {...} | None,
                 "locals": {name: value},
                 "traced_returned": [value, ...]}],                           # what the traced run returned
     "fresh": [...],          # records of the same shape at the fresh points (never scored): present once
                              # every test point was collected
     "source": {"text", "first_line"} | None,  # the function's own text, read (never run) by the judge
     "too_large": int,        # only when the answer made more than this many operations (points stop there)
     "parents": ...,          # graph kind: the student's dict of parents
     "variables": {...},      # variables kind: snapshots by name
     "cells": [text, ...]}    # variables kind with `by_hand` or an `autograd` expectation: the cells the
                              # session ran, in order (or None)

A value is a float, one of the strings "nan", "inf", "-inf", or ``{"type": name, "repr": text}`` for
something that is not a number.
"""

from __future__ import annotations

import contextlib
import inspect
import linecache
import math
import traceback
from typing import Any, Callable

import numpy as np

from ..engine import primitives as P
from ..engine.state import by_hand
from ..graph import Graph
from ..graph.tracing import GraphTooLarge, run_traced
from .kinds import FUNCTION_KINDS, KINDS
from .points import fresh_points, test_points
from .provenance import records_history
from .spec import MAX_OPERATIONS
from .timeout import CheckTimeout, time_limit

RAW_FORMAT = "autodiff-course.raw/1"
_REPR_CHARS = 200


#: The only fields of an exercise spec that ``collect`` reads. Everything else (the reference, expectations,
#: the domain, feedback settings) stays with the trusted judge.
COLLECT_FIELDS = ("id", "kind", "function", "variable", "variables", "time_limit", "args", "by_hand")


#: The key of a collect spec that the student's running notebook must never hold: the batch grader
#: (`grading.worker`) sends it only to the state the test cell left, once every cell has run (see
#: `join_hidden`). The fresh points are shown to students and stay with the visible ones.
HIDDEN_FIELDS = ("hidden_points",)


def collect_spec(spec: dict) -> dict:
    """The part of ``spec`` that untrusted code may see: what to run and where, never what is right.

    The points are computed here, on the trusted side, and sent as plain lists, so the student's process
    needs neither the reference nor the domain: ``test_points`` the visible ones, ``hidden_points`` the
    hidden and random ones (only as many as the kind runs at: a graph exercise is traced at its first
    point), ``fresh_points`` the fresh ones (never scored, see ``points.fresh_points``).
    ``collect(collect_spec(s), ns)`` returns the same data as ``collect(s, ns)``.
    """
    out = {k: spec[k] for k in COLLECT_FIELDS if k in spec}
    if spec.get("kind") == "variables" and records_history(spec):
        # The expectations stay with the judge; the collector only learns that it records the cells.
        out["history"] = True
    if spec.get("kind") in FUNCTION_KINDS:
        visible = test_points(spec, hidden=False)
        hidden = test_points(spec, hidden=True)[len(visible):]
        if spec.get("kind") == "graph":
            hidden = hidden[:max(0, 1 - len(visible))]
        out["test_points"] = visible
        out["hidden_points"] = hidden
        out["fresh_points"] = fresh_points(spec)
    return out


def split_spec(spec: dict) -> tuple[dict, dict]:
    """``(visible, hidden)``: a collect spec without its `HIDDEN_FIELDS` (what the running notebook may hold)
    and those fields (empty when the exercise has none)."""
    hidden = {k: spec[k] for k in HIDDEN_FIELDS if spec.get(k)}
    return {k: v for k, v in spec.items() if k not in HIDDEN_FIELDS}, hidden


def visible_spec(visible: dict) -> dict:
    """The spec that collects an exercise at its visible points only (its fresh points come after the hidden
    ones are taken apart, `rest_spec`)."""
    return {**visible, "fresh_points": []}


def rest_spec(visible: dict, seconds_used: float, hidden: dict | None = None) -> dict:
    """The spec that collects the rest of an exercise once its visible points took ``seconds_used`` of its time
    limit, in the state they left: its hidden points (``hidden``, its `HIDDEN_FIELDS`), or without ``hidden``
    its fresh points (never scored: their data only joins the visible one, `with_fresh`)."""
    limit = float(visible.get("time_limit", 10))
    points = list(hidden.get("hidden_points") or []) if hidden is not None else []
    fresh = list(visible.get("fresh_points") or []) if hidden is None else []
    return {**visible, "test_points": points, "fresh_points": fresh, "time_limit": max(0.01, limit - seconds_used)}


def with_fresh(visible: dict, rest) -> dict:
    """The visible collection of an exercise with the fresh points of ``rest`` (collected by a `rest_spec`
    without hidden points): whatever went wrong there costs nothing, the fresh points only illustrate."""
    if isinstance(rest, dict) and isinstance(rest.get("fresh"), list) and rest["fresh"]:
        return {**visible, "fresh": rest["fresh"]}
    return visible


def needs_hidden(raw) -> bool:
    """Whether the data of an exercise's visible collection goes on at its hidden points: not after a
    failure, a timeout, an answer over the size limit or no function (one collect would stop there too)."""
    return (isinstance(raw, dict) and raw.get("status") == "ok" and not raw.get("timed_out")
            and not raw.get("too_large") and raw.get("function_error") is None
            and isinstance(raw.get("points"), list))


def join_hidden(visible: dict, hidden) -> dict:
    """The data one collect at every point returns, from an exercise's visible collection (`visible_spec`, with
    its fresh points joined, `with_fresh`) and the collection of its hidden points (`rest_spec` with
    ``hidden``): both untrusted, the judge checks every record against its own points."""
    if not needs_hidden(visible):
        return visible
    if isinstance(hidden, dict) and set(hidden) == {"status", "message"} and hidden["status"] in ("error", "timeout"):
        return dict(hidden)  # the collection itself failed (or its data was over the notebook's budget)
    if not isinstance(hidden, dict) or not isinstance(hidden.get("points"), list):
        return {"status": "error", "message": "the data collected at the hidden test points is malformed"}
    out = dict(visible)
    out["points"] = visible["points"] + hidden["points"]
    for key in ("status", "message", "timed_out", "too_large"):
        if key in hidden:
            out[key] = hidden[key]
    if not needs_hidden(out):
        out.pop("fresh", None)  # one collect stops before its fresh points there
    return out


def collect(spec: dict, namespace: dict) -> dict:
    """Run the student's code that ``spec`` names (looked up in ``namespace``) and return plain data.

    Enforces ``spec["time_limit"]`` seconds (default 10) for the whole check. Never raises for student errors;
    a failure of the collector itself is reported as ``status == "error"`` with a message.
    """
    kind = spec.get("kind")
    raw: dict[str, Any] = {
        "format": RAW_FORMAT,
        "exercise": str(spec.get("id")),
        "kind": kind,
        "status": "ok",
        "message": "",
        "timed_out": False,
    }
    limit = spec.get("time_limit", 10)
    try:
        with time_limit(limit):
            if kind in KINDS:
                KINDS[kind].collect()(spec, namespace, raw)
            else:
                raw["status"] = "error"
                raw["message"] = f"unknown exercise kind {kind!r}"
    except CheckTimeout:
        if "fresh" not in raw:
            raw["timed_out"] = True
            raw["message"] = f"your code ran for more than {float(limit):g} s (the time limit of this check)"
        # Else every test point was collected in time: the fresh points only illustrate feedback, so the
        # ones not reached are left out and the verdict is the same.
    except Exception as exc:  # noqa: BLE001 - the collector's own failure is data, never a traceback
        raw["status"] = "error"
        raw["message"] = (
            f"the checker could not collect exercise {spec.get('id')!r}: {type(exc).__name__}: {exc}"
        )
    return raw


# -- function kinds -----------------------------------------------------------------------------------------
def collect_function(spec: dict, namespace: dict, raw: dict) -> None:
    """The collect half of the function kinds: the plain and the traced run at every test point."""
    name = spec.get("function")
    fn = namespace.get(name) if isinstance(name, str) else None
    raw["points"] = []
    if fn is None or not callable(fn):
        what = "is not defined" if fn is None else f"is a {type(fn).__name__}, not a function"
        raw["function_error"] = {
            "type": "NameError" if fn is None else "TypeError",
            "message": f"`{name}` {what}: run the cell that defines it first",
            "line": None,
            "source": None,
        }
    if spec.get("kind") == "graph":
        raw["parents"] = _parents_data(namespace.get(spec.get("variable")), spec.get("variable"))
    if fn is None or not callable(fn):
        return
    raw["source"] = _source(fn)
    points = test_points(spec, hidden=True)
    if spec.get("kind") == "graph":
        points = points[:1]
    try:
        for point in points:
            raw["points"].append(_run_at(spec, fn, point))
    except GraphTooLarge:
        # Past the judge's size limit: no graph to send, and the other points would stop there too.
        raw["too_large"] = MAX_OPERATIONS
        return
    fresh = fresh_points(spec) if spec.get("kind") != "graph" else []
    if fresh:
        # After every test point, so the time the fresh points take can never cost a scored one.
        raw["fresh"] = []
        for point in fresh:
            try:
                raw["fresh"].append(_run_at(spec, fn, point))
            except GraphTooLarge:  # only illustrations: the ones before it are kept
                break


def _run_at(spec: dict, fn: Callable, point) -> dict:
    """The record of the plain and the traced run of ``fn`` at ``point``. Raises GraphTooLarge when the
    traced run passes the size limit."""
    record: dict[str, Any] = {
        "inputs": list(point),
        "returned": None,
        "error": None,
        "graph": None,
        "output_index": None,
        "trace_error": None,
        "locals": {},
    }
    # A forward or reverse answer writes its derivatives itself: the engine's grad/backward refuse to run
    # for it (the same answer through the engine's differentiation would earn the marks of one by hand).
    with by_hand() if spec.get("kind") in ("forward", "reverse") else contextlib.nullcontext():
        _plain_run(fn, point, record)
        _traced_run(fn, point, record)
    return record


def _source(fn: Callable) -> dict | None:
    """The text of the student's function and its first line (for the judge to read what a line says)."""
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return None
    return {"text": "".join(lines)[:50_000], "first_line": first}


def returned_items(returned) -> list | None:
    """The values a function returned as several (a tuple, a list, or a one-dimensional numpy array such as
    ``np.array([v8, vbar0, ...])``, all honest ways to return many numbers); None for a single value."""
    if isinstance(returned, (tuple, list)):
        return list(returned)
    if isinstance(returned, np.ndarray) and returned.ndim == 1:
        return list(returned)
    return None


def _plain_run(fn: Callable, point, record: dict) -> None:
    try:
        returned = fn(*[float(v) for v in point])
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the student's exception is their result
        record["error"] = error_record(exc, fn)
        return
    items = returned_items(returned)
    record["returned"] = {
        "tuple": items is not None,
        "items": [value_data(x) for x in (items if items is not None else [returned])],
    }


def _traced_run(fn: Callable, point, record: dict) -> None:
    try:
        run = run_traced(fn, [float(v) for v in point], max_operations=MAX_OPERATIONS)
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        record["trace_error"] = error_record(exc, fn)
        return
    items = returned_items(run.returned) or [run.returned]
    # What the traced run returned, beside its locals: a function that returns another value on plain numbers
    # (a branch on the inputs' type, state kept between calls) is told apart from one that returns another
    # variable than its own tangent.
    record["traced_returned"] = [value_data(x) for x in items[:MAX_TRACED_RETURNED]]
    index = next((i for i, x in enumerate(items) if _is_engine(x)), None)
    if index is not None:
        record["output_index"] = index
        try:
            record["graph"] = Graph.from_run(run, [items[index]]).to_dict()
        except Exception as exc:  # noqa: BLE001
            record["trace_error"] = {
                "type": type(exc).__name__,
                "message": str(exc),
                "line": None,
                "source": None,
            }
    locals_data = {}
    for key, value in run.locals.items():
        if isinstance(key, str) and _is_numberish(value):
            locals_data[key] = value_data(value)
    # The items of a list or an array (``vbar[4]`` of ``vbar = np.zeros(9)``), the entries of a dict
    # (``adj['v3']``) and the attributes of an object (``s.vbar3``): derivatives kept there.
    for key, item in run.tracer.held_locals({k: v for k, v in run.locals.items() if not _is_numberish(v)},
                                            _MAX_ITEM_LOCALS):
        if _is_numberish(item):
            locals_data[key] = value_data(item)
    record["locals"] = locals_data


#: How many of the traced run's returned values are recorded (an exercise returns y and its derivatives).
MAX_TRACED_RETURNED = 64
#: How many items of each list or array are recorded as locals (an exercise's derivatives are a few dozen; a
#: long list of numbers would only fill the data the grader receives, which is bounded).
_MAX_ITEM_LOCALS = 64


def _is_engine(x) -> bool:
    return hasattr(x, "_op") and hasattr(x, "_inputs")


def _is_numberish(x) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (int, float, np.integer, np.floating)) or _is_engine(x):
        return True
    return isinstance(x, np.ndarray) and x.dtype.kind in "iuf" and x.size == 1


def value_data(x) -> Any:
    """A returned value as plain data: a float (or "nan"/"inf"/"-inf"), else ``{"type", "repr"}``."""
    v = P.raw(x) if _is_engine(x) else x
    number = None
    if isinstance(v, (bool, np.bool_)):
        number = None
    elif isinstance(v, (int, float, np.integer, np.floating)):
        number = float(v)
    elif isinstance(v, np.ndarray) and v.dtype.kind in "iuf" and v.size == 1:
        number = float(v.reshape(-1)[0])
    elif type(v).__module__.startswith("torch") and hasattr(v, "numel") and hasattr(v, "item"):
        # A one-element torch tensor is a number too (a student may have reached for torch.sin).
        try:
            if v.numel() == 1 and not v.dtype.is_complex and v.dtype != _torch_bool():
                number = float(v.item())
        except Exception:  # noqa: BLE001 - an odd tensor is described below rather than read
            number = None
    if number is None:
        try:
            text = repr(x)
        except Exception:  # noqa: BLE001 - a student's __repr__ may raise
            text = f"<{type(x).__name__} object>"
        return {"type": type(x).__name__, "repr": text[:_REPR_CHARS]}
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return number


def _torch_bool():
    import torch

    return torch.bool


def error_record(exc: BaseException, fn: Callable | None) -> dict:
    """The student's exception as plain data, located at their own line (the deepest frame in their code)."""
    line, source = None, None
    filename = getattr(getattr(fn, "__code__", None), "co_filename", None)
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if filename is not None and frame.f_code.co_filename == filename:
            line = lineno
            source = linecache.getline(filename, lineno).strip() or None
    message = str(exc)
    return {"type": type(exc).__name__, "message": message[:1000], "line": line, "source": source}


def _parents_data(value, name) -> Any:
    """The student's dict of parents as ``{str: [str, ...]}``, or a description of what it was instead."""
    if value is None:
        return {"missing": True, "name": name}
    if not isinstance(value, dict):
        return {"type": type(value).__name__, "repr": repr(value)[:_REPR_CHARS]}
    out = {}
    for key, parents in list(value.items())[:1000]:
        if isinstance(parents, (str, bytes)) or not hasattr(parents, "__iter__"):
            parents = [parents]
        out[str(key)] = [str(p) for p in list(parents)[:100]]
    return {"dict": out}
