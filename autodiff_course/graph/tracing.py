"""Tracing: run a student's plain Python/numpy function on engine values and record its graph, with every node
named by the student's own local variable.

What is traced: arithmetic operators, numpy ufuncs (``np.sin``, ``np.exp``, ``np.maximum``, ...), the engine's
functions (``autodiff_course.sin``) and the ``math`` module's functions (``math.sin`` or ``from math import sin``:
while tracing, the function's globals hold the engine's versions in their place, put back when the run ends).
What is not traced, and stops tracing with a TraceError that names the line: a Python ``if``/``while``/comparison on a
traced value (the graph would depend on the input), ``int()`` of a traced value, or a library that turns values
into plain numbers. ``float()`` and ``np.float64()`` keep a traced value traced (they do not change its value).
The replacements are made in the function's own globals (not a copy), so every helper, lambda, static method and
class of the same cell sees them too.
"""

from __future__ import annotations

import ast
import contextlib
import dis
import functools
import inspect
import linecache
import math
import operator
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..engine import primitives as P
from ..engine.errors import TraceError
from ..engine.scalar import Scalar
from ..engine.state import STATE
from ..engine.tensor import Tensor
from . import held
from .arrays import MAKERS, TracingArray, maker
from .graph import Graph


def _traced(value) -> bool:
    """``value`` is a traced value, or a list or tuple holding one (``math.fsum([v1, v2])``)."""
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, (Scalar, Tensor)) for v in value)
    return isinstance(value, (Scalar, Tensor))


def _no_rule(fn: Callable) -> Callable:
    """``fn``, a math function with no primitive, refusing a traced value with a message that names it (math
    would otherwise call ``float()`` on it, and the student would be told about a conversion they never wrote);
    on plain numbers it is ``fn`` itself."""

    def refusing(*args, **kwargs):
        if STATE.tracer is not None and any(_traced(a) for a in args):
            supported = ", ".join(sorted(f"math.{f.__name__}" for f in P.MATH_FUNCTIONS))
            raise TraceError(STATE.tracer.explain(
                f"`math.{fn.__name__}` has no derivative rule in autodiff_course, so it turned one of your values "
                f"into a plain number (the math functions that have one: {supported})"))
        return fn(*args, **kwargs)

    refusing.__name__ = fn.__name__
    refusing.__doc__ = fn.__doc__
    return refusing


#: math's functions with no primitive, and their refusing versions (``from math import erf`` is replaced too).
_MATH_REFUSALS = {fn: _no_rule(fn) for name, fn in vars(math).items()
                  if callable(fn) and not name.startswith("_") and fn not in P.MATH_FUNCTIONS}

def _math_log(x, base=None):
    """``math.log(x)`` or ``math.log(x, base)`` while tracing: a base is a division by its log (two nodes),
    as the engine's log takes one argument."""
    return P.log(x) if base is None else P.log(x) / P.log(base)


def _folding(fn: Callable, op: Callable, empty: float) -> Callable:
    """``math.fsum`` or ``math.prod`` while tracing: the items folded with ``op`` when one is traced (a sum
    of two values is one node, as ``a + b`` is; fsum's exact rounding changes a value by an ulp at most, far
    inside the checkers' bound), else ``fn`` itself."""

    def folding(iterable, *args, **kwargs):
        items = list(iterable)
        if STATE.tracer is None or not _traced(items) or args or kwargs:
            return fn(items, *args, **kwargs)
        return functools.reduce(op, items) if items else empty

    folding.__name__ = fn.__name__
    folding.__doc__ = fn.__doc__
    return folding


#: What a math function (by the module or imported from it) is while tracing: its primitive, or a refusal.
_MATH_TRACED = {**P.MATH_FUNCTIONS, math.log: _math_log, **_MATH_REFUSALS,
                math.fsum: _folding(math.fsum, operator.add, 0.0), math.prod: _folding(math.prod, operator.mul, 1)}

