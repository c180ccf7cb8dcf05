"""The forward-mode check: ``fn`` returns ``(y, dy/dx_wrt)``, computed with tangents.

y is compared with the reference, the returned tangent and the tangent of every intermediate variable the
student kept in a local (``dv4dx0``, ``dv4``, ``v4_dot``) with the engine's forward mode over the student's
own forward pass, after the engine and PyTorch's forward-mode AD agreed. The culprit is the first wrong
tangent in topological order whose own step is wrong."""

from __future__ import annotations

from ..notation import fmt_apart, join_sum, tangent_name, tangent_names, times
from .analysis import GraphFacts
from .diagnose import Diagnosis, Term, diagnose, partial_formula, unreadable
from .expected import expected_at
from .judge import PointData, finite, numbers_shown, point_words, settle_part
from .numbers import close, fmt, near
from .pairing import paired_by_number, returned_names
from .propagation import propagated
from .reverse import PointVerdict, check_y, derivative_scales, faithless, find_local, held_last, judge_points
from .torch_replay import ensure_agreement, torch_tangents


def _wrt(spec: dict, graph) -> int:
    wrt = spec.get("wrt", 0)
    args = list(spec.get("args") or [])
    if isinstance(wrt, str) and wrt in args:
        wrt = args.index(wrt)
    if isinstance(wrt, str):
        return graph.node(wrt).id
    return graph.inputs[int(wrt)]


