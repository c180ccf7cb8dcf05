"""The reverse-mode check: ``fn`` returns ``(y, vbar0, ..., vbarN)``, one adjoint per intermediate variable in
the student's own order.

Every adjoint is compared with the engine's backward pass over the student's OWN forward pass (so any valid
decomposition and numbering works) after the engine and PyTorch agreed on it; y is compared with the
exercise's reference. The culprit is the first wrong adjoint in reverse topological order whose own step is
wrong: an adjoint that follows correctly from wrong downstream adjoints only inherits the mistake.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np

from ..notation import adjoint_name, adjoint_names, join_sum, note, numbered, numbered_order, times
from .analysis import GraphFacts
from .diagnose import Diagnosis, Term, diagnose, partial_formula, unreadable
from .expected import Expected, expected_at
from .judge import (
    INHERITED_CREDIT,
    PointData,
    PointFailure,
    drawn_graph,
    finite,
    hidden_summary,
    make_result,
    numbers_shown,
    point_failure,
    point_words,
    settle_part,
    shown_point,
    without_numbers,
)
from .numbers import close, fmt
from .pairing import paired_by_number, returned_names, returned_place
from .spec import tolerances
from .torch_replay import ensure_agreement, torch_adjoints


def student_variables(graph) -> list[int]:
    """The student's intermediate variables (named, non-constant nodes) in their own order: by number when
    each has a name numbered alike (``v0 .. v8``, or the items ``v[0] .. v[8]`` of a list, whatever other
    names a node also has), else in the order the function created them."""
    ids = held_last(graph, [n.id for n in graph.nodes if n.op != "const" and n.names])
    for prefix in dict.fromkeys(f[0] for i in ids for f in map(numbered, graph.nodes[i].names) if f):
        names = [
            next((x for x in graph.nodes[i].names if (f := numbered(x)) and f[0] == prefix), None) for i in ids
        ]
        if all(names):
            order = numbered_order(names)
            if order is not None:
                return [ids[i] for i in order]
    return ids


def held_last(graph, ids: list[int]) -> list[int]:
    """``ids`` without the values a name held before it was assigned again (``t = t + t`` in a loop): the
    student has one variable of that name, holding its last value, and one derivative of it to give."""
    last: dict[str, int] = {}
    for i in ids:
        for name in graph.nodes[i].names:
            last[name] = i
    return [i for i in ids if any(last[name] == i for name in graph.nodes[i].names)]


def written_by_student(p: PointData, graph, found, value, position: int | None, source) -> bool:
    """Whether a derivative is the student's own work, held in a variable they wrote (a local of its name, or
    of any name holding its value, or computed in the return line), rather than a number written into the
    return line. Only such a value can inherit a mistake from its neighbours."""
    if found is not None:
        return True
    if (position is not None and source is not None and source.known and source.returns is not None
            and position < len(source.returns)):
        return bool(source.returns[position])
    values = {name for m in graph.nodes for name in m.names}
    return finite(value) and any(k not in values and isinstance(x, float) and x == value
                                 for k, x in p.locals.items())


def returned_items_of(p: PointData, returned: list, variables: list[int], scale, rtol: float,
                      atol: float) -> dict[int, tuple[str, object]]:
    """``{node: (item, value)}`` when the values returned after y are, in order, the items of one of the
    student's lists or arrays (``grads[0] .. grads[8]``, held when the function returned): then each adjoint
    goes by the item the student wrote, not by a name made up from its variable's. {} when no list fits."""
    lists: dict[str, set[int]] = {}
    for key in p.locals:
        m = _ITEM.match(key)
        if m:
            lists.setdefault(m.group(1), set()).add(int(m.group(2)))
    for name, indices in lists.items():
        for offset in dict.fromkeys((0, min(indices))):
            keys = [f"{name}[{i + offset}]" for i in range(len(returned))]
            if all(k in p.locals and finite(p.locals[k]) and finite(r)
                   and close(p.locals[k], r, scale[n], rtol, atol)
                   for k, r, n in zip(keys, returned, variables, strict=True)):
                return {n: (k, p.locals[k]) for k, n in zip(keys, variables, strict=True)}
    return {}


_ITEM = re.compile(r"^([A-Za-z_]\w*)\[(\d+)\]$")


def find_local(p: PointData, names: list[str], spellings) -> tuple[str, object] | None:
    for name in names:
        for key in spellings(name):
            if key in p.locals:
                return key, p.locals[key]
    return None