_MATH_SHIM = types.ModuleType("math", "math, with its functions replaced by the engine's while tracing")
_MATH_SHIM.__dict__.update({k: v for k, v in vars(math).items() if not k.startswith("__")})
for _fn, _traced_fn in _MATH_TRACED.items():
    _MATH_SHIM.__dict__[_fn.__name__] = _traced_fn


class _KeepValue(type):
    """The type of ``float``/``np.float64`` while tracing: calling it keeps a traced number traced (converting a
    number to a float does not change its value, so an honest ``float(np.cos(v0))`` keeps its place in the
    graph) and converts anything else as usual; ``isinstance(v, float)`` and ``issubclass`` still ask the real
    type."""

    def __call__(cls, x=0.0, *rest):
        if isinstance(x, Scalar) and not rest:
            return x
        return cls.converts(x, *rest)

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, cls.converts)

    def __subclasscheck__(cls, sub) -> bool:
        return issubclass(sub, cls.converts)


def _keep_value(convert: type) -> type:
    return _KeepValue(convert.__name__, (), {"converts": convert})


_FLOAT_SHIM = _keep_value(float)
_NUMPY_SHIM = types.ModuleType("numpy", "numpy, with float64 keeping traced values while tracing")
_NUMPY_SHIM.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})
_NUMPY_SHIM.__dict__["float64"] = _keep_value(np.float64)
def _real_type(x):
    return x.converts if isinstance(x, _KeepValue) else x


def _zero_d_keeps_value(make: Callable) -> Callable:
    """``np.asarray(v)`` (or ``np.array``, ``np.asanyarray``) of one traced value, with no dtype or a float
    one: the value itself (a 0-d array of one number is that number; an honest ``v0 = np.asarray(x0)`` was
    refused as an array); anything else is ``make``'s."""

    def making(a, *args, **kwargs):
        if (isinstance(a, Scalar) and not args and set(kwargs) <= {"dtype"}
                and _real_type(kwargs.get("dtype")) in (None, float, np.float64)):
            return a
        return make(a, *args, **kwargs)

    making.__name__ = make.__name__
    making.__doc__ = make.__doc__
    return making


_NUMPY_SHIM.__dict__.update({name: _zero_d_keeps_value(getattr(np, name)) for name in ("array", "asarray",
                                                                                      "asanyarray")})


# Arrays the student makes hold traced values (an adjoint stored in ``vbar = np.zeros(9)``), see ``arrays``.
_ARRAY_MAKERS = {getattr(np, name): maker(getattr(np, name), _real_type) for name in MAKERS}
_NUMPY_SHIM.__dict__.update({name: _ARRAY_MAKERS[getattr(np, name)] for name in MAKERS})


@contextlib.contextmanager
def _engine_math_in_place(f: Callable):
    """``math`` (and functions imported from it) replaced by the engine's versions in ``f``'s own globals
    for the traced run, ``float`` and ``np.float64`` keeping traced values, numpy's array makers making
    arrays that hold them; undone after the run. In place rather than in a copy: everything ``f`` reaches
    from the same cell (a helper function, a lambda kept in a dict, a static method, a class) was defined
    with these globals and calls ``math.sin`` through them."""
    if not isinstance(f, types.FunctionType):
        yield
        return
    globals_ = f.__globals__
    replace = _replacements(f)
    missing = object()
    saved = {name: globals_.get(name, missing) for name in replace}
    globals_.update(replace)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                globals_.pop(name, None)
            else:
                globals_[name] = value


def _replacements(f: types.FunctionType) -> dict[str, Any]:
    """What ``f``'s globals hold that tracing replaces: name -> the engine's version."""
    replace: dict[str, Any] = {"float": _FLOAT_SHIM}
    for name, value in f.__globals__.items():
        if value is math:
            replace[name] = _MATH_SHIM
            continue
        if value is np:
            replace[name] = _NUMPY_SHIM
            continue
        if value is np.float64:
            replace[name] = _NUMPY_SHIM.float64
            continue
        try:
            made = _ARRAY_MAKERS.get(value)
        except TypeError:  # unhashable global
            continue
        if made is not None:  # ``from numpy import zeros``
            replace[name] = made
            continue
        if isinstance(value, types.FunctionType):
            continue  # a helper of the same cell keeps its name; it reads the replaced globals too
        try:
            prim = _MATH_TRACED.get(value)
        except TypeError:  # unhashable global
            continue
        if prim is not None:
            replace[name] = prim
    return replace


