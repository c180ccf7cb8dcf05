"""Whether a forward or reverse answer propagates its derivatives at all, or types them as closed formulas.

Tangents and adjoints are judged by value, and a value alone cannot show how it was computed: the symbolic
derivative ``dydx0 = np.cos(x0) - x1*np.sin(x0)`` beside ``y`` written in one expression, or adjoints typed as
formulas of the inputs (the intermediate ones as the constants 1.0 they happen to be), had nothing wrong with
them to find and scored full marks (an outside review, issue 11). The exercises ask for forward mode and
reverse mode by hand: intermediate variables, one operation each, with a tangent next to each or an adjoint
propagated backward. Three readings, each of which an honest answer cannot meet:

1. y computed in one expression (no named intermediate variable, every operation of y's graph in one
   statement) while the reference has several operations: there is nothing whose tangent or adjoint could be
   propagated. The parts that judge intermediate tangents (forward: missing, one per intermediate variable of
   the exercise) or adjoints (reverse: every adjoint but the inputs') fail; y and the derivatives with
   respect to the inputs keep what their values earn, as when the checker cannot follow an answer.
2. Forward: intermediate variables, but no local of the student's holds the tangent of any of them (by value,
   at the point, whatever its name; the seeds 0 and 1 prove nothing): the derivative was not propagated.
3. Reverse: a real forward pass, but no returned adjoint is computed from another: the input adjoints read
   (through every line that leads to them) no intermediate adjoint, and no intermediate adjoint reads any
   adjoint. A backward pass always computes an input's adjoint from the adjoints of the variables that use
   it, so only closed formulas (typed, or from a computer-algebra system) meet this.

Each is applied to one point's verdict (``propagated`` wraps a kind's ``_evaluate_point``), so the scoring,
the words and the fresh points of ``reverse.combine`` treat its parts like any other.
"""

from __future__ import annotations

import ast
import math
from functools import lru_cache

from ..engine.primitives import ELEMENTARY, ELEMENTARY_BINARY
from ..notation import tangent_name
from .expected import expected_at
from .judge import answers_differently

#: The mistake code of every reading here.
CODE = "closed-form"
#: How near a local must be to a tangent to count as holding it: evidence, not a verdict, so looser than the
#: comparison of a graded part (an honest tangent computed in another order differs in its last digits).
_EVIDENCE_RTOL = 1e-9


def propagated(evaluate_point, kind: str, points: list):
    """``evaluate_point`` (a kind's verdict at one point), with this module's readings applied to its verdict
    when y and the derivatives the exercise asks for are right at every one of ``points`` (the judged test
    points; a fresh point is read alike when they are). A derivative wrong anywhere is told as the mistake it
    is (a number pasted in, a slip of a formula): only one whose value is right can pass without being
    propagated. Each of ``points`` is evaluated once, whichever asks first."""
    verdicts: dict[int, object] = {}
    right: list[bool] = []

    def plain(spec, p, rtol, atol, source):
        if id(p) not in verdicts:
            verdicts[id(p)] = evaluate_point(spec, p, rtol, atol, source)
        return verdicts[id(p)]

    def evaluate(spec: dict, p, rtol: float, atol: float, source=None):
        if not right:
            right.append(all(_asked_right(kind, q, plain(spec, q, rtol, atol, source)) for q in points))
        v = plain(spec, p, rtol, atol, source)
        verdicts.pop(id(p))  # read once: a verdict is never changed twice
        reference = _reference_operations(spec, p)
        if not right[0] or reference < 2 or not _asked_right(kind, p, v):
            return v
        if _one_expression(p.graph, source):
            _fail_one_expression(kind, spec, p, v, reference)
        elif kind == "forward":
            _closed_form_tangents(spec, p, v, reference)
        elif kind == "reverse":
            _closed_form_adjoints(spec, p, v, source)
        return v

    return evaluate


def _asked_right(kind: str, p, v) -> bool:
    """Whether y is right at this point (a forward pass off the function is told as such) and so is what the
    exercise asks for: forward, the returned derivative (the tangent of y); reverse, the adjoint of every
    input."""
    y = v.rows.get("y")
    if y is None or not y.get("ok") or "graph" in v.rows or answers_differently(p):
        # (A function that answers otherwise when followed is judged again on the run followed, and told so.)
        return False
    graph = p.graph
    wanted = [graph.outputs[0]] if kind == "forward" else list(graph.inputs)
    rows = [v.rows.get(v.labels.get(graph.nodes[i].name, "")) for i in wanted]
    return all(row is not None and row.get("ok") for row in rows)


