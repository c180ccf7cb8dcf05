"""Answers nobody wrote by hand: single-site mutations and semantics-preserving rewrites of every function
exercise's solution (read from its source notebook), for tests/checks/test_check_generated.py.

A mutant changes one site of the solution and knows, by construction, the variable it changed (the culprit a
checker must name) and the class of slip it applied (the diagnosis it should give, where the catalogue knows
it). A rewrite keeps the values and spells the answer another honest way; it must pass with full marks.
"""

from __future__ import annotations

import ast
import copy
import linecache
import math
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from autodiff_course.course.config import load_config

REPO = Path(__file__).resolve().parents[2]
FUNCTION_KINDS = ("decomposition", "forward", "reverse")

#: The diagnoses each mutation class may rightly get (its words differ with the site: a dropped factor of a
#: product is a missing local derivative, a dropped term of a sum a missing path).
EXPECTED_CODES = {
    "forward-pass": {"wrong-function"},
    "sign": {"sign"},
    "drop-term": {"missing-term", "missing-path"},
    "drop-factor": {"wrong-local-derivative", "missing-factor", "quotient-rule", "power-rule", "product-rule"},
    "swap-operator": {"sign", "wrong-local-derivative", "quotient-rule", "product-rule", "power-rule",
                      "missing-term", "missing-path"},
    "swap-operands": {"quotient-rule", "wrong-input", "product-rule", "sign", "wrong-local-derivative",
                      "power-rule"},
    "other-variable": {"wrong-neighbour", "wrong-input", "product-rule", "wrong-local-derivative",
                       "missing-factor", "quotient-rule", "value-for-derivative", "extra-factor"},
    "other-function": {"wrong-local-derivative", "sign"},
    "overwrite": {"overwritten"},
    "seed": {"seed"},
}

_OTHER_FUNCTION = {"sin": "cos", "cos": "sin", "exp": "sin", "log": "exp", "tanh": "sin", "sqrt": "exp"}
_SWAP_OPERATOR = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}


@dataclass
class Exercise:
    spec: dict
    source: str  # the solution function's text
    name: str

    @property
    def kind(self) -> str:
        return self.spec["kind"]


@dataclass
class Variant:
    exercise: Exercise
    source: str
    what: str  # mutation class or rewrite name
    culprit: str | None = None
    line: int = 0
    notes: dict = field(default_factory=dict)


def exercises() -> list[Exercise]:
    """Every function exercise of graders/*.toml with its solution from the source notebook."""
    out = []
    for path in sorted((REPO / "graders").glob("*.toml")):
        config = load_config(path)
        nb = nbformat.read(REPO / "notebooks" / config.assignment / config.notebook, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        for spec in config.exercises:
            if spec["kind"] not in FUNCTION_KINDS:
                continue
            source = _function_source(code, spec["function"])
            if source is not None:
                out.append(Exercise(spec, source, spec["function"]))
    return out


def _function_source(code: str, name: str) -> str | None:
    lines = code.splitlines()
    found = None
    for cell_start in range(len(lines)):
        if lines[cell_start].startswith(f"def {name}("):
            found = cell_start
    if found is None:
        return None
    body = [lines[found]]
    for line in lines[found + 1:]:
        if line and not line.startswith((" ", "\t")):
            break
        body.append(line)
    text = "\n".join(body)
    return ast.unparse(ast.parse(text))  # comments and solution markers dropped, one statement a line


_COUNTER = [0]


def compile_function(source: str, name: str):
    """The function ``name`` defined by ``source``, with its text registered so tracebacks and
    ``inspect.getsource`` find it (as in a notebook cell)."""
    _COUNTER[0] += 1
    filename = f"<generated {_COUNTER[0]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np, "math": math}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - generated from the course's solutions
    return namespace[name]


def _assignments(tree: ast.Module) -> list[ast.Assign]:
    fn = tree.body[0]
    return [s for s in fn.body if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)]