def _evaluate_point(spec: dict, p: PointData, rtol: float, atol: float, source=None) -> PointVerdict:
    graph = p.graph
    facts = GraphFacts(graph)
    v = PointVerdict()
    items = p.returned or []
    exp = expected_at(spec, p.inputs)
    check_y(spec, p, v, facts, items[0] if items else None, exp, atol)
    wrt_id = _wrt(spec, graph)
    wrt_node = graph.nodes[wrt_id]
    wrt_names = list(dict.fromkeys([*wrt_node.names, wrt_node.name]))
    engine = {k: float(x) for k, x in graph.tangents(wrt_id).items()}
    ensure_agreement("tangent", engine, torch_tangents(graph, wrt_id), facts.tangent_scale(wrt_id), graph)
    at = graph.inputs.index(wrt_id) if wrt_id in graph.inputs else 0
    rtol, scale = derivative_scales(exp, facts.tangent_scale(wrt_id), rtol, graph,
                                    exp.tangent_scale[at] if exp.tangent_scale else 0.0)
    if exp.grad is not None:
        # The returned derivative is dy/dx_wrt itself: the reference's own scale.
        scale[facts.output] = exp.grad_scale[at]

    out = facts.output
    out_node = graph.nodes[out]
    # A tangent vector per variable (``dv3``, the tangents with respect to every input at once) holds this
    # input's at one item (``dv3[1]``): its spellings come after those of a tangent of its own.
    column = _tangent_column(p, wrt_node, at) if wrt_id in graph.inputs else None
    spellings = lambda name: tangent_names(name, wrt_names, column)  # noqa: E731
    # The output is always graded (its tangent is the returned derivative), named or returned directly.
    named = [n.id for n in graph.nodes if n.op != "const" and (n.names or n.id == out)]
    named = [n for n in named if n == out or n in held_last(graph, named)]
    found = {n: find_local(p, [graph.nodes[n].name, *graph.nodes[n].names], spellings) for n in named}
    _paired(p, source, graph, facts, wrt_id, named, found, out, scale, rtol, atol)
    wrt_arg = wrt_node.names[0] if wrt_node.names else wrt_node.name
    labels = {n: (found[n][0] if found[n] else tangent_name(graph.nodes[n].name, wrt_arg)) for n in named}
    found[out] = found[out] if out_node.names else None
    # The returned tangent is the student's answer for the output, whatever local held it.
    # A derivative returned without a variable of its own is "dy/dx0", the name of no variable: the student's
    # words name only what they wrote.
    out_label = found[out][0] if found.get(out) else f"dy/d{wrt_arg}"
    labels[out] = out_label
    v.labels = {graph.nodes[n].name: labels[n] for n in named}
    if faithless(spec, p, v, graph, exp, {k: float(x) for k, x in graph.adjoints().items()}, atol,
                 [labels[n] for n in named if n in found and found[n] is not None or n == out]):
        return v
    received: dict[int, object] = {n: found[n][1] for n in named if found[n] is not None}
    not_returned = None
    if p.returned_tuple and len(items) == 2:
        v.returned_other = items[1] if finite(items[1]) else None
        v.returned_right = engine[out]
        mine = found[out][1] if found.get(out) else None
        # "The same value" here is loose: a local is read in another run than the returned value, and a finite
        # difference in it differs between the two runs in its last digits.
        # A tangent of y that is exact, returned by the traced run, beside another number returned by the plain
        # run (`if type(x0) is float: return v8, -2.564436409`): the plain call answers differently, however
        # near its number is (a finite difference is never exact, so it is not taken for this).
        answers_differently = (finite(mine) and finite(items[1]) and _traced_derivative(p, mine, scale[out])
                               and close(mine, engine[out], scale[out], rtol, atol)
                               and not close(items[1], mine, scale[out], rtol, atol))
        if answers_differently or (finite(mine) and not (finite(items[1]) and near(items[1], mine, scale[out]))):
            # The student's own tangent of y is kept in a variable but another value is returned: judge the
            # tangent as written, and the return for what it is.
            received[out] = mine
            not_returned = items[1]
        else:
            received[out] = items[1]
    else:
        count = len(items) if p.returned_tuple else 1
        msg = (
            f"Your function returns {count} value{'s' if count != 1 else ''}; it should return 2: y and its "
            f"derivative d y/d {wrt_arg}."
        )
        v.add(
            "returned",
            {"part": "returned", "label": "returned values", "ok": False, "status": "wrong", "message": msg},
        )
        v.mistakes.append("wrong-return-count")
        v.messages.append(msg)
        received.pop(out, None) if found.get(out) is None else None

    own, carried = _chain(graph, facts, wrt_id, received)

    def _wrong_inputs(node) -> list[str]:
        """The student's tangents upstream of ``node`` that are wrong (what an inherited error comes from)."""
        return sorted(
            {
                labels.get(i, tangent_name(graph.nodes[i].name, wrt_arg))
                for i in node.inputs
                if graph.nodes[i].op != "const"
                and not close(carried.get(i, 0.0), engine[i], scale[i], rtol, atol)
            }
        )

    graded = [n for n in named if n in received or n == out]
    # What every diagnosis at this point reads (the student's tangents are fixed before any is judged).
    at_point = dict(mode="forward", graph=graph, facts=facts, labels=labels, rtol=rtol, atol=atol,
                    carried={m: carried[m] for m in named}, numbers=numbers_shown(spec, p), source=source)
    rows: dict[int, dict] = {}
    for n in graded:
        node = graph.nodes[n]
        label = labels[n]
        r = received.get(n)
        row, settled = settle_part(v, label, r, engine[n], own[n], scale[n], rtol, atol,
                                   lambda node=node: _wrong_inputs(node))
        if not settled:
            rule = _rule_words(graph, n, labels, wrt_id, wrt_arg)
            d = unreadable(label, r, f"return y and its derivative {label}.", "not a finite number")
            if d is None and n == out and found.get(out) is None and (lit := _returned_literal(source)) is not None:
                d = Diagnosis("pasted-constant", f"your return line writes the number {fmt(lit)} as the "
                                                 f"derivative: compute it with tangents, {label} = {rule}.")
            if d is None:
                # Without a tangent of the student's own, the terms of the chain rule would be the checker's
                # values, not theirs: no claim about which term a line has.
                terms = (
                    [
                        Term(other=i, k=k, partial=facts.partials[n][k], carried=carried.get(i, 0.0))
                        for k, i in enumerate(node.inputs)
                        if graph.nodes[i].op != "const"
                    ]
                    if n in facts.partials and any(m in received for m in named if m != out)
                    else []
                )
                d = diagnose(node=n, received=r, terms=terms, own=own[n], scale=scale[n], rule_words=rule,
                             seed=own[n] if node.op == "input" else None, **at_point)
                if d.code in ("wrong", "wrong-local-derivative") and n == out:
                    d = _wrong_input(graph, facts, spec, r, scale[n], rtol, atol, label, wrt_id) or d
            # A culprit is a variable the student wrote (``dy/dx0`` returned directly names none).
            v.mistake(row, label, rule, d.code, d.words, point_words(spec, p), written=found.get(n) is not None)
        rows[n] = row
    for n in graded:
        v.add(labels[n], rows[n])
    if not_returned is not None:
        _returned_other(spec, p, v, not_returned, out_label, received[out], source, graded, labels,
                        traced=_traced_derivative(p, received[out], scale[out]))
    _swapped(v, items, facts, engine, out, rtol, atol)
    return v