def _seeds_not_credited(graph, v) -> None:
    """The tangents of the inputs (the seeds 1 and 0) are right whatever follows them: beside a derivative
    that does not propagate them they earn nothing."""
    for i in graph.inputs:
        _not_credited(v.rows.get(v.labels.get(graph.nodes[i].name, "")),
                      "not credited: no tangent is propagated from this seed (see above).")


def _reference_operations(spec: dict, p) -> int:
    ref = expected_at(spec, p.inputs).graph
    return 0 if ref is None else sum(1 for n in ref.nodes if n.op not in ("input", "const"))


def _operations(graph) -> list:
    return [n for n in graph.nodes if n.op not in ("input", "const")]


def _intermediates(graph) -> list:
    """The operations of y's graph but y's own (the graph holds only what y depends on)."""
    return [n for n in _operations(graph) if n.id != graph.outputs[0]]


def _one_expression(graph, source) -> bool:
    """Whether y's graph has no named intermediate variable and all its operations come from one statement of
    the student's that calls nothing but elementary functions (a tape that keeps its values inside tuples names
    none either, but makes them on lines of their own; a helper the statement calls, a generator of steps,
    may hold a forward pass of its own in lines the checker does not see, so it is never taken for one
    expression). Unknown without the student's source."""
    if any(n.names for n in _intermediates(graph)) or source is None or not getattr(source, "text", ""):
        return False
    spans = _statement_spans(source.text)
    found = set()
    for n in _operations(graph):
        if n.line is None:
            return False
        at = next((span for span in spans if span[0] <= n.line - source.offset <= span[1]), None)
        if at is None:
            return False
        found.add(at)
    return len(found) == 1 and next(iter(found))[2]


#: What a statement may call and still be one expression of elementary functions: numpy's and math's
#: functions, and the elementary ones written bare (``from numpy import sin``).
_ROOTS = frozenset({"np", "numpy", "math"})
_BARE = frozenset({*ELEMENTARY, *ELEMENTARY_BINARY, "float", "abs", "pow"})


@lru_cache(maxsize=16)
def _statement_spans(text: str) -> tuple[tuple[int, int, bool], ...]:
    """``(first line, last line, calls only elementary functions)`` of every simple statement (not a ``def``,
    loop or branch, whose lines hold statements of their own), innermost first. (Cached: it is asked for each
    operation of a graph.)"""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    compound = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.AsyncFor, ast.While, ast.If,
                ast.With, ast.AsyncWith, ast.Try, ast.Match)
    spans = [(s.lineno, s.end_lineno or s.lineno, all(_elementary(c.func) for c in ast.walk(s)
                                                       if isinstance(c, ast.Call)))
             for s in ast.walk(tree) if isinstance(s, ast.stmt) and not isinstance(s, compound)]
    return tuple(sorted(spans, key=lambda s: s[1] - s[0]))


def _elementary(func) -> bool:
    if isinstance(func, ast.Name):
        return func.id in _BARE
    while isinstance(func, ast.Attribute):
        func = func.value
    return isinstance(func, ast.Name) and func.id in _ROOTS


def _first_intermediate(spec: dict) -> str:
    """The exercise's first intermediate variable in the course's numbering (``v3`` after ``x0 .. x2``)."""
    return f"v{len(spec.get('args') or [])}"


def _wrt_arg(spec: dict) -> str:
    wrt = spec.get("wrt", 0)
    args = list(spec.get("args") or [])
    if isinstance(wrt, str):
        return wrt
    return args[int(wrt)] if int(wrt) < len(args) else f"x{int(wrt)}"


def _missing(v, labels: list[str], count: int, why: str) -> None:
    """``count`` missing parts, named by the first of ``labels`` the verdict does not already have."""
    for label in [label for label in dict.fromkeys(labels) if label not in v.rows][:max(count, 0)]:
        v.add(label, {"part": label, "label": label, "ok": False, "status": "missing", "code": CODE,
                      "message": why})