class PointVerdict:
    """Rows, diagnosis and compared values at one test point."""

    def __init__(self):
        self.rows: dict[str, dict] = {}
        self.order: list[str] = []
        self.messages: list[str] = []
        self.mistakes: list[str] = []
        self.culprit: str | None = None
        #: The corrected line of the culprit (shown only at the ``solution`` reveal level).
        self.solution: str = ""
        #: node name -> the label of its adjoint or tangent (``v3`` -> ``vbar3``), for drawing the graph.
        self.labels: dict[str, str] = {}
        self.received: dict = {}
        self.expected: dict = {}
        #: Whether a tangent or adjoint was found wrong by a mistake of its own (then ``culprit`` names the first).
        self.own_mistake = False

        #: Parts right by name but not where the function returns them (adjoints in the wrong places, a
        #: derivative computed but another one returned): their credit is at most ``INHERITED_CREDIT``.
        self.capped: set[str] = set()
        #: The part the first message is about (the culprit's, or one no variable of the student's holds).
        self.first_part: str | None = None
        #: Forward mode: the derivative the function returns (whether or not it is the student's own tangent).
        self.returned_other: float | None = None
        self.returned_right: float | None = None

    def add(self, part: str, row: dict) -> None:
        if part not in self.rows:
            self.order.append(part)
        self.rows[part] = row

    def mistake(self, row: dict, label: str, rule: str, code: str, words: str, where: str, *,
                written: bool = True, shown: str | None = None) -> None:
        """Mark the tangent or adjoint ``row`` as the student's own mistake ``code`` (``words``), with its
        corrected line ``label = rule``. The point's first such mistake is its culprit: it leads the messages,
        saying ``where`` it was seen (and calling it ``shown``), and gives the solution shown. A culprit names
        only a variable the student ``written``: a value no variable of theirs holds has none."""
        row.update(ok=False, status="wrong", message=words, code=code, solution=f"{label} = {rule}")
        if self.own_mistake:
            self.mistakes.append(code)
            return
        self.own_mistake = True
        self.first_part = label
        self.culprit = label if written else None
        self.solution = row["solution"]
        self.mistakes.insert(0, code)
        self.messages.insert(0, f"{shown or label} is wrong {where}: {words}")

    @property
    def failed(self) -> bool:
        return any(not r["ok"] for r in self.rows.values())


def check_y(spec: dict, p: PointData, v: PointVerdict, facts: GraphFacts, y_value, exp: Expected,
            atol: float) -> float:
    """Adds the row of y (the first returned value, compared with the reference) and returns the reference
    value."""
    ref = exp.y
    graph = facts.graph
    out = graph.nodes[facts.output]
    scale, rtol = exp.y_scale, exp.rel
    # The name the output was given last (``v8`` of ``v8 = v6``): the variable the student returned.
    label = out.names[-1] if out.names else "y"
    v.received[label] = y_value
    v.expected[label] = ref
    ok = finite(y_value) and close(y_value, ref, scale, rtol, atol)
    row = {
        "part": "y",
        "name": label,
        "label": "y" if label == "y" else f"y ({label})",
        "ok": ok,
        "status": "ok" if ok else "wrong",
        "received": y_value,
        "expected": ref,
    }
    if not ok:
        where = point_words(spec, p)
        numbers = numbers_shown(spec, p)
        show = numbers and spec.get("show_expected", True)
        graph_value = facts.value(facts.output)
        # The student's values that never reach y are in no graph of y: their locals hold them.
        aside = [float(x) for x in p.locals.values() if isinstance(x, (int, float)) and not isinstance(x, bool)]
        departs, off, how = (first_departure(graph, exp, aside) if not close(graph_value, ref, scale, rtol, atol)
                             else (None, None, None))
        if not close(graph_value, ref, scale, rtol, atol):
            first_off = off if off is not None else departs
            msg = (
                f"Your forward pass does not compute the exercise's function: {where} your {label} is "
                + (f"{fmt(graph_value)}" if numbers else "not y")
                + (f", but y is {fmt(ref)}" if show else "")
                + (f". The first variable that takes a value the function never computes is {first_off.name} "
                   f"(line {first_off.line}: `{first_off.source}`)"
                   if first_off is not None and first_off.source else "")
                + (f", and it reads {departs.name} (line {departs.line}: `{departs.source}`), which holds a value "
                   "your function already computes elsewhere: the value its place needs is another one the "
                   "function computes, and none of your variables holds it"
                   if how == "took" and departs.source else "")
                + (f", and it reads {departs.name}"
                   + (f" (line {departs.line}: `{departs.source}`)" if departs.source else "")
                   + f", which stops a step short: {departs.name} holds "
                   + (f"the input {departs.names[0]} unchanged" if departs.op == "input" else
                      "a value the function computes on the way")
                   + f", but the function takes it one operation further before {off.name}'s place needs it, "
                   "and none of your variables holds that next value"
                   if how == "short" else "")
                + ". Check each line of the forward pass against the formula."
            )
            code = "wrong-function"
            if departs is not None:
                v.culprit = v.culprit or departs.name
        elif not finite(y_value):
            msg = f"The first value your function returns must be y, a number; yours is {fmt(y_value)}."
            code = "not-a-number"
        else:
            msg = (
                f"The first value your function returns must be y ({label}); {where} it returns "
                + (f"{fmt(y_value)}" if numbers else "another value")
                + (f", and y is {fmt(ref)}" if show else "")
                + "."
            )
            code = "wrong-output"
        row["message"] = msg
        v.mistakes.append(code)
        v.messages.append(msg)
        # A culprit is a variable the student wrote: an output returned without a name has none.
        v.culprit = v.culprit or (label if out.names else None)
    v.add("y", row)
    return ref