def _is_derivative(name: str, kind: str) -> bool:
    if kind == "reverse":
        return "bar" in name
    if kind == "forward":
        return name.startswith("d")
    return False


def _target(stmt: ast.Assign) -> str:
    return stmt.targets[0].id


def _names_before(tree, stmt) -> list[str]:
    fn = tree.body[0]
    names = [a.arg for a in fn.args.args]
    for s in fn.body:
        if s is stmt:
            break
        if isinstance(s, ast.Assign):
            names.append(_target(s))
    return names


def mutants(ex: Exercise) -> list[Variant]:
    """Every single-site mutation of the solution (see ``EXPECTED_CODES`` for the classes)."""
    tree = ast.parse(ex.source)
    out: list[Variant] = []
    for index, stmt in enumerate(_assignments(tree)):
        target = _target(stmt)
        derivative = _is_derivative(target, ex.kind)

        def emit(what, change, index=index, target=target, derivative=derivative):
            new = copy.deepcopy(tree)
            s = _assignments(new)[index]
            if change(new, s) is False:
                return
            cls = what if derivative else "forward-pass"
            culprits = {target}
            if isinstance(s.value, ast.Name):
                # An alias (`v7 = v3`) holds an existing value: the first variable whose value leaves the
                # function is the first line that reads it.
                readers = [_target(x) for x in _assignments(new) if x.lineno > s.lineno and target in _reads(x)]
                culprits |= set(readers[:1])
            out.append(Variant(ex, ast.unparse(new), cls, culprit=target, line=s.lineno,
                               notes={"site": what, "culprits": culprits}))

        value = stmt.value
        if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)):
            if derivative:
                for seed in (0.0, 2.0) if value.value == 1 else (1.0,):
                    emit("seed", lambda t, s, seed=seed: setattr(s, "value", ast.Constant(seed)))
            continue
        emit("sign", lambda t, s: setattr(s, "value", ast.UnaryOp(ast.USub(), s.value)))
        binops = [n for n in ast.walk(value) if isinstance(n, ast.BinOp)]
        for k, op in enumerate(binops):
            def nth(s, k=k):
                return [n for n in ast.walk(s.value) if isinstance(n, ast.BinOp)][k]

            if type(op.op) in _SWAP_OPERATOR:
                emit("swap-operator", lambda t, s, nth=nth: setattr(nth(s), "op", _SWAP_OPERATOR[type(nth(s).op)]()))
            if isinstance(op.op, (ast.Sub, ast.Div, ast.Pow)):
                emit("swap-operands", lambda t, s, nth=nth: _swap(nth(s)))
            for side in ("left", "right"):
                what = "drop-term" if isinstance(op.op, (ast.Add, ast.Sub)) else "drop-factor"
                emit(what, lambda t, s, nth=nth, side=side: _replace(s, nth(s), getattr(nth(s), side)))
            if derivative and isinstance(op.op, ast.Add) and op is value:
                out.append(_overwrite(ex, tree, index, target))
        loads = [n for n in ast.walk(value) if isinstance(n, ast.Name) and n.id not in ("np", "math")]
        for k, name in enumerate(loads):
            earlier = [n for n in _names_before(tree, stmt) if n != name.id and _is_derivative(n, ex.kind)
                       == _is_derivative(name.id, ex.kind)]
            for other in earlier[-2:]:
                def rename(t, s, k=k, other=other):
                    node = [n for n in ast.walk(s.value) if isinstance(n, ast.Name) and n.id not in ("np", "math")][k]
                    node.id = other
                emit("other-variable", rename)
        calls = [n for n in ast.walk(value) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                 and n.func.attr in _OTHER_FUNCTION]
        for k, _call in enumerate(calls):
            def other_fn(t, s, k=k):
                call = [n for n in ast.walk(s.value) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                        and n.func.attr in _OTHER_FUNCTION][k]
                call.func.attr = _OTHER_FUNCTION[call.func.attr]
            emit("other-function", other_fn)
    return out


def _swap(op: ast.BinOp):
    op.left, op.right = op.right, op.left