def _chain(graph, facts: GraphFacts, wrt_id: int, received: dict) -> tuple[dict[int, float], dict[int, float]]:
    """``(own, carried)``: each tangent by the chain rule on the student's upstream tangents (``received``
    where they gave one, the chain rule's own value elsewhere), and the tangent carried on from each node."""
    carried: dict[int, float] = {}
    own: dict[int, float] = {}
    for n in graph.nodes:
        if n.op == "const":
            continue
        if n.op == "input":
            own[n.id] = 1.0 if n.id == wrt_id else 0.0
        else:
            own[n.id] = sum(facts.partials[n.id][k] * carried.get(i, 0.0) for k, i in enumerate(n.inputs))
        r = received.get(n.id)
        carried[n.id] = r if finite(r) else own[n.id]
    return own, carried


def _paired(p: PointData, source, graph, facts: GraphFacts, wrt_id: int, named: list[int], found: dict,
            out: int, scale, rtol: float, atol: float) -> None:
    """Fill ``found`` for the tangents whose names do not say their variable (see ``pairing``): the name
    returned beside y (``return v7, t7``), then a numbered family (``t0 .. t7``, ``d0 .. d7``) whose values
    follow from one another by the chain rule at most steps."""
    if found.get(out) is None:
        found.update(returned_names(p, source, graph, [out]))
    missing = [n for n in named if found.get(n) is None]
    if not missing:
        return
    known = {n: found[n][1] for n in named if found.get(n) is not None}
    found.update(paired_by_number(p, graph, missing, known, lambda r: _chain(graph, facts, wrt_id, r)[0],
                                  scale, rtol, atol))


def _tangent_column(p: PointData, wrt_node, at: int) -> int:
    """Which item of the student's tangent vectors (``dv1 = np.array([0.0, 1.0])``) is the tangent with
    respect to the input ``wrt_node``: the one its own seed vector sets to 1 and the others to 0, when the
    student kept that seed as a vector; else the input's place ``at`` among the arguments (the order a
    vector is written in)."""
    for name in dict.fromkeys([*wrt_node.names, wrt_node.name]):
        for spelling in tangent_names(name, []):
            seed = []
            while f"{spelling}[{len(seed)}]" in p.locals:
                seed.append(p.locals[f"{spelling}[{len(seed)}]"])
            ones = [k for k, x in enumerate(seed) if x == 1.0]
            if len(ones) == 1 and all(x == 0.0 for k, x in enumerate(seed) if k != ones[0]):
                return ones[0]
    return at


def _returned_literal(source) -> float | None:
    """The number written as the derivative in the return line (``return v8, 0.0``), if any."""
    if source is None or not source.known or len(source.return_literals) != 2:
        return None
    return source.return_literals[1]


def _traced_derivative(p: PointData, mine, scale) -> bool:
    """Whether the traced run returned the student's own tangent of y as its derivative (so a plain run that
    returned another value is the same function answering differently, not a wrong variable returned)."""
    items = p.traced_returned
    return bool(items) and len(items) == 2 and finite(items[1]) and finite(mine) and near(items[1], mine, scale)