def first_departure(graph, exp: Expected, aside: list[float] = ()):
    """``(culprit, off, how)``: the first of the student's named variables (in the order they were computed)
    whose value is none of the values the reference computes at this point, where a wrong forward pass leaves
    the function (``off`` and ``how`` None); or, when that variable reads one that holds a value computed twice
    in place of one never computed (``v3 = cos(v0)`` beside ``v4 = cos(v0)``, ``how`` "took") or one that
    stops a step short of the value its place needs (``how`` "short", see ``_stopped_short``; ``aside`` are
    the values of the student's variables, those that never reach y among them), that one, with ``off`` the
    first variable off the function."""
    if exp.graph is None:
        return None, None, None
    ref_values = [float(n.value) for n in exp.graph.nodes]

    def computed(value: float) -> bool:
        return any(close(value, r, abs(r), exp.rel, 0.0) for r in ref_values)

    for n in graph.nodes:
        if n.op in ("input", "const") or not n.names:
            continue
        if not computed(float(n.value)):
            took = _took_anothers_value(graph, n, ref_values, computed)
            if took is not None:
                return took, n, "took"
            short = _stopped_short(graph, n, exp.graph, computed, aside)
            return (short, n, "short") if short is not None else (n, None, None)
    return None, None, None


def _stopped_short(graph, departed, reference, computed, aside: list[float]):
    """The operand of ``departed`` that stops one step short of the value its place needs (``v3 = v0 * v0``
    where the function goes on to ``x0**2/x1``, read by ``v6 = v3 * v5``): it holds a value the reference
    computes, one step of the reference further on from it is a value none of the student's variables holds,
    and that value in the operand's place puts ``departed`` back on the function. Then the operand, not the
    line that reads it, is where the computation left the function: the line reads what it should, the
    operand was never finished.

    When the value one step further is held by a variable of the student's, the student did finish it, and
    ``departed`` read the wrong variable: that is ``departed``'s own mistake, and no operand is returned. So
    it is too when one of the student's values that never reaches y, read in an operand's place, puts
    ``departed`` back on the function (``v7 = v3 + v6`` where v5, computed and then left unused, belongs)."""
    if departed.primitive is None or reference is None:
        return None
    in_graph = [float(m.value) for m in graph.nodes if m.op not in ("input", "const")]
    theirs = in_graph + list(aside)
    args = [graph.nodes[i].value for i in departed.inputs]

    def puts_back(j: int, value: float) -> bool:
        # ``departed`` with ``value`` in operand j's place takes a value of the function's that no variable
        # of the student's holds: the one its place was for (an earlier value again is no such place).
        out = _with_operand(departed, args, j, value)
        return out is not None and computed(out) and not _among(out, theirs)

    unused = [a for a in aside if not _among(a, in_graph)]
    if any(puts_back(j, w) for j in range(len(args)) for w in unused):
        return None
    for j, i in enumerate(departed.inputs):
        operand = graph.nodes[i]
        name = _name_read(operand, departed)
        if name is None:
            continue
        a = float(operand.value)
        # The reference's values one step on from the operand's that no variable of the student's holds.
        onward = [float(r.value) for r in reference.nodes if r.op not in ("input", "const")
                  and _among(a, [float(reference.nodes[k].value) for k in r.inputs])
                  and not _among(float(r.value), theirs)]
        if any(puts_back(j, r) for r in onward):
            return dataclasses.replace(operand, name=name)
    return None


def _name_read(operand, departed) -> str | None:
    """The name of the student's under which ``departed``'s line reads ``operand``: an intermediate variable,
    or a later name given to an input (``v2 = v0``, an intermediate step the student left unfinished); None
    for an input read by its own first names (``x0``, ``v0 = x0``), which is what it says it is."""
    if operand.op == "const" or not operand.names:
        return None
    names = operand.names if operand.op != "input" else operand.names[2:]
    read = (departed.source or "").split("=", 1)[-1]
    for name in reversed(names):
        # A name or an item (``v[2]``) as a whole: not a part of a longer name, nor a list an item is read of.
        if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w\[])", read):
            return name
    return None


def _among(value: float, values) -> bool:
    """``value`` is one of ``values`` (to 1e-12 relative: the same computation in another order)."""
    return any(math.isclose(value, v, rel_tol=1e-12) for v in values)


def _with_operand(departed, args: list, j: int, value: float) -> float | None:
    """What ``departed`` computes with ``value`` in its operand ``j``'s place (``args`` its operands'
    values), or None where that is outside the primitive's domain or not finite."""
    try:
        with np.errstate(all="ignore"):
            out = float(departed.primitive.raw(*[value if k == j else a for k, a in enumerate(args)],
                                               **departed.params))
    except Exception:  # noqa: BLE001 - an operand value outside the primitive's domain is no match
        return None
    return out if math.isfinite(out) else None


def _took_anothers_value(graph, departed, ref_values: list[float], computed):
    """The operand of ``departed`` that holds a value the function computes, but not the one its place needs
    (``v3 = cos(v0)`` where sin belongs: v3 is cos, so v7 = v3 + v5 is the first value off the function): the
    operand which, given a value of the reference the student never computes, puts ``departed`` back on it."""
    if departed.primitive is None:
        return None
    theirs = [float(m.value) for m in graph.nodes if m.op not in ("input", "const")]
    missing = [r for r in ref_values if not _among(r, theirs)]
    args = [graph.nodes[i].value for i in departed.inputs]
    for j, i in enumerate(departed.inputs):
        operand = graph.nodes[i]
        if operand.op in ("input", "const") or not operand.names:
            continue
        # Only an operand whose value another of the student's values already holds (a value computed twice):
        # an operand of its own value is what it says it is.
        if not _among(float(operand.value), [float(m.value) for m in graph.nodes if m.id != i and m.op != "const"]):
            continue
        for r in missing:
            value = _with_operand(departed, args, j, r)
            if value is not None and computed(value):
                return operand
    return None