def _replace(stmt: ast.Assign, old: ast.AST, new: ast.AST):
    if stmt.value is old:
        stmt.value = new
        return
    for parent in ast.walk(stmt.value):
        for name, child in ast.iter_fields(parent):
            if child is old:
                setattr(parent, name, new)
                return


def _overwrite(ex: Exercise, tree, index: int, target: str) -> Variant:
    """``a = b + c`` written as ``a = b`` then ``a = c``: the second `=` throws the first term away."""
    new = copy.deepcopy(tree)
    fn = new.body[0]
    s = _assignments(new)[index]
    at = fn.body.index(s)
    first = ast.Assign([ast.Name(target, ast.Store())], s.value.left, lineno=0)
    second = ast.Assign([ast.Name(target, ast.Store())], s.value.right, lineno=0)
    fn.body[at:at + 1] = [first, second]
    return Variant(ex, ast.unparse(ast.fix_missing_locations(new)), "overwrite", culprit=target,
                   notes={"site": "overwrite", "culprits": {target}})


# -- rewrites -------------------------------------------------------------------------------------------------
def rewrites(ex: Exercise) -> list[Variant]:
    """Semantics-preserving rewrites of the solution, each an honest way to write the same answer."""
    out = []
    tree = ast.parse(ex.source)
    fn = tree.body[0]

    def emit(what, new_tree):
        out.append(Variant(ex, ast.unparse(ast.fix_missing_locations(new_tree)), what))

    # independent adjacent lines swapped
    body = fn.body
    for i in range(len(body) - 1):
        a, b = body[i], body[i + 1]
        if not (isinstance(a, ast.Assign) and isinstance(b, ast.Assign)):
            continue
        ta, tb = _target(a), _target(b)
        if ta == tb or ta in _reads(b) or tb in _reads(a):
            continue
        new = copy.deepcopy(tree)
        nb = new.body[0].body
        nb[i], nb[i + 1] = nb[i + 1], nb[i]
        emit(f"reorder {ta}/{tb}", new)
    # renamed in the common spellings
    for old, new_name in _spellings(tree, ex.kind):
        new = copy.deepcopy(tree)
        for n in ast.walk(new):
            if isinstance(n, ast.Name) and n.id == old:
                n.id = new_name
        emit(f"rename {old}->{new_name}", new)
    # math for np
    new = copy.deepcopy(tree)
    for n in ast.walk(new):
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "np":
            n.value.id = "math"
    emit("math for np", new)
    # float() around each derivative line's value
    if ex.kind != "decomposition":
        new = copy.deepcopy(tree)
        for s in _assignments(new):
            if _is_derivative(_target(s), ex.kind):
                s.value = ast.Call(ast.Name("float", ast.Load()), [s.value], [])
        emit("float()", new)
    # += accumulation of every sum
    new = copy.deepcopy(tree)
    nbody = new.body[0].body
    for s in list(_assignments(new)):
        if _is_derivative(_target(s), ex.kind) and isinstance(s.value, ast.BinOp) and isinstance(s.value.op, ast.Add):
            at = nbody.index(s)
            t = _target(s)
            nbody[at:at + 1] = [ast.Assign([ast.Name(t, ast.Store())], s.value.left, lineno=0),
                                ast.AugAssign(ast.Name(t, ast.Store()), ast.Add(), s.value.right)]
    emit("+=", new)
    # a list returned
    new = copy.deepcopy(tree)
    ret = new.body[0].body[-1]
    if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple):
        ret.value = ast.List(ret.value.elts, ast.Load())
        emit("list return", new)
    # a tangent folded into the one line that uses it (a compound line)
    if ex.kind == "forward":
        for s in _assignments(tree):
            t = _target(s)
            if not _is_derivative(t, ex.kind):
                continue
            users = [u for u in _assignments(tree) if t in _reads(u)]
            returned = t in _reads(fn.body[-1]) if isinstance(fn.body[-1], ast.Return) else False
            if len(users) != 1 or returned:
                continue
            new = copy.deepcopy(tree)
            nbody = new.body[0].body
            ns = next(x for x in _assignments(new) if _target(x) == t)
            user = next(x for x in _assignments(new) if t in _reads(x))
            for n in ast.walk(user.value):
                for name, child in ast.iter_fields(n):
                    if isinstance(child, ast.Name) and child.id == t:
                        setattr(n, name, copy.deepcopy(ns.value))
            if isinstance(user.value, ast.Name) and user.value.id == t:
                user.value = copy.deepcopy(ns.value)
            nbody.remove(ns)
            emit(f"fold {t}", new)
    # values or derivatives kept as the items of a list or an array (a tape's values, ``vbar = np.zeros(9)``)
    for style in item_styles(ex):
        out.append(Variant(ex, as_items(ex.source, ex.kind, style)[0], style))
    # and so with the other styles (``vbar[1] += ...``, ``dv[3] = float(...)``)
    style = item_styles(ex)[-1]
    for r in [r for r in out if r.what in ("+=", "float()", "math for np", "list return")]:
        out.append(Variant(ex, as_items(r.source, ex.kind, style)[0], f"{r.what}, {style}"))
    return out