def _lead(v, message: str) -> None:
    v.mistakes.insert(0, CODE)
    v.messages.insert(0, message)


def _fail_one_expression(kind: str, spec: dict, p, v, reference: int) -> None:
    # Named in the course's numbering only as an example: the reference's operations need not be the ones the
    # notebook numbers (``x0**2`` is one more), so the missing parts are counted, not named after them.
    first = _first_intermediate(spec)
    if kind == "forward":
        count = reference - 1
        tangent = tangent_name(first, _wrt_arg(spec))
        _lead(v, f"Your function computes y in one expression: forward mode asks for each intermediate variable "
                 f"({first} = ..., one operation each) and its tangent next to it ({tangent} = ..., from the "
                 "tangents of its operands), so that the derivative is propagated step by step. Your derivative is "
                 "a closed formula, with no tangent of an intermediate variable behind it: a tangent for each "
                 f"operation of the exercise's function before y ({count}) counts as missing.")
        _seeds_not_credited(p.graph, v)
        _missing(v, [f"tangent of intermediate variable {k + 1}" for k in range(count)], count,
                 "missing: your function has no intermediate variable to keep a tangent of (see above).")
        return
    why = ("not credited: your function computes y in one expression, so there is no intermediate variable "
           "whose adjoint could be propagated (see above).")
    failed = sum(_not_credited(v.rows.get(v.labels.get(n.name, "")), why) for n in _operations(p.graph))
    _lead(v, f"Your function computes y in one expression: reverse mode asks for a forward pass with each "
             f"intermediate variable ({first} = ..., one operation each), then the adjoint of each, propagated "
             "backward from the adjoint of y (= 1) by the chain rule. Your adjoints are closed formulas, with "
             "nothing to propagate them through: the adjoints of y and of the values between it and the inputs "
             "earn no credit.")
    _missing(v, [f"adjoint of intermediate variable {k + 1}" for k in range(reference)], reference - failed, why)


def _not_credited(row: dict | None, why: str) -> bool:
    """``row`` (if any) marked as judged by nothing its value can show: no credit, and no values in the table
    (a right value marked wrong would read as a contradiction)."""
    if row is None:
        return False
    for key in ("received", "expected", "credit"):
        row.pop(key, None)
    row.update(ok=False, status="not-judged", code=CODE, message=why)
    return True


def _closed_form_tangents(spec: dict, p, v, reference: int) -> None:
    """Reading 2: intermediate variables, and no local holding the tangent of any of them."""
    from .forward import _wrt

    graph = p.graph
    every = graph.tangents(_wrt(spec, graph))
    answer = float(every[graph.outputs[0]])
    # The tangents that tell: not 0 or 1 (a seed could hold them), nor the derivative itself (a closed formula
    # holds it; here v7's tangent is y's, since v6 = x1/x2 does not change with x0).
    telling = [t for t in (float(every[n.id]) for n in _intermediates(graph))
               if not _trivial(t) and not _near(t, answer, abs(answer))]
    if not telling:
        # Nothing tells (a sum of inputs: every intermediate tangent is 0 or 1): nothing is claimed.
        return
    values = {name for n in graph.nodes for name in n.names} | set(spec.get("args") or [])
    biggest = max(abs(t) for t in telling)
    for name, x in p.locals.items():
        if name in values or not isinstance(x, float) or not math.isfinite(x) or _trivial(x):
            continue
        if any(_near(x, t, 1e-3 * biggest) for t in telling):
            return
    named = [n.names[-1] for n in _intermediates(graph) if n.names]
    if not named:
        return
    wrt = _wrt_arg(spec)
    shown = ", ".join(named[:6]) + (", ..." if len(named) > 6 else "")
    _lead(v, f"No variable of yours holds the tangent of any of your intermediate variables ({shown}): the "
             f"derivative is a closed formula, not propagated. Forward mode asks for a tangent next to each "
             f"intermediate variable ({tangent_name(named[0], wrt)} = ..., from the tangents of its operands), "
             "and the derivative you return is the last of them.")
    # One missing part per intermediate variable of the student's, and at least as many as the exercise has (a
    # closed formula beside one named variable loses as much as beside five).
    _seeds_not_credited(graph, v)
    own = [tangent_name(name, wrt) for name in named]
    more = [f"tangent of intermediate variable {k + 1}" for k in range(reference - 1)]
    _missing(v, own + more, max(len(own), len(more)) - sum(1 for label in own if label in v.rows),
             "missing: no variable of yours holds this tangent (see above).")