def unfaithful(spec: dict, p: PointData, graph, exp: Expected, student_grad: dict[int, float],
               atol: float) -> str | None:
    """Why the student's graph is not a graph of the exercise's function at ``p`` (its derivatives with
    respect to the inputs differ from the reference's), or None when it is faithful (or the reference could
    not be traced, so there is nothing to compare with)."""
    if exp.grad is None:
        return None
    args = list(spec.get("args") or [])
    numbers = numbers_shown(spec, p)
    for k, i in enumerate(graph.inputs):
        want, got = exp.grad[k], float(student_grad.get(i, 0.0))
        if close(got, want, exp.grad_scale[k], exp.rel, atol):
            continue
        name = args[k] if k < len(args) else graph.nodes[i].name
        detail = f" (yours {fmt(got)}, the function's {fmt(want)})" if numbers else ""
        if got == 0:
            how = f"your y does not change with {name} through your computation"
        else:
            how = f"d y/d {name} of your computation is not the function's{detail}"
        return (
            f"Your forward pass is not a computation of the exercise's function {point_words(spec, p)}: "
            f"{how}. A value that does not flow through your variables (a number pasted in, or one computed "
            "elsewhere) gives y the right value but not its derivatives, so your tangents and adjoints "
            "cannot be judged there."
        )
    return None


def faithless(spec: dict, p: PointData, v: PointVerdict, graph, exp: Expected, student_grad, atol: float,
              labels: list[str]) -> bool:
    """Record on ``v`` that the graph is not of the function (and no derivative in ``labels`` can be judged
    at this point); False when it is."""
    out = graph.outputs[0]
    if exp.grad is not None and not close(float(graph.nodes[out].value), exp.y, exp.y_scale, exp.rel, atol):
        # Another function altogether: the y row says so; the derivatives of another function are not judged.
        why = "your forward pass computes another function (see y)."
    else:
        why = unfaithful(spec, p, graph, exp, student_grad, atol)
        if why is None:
            return False
        v.add("graph", {"part": "graph", "label": "graph of the function", "ok": False, "status": "wrong",
                        "message": why})
        v.mistakes.insert(0, "not-the-function")
        v.messages.insert(0, why)
    for label in labels:
        v.add(label, {"part": label, "label": label, "ok": False, "status": "not-judged",
                      "message": "not judged: " + why})
    return True


def derivative_scales(exp: Expected, own_scale: dict[int, float], rtol: float, graph,
                      common: float) -> tuple[float, dict[int, float]]:
    """The relative bound and the scale of each node's derivative: the reference's (see ``expected``:
    ``common`` for intermediate variables, the reference's own for the inputs), or, when the reference could
    not be traced, the spec's ``rtol`` with the student's own graph's scales."""
    if exp.grad is None:
        return rtol, own_scale
    scale = {n: common for n in own_scale}
    for k, i in enumerate(graph.inputs):
        scale[i] = exp.grad_scale[k]
    return exp.rel, scale