# -- the same answer with its values or derivatives kept as items of a list or an array ---------------------
#: Styles that keep numbered variables as items (``vbar4`` -> ``vbar[4]``): a name pattern (its number is the
#: item's index), the container's name and how it is made. ``derivatives`` patterns are the exercise kind's.
ITEM_STYLES = {
    "derivatives in np.zeros": "derivatives",
    "values in a list": "values",
    "values in a list, derivatives in np.zeros": "both",
}
_DERIVATIVE_ITEMS = {"reverse": (r"^vbar(\d+)$", "vbar"), "forward": (r"^dv(\d+)dx\d+$", "dv")}
_VALUE_ITEMS = (r"^v(\d+)$", "v")


def item_styles(ex: Exercise) -> list[str]:
    """The styles of ``ITEM_STYLES`` that fit the exercise (derivatives only where it has some)."""
    return [name for name, what in ITEM_STYLES.items() if what == "values" or ex.kind in _DERIVATIVE_ITEMS]


def as_items(source: str, kind: str, style: str) -> tuple[str, dict[str, str]]:
    """``source`` in the style ``style`` of ``ITEM_STYLES``, and the renaming it applied (``{"vbar4":
    "vbar[4]"}``: a culprit's new name). Derivatives go into ``np.zeros(n)`` made before their first line,
    values into ``[0.0] * n`` made first; a reverse answer that returns every adjoint in order returns
    ``(y, *vbar)``."""
    import re

    tree = ast.parse(source)
    fn = tree.body[0]
    what = ITEM_STYLES[style]
    plans = []
    if what in ("values", "both"):
        plans.append((*_VALUE_ITEMS, "[0.0] * {n}"))
    if what in ("derivatives", "both"):
        plans.append((*_DERIVATIVE_ITEMS[kind], "np.zeros({n})"))
    renamed: dict[str, str] = {}
    for pattern, array, make in plans:
        regex = re.compile(pattern)
        numbers = {int(m.group(1)) for n in ast.walk(fn) if isinstance(n, ast.Name) and (m := regex.match(n.id))}
        if not numbers:
            continue
        first = next(k for k, stmt in enumerate(fn.body)
                     if any(isinstance(n, ast.Name) and regex.match(n.id) for n in ast.walk(stmt)))
        for parent in ast.walk(fn):
            for name, child in ast.iter_fields(parent):
                items = child if isinstance(child, list) else [child]
                for at, c in enumerate(items):
                    if isinstance(c, ast.Name) and (m := regex.match(c.id)):
                        item = ast.Subscript(ast.Name(array, ast.Load()), ast.Constant(int(m.group(1))), c.ctx)
                        renamed[c.id] = f"{array}[{m.group(1)}]"
                        if isinstance(child, list):
                            child[at] = item
                        else:
                            setattr(parent, name, item)
        made = ast.parse(f"{array} = {make.format(n=max(numbers) + 1)}").body[0]
        fn.body.insert(first, made)
    ret = fn.body[-1]
    if kind == "reverse" and what != "values" and isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple):
        adjoints = [ast.unparse(e) for e in ret.value.elts[1:]]
        if adjoints == [f"vbar[{k}]" for k in range(len(adjoints))]:
            ret.value.elts[1:] = [ast.Starred(ast.Name("vbar", ast.Load()), ast.Load())]
    return ast.unparse(ast.fix_missing_locations(tree)), renamed