class GraphTooLarge(BaseException):
    """The traced graph grew past the tracer's limit of operations: the function is stopped there (a
    BaseException, so a student's ``except Exception`` does not swallow it; a bare ``except:`` that does
    leaves the tracer marked, and ``run_traced`` raises it again when the function returns)."""

    def __init__(self, limit: int):
        super().__init__(f"the graph has more than {limit} operations")
        self.limit = limit


class Tracer:
    """Records nodes in creation order, the student's line that created each, and the locals that held them.

    Cost: tracing must not make a student's plain Python slow (a loop of 10^5 iterations is an honest
    answer), so no hook runs per line or per call. The student's frame is read only when the engine creates
    a node (its locals then hold every value bound so far, so a name is recorded for every node it still
    holds when the next node is made or the function returns) and once after the function returned.
    ``max_operations`` bounds the graph: one operation more raises ``GraphTooLarge``.
    """

    def __init__(self, code: types.CodeType | None, max_operations: int | None = None):
        self.code = code
        self.nodes: list = []
        self.seq: dict[int, int] = {}
        self.lines: dict[int, int | None] = {}
        self.names: dict[int, list[str]] = {}
        self.final_locals: dict[str, Any] | None = None
        self.frame = None
        self.previous_trace = None
        self.max_operations = max_operations
        self.operations = 0  # nodes made by an operation (not inputs or constants)
        self.too_large = False
        #: The locals a ``for`` loop binds its items to (``for j, d in parents``): a value one of them passes
        #: over is not named after it (the name stands for every item in turn; no line of the student's makes
        #: the value under it).
        self.loop_targets = loop_targets(code)
        #: node id -> the items of the student's lists and arrays that hold it when the function returns
        #: (``v[3]``), the attributes and keys that held it (``s.v3``, ``v['v3']``, see ``held``): the names
        #: of a value no variable of its own holds (see ``read_final_locals``).
        self.items: dict[int, list[str]] = {}
        #: Objects a method of the student's kept values in (``self.v3``), by id: read again when the function
        #: returns (the store of a method's last line comes after its last operation). When there was one, the
        #: names its methods' lines give (``self_items``) and the lines of theirs that made each node
        #: (``method_lines``) are the student's; of several (``a.v``, ``b.v`` of a class ``Var``), ``self.v``
        #: would name all of them, and the function's own names (``a.v``) stand.
        self.selves: dict[int, Any] = {}
        self.self_items: dict[int, list[str]] = {}
        self.method_lines: dict[int, int] = {}
        self._text: str | None = None
        self._quotes: dict[str, str] = {}
        self._words: frozenset[str] | None = None

    def add(self, node, line: int | None) -> None:
        key = id(node)
        if key in self.seq:
            return
        self.seq[key] = len(self.nodes)
        self.nodes.append(node)
        self.lines[key] = line

    def created(self, out, inputs) -> None:
        if self.max_operations is not None and self.operations >= self.max_operations:
            self.too_large = True
            raise GraphTooLarge(self.max_operations)
        self.operations += 1
        for n in inputs:
            if id(n) not in self.seq:
                self.add(n, None)
        frame, method = self._student_frames()
        if method is not None:
            self._scan_self(method)
            self.method_lines[id(out)] = method.f_lineno
        if frame is not None:
            # The names bound since the last node was made (the store of a line happens after its
            # operations, so ``out`` itself is named by a later read).
            self._scan(frame.f_locals)
        self.add(out, frame.f_lineno if frame is not None else None)

    def array(self, items: np.ndarray) -> np.ndarray:
        """``items`` (an array of objects the engine made: a Scalar broadcast over an array, ``v0 * dv0``) as an
        array that computes like one of floats and keeps its traced items traced (see ``arrays``)."""
        return items.view(TracingArray)

    def _student_frames(self):
        """``(the student's function's frame, the frame of a method it called that keeps values in its object
        or None)``. Such a method (``self.v3 = np.sin(self.v0)`` in a class of the same cell) is the student's
        decomposition: its lines are where its operations are. Any other function or method the answer calls
        (a helper ``mul(a, b)``) is one step of the line that calls it, as before."""
        frame = sys._getframe(2)
        method = None
        for _ in range(40):
            if frame is None:
                return None, None
            if frame.f_code is self.code:
                return frame, method
            if method is None and self._keeps_values(frame):
                method = frame
            frame = frame.f_back
        return None, None

    def _keeps_values(self, frame) -> bool:
        """Whether ``frame`` is a method of the answer's own cell whose ``self`` holds a traced value by
        attribute (read only for a function of the same file whose first argument is ``self``)."""
        code = frame.f_code
        if (self.code is None or code.co_filename != self.code.co_filename or not code.co_argcount
                or code.co_varnames[0] != "self"):
            return False
        obj = frame.f_locals.get("self")
        return held.holds_attributes(obj) and bool(held.entries(obj, _SCANNED_ENTRIES, keep=self._followed))

    def _student_frame(self):
        frame, method = self._student_frames()
        return method if method is not None else frame

    def current_line(self) -> int | None:
        frame = self._student_frame()
        return frame.f_lineno if frame is not None else None

    def source(self, line: int | None) -> str | None:
        if line is None or self.code is None:
            return None
        text = linecache.getline(self.code.co_filename, line).strip()
        return text or None

    def explain(self, what: str, conversion: bool = False) -> str:
        """Why tracing stops at the student's current line, in plain words. ``conversion``: the engine was
        asked for a float; at an item store (``vbar[4] = ...``) that is numpy putting the value into an array
        of floats (``np.array([0.0, 0.0])``), and the message says so; on a line that calls PyTorch, it is a
        tensor made of the value, and the message says that."""
        line = self.current_line()
        where = f"line {line}" if line is not None else "your function"
        src = self.source(line)
        if src:
            where += f" (`{src}`)"
        if conversion and src and "torch" in src and not self._storing_an_item():
            return (
                f"{where}: making a PyTorch tensor of one of your values turned it into a plain number. PyTorch "
                "computes outside the graph the checker follows, and derivatives it computes (`backward()`, "
                "`torch.autograd`) are not the ones this exercise asks you to write: compute them with the chain "
                "rule, with operators and numpy functions on your own variables."
            )
        if conversion and self._storing_an_item():
            # The array's name and the item's from the line's text, when there is one to read.
            array, own = _item_stored(src) or (None, None)
            into = f"`{array}`, a numpy array" if array else "a numpy array"
            a_list = f" (`{array} = [0.0] * n`)" if array else " (`[0.0] * n`)"
            own = f" (`{own} = ...`)" if own else ""
            return (
                f"{where}: storing one of your values into {into} of plain numbers (such as `np.array([0.0, "
                "0.0])` or `np.linspace` make) turned it into a plain number, since such an array can hold nothing "
                "else. The checker cannot follow this step, so it cannot see how your result depends on the "
                f"inputs. Keep these values in an array made with `np.zeros(n)`, in a list{a_list} or in "
                f"variables of their own{own} instead."
            )
        return (
            f"{where}: {what}. The checker cannot follow this step, so it cannot see how your result depends on "
            "the inputs. "
            "Write the computation with operators, numpy functions (np.sin, np.maximum, ...) or "
            "autodiff_course functions instead."
        )

    def _storing_an_item(self) -> bool:
        """Whether the student's function is at an item store (``a[i] = value``): the instruction it runs is
        STORE_SUBSCR (read from the bytecode, so it holds where the source text is not available)."""
        frame = self._student_frame()
        if frame is None or frame.f_lasti < 0:
            return False
        return frame.f_code.co_code[frame.f_lasti] == _STORE_SUBSCR

    def _scan(self, local_vars: dict) -> None:
        holders = []
        for name, value in local_vars.items():
            if name in self.loop_targets:
                continue
            if isinstance(value, (Scalar, Tensor)):
                key = id(value)
                if key in self.seq:
                    names = self.names.setdefault(key, [])
                    if name not in names:
                        names.append(name)
            elif isinstance(value, dict) or held.holds_attributes(value):
                holders.append((name, value))
        # Attributes and keys at every node made, as variables are, so one assigned again (``s.v3 = s.v3 +
        # s.v5``) is seen holding two values (lists only when the function returns: a tape's append).
        for name, value in holders:
            self._name_entries(name, value, _SCANNED_ENTRIES)

    def _scan_self(self, frame) -> None:
        obj = frame.f_locals.get("self")
        if len(self.selves) < 2:
            self.selves.setdefault(id(obj), obj)
        if len(self.selves) == 1:
            self._name_entries("self", obj, _SCANNED_ENTRIES, self.self_items)

    def _name_entries(self, name: str, value, limit: int, into: dict[int, list[str]] | None = None) -> None:
        """Name the traced values ``value`` (a dict or an object the student's ``name`` holds) holds by key or
        attribute (``name['v3']``, ``name.v3``), in ``into`` (``items`` unless given)."""
        into = self.items if into is None else into
        for accessor, item in held.entries(value, limit, self._quote(name), self._written(), self._followed):
            names = into.setdefault(id(item), [])
            if f"{name}{accessor}" not in names:
                names.append(f"{name}{accessor}")

    def _followed(self, item) -> bool:
        return isinstance(item, (Scalar, Tensor)) and id(item) in self.seq

    def _quote(self, holder: str) -> str:
        if holder not in self._quotes:
            if self._text is None:
                self._text = function_text(self.code)
            self._quotes[holder] = held.quote(self._text, holder)
        return self._quotes[holder]

    def _written(self) -> frozenset[str]:
        """The words of the cell that defines the function (its classes and methods too): the keys and
        attributes that may name a value (``held.words``); none when its text cannot be read."""
        if self._words is None:
            lines = linecache.getlines(self.code.co_filename) if self.code is not None else []
            self._words = held.words("".join(lines))
        return self._words

    def held_locals(self, local_vars: dict, limit: int) -> list[tuple[str, Any]]:
        """``(name, item)`` of what the student's lists, arrays, dicts and objects hold (``vbar[4]``,
        ``adj['v3']``, ``s.vbar3``), at most ``limit`` of each: their derivatives may be kept there."""
        out = []
        if len(self.selves) == 1 and "self" not in local_vars:
            # The one object the answer's methods kept values in, as its lines name it (``self.vbar3``).
            local_vars = {"self": next(iter(self.selves.values())), **local_vars}
        for name, value in local_vars.items():
            if not isinstance(name, str) or name in self.loop_targets:
                continue
            if isinstance(value, dict) or held.holds_attributes(value):
                out += [(f"{name}{a}", item)
                        for a, item in held.entries(value, limit, self._quote(name), self._written())]
            else:
                out += [(f"{name}[{k}]", item) for k, item in container_items(value)[:limit]]
        return out

    # The one trace event: the call of the student's function gives its frame, and tracing stops there, so
    # nothing runs per line or per call of anything else. The frame keeps its locals after it returns.
    def _global(self, frame, event, arg):
        if frame.f_code is self.code:
            self.frame = frame
            sys.settrace(self.previous_trace)
        return None

    def read_final_locals(self) -> None:
        if self.frame is not None:
            local_vars = self.frame.f_locals
            self._scan(local_vars)
            self._scan_items(local_vars)
            self.final_locals = dict(local_vars)
            self.frame = None  # the frame holds every value the function made

    def _scan_items(self, local_vars: dict) -> None:
        """Name the values the student's lists, tuples and arrays hold (``v[3]``), once, when the function
        returned (a tape ``v.append(...)`` has its values at their indices then; reading lists at every node
        made would cost a long loop the square of its length), and those its dicts and objects hold then (the
        last store of all), and the objects its methods kept values in (``self.v8``)."""
        if len(self.selves) == 1:
            self._name_entries("self", next(iter(self.selves.values())), MAX_ITEMS, self.self_items)
            # The method's spelling first (its lines write ``self.vbar3``, whatever the function calls the
            # object), and its lines.
            for key, names in self.self_items.items():
                self.items[key] = names + [n for n in self.items.get(key, []) if n not in names]
            self.lines.update((key, line) for key, line in self.method_lines.items() if key in self.lines)
        for name, item in self.held_locals(local_vars, MAX_ITEMS):
            if name.startswith("self.") and "self" not in local_vars:
                continue  # named above
            if isinstance(item, (Scalar, Tensor)) and id(item) in self.seq:
                names = self.items.setdefault(id(item), [])
                if name not in names:
                    names.append(name)