def _returned_other(spec, p, v: PointVerdict, returned, label: str, mine, source, graded, labels,
                    traced: bool = False) -> None:
    """The derivative returned is not the student's own tangent of y (``return v8, 0.0`` after computing
    dv8dx0): a part of its own, and the tangents behind it count half (they do not reach the answer). With
    ``traced``, the traced run did return that tangent: the function answers differently from one call to
    the next (a branch on its inputs' type, state kept between calls), and the words say that."""
    numbers = numbers_shown(spec, p)
    literal = _returned_literal(source)
    what = (f"the number {fmt(literal)} written into your return line" if literal is not None
            else f"{fmt(returned)}" if numbers else "another value")
    if traced:
        shown_mine, shown_returned = fmt_apart(mine, returned)
        msg = (f"Your function returns {label}" + (f" (= {shown_mine})" if numbers else "")
               + " when it is traced, but " + (shown_returned if numbers else "another derivative")
               + " when it is called with plain numbers at the same point: the same inputs must give "
               "the same answer (no branch on the type of an input, no state kept from one call to the next).")
    else:
        msg = (f"The derivative your function returns is {what}, not your {label}"
               + (f" (= {fmt(mine)})" if numbers else "") + f": return y and {label}.")
    # Its values under its own name, for a fresh point to quote (the tangent keeps the student's label).
    v.received["returned derivative"], v.expected["returned derivative"] = returned, v.returned_right
    v.add("returned", {"part": "returned", "name": "returned derivative", "label": "returned derivative",
                       "ok": False, "status": "wrong", "message": msg, "code": "not-returned"})
    v.mistakes.insert(0, "not-returned")
    v.messages.insert(0, msg)
    v.capped |= {labels[n] for n in graded}


def _swapped(v: PointVerdict, items, facts: GraphFacts, engine, out, rtol, atol) -> None:
    """(dy/dx, y) returned instead of (y, dy/dx)."""
    if len(items) != 2 or not all(finite(x) for x in items):
        return
    y, dy = facts.value(out), engine[out]
    if (
        close(items[0], dy, abs(dy), rtol, atol)
        and close(items[1], y, abs(y), rtol, atol)
        and not close(y, dy, abs(y), rtol, atol)
    ):
        msg = "Your function returns (dy/dx, y); return y first, then its derivative."
        v.mistakes.insert(0, "swapped-order")
        v.messages.insert(0, msg)


def _input_name(graph, node_id: int) -> str:
    node = graph.nodes[node_id]
    return node.names[0] if node.names else node.name


def _wrong_input(graph, facts, spec, r, scale, rtol, atol, label, wrt_id) -> Diagnosis | None:
    """The whole derivative taken with respect to another input (the seed put on the wrong variable)."""
    for i in graph.inputs:
        if i == wrt_id:
            continue
        other = float(graph.tangents(i)[facts.output])
        if close(r, other, max(scale, abs(other)), rtol, atol):
            return Diagnosis(
                "wrong-input",
                f"your {label} is the derivative with respect to {_input_name(graph, i)}, not with respect "
                f"to {_input_name(graph, wrt_id)}: seed the tangent of the right input with 1 and the others "
                "with 0.",
            )
    return None


def _rule_words(graph, n: int, labels: dict[int, str], wrt_id: int, wrt_arg: str) -> str:
    node = graph.nodes[n]
    if node.op == "input":
        return "1" if n == wrt_id else "0"
    terms = []
    for k, i in enumerate(node.inputs):
        if graph.nodes[i].op == "const":
            continue
        terms.append(times(partial_formula(graph, n, k), labels.get(i, tangent_name(graph.nodes[i].name, wrt_arg))))
    return join_sum(terms)


def judge_forward(spec: dict, points: list[PointData], failures: dict | None = None, source=None, fresh=()):
    # A derivative typed as a closed formula, with no tangent propagated, is no forward mode (``propagation``).
    return judge_points(propagated(_evaluate_point, "forward", points), spec, points, failures, source, fresh)