def restyled(variant: Variant, style: str) -> Variant:
    """``variant`` written in ``style`` (``as_items``), its culprits renamed alike."""
    source, renamed = as_items(variant.source, variant.exercise.kind, style)
    notes = dict(variant.notes, style=style)
    if "culprits" in notes:
        notes["culprits"] = {renamed.get(c, c) for c in notes["culprits"]}
    culprit = renamed.get(variant.culprit, variant.culprit) if variant.culprit else None
    return Variant(variant.exercise, source, variant.what, culprit=culprit, line=variant.line, notes=notes)


def _reads(stmt) -> set[str]:
    value = getattr(stmt, "value", None)
    if value is None:
        return set()
    return {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}


def _spellings(tree, kind: str) -> list[tuple[str, str]]:
    names = {_target(s) for s in _assignments(tree)}
    out = []
    for name in sorted(names):
        if kind == "reverse" and name.startswith("vbar"):
            out.append((name, f"v{name[4:]}_bar"))
            out.append((name, f"v{name[4:]}bar"))
        elif kind == "forward" and name.startswith("dv") and "dx" in name:
            out.append((name, name.split("dx")[0]))
        elif not _is_derivative(name, kind) and name.startswith("v") and name[1:].isdigit():
            out.append((name, f"a{name[1:]}"))
    return out


# -- answers right on part of the domain only ------------------------------------------------------------
#: Wrappers that leave an input alone where it is positive (or above 0.5) and change it elsewhere.
PARTIAL_DOMAIN = {"abs": "np.abs({})", "floor at 0.5": "np.maximum({}, 0.5)", "relu": "np.maximum({}, 0.0)"}


def partial_domain(ex: Exercise) -> list[Variant]:
    """The solution with one input replaced, at every use, by a wrapper of it (``PARTIAL_DOMAIN``): the
    function of another formula that agrees with the solution wherever that input is large enough, so only a
    point where the input is negative (or small) tells them apart."""
    tree = ast.parse(ex.source)
    args = [a.arg for a in tree.body[0].args.args]
    out = []
    for arg in args:
        for what, wrapper in PARTIAL_DOMAIN.items():
            new = copy.deepcopy(tree)
            wrapped = ast.parse(wrapper.format(arg), mode="eval").body
            for parent in ast.walk(new.body[0]):
                for field_name, child in ast.iter_fields(parent):
                    if isinstance(child, ast.Name) and child.id == arg and isinstance(child.ctx, ast.Load):
                        setattr(parent, field_name, copy.deepcopy(wrapped))
                    elif isinstance(child, list):
                        child[:] = [copy.deepcopy(wrapped) if isinstance(c, ast.Name) and c.id == arg
                                    and isinstance(c.ctx, ast.Load) else c for c in child]
            out.append(Variant(ex, ast.unparse(ast.fix_missing_locations(new)), f"{what} of {arg}"))
    return out


# -- what a variant returns, plainly ------------------------------------------------------------------------
def values_differ(ex: Exercise, variant: Variant, points) -> bool | None:
    """Whether the variant returns other values than the solution at some point (None: it raises there)."""
    sol = compile_function(ex.source, ex.name)
    var = compile_function(variant.source, ex.name)
    for p in points:
        want = _as_list(sol(*p))
        try:
            with np.errstate(all="ignore"):
                got = _as_list(var(*p))
        except Exception:  # noqa: BLE001 - a mutant may divide by zero or call a function on a wrong value
            return None
        if len(got) != len(want):
            return True
        for g, w in zip(got, want, strict=True):
            g, w = float(g), float(w)
            if not (math.isfinite(g) and abs(g - w) <= 1e-12 * max(1.0, abs(w))):
                return True
    return False