_STORE_SUBSCR = dis.opmap["STORE_SUBSCR"]
#: The most items of one list or array read for names or locals (an answer's lists hold a few dozen).
MAX_ITEMS = 1000
#: The most entries of one dict or object read for names at every node made (the graph has at most
#: ``spec.MAX_OPERATIONS`` nodes, so this bounds the cost; a larger one is named when the function returns).
_SCANNED_ENTRIES = 64


def container_items(value) -> list[tuple[int, Any]]:
    """``(index, item)`` of a list, tuple or one-dimensional array (at most ``MAX_ITEMS``); [] for anything
    else (a dict's entries are ``held.entries``)."""
    if isinstance(value, (list, tuple)):
        return list(enumerate(value[:MAX_ITEMS]))
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return [(k, value[k]) for k in range(min(len(value), MAX_ITEMS))]
    return []


def function_text(code: types.CodeType | None) -> str:
    """The text of the function ``code`` compiles ("" when it cannot be read), as collect sends it (read once
    per traced run, by the tracer, when a dict's keys are named)."""
    if code is None:
        return ""
    try:
        return "".join(inspect.getsourcelines(code)[0])
    except (OSError, TypeError, IndexError):
        return ""


_LOOP_TARGETS: dict[types.CodeType, frozenset[str]] = {}
_STORES = {"STORE_FAST", "STORE_DEREF", "STORE_NAME", "STORE_GLOBAL"}