def _evaluate_point(spec: dict, p: PointData, rtol: float, atol: float, source=None) -> PointVerdict:
    graph = p.graph
    facts = GraphFacts(graph)
    v = PointVerdict()
    variables = student_variables(graph)
    items = p.returned or []
    exp = expected_at(spec, p.inputs)
    check_y(spec, p, v, facts, items[0] if items else None, exp, atol)

    engine = {k: float(x) for k, x in graph.adjoints().items()}
    ensure_agreement("adjoint", engine, torch_adjoints(graph), facts.adjoint_scale(), graph)
    rtol, scale = derivative_scales(exp, facts.adjoint_scale(), rtol, graph, exp.adjoint_scale)

    if p.returned_tuple and len(items) != 1 + len(variables):
        every = [n.id for n in graph.nodes if n.op != "const"]
        if len(items) == 1 + len(every):
            # Values no variable or list of the student's holds (a tape of tuples): one adjoint returned for
            # each value, in the order the function made them.
            variables = every
    # Where each adjoint is: the returned tuple by position, the locals by name (vbar3, v3_bar, ...), or the
    # items of the student's own list the returned adjoints come from (``return (v[8], *grads)``).
    found = {n: find_local(p, [graph.nodes[n].name, *graph.nodes[n].names], adjoint_names) for n in variables}
    if p.returned_tuple and len(items) == 1 + len(variables) and not all(found.values()):
        for n, held in returned_items_of(p, items[1:], variables, scale, rtol, atol).items():
            found[n] = found[n] or held
    positional = p.returned_tuple and len(items) == 1 + len(variables)
    _paired(p, source, graph, facts, variables, found, scale, rtol, atol, returned=positional)
    # An adjoint returned that no variable of the student's holds (``return y, vbar0, vbar1, 2 * v1``) is called
    # by its place in the return line, not by a name the student never wrote.
    labels = {n: (found[n][0] if found[n] else returned_place(1 + variables.index(n)) if positional
                  else adjoint_name(graph.nodes[n].name)) for n in variables}
    v.labels = {graph.nodes[n].name: labels[n] for n in variables}
    if faithless(spec, p, v, graph, exp, engine, atol, [labels[n] for n in variables]):
        return v
    want = 1 + len(variables)
    received: dict[int, object] = {}
    return_problem = None
    if p.returned_tuple and len(items) == want:
        received = {n: items[1 + i] for i, n in enumerate(variables)}
        by_name = {n: found[n][1] for n in variables if found[n] is not None and finite(found[n][1])}
        misplaced = [
            n
            for n, val in by_name.items()
            if finite(received[n]) and not close(received[n], val, scale[n], rtol, atol)
        ]
        if misplaced and len(by_name) == len(variables):
            holders = []
            for n in misplaced:
                held = [
                    m for m in variables if m != n and close(received[n], by_name[m], scale[n], rtol, atol)
                ]
                if held:
                    # Several adjoints may share the value there (many are 1): name them all, claim none.
                    what = labels[held[0]] if len(held) == 1 else "the value of " + _or([labels[m] for m in held])
                    holders.append(f"position {2 + variables.index(n)} holds {what} where {labels[n]} belongs")
            backwards = len(variables) > 2 and all(
                close(received[n], by_name[variables[-1 - i]], scale[n], rtol, atol) for i, n in enumerate(variables))
            if holders or backwards:
                what = (f"in reverse order ({labels[variables[-1]]} first, {labels[variables[0]]} last)" if backwards
                        else "in the wrong order: " + "; ".join(holders))
                return_problem = (
                    "swapped-order",
                    f"Your function returns its adjoints {what}. Return y first, then "
                    + ", ".join(labels[n] for n in variables)
                    + ".",
                )
                received = dict(by_name)
                # Right by name, but not where they are returned: these count half (see ``combine``).
                v.capped |= {labels[n] for n in misplaced}
    else:
        count = len(items) if p.returned_tuple else 1
        return_problem = (
            "wrong-return-count",
            f"Your function returns {count} value{'s' if count != 1 else ''}; it should return "
            f"{want}: y first, then one adjoint per intermediate variable, in order: "
            + ", ".join(labels[n] for n in variables)
            + ".",
        )
        received = {n: found[n][1] for n in variables if found[n] is not None}
    if return_problem is not None:
        v.add(
            "returned",
            {
                "part": "returned",
                "label": "returned values",
                "ok": False,
                "status": "wrong",
                "message": return_problem[1],
            },
        )
        v.mistakes.append(return_problem[0])
        v.messages.append(return_problem[1])

    # The student's adjoints where they gave one; the chain rule on their values everywhere else.
    own, carried = _chain(graph, facts, received)
    out = facts.output

    def _wrong_uses(n: int) -> list[str]:
        """The student's adjoints downstream of ``n`` that are wrong (what an inherited error comes from)."""
        return sorted(
            {
                labels.get(c, adjoint_name(graph.nodes[c].name))
                for c, _ in facts.uses[n]
                if not close(carried[c], engine[c], scale[c], rtol, atol)
            }
        )

    # What every diagnosis at this point reads (the student's adjoints are fixed before any is judged).
    at_point = dict(mode="reverse", graph=graph, facts=facts, labels=labels, rtol=rtol, atol=atol,
                    carried={m: carried[m] for m in variables}, numbers=numbers_shown(spec, p), source=source)
    rows: dict[int, dict] = {}
    written: dict[int, bool] = {}
    for n in sorted(variables, reverse=True):
        label = labels[n]
        r = received.get(n)
        written[n] = written_by_student(p, graph, found[n], r, 1 + variables.index(n) if positional else None,
                                        source)
        row, settled = settle_part(v, label, r, engine[n], own[n], scale[n], rtol, atol,
                                   lambda n=n: _wrong_uses(n), inherits=written[n])
        if not settled:
            terms = [
                Term(other=c, k=k, partial=facts.partials[c][k], carried=carried[c]) for c, k in facts.uses[n]
            ]
            rule = _rule_words(graph, n, facts, labels)
            what = "not a number" if isinstance(r, dict) else "not a finite number"
            d = unreadable(label, r, "compute it by the chain rule and return it.", what)
            if d is None and not written[n]:
                literal = _literal_at(source, 1 + variables.index(n))
                if literal is not None:
                    d = Diagnosis("pasted-constant", f"your return line writes the number {fmt(literal)} there: "
                                                     f"an adjoint is computed by the chain rule, {label} = {rule}.")
                elif close(r, own[n], scale[n], rtol, atol):
                    # Equal to the chain rule on wrong neighbours, but nothing of the student's computes it.
                    d = Diagnosis("missing", f"no variable of yours computes it: compute {label} = {rule} and "
                                             "return it.")
            if d is None:
                d = diagnose(node=n, received=r, terms=terms, own=own[n], scale=scale[n], rule_words=rule,
                             seed=1.0 if n == out else None, **at_point)
            # A value no variable of the student's holds (a number written into the return line, an
            # expression computed there) is no culprit; its label says which returned value it is.
            v.mistake(row, label, rule, d.code, d.words, point_words(spec, p), written=found[n] is not None,
                      shown=None if found[n] is not None else _unnamed(label, graph.nodes[n]))
        rows[n] = row
    for n in variables:
        v.add(labels[n], rows[n])
    if not v.own_mistake and return_problem is not None and return_problem[0] == "swapped-order":
        v.culprit = v.culprit or labels[misplaced[0]]
    return v