def _as_list(r):
    return list(r) if isinstance(r, (tuple, list)) else [r]


# -- answers that must fail whatever step or constant they use ---------------------------------------------
def attacks(ex: Exercise) -> list[Variant]:
    """Finite differences at several steps (forward and central), pasted constants and cancelling huge terms
    in place of the solution's derivative (forward and reverse exercises)."""
    if ex.kind == "decomposition":
        return []
    tree = ast.parse(ex.source)
    fn = tree.body[0]
    args = [a.arg for a in fn.args.args]
    wrt = ex.spec.get("wrt", 0) if ex.kind == "forward" else 0
    wrt = args.index(wrt) if isinstance(wrt, str) else int(wrt)
    ret = fn.body[-1]
    returned = [e.id for e in ret.value.elts] if isinstance(ret.value, ast.Tuple) else []
    # the derivative replaced: the returned tangent, or the adjoint of the first input's variable
    target = returned[1] if ex.kind == "forward" else next(
        (_target(s) for s in _assignments(tree) if _target(s).startswith("vbar")
         and _target(s)[4:] == _first_alias(tree, args[wrt])[1:]), returned[1])
    out = []
    solution = f"_solution_{ex.name}"

    def shifted(sign: str, h: str) -> str:
        return ", ".join(f"{a} {sign} {h}" if k == wrt else a for k, a in enumerate(args))

    for h in ("1e-3", "1e-5", "6e-6", "1e-7", "1e-8"):
        fd = {
            "forward difference": f"({solution}({shifted('+', h)})[0] - {solution}({', '.join(args)})[0]) / {h}",
            "central difference": f"({solution}({shifted('+', h)})[0] - {solution}({shifted('-', h)})[0]) / (2 * {h})",
        }
        for what, expr in fd.items():
            out.append(_replaced(ex, tree, target, expr, f"{what} h={h}", solution))
    point = ex.spec["test_points"][0]
    value = _as_list(compile_function(ex.source, ex.name)(*point))
    at = returned.index(target) if target in returned else 1
    out.append(_replaced(ex, tree, target, repr(float(value[at])), "pasted constant", solution))
    # y with a huge term that cancels, and no derivative at all
    new = copy.deepcopy(tree)
    body = new.body[0].body
    y_name = returned[0]
    huge = f"{y_name} = {y_name} + ({args[0]} * 2.0 ** 50 - {args[0]} * 2.0 ** 50)"
    body.insert(len(body) - 1, ast.parse(huge).body[0])
    for s in _assignments(new):
        if _is_derivative(_target(s), ex.kind):
            s.value = ast.Constant(0.0)
    out.append(Variant(ex, ast.unparse(ast.fix_missing_locations(new)), "cancelling huge terms",
                       notes={"solution": solution}))
    return out


def _first_alias(tree, arg: str) -> str:
    for s in _assignments(tree):
        if isinstance(s.value, ast.Name) and s.value.id == arg:
            return _target(s)
    return arg


def _replaced(ex, tree, target: str, expr: str, what: str, solution: str) -> Variant:
    new = copy.deepcopy(tree)
    for s in _assignments(new):
        if _target(s) == target:
            s.value = ast.parse(expr, mode="eval").body
    return Variant(ex, ast.unparse(ast.fix_missing_locations(new)), what, culprit=target,
                   notes={"solution": solution})


def compile_variant(variant: Variant):
    """The variant's function; an attack's helper (the solution it differentiates numerically) beside it."""
    fn = compile_function(variant.source, variant.exercise.name)
    helper = variant.notes.get("solution")
    if helper:
        fn.__globals__[helper] = compile_function(variant.exercise.source, variant.exercise.name)
    return fn