def _near(x: float, t: float, scale: float) -> bool:
    return abs(x - t) <= _EVIDENCE_RTOL * max(abs(t), scale)


def _trivial(x: float) -> bool:
    return abs(x) <= 1e-12 or abs(x - 1.0) <= 1e-12


def _closed_form_adjoints(spec: dict, p, v, source) -> None:
    """Reading 3 (see the module's docstring), read off the student's code: only when every returned value is
    written on the return line and each of them can be followed back through assignments."""
    if source is None or not source.known or source.returns is None or not getattr(source, "text", ""):
        return
    graph = p.graph
    inputs = set(graph.inputs)
    by_label = {label: name for name, label in v.labels.items()}
    node_of = {n.name: n for n in graph.nodes}
    adjoint_rows = [label for label in v.order if label in by_label]
    if len(source.returns) != 1 + len(adjoint_rows) or not adjoint_rows:
        return
    values = {name for n in graph.nodes for name in n.names} | set(spec.get("args") or [])
    reads = _reads_by_name(source.text)
    if reads is None:
        return
    positions = {label: source.returns[1 + k] for k, label in enumerate(adjoint_rows)}
    of_inputs = [label for label in adjoint_rows if node_of[by_label[label]].id in inputs]
    between = [label for label in adjoint_rows if label not in of_inputs]
    # What holds an intermediate adjoint: the names its returned value reads, but the forward pass's values
    # and the inputs (``vbar4 = v1`` reads a value, not an adjoint).
    holders = {name for label in between for name in positions[label]} - values
    every = holders | {name for label in of_inputs for name in positions[label]} - values
    if any(_closure(positions[label], reads) & holders for label in of_inputs):
        return
    if any(_closure(positions[label], reads) & (every - set(positions[label])) for label in between):
        return
    if any(_closure(positions[label], reads) & (every - set(positions[label])) for label in of_inputs):
        return
    _lead(v, "Your function returns no adjoint computed from another: the adjoints of the inputs read no adjoint "
             "of an intermediate variable, and those of the intermediate variables read no adjoint at all. "
             "Reverse mode propagates the adjoints backward, from the adjoint of y (= 1), each one from the "
             "adjoints of the variables that use it: closed formulas of the inputs are not that.")
    why = "not credited: no adjoint of yours is computed from another (see above)."
    for label in between:
        _not_credited(v.rows[label], why)


def _reads_by_name(text: str) -> dict[str, set[str]] | None:
    """Every name the code assigns in any way (``=``, ``+=``, an item or an attribute of it, a loop, a method
    call on it, a ``def``), with the names any of those assignments read; None when the text does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    reads: dict[str, set[str]] = {}

    def names(node) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} if node is not None else set()

    def assign(target, read: set[str]) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                assign(t, read)
            return
        if isinstance(target, ast.Starred):
            assign(target.value, read)
            return
        base, extra = target, set()
        while isinstance(base, (ast.Subscript, ast.Attribute)):
            if isinstance(base, ast.Subscript):
                extra |= names(base.slice)
            base = base.value
        if isinstance(base, ast.Name):
            reads.setdefault(base.id, set()).update(read | extra)

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                assign(t, names(node.value))
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            assign(node.target, names(node.value) | names(node.target))
        elif isinstance(node, ast.NamedExpr):
            assign(node.target, names(node.value))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            assign(node.target, names(node.iter))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and node is not tree.body[0]:
            if not isinstance(node, ast.Lambda):
                reads.setdefault(node.name, set()).update(set().union(*(names(s) for s in node.body)))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Name)):
            # ``tape.append(x)``, ``grads.update(...)``: the container takes what the call is given.
            assign(node.func.value, set().union(names(node.func.value), *(names(a) for a in node.args),
                                                *(names(k.value) for k in node.keywords)))
    return reads


def _closure(start, reads: dict[str, set[str]]) -> set[str]:
    """Every name ``start`` reads, directly or through the assignments of what it reads."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(reads.get(name, ()))
    return seen
