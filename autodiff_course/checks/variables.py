"""The judge half of the variables check (PyTorch exercises), on the trusted side.

``snapshot`` (the collect half) turned each named variable into plain data in the student's process;
``judge_variables`` rebuilds them as read-only ``Snapshot`` objects and evaluates each expectation's ``check``
and ``equals`` expressions (the instructor's, never the student's) over them, with the exercise's own data
(``instructor_data``) in place of the student's copies where the exercise owns it."""

from __future__ import annotations

import ast
import re
from types import SimpleNamespace
from typing import Any

import numpy as np

from .errors import InternalCheckError
from .numbers import fmt
from .snapshot import snapshot  # the judge reads instructor data through the same snapshot
from .spec import tolerances


# -- judging (trusted side) ----------------------------------------------------------------------------------
class Snapshot:
    """A tensor as it was in the student's notebook: ``values`` (ndarray), ``shape`` (tuple), ``dtype`` (str),
    ``requires_grad``, ``is_leaf``, ``grad`` (ndarray or None), ``grad_fn`` (name or None),
    ``retains_grad``."""

    __slots__ = ("values", "shape", "dtype", "requires_grad", "is_leaf", "grad", "grad_fn", "retains_grad")

    def __init__(self, d: dict):
        self.values = _to_array(d.get("values"))
        self.shape = tuple(int(s) for s in d.get("shape") or [])
        self.dtype = str(d.get("dtype"))
        self.requires_grad = bool(d.get("requires_grad"))
        self.is_leaf = bool(d.get("is_leaf"))
        self.retains_grad = bool(d.get("retains_grad"))
        self.grad = None if d.get("grad") is None else _to_array(d["grad"])
        self.grad_fn = d.get("grad_fn") if isinstance(d.get("grad_fn"), str) else None
        if self.values.shape != self.shape:
            raise ValueError("a tensor snapshot's values do not have its shape")

    def __len__(self):
        return self.shape[0] if self.shape else 0

    def __iter__(self):
        return iter(self.values)

    def __repr__(self):
        return f"tensor({fmt(self.values) if self.values.ndim == 0 else self.values.tolist()!r})"

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.values, dtype=dtype)

    def item(self):
        return self.values.reshape(-1)[0].item()


