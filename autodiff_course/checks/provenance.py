"""Where a notebook variable's value came from: autograd, or the student's own derivation.

A PyTorch exercise that says "derive it by hand" cannot tell from a value alone whether the student derived
it: ``2 * x.detach()`` and ``x.grad.clone()`` are the same numbers. What can be told is what the student's
cells say. The collect half records the text of the cells the student's process ran, in the order it ran
them (IPython's input history, ``In``); ``machine_derived`` reads that text here, on the trusted side, parsed
and never run, and follows each assignment: a name whose value is computed from a machine derivative
(a tensor's ``.grad``, which ``backward()`` fills; ``torch.autograd.grad``, ``torch.func.grad`` and the
other functions in ``AUTOGRAD_ATTRIBUTES``; the engine's ``ad.grad`` and friends), directly or through other
names, helper functions and later cells, is machine-derived until an assignment that reads none replaces it.

What this can and cannot claim (it only ever withholds credit, never gives it):
- it reads what the cells say, so it never blames an answer whose cells compute it without autograd, such
  as ``2 * x.detach()`` or a symbolic ``sympy.diff`` (an exact derivation, which a by-hand exercise accepts);
  calling ``backward()`` in the same cell for a look, without using its result, is no evidence either;
- it is not proof against a student who hides the call (``getattr``, ``exec`` of a built string) or who
  pastes the numbers autograd printed: those answers read as their values say, as any pasted number does;
- with no history (a plain script, an old stored run) it claims nothing.

The other way round (``derived_without_autograd``), for a value the exercise asks autograd for: a name whose
last assignment the cells show reading no machine derivative (a typed ``1 / 25``, a formula) was not read
from autograd. Only an assignment the cells show counts as evidence: a name they never visibly bind (set
through ``exec`` or ``globals()``, inside a magic, in a cell that does not parse) is not blamed, the same
limit as above from the other side.
"""

from __future__ import annotations

import ast

__all__ = ["AUTOGRAD_ATTRIBUTES", "MAX_CELL_CHARS", "MAX_CELLS", "derived_without_autograd", "input_history",
           "machine_derived", "records_history"]

#: Attribute names that are machine differentiation wherever they are read: a tensor's ``.grad`` (what
#: ``backward()`` computed), the functions of ``torch.autograd``, ``torch.autograd.functional`` and
#: ``torch.func`` (``grad``, ``vjp``, ``jacobian``, ...) and the engine's (``ad.grad``, a graph's
#: ``adjoints()``/``tangents()``, a dual number's ``.tangent``). Each maps to the words feedback uses.
AUTOGRAD_ATTRIBUTES: dict[str, str] = {
    "grad": "an autograd `grad` function",
    "vjp": "autograd's `vjp`",
    "jvp": "autograd's `jvp`",
    "vhp": "autograd's `vhp`",
    "hvp": "autograd's `hvp`",
    "jacobian": "autograd's `jacobian`",
    "hessian": "autograd's `hessian`",
    "jacrev": "`torch.func.jacrev`",
    "jacfwd": "`torch.func.jacfwd`",
    "grad_and_value": "`torch.func.grad_and_value`",
    "adjoints": "the engine's `adjoints()`",
    "tangents": "the engine's `tangents()`",
    "tangent": "a dual number's `.tangent`",
}

#: The words for ``.grad`` read as a value rather than called.
_READ_GRAD = "a tensor's `.grad` (what backward() computed)"

#: Libraries whose functions of those names, imported by name (``from torch.autograd import grad``), are
#: machine differentiation too.
_AUTOGRAD_MODULES = ("torch", "functorch", "autodiff_course")

#: The most cells, and characters per cell, the collect half records (a course notebook has a few dozen).
MAX_CELLS = 300
MAX_CELL_CHARS = 20_000


def records_history(spec: dict) -> bool:
    """Whether collecting the exercise ``spec`` records the cells the session ran: it asks for some variable
    to be derived by hand (``by_hand``) or read from autograd (an expectation with ``autograd``; a collect
    spec, which carries no expectations, says so with ``history``)."""
    return bool(spec.get("by_hand") or spec.get("history")
                or any(isinstance(e, dict) and e.get("autograd") for e in spec.get("expect") or []))


def input_history(namespace: dict) -> list[str] | None:
    """The text of the cells run so far in the IPython session that owns ``namespace`` (its ``In`` list), the
    latest ``MAX_CELLS``, each cut at ``MAX_CELL_CHARS``; None outside IPython. Runs in the student's
    process: what it returns is their claim about their own code, read only to withhold credit."""
    history = namespace.get("In")
    if not isinstance(history, list):
        return None
    cells = [c for c in history[-MAX_CELLS:] if isinstance(c, str)]
    return [c[:MAX_CELL_CHARS] for c in cells]


def _autograd_in(node: ast.AST, tainted: dict[str, str], imported: dict[str, str]) -> str | None:
    """The words for the first machine derivative ``node`` reads (an autograd attribute, a machine-derived
    name, an imported autograd function), or None."""
    called = {id(sub.func) for sub in ast.walk(node) if isinstance(sub, ast.Call)}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in AUTOGRAD_ATTRIBUTES:
            return _READ_GRAD if sub.attr == "grad" and id(sub) not in called else AUTOGRAD_ATTRIBUTES[sub.attr]
        if isinstance(sub, ast.Name):
            if sub.id in tainted:
                return tainted[sub.id]
            if sub.id in imported:
                return imported[sub.id]
    return None