def loop_targets(code: types.CodeType | None) -> frozenset[str]:
    """The names a ``for`` loop (or a comprehension run in the function's own frame) binds its items to, read
    from the bytecode: after ``FOR_ITER``, the stores of its target, unpacked (``for j, d in ...``) or not.
    A name the function also assigns elsewhere is still a loop target (the loop rebinds it to each item)."""
    if code is None:
        return frozenset()
    found = _LOOP_TARGETS.get(code)
    if found is not None:
        return found
    instructions = [i for i in dis.get_instructions(code) if i.opname not in ("CACHE", "EXTENDED_ARG", "NOP")]
    names = set()
    for at, ins in enumerate(instructions):
        if ins.opname != "FOR_ITER":
            continue
        pending, k = 1, at + 1
        while pending and k < len(instructions):
            step = instructions[k]
            if step.opname in _STORES:
                names.add(step.argval)
                pending -= 1
            elif step.opname == "UNPACK_SEQUENCE":
                pending += step.arg - 1
            elif step.opname == "UNPACK_EX":
                pending += (step.arg & 0xFF) + (step.arg >> 8)
            else:
                break  # a target that is no plain name (``for a[i] in ...``)
            k += 1
    found = frozenset(names)
    if len(_LOOP_TARGETS) < 4096:
        _LOOP_TARGETS[code] = found
    return found