class Missing:
    """A variable the student's notebook did not define."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"<{self.name} is not defined>"


def _to_array(v) -> np.ndarray:
    def conv(x):
        if isinstance(x, list):
            return [conv(i) for i in x]
        if x in ("nan", "inf", "-inf"):
            return float(x)
        if isinstance(x, (bool, int, float)):
            return x
        raise ValueError("a value in a tensor snapshot is not a number")

    a = np.asarray(conv(v))
    if a.dtype.kind not in "biuf":
        raise ValueError("a tensor snapshot holds something other than numbers")
    return a if a.dtype.kind == "b" else a.astype(float)


def restore(d: Any) -> Any:
    """The trusted-side object of one snapshot. Raises ValueError for data collect could not have produced."""
    if not isinstance(d, dict):
        raise ValueError("a snapshot is not a dict")
    kind = d.get("kind")
    if kind == "none":
        return None
    if kind == "bool":
        return bool(d["value"])
    if kind == "number":
        v = d["value"]
        if v in ("nan", "inf", "-inf"):
            return float(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError("a number snapshot holds something else")
        return v
    if kind == "str":
        return str(d["value"])
    if kind == "tensor":
        return Snapshot(d)
    if kind == "list":
        items = [restore(i) for i in d.get("items") or []]
        return tuple(items) if d.get("tuple") else items
    if kind == "dict":
        return {str(k): restore(v) for k, v in (d.get("items") or {}).items()}
    if kind == "object":
        return f"<{d.get('type')} object: {d.get('repr')}>"
    if kind == "missing":
        return Missing("?")
    raise ValueError(f"unknown snapshot kind {kind!r}")


#: Modules an instructor's expression may call by name, filled by the layers above: the course registers its
#: trusted recomputations as ``reference`` (`autodiff_course.course.reference`), so an expectation can say
#: ``equals = "reference.mlp_weight_grads(...)"`` without the checks importing the course.
EXPRESSION_MODULES: dict[str, Any] = {}


def _namespace(snapshots: dict) -> dict:
    from .points import _names

    names = _names()
    names["__builtins__"] = {
        k: __builtins__[k] if isinstance(__builtins__, dict) else getattr(__builtins__, k)
        for k in (
            "len",
            "sorted",
            "list",
            "tuple",
            "abs",
            "min",
            "max",
            "sum",
            "all",
            "any",
            "float",
            "int",
            "str",
            "bool",
            "round",
            "set",
            "range",
            "zip",
            "isinstance",
            "True",
            "False",
            "None",
        )
    }
    names.update(EXPRESSION_MODULES)
    names.update(snapshots)
    return names


def _plain(x):
    """A value ready to compare: snapshots become their values; bool tensors of one element become bools."""
    if isinstance(x, Snapshot):
        if x.values.dtype.kind == "b" and x.values.size == 1:
            return bool(x.values.reshape(-1)[0])
        return x.values
    return x


def _culprit(check: str, names, got, want, rtol: float, atol: float) -> str | None:
    """The student variable a wrong part is blamed on: where the check is a list or tuple of expressions
    (``[y_grad_fn, z_grad_fn, l_grad_fn]``), the first variable of the first item whose value is not the
    expected one; otherwise (or when the values cannot be lined up) the first variable the check reads."""
    try:
        tree = ast.parse(check, mode="eval").body
    except SyntaxError:
        tree = None
    texts = [check]
    if (isinstance(tree, (ast.List, ast.Tuple)) and isinstance(got, (list, tuple))
            and isinstance(want, (list, tuple)) and len(got) == len(want) == len(tree.elts)):
        texts = [ast.unparse(e) for e, g, w in zip(tree.elts, got, want, strict=True)
                 if not matches(g, w, rtol, atol)] + texts
    return next((n for text in texts for n in re.findall(r"[A-Za-z_]\w*", text) if n in names), None)


def matches(got, want, rtol: float, atol: float) -> bool:
    """``got`` equals ``want``: numbers (and arrays, tensors, lists of numbers) within rtol/atol and of the
    same
    shape (or both of one element); bools, strings and None exactly; sequences item by item."""
    got, want = _plain(got), _plain(want)
    if isinstance(got, Missing) or isinstance(want, Missing):
        return False
    if want is None or got is None:
        return got is None and want is None
    if isinstance(want, (bool, np.bool_)) or isinstance(got, (bool, np.bool_)):
        return (
            isinstance(got, (bool, np.bool_))
            and isinstance(want, (bool, np.bool_))
            and bool(got) == bool(want)
        )
    if isinstance(want, str) or isinstance(got, str):
        return isinstance(got, str) and isinstance(want, str) and got == want
    if isinstance(want, dict) or isinstance(got, dict):
        return (
            isinstance(got, dict)
            and isinstance(want, dict)
            and got.keys() == want.keys()
            and all(matches(got[k], want[k], rtol, atol) for k in got)
        )
    a, b = _numeric(got), _numeric(want)
    if a is not None and b is not None:
        if a.shape != b.shape and not (a.size == 1 and b.size == 1):
            return False
        a, b = a.reshape(-1), b.reshape(-1)
        return bool(np.all((a == b) | np.isclose(a, b, rtol=rtol, atol=atol)))
    if isinstance(got, (list, tuple, np.ndarray)) and isinstance(want, (list, tuple, np.ndarray)):
        return len(got) == len(want) and all(
            matches(g, w, rtol, atol) for g, w in zip(got, want, strict=True)
        )
    try:
        return bool(got == want)
    except Exception:  # noqa: BLE001
        return False


def _numeric(x) -> np.ndarray | None:
    if isinstance(x, (bool, np.bool_, str)) or x is None:
        return None
    if isinstance(x, (int, float, np.integer, np.floating)):
        return np.asarray(float(x))
    if isinstance(x, np.ndarray):
        return x.astype(float) if x.dtype.kind in "iuf" else None
    if isinstance(x, (list, tuple)):
        try:
            flat = [_plain(i) for i in x]
            a = np.asarray(flat)
        except (ValueError, TypeError):
            return None
        return (
            a.astype(float) if a.dtype.kind in "iuf" and a.size == len(x) or a.dtype.kind in "iuf" else None
        )
    return None


def _short(x) -> str:
    x = _plain(x)
    if isinstance(x, (list, tuple)) and x:
        # A list of numbers reads as an array does ([-1.368595667, -0.1987139998]), never as numpy's reprs
        # (np.float64(-1.3685956669853934)); bools, texts and mixed lists stay as they are.
        try:
            numbers = np.asarray(x)
        except (ValueError, TypeError):
            numbers = None
        if numbers is not None and numbers.dtype.kind in "iuf":
            x = numbers.astype(float)
    if isinstance(x, np.ndarray):
        if x.size <= 6:
            return (
                fmt(x.item())
                if x.ndim == 0
                else "[" + ", ".join(fmt(v) for v in x.reshape(-1).tolist()) + "]"
            )
        return f"an array of shape {tuple(x.shape)}"
    if isinstance(x, float):
        return fmt(x)
    if isinstance(x, Missing):
        return "not defined"
    bounded = _bounded(x)
    text = repr(bounded) if not isinstance(bounded, str) or bounded != _NOT_A_NAME else bounded
    return text if len(text) <= 80 else text[:77] + "..."


#: What feedback shows for a text answer that is not a short name (see ``privacy.plausible_token``).
_NOT_A_NAME = "(not a grad_fn name)"


def _bounded(x):
    """``x`` with every text in it that is not a short identifier-like token replaced by ``_NOT_A_NAME``:
    a student's string may spell out what their code saw at hidden points, so it is not repeated."""
    from .privacy import token_or

    if isinstance(x, str):
        return token_or(x, _NOT_A_NAME)
    if isinstance(x, (list, tuple)):
        return type(x)(_bounded(i) for i in x)
    if isinstance(x, dict):
        return {_bounded(k): _bounded(v) for k, v in x.items()}
    return x