def _target_names(target: ast.AST) -> tuple[list[str], bool]:
    """The names an assignment target binds, and whether it replaces them whole (``a = ...``) rather than
    changing part of them (``a[0] = ...``, ``a.data = ...``)."""
    if isinstance(target, ast.Name):
        return [target.id], True
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        names: list[str] = []
        for element in target.elts:
            names += _target_names(element)[0]
        return names, True
    base = target
    while isinstance(base, (ast.Subscript, ast.Attribute)):
        base = base.value
    return ([base.id] if isinstance(base, ast.Name) else []), False


class _Follower:
    """Walks statements in the order they ran, keeping which names hold a machine derivative."""

    def __init__(self):
        self.tainted: dict[str, str] = {}
        self.imported: dict[str, str] = {}
        #: Names whose last whole assignment read no machine derivative (what ``derived_without_autograd``
        #: blames); a name in neither this nor ``tainted`` was never visibly bound.
        self.plain: set[str] = set()

    def taint(self, name: str, why: str) -> None:
        self.tainted[name] = why
        self.plain.discard(name)

    def bind(self, target: ast.AST, why: str | None) -> None:
        names, whole = _target_names(target)
        for name in names:
            if why is not None:
                self.taint(name, why)
            elif whole:
                self.tainted.pop(name, None)
                self.plain.add(name)

    def statements(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self.statement(statement)

    def statement(self, s: ast.stmt) -> None:
        why = None
        if isinstance(s, ast.ImportFrom) and (s.module or "").split(".")[0] in _AUTOGRAD_MODULES:
            for alias in s.names:
                if alias.name in AUTOGRAD_ATTRIBUTES:
                    self.imported[alias.asname or alias.name] = AUTOGRAD_ATTRIBUTES[alias.name]
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # A helper that differentiates by machine makes whatever it returns machine-derived (its body read
            # with the names it imports itself).
            inner = _Follower()
            inner.tainted, inner.imported, inner.plain = dict(self.tainted), dict(self.imported), set(self.plain)
            inner.statements(s.body)
            why = _autograd_in(s, inner.tainted, inner.imported)
            self.bind(ast.Name(id=s.name), why)
        elif isinstance(s, ast.Assign):
            why = _autograd_in(s.value, self.tainted, self.imported)
            for target in s.targets:
                self.bind(target, why)
        elif isinstance(s, ast.AnnAssign) and s.value is not None:
            self.bind(s.target, _autograd_in(s.value, self.tainted, self.imported))
        elif isinstance(s, ast.AugAssign):
            # ``a += b`` keeps what a held and adds b: machine-derived if either is.
            why = _autograd_in(s.value, self.tainted, self.imported)
            if why is not None:
                for name in _target_names(s.target)[0]:
                    self.taint(name, why)
        elif isinstance(s, ast.Delete):
            for target in s.targets:
                for name in _target_names(target)[0]:
                    self.tainted.pop(name, None)
                    self.plain.discard(name)
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            self.bind(s.target, _autograd_in(s.iter, self.tainted, self.imported))
            self.statements(s.body + s.orelse)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, _autograd_in(item.context_expr, self.tainted, self.imported))
            self.statements(s.body)
        elif isinstance(s, (ast.If, ast.While)):
            self.statements(s.body + s.orelse)
        elif isinstance(s, ast.Try):
            self.statements(s.body + [h for handler in s.handlers for h in handler.body] + s.orelse
                            + s.finalbody)
        elif isinstance(s, ast.Expr):
            self.mutation(s.value)

    def mutation(self, expression: ast.expr) -> None:
        """``a.copy_(x.grad)``, ``a.append(g)``: a method of a name called with a machine derivative changes
        that name's value."""
        for call in ast.walk(expression):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                continue
            base = call.func.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if not isinstance(base, ast.Name):
                continue
            why = next((w for a in [*call.args, *(k.value for k in call.keywords)]
                        if (w := _autograd_in(a, self.tainted, self.imported)) is not None), None)
            if why is not None:
                self.taint(base.id, why)


def _follow(cells: list[str]) -> _Follower:
    """The follower after ``cells`` ran in order. A cell that does not parse (a magic IPython left
    untransformed, text nested past the parser's limits) is skipped."""
    follower = _Follower()
    for text in cells:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # hostile text is only skipped
            continue
        follower.statements(tree.body)
    return follower


def machine_derived(cells: list[str], names: list[str]) -> dict[str, str]:
    """Those of ``names`` whose value, after ``cells`` ran in order, is computed from a machine derivative,
    each with the words naming the first one it reads (from ``AUTOGRAD_ATTRIBUTES``, never the student's
    text)."""
    follower = _follow(cells)
    return {n: follower.tainted[n] for n in names if n in follower.tainted}


def derived_without_autograd(cells: list[str], names: list[str]) -> list[str]:
    """Those of ``names`` whose last assignment in ``cells`` (run in order) reads no machine derivative,
    directly or through other names, helpers and cells: a typed number or a formula. A name the cells never
    visibly bind is not among them (see the module docstring)."""
    follower = _follow(cells)
    return [n for n in names if n in follower.plain and n not in follower.tainted]