def _item_stored(src: str | None) -> tuple[str, str | None] | None:
    """``(array, own name)`` when the line ``src`` assigns to an item of a named array (``vbar[4] = ...``
    gives ``("vbar", "vbar4")``; the own name is None unless the index is a plain whole number), else None.
    A line that is not a whole statement (one line of several) is read as storing nothing; a line with several
    item stores names the first."""
    if not src:
        return None
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
                    index = t.slice
                    whole = (isinstance(index, ast.Constant) and type(index.value) is int and index.value >= 0)
                    return t.value.id, f"{t.value.id}{index.value}" if whole else None
    return None


def _lift(x, i: int):
    if isinstance(x, (Scalar, Tensor)):
        return x
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"input {i}: a bool is not a number to differentiate")
    if isinstance(x, (int, float, np.integer, np.floating)):
        return Scalar(float(x))
    try:
        return Tensor(x, requires_grad=True)
    except TypeError:
        raise TypeError(f"input {i}: cannot trace a function of {type(x).__name__} ({x!r})") from None


@dataclass
class TracedRun:
    """Everything one traced call produced: the input nodes, what the function returned, its final locals."""

    function: Callable
    inputs: list
    arg_names: list[str]
    tracer: Tracer
    returned: Any = None
    locals: dict[str, Any] = field(default_factory=dict)