def _json_value(x):
    x = _plain(x)
    if isinstance(x, np.ndarray):
        return x.tolist() if x.size <= 1000 else f"array of shape {tuple(x.shape)}"
    if isinstance(x, (tuple, list)):
        return [_json_value(i) for i in x]
    if isinstance(x, Missing):
        return None
    if isinstance(x, str):
        return _bounded(x)
    if isinstance(x, (int, float, bool)) or x is None:
        return x
    return repr(_bounded(x))


def _names_read(expression: str, names) -> list[str]:
    """Those of ``names`` that ``expression`` reads as variables (never an attribute or a text in it), in
    the order it first reads them."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return []
    read = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id in names),
                  key=lambda node: (node.lineno, node.col_offset))
    return list(dict.fromkeys(node.id for node in read))


def _numbers_as_values(snapshots: dict, expressions: str) -> dict:
    """The student's plain numbers (and lists of numbers) that ``expressions`` read as ``<name>.values``,
    each as the tensor snapshot of the same values: ``dydx = x.grad.item()`` is the derivative autograd found,
    as honest as ``dydx = x.grad``, and an expectation on ``dydx.values`` takes it as it is."""
    out = {}
    for name in dict.fromkeys(re.findall(r"\b([A-Za-z_]\w*)\.values\b", expressions)):
        value = snapshots.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float, list, tuple)):
            continue
        try:
            values = np.asarray(value)
        except (ValueError, TypeError):  # a ragged list
            continue
        if values.dtype.kind not in "iuf":  # texts, None, bools, tensors inside: not a number's values
            continue
        out[name] = Snapshot({"values": values.tolist(), "shape": list(values.shape), "dtype": "float64",
                              "is_leaf": True})
    return out


def _uses_student_data(expression: str, names: list[str]) -> bool:
    """Whether an expectation's expression reads a student variable (else its failure is the config's)."""
    return any(word in names for word in re.findall(r"[A-Za-z_]\w*", expression))


def _and(names: list[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _instructor_data(spec: dict, snapshots: dict, rtol: float, atol: float) -> tuple[dict, list[str]]:
    """The exercise's own data (``instructor_data``: an expression of the ``reference`` module giving
    ``{name: value}``, what the notebook's locked cells create), and the names among the student's variables
    whose values differ from it (replaced or changed inputs)."""
    expression = spec.get("instructor_data")
    if not expression:
        return {}, []
    try:
        data = eval(str(expression), _namespace({}))  # noqa: S307 - the instructor's expression
    except Exception as exc:  # noqa: BLE001
        raise InternalCheckError(
            f"exercise {spec.get('id')!r}: instructor_data {expression!r} fails ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(data, dict):
        raise InternalCheckError(f"exercise {spec.get('id')!r}: instructor_data must give a dict of values")
    # Read like a student's variables (``x.values``, ``x.shape``): through the same snapshot.
    data = {str(k): restore(snapshot(v)) for k, v in data.items()}
    # A variable that is not defined is reported as missing, not as replaced.
    replaced = [n for n, v in data.items() if n in snapshots and not isinstance(snapshots[n], Missing)
                and not matches(snapshots[n], v, rtol, atol)]
    return data, replaced


def _history(raw: dict) -> list[str] | None:
    """The cells the student's session ran (see ``provenance``), or None where there is no readable history."""
    cells = raw.get("cells")
    return cells if isinstance(cells, list) and all(isinstance(c, str) for c in cells) else None