def _unnamed(label: str, node) -> str:
    """How a message leads with an adjoint no variable of the student's holds: its place in the return line
    and the variable of theirs it is the adjoint of ("The 4th value you return (the adjoint of x2)")."""
    return f"{label[:1].upper()}{label[1:]} (the adjoint of {node.name})"


def _chain(graph, facts: GraphFacts, received: dict) -> tuple[dict[int, float], dict[int, float]]:
    """``(own, carried)``: each adjoint by the chain rule on the student's downstream adjoints (``received``
    where they gave one, the chain rule's own value elsewhere), and the adjoint carried on from each node."""
    carried: dict[int, float] = {}
    own: dict[int, float] = {}
    out = facts.output
    for n in reversed(graph.nodes):
        if n.op == "const":
            continue
        own[n.id] = (
            1.0 if n.id == out else sum(carried[c] * facts.partials[c][k] for c, k in facts.uses[n.id])
        )
        r = received.get(n.id)
        carried[n.id] = r if finite(r) else own[n.id]
    return own, carried


def _paired(p: PointData, source, graph, facts: GraphFacts, variables: list[int], found: dict, scale,
            rtol: float, atol: float, returned: bool) -> None:
    """Fill ``found`` for the adjoints whose names do not say their variable (see ``pairing``): with
    ``returned`` (one value returned per variable), the name written alone at each place of the return line
    (``return y, a0, a1, a2``); then a numbered family (``adj3``, ``a3``, ``g3``) whose values follow from one
    another by the chain rule at most steps."""
    if returned:
        for n, held in returned_names(p, source, graph, variables).items():
            found[n] = found[n] or held
    missing = [n for n in variables if found[n] is None]
    if not missing:
        return
    known = {n: found[n][1] for n in variables if found[n] is not None}
    found.update(paired_by_number(p, graph, missing, known, lambda r: _chain(graph, facts, r)[0], scale, rtol,
                                  atol))


def _literal_at(source, position: int) -> float | None:
    """The number the student's return line writes literally at ``position`` (``return v8, 0.0``), if any."""
    if source is None or not source.known or position >= len(source.return_literals):
        return None
    return source.return_literals[position]


def _or(words: list[str]) -> str:
    words = words[:4] + (["..."] if len(words) > 4 else [])
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _rule_words(graph, n: int, facts: GraphFacts, labels: dict[int, str]) -> str:
    """``vbar3 * cos(v0) + vbar4 * (-sin(v0))``: the chain rule for the adjoint of node ``n`` in names."""
    if n == facts.output:
        return "1"
    terms = []
    for c, k in facts.uses[n]:
        carried = labels.get(c, adjoint_name(graph.nodes[c].name))
        # A label in words ("the 4th value you return") is one operand.
        carried = f"({carried})" if " " in carried else carried
        terms.append(times(partial_formula(graph, c, k), carried))
    return join_sum(terms)


def judge_points(evaluate_point, spec: dict, points: list[PointData], failures: dict | None = None, source=None,
                 fresh=()):
    """A forward or reverse answer judged: ``evaluate_point`` (the kind's verdict at one point) at every point,
    combined; the fresh points are read with the same function."""
    rtol, atol = tolerances(spec)

    def evaluate(p: PointData) -> PointVerdict:
        return evaluate_point(spec, p, rtol, atol, source)

    return combine(spec, points, [evaluate(p) for p in points], failures, source, fresh=fresh, evaluate=evaluate)


def judge_reverse(spec: dict, points: list[PointData], failures: dict | None = None, source=None, fresh=()):
    # Adjoints typed as closed formulas, none propagated from another, are no reverse mode (``propagation``).
    from .propagation import propagated

    return judge_points(propagated(_evaluate_point, "reverse", points), spec, points, failures, source, fresh)


def _hidden_numbers(points: list[PointData], verdicts: list[PointVerdict]) -> list[float]:
    """What a fresh point's words must never quote: every hidden point's inputs, and the reference's and the
    student's values there, but for those the visible points show anyway (a number pasted in is the same at
    every point) and whole numbers (the rules' words use them). An honest answer's values at a fresh point
    match none of them; an answer that remembered the hidden points it was called at, and returns them at a
    fresh point, gets no numbers."""
    hidden, shown = [], []
    for p, v in zip(points, verdicts, strict=True):
        (shown if p.visible else hidden).extend([*p.inputs, *v.expected.values(), *v.received.values()])
    shown = {f"{float(x):.10g}" for x in shown if finite(x)}
    return [float(x) for x in hidden
            if finite(x) and not float(x).is_integer() and f"{float(x):.10g}" not in shown]


def _any_of(values, numbers: list[float]) -> bool:
    """Whether any of ``values`` is one of ``numbers`` (to 10 significant digits: the same number, however it
    was computed)."""
    return any(f"{float(x):.10g}" == f"{h:.10g}" for x in values for h in numbers)