def run_traced(f: Callable, inputs, *, max_operations: int | None = None) -> TracedRun:
    """Call ``f`` on engine versions of ``inputs`` while recording the graph and the names of its locals.

    Exceptions raised by ``f`` propagate unchanged (TraceError for things tracing cannot follow).
    ``max_operations``: the most operations the function may make (inputs and constants not counted); beyond
    it the function is stopped with ``GraphTooLarge``, which is raised even if the function caught it.
    """
    # A method of the student's object as the answer (``function = Answer().function``): its own function, with
    # the object bound to its first argument (``self`` names no input).
    plain = f.__func__ if isinstance(f, types.MethodType) else f
    bound = 1 if plain is not f else 0
    code = getattr(plain, "__code__", None)
    arg_names = list(code.co_varnames[bound: code.co_argcount]) if code is not None else []
    nodes = [_lift(x, i) for i, x in enumerate(inputs)]
    tracer = Tracer(code, max_operations)
    for node, name in zip(nodes, arg_names + [None] * len(nodes)):
        tracer.add(node, code.co_firstlineno if code is not None else None)
        if name is not None:
            tracer.names.setdefault(id(node), []).append(name)
    run = TracedRun(function=f, inputs=nodes, arg_names=arg_names, tracer=tracer)
    previous_trace = sys.gettrace()
    previous_tracer = STATE.tracer
    STATE.tracer = tracer
    tracer.previous_trace = previous_trace
    if code is not None:
        sys.settrace(tracer._global)
    try:
        with _engine_math_in_place(plain):
            returned = f(*nodes)
    finally:
        sys.settrace(previous_trace)
        STATE.tracer = previous_tracer
        tracer.read_final_locals()
    if tracer.too_large:
        raise GraphTooLarge(max_operations)
    run.returned = returned
    run.locals = tracer.final_locals or {}
    return run


def engine_outputs(returned) -> list:
    """The engine values among what a function returned (a value, or a tuple/list of values, or an array of
    them such as ``np.zeros`` makes while tracing)."""
    if isinstance(returned, np.ndarray) and returned.dtype == object and returned.ndim == 1:
        returned = list(returned)
    items = returned if isinstance(returned, (tuple, list)) else [returned]
    return [x for x in items if isinstance(x, (Scalar, Tensor))]


def trace(f: Callable, *inputs) -> Graph:
    """Run ``f(*inputs)`` and return its computational graph (see ``autodiff_course.graph.Graph``).

    Raises TraceError if ``f`` returns nothing that depends on its inputs, or does something tracing cannot
    follow (the message names the line).
    """
    run = run_traced(f, inputs)
    outputs = engine_outputs(run.returned)
    if not outputs:
        raise TraceError(
            f"{getattr(f, '__name__', 'the function')} returned {type(run.returned).__name__}, which does not "
            "depend on its inputs through traced operations"
        )
    return Graph.from_run(run, outputs)