def _not_by_hand(spec: dict, cells: list[str] | None) -> dict[str, str]:
    """The exercise's ``by_hand`` variables that the student's cells take from autograd (see
    ``provenance``), each with the words naming what they read; none without a readable history."""
    from .provenance import machine_derived

    names = [str(n) for n in spec.get("by_hand") or []]
    return machine_derived(cells, names) if names and cells is not None else {}


def _by_hand_words(check: str, not_by_hand: dict[str, str], told: set[str], shown: str
                   ) -> tuple[str, str] | None:
    """The message and mistake of a part that reads a variable the exercise asks to derive by hand and the
    student's cells compute from autograd, or None. The reason is given once per variable (``told``
    collects the ones given); its later parts say only that they are not credited. ``shown``: the part's
    name in the message (a hidden expectation's text is never shown)."""
    name = next((n for n in re.findall(r"[A-Za-z_]\w*", check) if n in not_by_hand), None)
    if name is None:
        return None
    if name in told:
        return f"{shown}: not credited: `{name}` is taken from autograd, not derived by hand.", "not-by-hand"
    told.add(name)
    return (f"{shown}: `{name}` is not derived by hand: your cells compute it from {not_by_hand[name]}, which "
            "is autograd's result. This exercise asks you to work the derivative out with the chain rule "
            "yourself; autograd is there to check it afterwards.", "not-by-hand")


def _autograd_words(e: dict, check: str, names: list[str], got, snapshots: dict, rtol: float,
                    atol: float, shown: str, cells: list[str] | None) -> tuple[str, str] | None:
    """For an expectation whose exercise asks for autograd's result (``autograd = "x.grad"``: where autograd
    leaves it, read on the student's own variables), the message and mistake when the value checked is not
    what autograd left there, or is a typed number or a formula that the student's ``cells`` compute without
    autograd (the same numbers as ``.grad`` after backward(), yet not read from it); None otherwise (also
    for expectations without ``autograd``, and, for the second, without a history of cells)."""
    where = e.get("autograd")
    if not where:
        return None
    where = str(where)
    name = next((n for n in re.findall(r"[A-Za-z_]\w*", check) if n in names), check)
    try:
        source = eval(where, _namespace(snapshots))  # noqa: S307 - the instructor's expression over plain data
    except Exception:  # noqa: BLE001 - the student's variables do not hold it (not a tensor, not a list)
        source = None
    if source is None or isinstance(source, Missing):
        return (f"{shown}: `{name}` does not come from autograd: `{where}` is empty, so backward() did not "
                f"compute it. This exercise asks for the gradient PyTorch computes: call backward() and read "
                f"`{where}`, rather than typing the values or a formula for them.", "not-from-autograd")
    if not matches(got, source, rtol, atol):
        return (f"{shown}: `{name}` is not autograd's result: `{where}` holds other values, so `{name}` was "
                "computed another way. This exercise asks for the gradient PyTorch computes: read it from "
                f"`{where}` after backward().", "not-from-autograd")
    if cells is not None:
        from .provenance import derived_without_autograd

        # The variables the part reads, not those autograd's own place names (`x` of `x.grad`).
        own = set(_names_read(where, names))
        typed = derived_without_autograd(cells, [n for n in _names_read(check, names) if n not in own])
        if typed:
            return (f"{shown}: `{typed[0]}` is not read from autograd: your cells set it to a typed number or a "
                    f"formula, not to what backward() left in `{where}`. This exercise asks for the gradient "
                    f"PyTorch computes: call backward() and read `{typed[0]}` from `{where}`.", "not-from-autograd")
    return None