def fresh_reading(spec: dict, shown: PointVerdict, fresh, evaluate, forbidden: list[float]) -> tuple[str, dict] | None:
    """The mistake ``shown`` diagnosed at a hidden point, shown with numbers at the first fresh point where the
    answer is wrong the same way (the same culprit and mistake): ``(words, data)``, the data for
    ``CheckResult.fresh``. None when no fresh point fits. A fresh point never changes the verdict, so one that
    cannot be judged is passed over."""
    for p in fresh:
        if point_failure(spec, p, None) is not None:
            continue
        try:
            v = evaluate(p)
        except Exception:  # noqa: BLE001 - an illustration that cannot be made is left out, never fatal
            continue
        if not v.failed or v.culprit != shown.culprit or v.mistakes[:1] != shown.mistakes[:1]:
            continue
        wrong = [row.get("name", row["part"]) for row in v.rows.values() if not row["ok"]]
        part = next((name for name in sorted(wrong, key=lambda name: name != shown.culprit)
                     if finite(v.received.get(name))), None)
        if part is None:
            continue
        received, expected = v.received[part], v.expected.get(part)
        show = spec.get("show_expected", True) and finite(expected)
        if _any_of([received, expected] if show else [received], forbidden):
            continue
        words = note("fresh-values", where=point_words(spec, p), part=part, received=fmt(received),
                     expected=f", and the right value is {fmt(expected)}" if show else "")
        return words, {"point": list(p.inputs), "part": part, "received": {part: received},
                       "expected": {part: expected} if show else {}}
    return None


def _consistent_reading(shown: PointVerdict, verdicts: list[PointVerdict]) -> PointVerdict:
    """The verdict whose diagnosis of the culprit is the reading most points agree on. At one point two
    explanations may fit the numbers (a tangent that happens to be 1 or -1 there); the other points tell them
    apart, so the words come from a point whose reading the others share."""
    part = shown.culprit
    codes = [(v, v.rows[part].get("code")) for v in verdicts
             if part and part in v.rows and not v.rows[part].get("ok") and v.culprit == part]
    counts: dict = {}
    for _, code in codes:
        counts[code] = counts.get(code, 0) + 1
    if len(counts) < 2:
        return shown
    if set(counts) == {"wrong", "finite-difference"}:
        # A value within NEAR of the right one at some points is the tell-tale of an estimate; where the
        # estimate's error grows (a steep second derivative) the same line only reads as "wrong", which names
        # no cause: the estimate is the reading, however many points show it.
        return next(v for v, code in codes if code == "finite-difference")
    best = max(counts, key=lambda c: (counts[c], c == shown.rows[part].get("code")))
    return next(v for v, code in codes if code == best)


#: Readings of a wrong value that a constant explains better: a number the same at every point, where the
#: right one changes, is not a slip of the chain rule.
_CONSTANT_EXPLAINS = {"wrong", "wrong-local-derivative", "missing-term", "missing-path", "missing", "sign",
                      "finite-difference", "extra-factor", "missing-factor"}


def _pasted(label: str, verdicts: list[PointVerdict], source, code: str | None = None, show: bool = True,
            message: str = "", derivatives: frozenset = frozenset()) -> str | None:
    """The words for a value that is the same at every test point while its right value changes: a number
    pasted in (the student's line reads no variable), or a line whose variables add nothing (``x0 * 0.0 +
    2.56``). A line that reads variables and has a reading of its own (``code``) keeps that reading. None
    when the value changes, or the right one does not."""
    got = [v.received.get(label) for v in verdicts if label in v.received]
    want = [v.expected.get(label) for v in verdicts if label in v.received]
    if len(got) < 2 or not all(finite(g) for g in got) or len(set(got)) != 1:
        return None
    if not all(finite(w) for w in want) or len(set(want)) == 1:
        return None
    assigned = (source.assignments.get(label) or [None])[-1] if source is not None and source.known else None
    number = fmt(got[0]) if show else "the same number"
    if assigned is not None and not assigned.reads:
        return (f"{label} is {number} at every test point, but its right value changes from point to point: "
                "it is a number pasted in, not computed from your variables.")
    if assigned is not None:
        # A line built on the student's own derivatives (``vbar4 = vbar5``) is constant because what it kept
        # is: its reading (a missing factor, a dropped term) stands.
        if assigned.reads & derivatives or code not in _CONSTANT_EXPLAINS:
            return None
    elif not (code in ("wrong", "missing", "finite-difference") or "does not follow the chain rule" in message):
        # An unread line: only a reading that names no cause of its own gives way to the constant.
        return None
    return (f"{label} is {number} at every test point, but its right value changes from point to point: it "
            "does not change with the inputs, so its line does not compute it from them by the chain rule (a "
            "number written in, a term multiplied by 0, or a function of the seeds alone stays the same at every "
            "point).")


def part_credit(rows_at_points: list[dict | None], total: int) -> float:
    """The credit of one part over the points: its worst credit over the points where it has a number, times
    the share of all ``total`` points where it does (a NaN or a failure at one point costs that point only)."""
    counted = [r for r in rows_at_points if r is not None and not _lost_at_point(r)]
    if not counted:
        return 0.0
    worst = min(float(r.get("credit", 1.0 if r["ok"] else 0.0)) for r in counted)
    return worst * len(counted) / total


def _lost_at_point(row: dict) -> bool:
    return row.get("code") == "not-a-number" and row.get("received") is not None and not isinstance(
        row.get("received"), dict)