def judge_variables(spec: dict, raw: dict):
    from .errors import MalformedRawError
    from .judge import Findings
    from .unanswered import unanswered_variables

    data = raw.get("variables")
    if not isinstance(data, dict):
        raise MalformedRawError("no snapshots of variables")
    names = list(spec.get("variables") or [])
    snapshots: dict[str, Any] = {}
    for name in names:
        d = data.get(name)
        if d is None:
            raise MalformedRawError(f"no snapshot of {name!r}")
        try:
            value = restore(d)
        except (ValueError, TypeError, KeyError) as exc:
            raise MalformedRawError(f"the snapshot of {name!r} is malformed ({exc})") from None
        snapshots[name] = Missing(name) if isinstance(value, Missing) else value
    expectations = spec.get("expect") or []
    if not expectations:
        raise InternalCheckError(f"exercise {spec.get('id')!r} has no expectations")
    rtol, atol = tolerances(spec)
    instructor, replaced = _instructor_data(spec, snapshots, rtol, atol)
    # ``student.<name>`` is always the student's own variable, also where the exercise's data stands in for
    # ``<name>`` (an expectation on what the student did with it: ``reference.allclose(student.x.grad, ...)``).
    student = SimpleNamespace(**snapshots)
    cells = _history(raw)
    not_by_hand, told = _not_by_hand(spec, cells), set()
    show = bool(spec.get("show_expected", True))
    total = sum(float(e.get("weight", 1)) for e in expectations)
    found = Findings()
    rows, messages, mistakes = found.rows, found.messages, found.mistakes
    earned = 0.0
    received, expected, wrong = {}, {}, []
    on_replaced: list[str] = []  # the replaced inputs that a wrong part was computed on
    hidden_count = 0
    for e in expectations:
        check, equals = str(e.get("check")), str(e.get("equals"))
        weight = float(e.get("weight", 1))
        hint = str(e.get("hint") or "")
        # A hidden expectation is named "hidden check N (its variables)" wherever a student could read it (its
        # row, every message, the received values): its expression and expected value would tell what the
        # hidden tests test. The student's own value and the instructor's hint (words written for the student)
        # are shown. The instructor's report reads the same result, so it says the same.
        hidden = bool(e.get("hidden"))
        if hidden:
            hidden_count += 1
        # It names the student's own variables the expression reads (the test cell lists them in `variables=`,
        # so they tell nothing of the hidden test): "hidden check 3 (x_grad_derived)".
        read = _names_read(check, names)
        shown = (f"hidden check {hidden_count}" + (f" ({', '.join(read)})" if read else "")) if hidden else check
        missing = [
            n for n in names if isinstance(snapshots[n], Missing) and re.search(rf"\b{re.escape(n)}\b", check)
        ]
        row = {"part": shown, "label": shown, "weight": weight}
        got = want = None
        if missing:
            ok, got_text = False, None
            why = f"`{missing[0]}` is not defined in your notebook (run the cell that creates it)."
            code = "missing-variable"
        else:
            values = {**snapshots, **_numbers_as_values(snapshots, check + "\n" + equals)}
            try:
                got = eval(check, _namespace(values))  # noqa: S307 - the instructor's expression over plain data
            except Exception as exc:  # noqa: BLE001 - the student's data did not fit the expression
                got, got_exc = None, exc
            else:
                got_exc = None
            try:
                # Expected values come from the instructor's data where the exercise owns it.
                want = eval(equals, {**_namespace(values), **instructor, "student": student})  # noqa: S307
            except Exception as exc:  # noqa: BLE001 - computed from the student's variables, which may not fit
                want, want_exc = None, exc
            else:
                want_exc = None
            for text, exc in ((check, got_exc), (equals, want_exc)):
                if exc is not None and not _uses_student_data(text, names):
                    raise InternalCheckError(
                        f"exercise {spec.get('id')!r}: the expression {text!r} fails without reading any "
                        f"student variable ({type(exc).__name__}: {exc}); the grader config is wrong"
                    ) from None
            if got_exc is not None:
                ok, code = False, "wrong"
                why = (
                    f"`{shown}` could not be evaluated on your variables "
                    f"({type(got_exc).__name__})."
                )
                got_text = None
            elif want_exc is not None:
                ok, code = False, "wrong"
                why = (
                    f"the expected value could not be computed from your variables "
                    f"({type(want_exc).__name__})."
                )
                got_text = _short(got)
            else:
                ok = matches(got, want, rtol, atol)
                code = "wrong"
                got_text = _short(got)
                why = ""
                received[shown] = _json_value(got)
                if show and not hidden:
                    expected[check] = _json_value(want)
                    row["expected"] = _short(want)
            row["received"] = got_text if got_text is not None else "(error)"
        provenance = None
        if not missing:
            provenance = _by_hand_words(check, not_by_hand, told, shown) or (
                _autograd_words(e, check, names, got, snapshots, rtol, atol, shown, cells) if ok else None)
        if provenance is not None:
            ok = False
        row.update(ok=ok, status="ok" if ok else "wrong")
        if ok:
            earned += weight
        elif provenance is not None:
            msg, code = provenance
        else:
            msg = f"{shown}: {hint}" if hint else f"{shown} is not right."
            if why:
                msg += f" ({why})"
        if not ok:
            swapped = [n for n in replaced if re.search(rf"\b{re.escape(n)}\b", equals + " " + check)]
            if swapped:
                one = len(swapped) == 1
                msg += (f" Your {_and(swapped)} {'is' if one else 'are'} not the notebook's: "
                        f"{'it was' if one else 'they were'} replaced or changed after the cell that created "
                        f"{'it' if one else 'them'}, so the answer was computed on other data. Run the notebook's "
                        "cells again, in order.")
                code = "replaced-input"
                on_replaced += swapped
            row["message"] = msg
            messages.append(msg)
            mistakes.append(code)
            wrong.append(shown)
            if found.culprit is None:
                found.culprit = _culprit(check, names, got, want, rtol, atol)
        rows.append(row)
    if on_replaced:
        # The answer was computed on other data than the exercise's: a part that still holds (a shape, a flag)
        # is no evidence of the computation, so nothing is credited.
        earned = 0.0
        why = f"not credited: the answer was computed on a replaced {_and(list(dict.fromkeys(on_replaced)))}."
        for r in rows:
            if r["ok"]:
                r.update(ok=False, status="not-credited", message=f"{r['part']}: {why}")
                wrong.append(r["part"])
                messages.append(r["message"])
                mistakes.append("replaced-input")
    for r in rows:
        r.pop("weight", None)
    if (stub := unanswered_variables(spec, snapshots, rows, Missing)) is not None:
        return stub
    return found.result(spec, received=received, expected=expected, wrong=wrong,
                        score=earned / total if total else 0.0)


def judge_collected(spec: dict, raw: dict):
    """The judge half of the variables kind (see ``kinds``)."""
    from .judge import timeout_result

    if raw.get("timed_out"):
        return timeout_result(spec, raw)
    return judge_variables(spec, raw)