#: How a forward or reverse answer is scored (also in the README). Every graded part (y, each tangent or
#: adjoint, and a "returned values" part when the function returns the wrong number or order of values) earns
#: a credit; the score is the mean credit. A part right at every test point earns 1. A derivative whose own
#: step is right, wrong only because it builds on the student's wrong neighbours, earns INHERITED_CREDIT
#: (0.5) - only if the student computed it (a number written into the return line inherits nothing). A
#: derivative right by name but not returned where it belongs (adjoints in the wrong order, a tangent computed
#: but another value returned as the derivative) earns at most INHERITED_CREDIT. Anything else wrong earns 0.
#: A point where the code raised or a value is NaN costs that point's share of each part. The headline says
#: "N of M parts right, K partly right", so the score can be read off the parts.
SCORING = "mean credit of the parts: 1 right, 0.5 inherited or misplaced, 0 wrong"


def combine(spec: dict, points: list[PointData], verdicts: list[PointVerdict],
            failures: dict[int, PointFailure] | None = None, source=None, fresh=(), evaluate=None):
    """One result from the verdicts at every judged point: a part is right only if it is right at every point;
    the words and compared values come from the first point where something is wrong. A point in
    ``failures`` (or a part that is NaN at one point only) costs that point's share. When those words are
    about a hidden point, ``evaluate`` (a point's verdict) reads the ``fresh`` points for the same mistake
    with numbers (``fresh_reading``); they never change the score. Scored by ``SCORING``."""
    failures = failures or {}
    total = len(points) + len(failures)
    first = next((i for i, v in enumerate(verdicts) if v.failed), 0)
    shown = _consistent_reading(verdicts[first], verdicts)
    first = verdicts.index(shown)
    rows = []
    parts = list(shown.order)
    for v in verdicts:
        parts += [part for part in v.order if part not in parts]
    credits = []
    for part in parts:
        row = shown.rows.get(part)
        if row is not None and not points[first].visible:
            row = without_numbers(row)
        for v, p in zip(verdicts, points, strict=True):
            other = v.rows.get(part)
            if other is None:
                continue
            if row is None or (row["ok"] and not other["ok"]):
                # A row judged at a hidden point keeps its words (they quote no number) but not its values.
                row = other if p.visible else without_numbers(other)
        credit = part_credit([v.rows.get(part) for v in verdicts], total)
        if any(part in v.capped for v in verdicts):
            credit = min(credit, INHERITED_CREDIT)
        credits.append(credit)
        rows.append(dict(row))
    messages, mistakes = list(shown.messages), list(shown.mistakes)
    show = any(p.visible for p in points)
    derivatives = frozenset(r["part"] for r in rows)
    returned = [v.returned_other for v in verdicts]
    right = [v.returned_right for v in verdicts]
    if (mistakes and mistakes[0] == "not-returned" and len(returned) > 1 and None not in returned
            and len(set(returned)) == 1 and len(set(right)) > 1):
        # The words of forward._returned_other: another value returned, or the plain call answering otherwise.
        at = next(i for i, m in enumerate(messages)
                  if m.startswith(("The derivative your function returns", "Your function returns")))
        messages[at] += (f" It is {fmt(returned[0]) if show else 'the same number'} at every test point: a "
                         "number, not computed from the inputs.")
    for row in rows:
        pasted = _pasted(row["part"], verdicts, source, row.get("code"), show, str(row.get("message", "")),
                         derivatives)
        if pasted is not None and not row["ok"]:
            row.update(code="pasted-constant", message=pasted)
            if row["part"] in (shown.culprit, shown.first_part) and mistakes:
                mistakes[0] = "pasted-constant"
                messages[0] = pasted
    summary = hidden_summary(points + [f.point for f in failures.values()],
                             [v.failed for v in verdicts] + [True] * len(failures))
    if summary:
        messages.insert(0, summary)
    extra = None
    if evaluate is not None and fresh and shown.failed and not numbers_shown(spec, points[first]):
        extra = fresh_reading(spec, shown, fresh, evaluate, _hidden_numbers(points, verdicts))
        if extra is not None:
            messages.insert(bool(summary) + 1, extra[0])
    for f in sorted(failures.values(), key=lambda f: f.point.index):
        rows.append({"part": f"point {f.point.index + 1}", "label": "a test point", "ok": False,
                     "status": "wrong", "message": f.message, "code": f.code})
        messages.append(f.message)
        mistakes.append(f.code)
    score = sum(credits) / len(credits) if credits else 0.0
    wrong = [r.get("name", r["label"]) for r in rows if not r["ok"] and r["part"] != "returned"
             and not r["part"].startswith("point ")]
    received, expected = shown.received, shown.expected
    if not numbers_shown(spec, points[first]):
        # The student's own values at a hidden point would give its inputs away (vbar4 = v1 = x1).
        received, expected = {}, {}
    for r, credit in zip(rows, credits + [0.0] * (len(rows) - len(credits)), strict=True):
        # What the part earned (1 right, 0 wrong, between: see SCORING); the headline counts these.
        r.pop("credit", None)
        r["share"] = round(credit, 6)
    return make_result(
        spec,
        status="ok",
        rows=rows,
        messages=messages,
        mistakes=mistakes,
        culprit=shown.culprit,
        solution=shown.solution,
        received=received,
        expected=expected,
        wrong=wrong,
        point=shown_point(spec, points[first]),
        graph=drawn_graph(points, verdicts),
        score=score,
        fresh=extra[1] if extra is not None else None,
        failed_at=[p.index for p, v in zip(points, verdicts, strict=True) if v.failed] + list(failures),
    )
