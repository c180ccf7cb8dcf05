"""The graph check: the student's dict ``{intermediate variable: [the variables it is computed from]}``
against the traced graph of their own function.

Any of a node's names counts (``v0`` or ``x0``: where the function says ``v0 = x0`` they are one node, the
same arrow in the drawing), constants may be listed or left out, inputs may be listed with no parents or
left out, and the order of parents does not matter (a graph drawing has arrows, not slots). A parent may be
listed as often as the node reads it (``["v1", "v1"]`` for ``v1 * v1``), not more (``_listed_too_often``).
"""

from __future__ import annotations

from ..notation import natural_key
from .analysis import name_unnamed, shapes, written_out
from .expected import expected_at
from .judge import Findings, PointData, error_result, make_result, point_words
from .numbers import close
from .privacy import known_names, not_variables, token_or
from .reverse import unfaithful
from .unanswered import unanswered_parents


def _is_constant(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _times(k: int) -> str:
    return {1: "once", 2: "twice"}.get(k, f"{k} times")


def _listed_too_often(names: list[str], owner: dict[str, int], inputs, graph) -> list[str]:
    """A parent listed more often than the node reads it, in words (``v1`` twice for ``v5 = v1 * v4``).

    A list of parents is read as the arrows into the node: naming a variable once says there is an arrow,
    so ``["v1"]`` and ``["v1", "v1"]`` both describe ``v3 = v1 * v1`` (a square reads v1 twice, two arrows
    from one variable); naming it more often than the node reads it claims an arrow that is not there. A
    variable's two names (``v1`` and ``x1`` where ``v1 = x1``) are one node, so listing both is listing it
    twice."""
    listed: dict[int, int] = {}
    for name in names:
        if name in owner:
            listed[owner[name]] = listed.get(owner[name], 0) + 1
    out = []
    for node, count in sorted(listed.items()):
        reads = sum(1 for i in inputs if i == node)
        if reads and count > reads:
            name = graph.nodes[node].name
            out.append(f"it reads {name} {_times(reads)}, your list names it {_times(count)}")
    return out


def function_rows(spec: dict, p: PointData, graph, found: Findings) -> None:
    """Rows comparing the student's function with the reference's graph: operations no variable holds (the
    dict cannot list them), and, when the function is not the exercise's, each operation of the reference's
    graph the student's graph lacks."""
    written = written_out(graph)
    for n in graph.nodes:
        if n.op not in ("input", "const") and not n.names and n.id != graph.outputs[0]:
            msg = (f"line {n.line} computes {written[n.id]} without storing it in an intermediate variable, so "
                   "your graph cannot show that step: give it its own variable.")
            found.wrong(f"({written[n.id]})", msg, "not-elementary", label=written[n.id])
    if spec.get("reference") is None:
        return
    exp = expected_at(spec, p.inputs)
    if exp.graph is None:
        return
    value = float(graph.nodes[graph.outputs[0]].value)
    same_value = close(value, exp.y, exp.y_scale, exp.rel, 0.0)
    grad = {k: float(x) for k, x in graph.adjoints().items()}
    if same_value and unfaithful(spec, p, graph, exp, grad, 0.0) is None:
        return
    msg = ("Your function does not compute the exercise's function "
           f"({'its derivatives differ' if same_value else 'its value differs'} {point_words(spec, p)}), so its "
           "graph is not the exercise's graph.")
    found.wrong("function", msg, "wrong-function", first=True)
    theirs = set(shapes(graph).values())
    ref = exp.graph
    ref_written = written_out(ref)
    for n in ref.nodes:
        if n.op in ("input", "const") or shapes(ref)[n.id] in theirs:
            continue
        what = ref_written[n.id]
        msg = f"the exercise's function computes {what}; your function does not."
        found.wrong(f"reference ({what})", msg, "missing-operation", label=what, status="missing")


def _listed(names: list[str], known) -> str:
    """A list of parents as feedback shows it: the variables among them, and how many others there were."""
    shown, others = known_names(names, known)
    parts = [*shown, *([not_variables(others)] if others else [])]
    return ", ".join(parts) or "(none)"


def judge_graph(spec: dict, raw: dict, points: list[PointData]):
    variable = spec.get("variable")
    parents = raw.get("parents")
    if (stub := unanswered_parents(spec, parents)) is not None:
        return stub
    if not isinstance(parents, dict) or "dict" not in parents:
        if isinstance(parents, dict) and parents.get("missing"):
            return error_result(
                spec,
                f"`{variable}` is not defined: write a dict that maps each intermediate "
                "variable to the list of variables it is computed from, e.g. "
                "{'v5': ['v1', 'v4']}.",
                mistakes=["missing"],
            )
        what = token_or(parents.get("type"), "something else") if isinstance(parents, dict) else "something else"
        return make_result(
            spec,
            status="failed",
            rows=[{"part": variable, "label": variable, "ok": False, "status": "wrong"}],
            mistakes=["not-a-dict"],
            messages=[f"`{variable}` should be a dict {{variable: [its parents]}}; yours is a {what}."],
        )
    given = parents["dict"]
    if not isinstance(given, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in given.values()
    ):
        return error_result(
            spec, "The collected data for this exercise is unusable. Run the test cell again."
        )
    if raw.get("function_error") is not None or not points or points[0].graph is None:
        from .judge import _error_dict, _trace_failure, describe_error, no_function_message

        if raw.get("function_error") is not None:
            err = _error_dict(raw["function_error"])
            return error_result(spec, no_function_message(spec, err), mistakes=["no-function"])
        p = points[0] if points else None
        if p is not None and p.error is not None:
            return error_result(spec, describe_error(p.error, spec.get("function")), mistakes=["exception"])
        return make_result(
            spec,
            status="failed",
            rows=[],
            messages=[_trace_failure(p, spec.get("function")) if p else "Nothing to compare with."],
            mistakes=["cannot-follow"],
        )
    graph = points[0].graph
    name_unnamed(graph)  # feedback quotes a folded step as written, never as `_t3`
    owner: dict[str, int] = {}
    for n in graph.nodes:
        for name in [n.name, *n.names]:
            owner.setdefault(name, n.id)
    found = Findings()
    used_keys = set()
    for n in graph.nodes:
        if n.op == "const" or (n.op != "input" and not n.names):
            continue
        key = next((k for k in [n.name, *n.names] if k in given), None)
        want = {i for i in n.inputs if graph.nodes[i].op != "const"}
        label = n.name
        if n.op == "input":
            if key is None:
                continue
            used_keys.add(key)
            got = {owner.get(s) for s in given[key] if not _is_constant(s)}
            ok = all(
                g is not None
                and graph.nodes[g].op == "input"
                and g == n.id
                or (
                    g is not None
                    and graph.nodes[g].op == "input"
                    and set(graph.nodes[g].names) & set(n.names)
                )
                for g in got
            )
            if not ok:
                msg = f"{label} is an input: nothing comes before it, so its list of parents is empty."
                found.wrong(label, msg, "input-with-parents", received=_listed(given[key], owner),
                            culprit=label)
            continue
        if key is None:
            msg = (
                f"{label} is missing from `{variable}`; it is computed from "
                + " and ".join(sorted({graph.nodes[i].name for i in want}, key=natural_key))
                + "."
            )
            found.wrong(label, msg, "missing-variable", status="missing", culprit=label)
            continue
        used_keys.add(key)
        names = [s for s in given[key] if not _is_constant(s)]
        got = {owner.get(s, -1 - k) for k, s in enumerate(names)}
        received = _listed(given[key], owner)
        expected = ", ".join(sorted({graph.nodes[i].name for i in want}, key=natural_key)) or "(none)"
        over = _listed_too_often(names, owner, n.inputs, graph)
        if got == want and not over:
            found.right(label, received=received, expected=expected)
            continue
        missing = sorted({graph.nodes[i].name for i in want - got}, key=natural_key)
        extra = [
            s
            for s, g in zip(names, [owner.get(s, -1 - k) for k, s in enumerate(names)], strict=True)
            if g not in want
        ]
        bits, codes = [], []
        if missing:
            bits.append(f"it also reads {' and '.join(missing)}")
            codes.append("missing-parent")
        shown, others = known_names(extra, owner)
        if shown or others:
            bits.append("it does not read " + " or ".join([*shown, *([not_variables(others)] if others else [])]))
            codes.append("extra-parent")
        if over:
            bits.append("; ".join(over))
            codes.append("extra-parent")
        msg = f"{label} = {graph.equation(n.id).split(' = ', 1)[1]}: " + "; ".join(bits) + "."
        found.mistakes += codes[:-1]  # the row names the last; both are the student's mistakes
        found.wrong(label, msg, codes[-1], received=received, expected=expected, culprit=label)
    function_rows(spec, points[0], graph, found)
    unknown = [k for k in given if k not in used_keys and k not in owner]
    if unknown:
        # Not named: an entry's key is the student's text, and a made-up one can carry anything.
        many = len(unknown) != 1
        msg = (f"`{variable}` has {len(unknown)} entr{'ies' if many else 'y'} for {not_variables(len(unknown))}; "
               "its keys are the intermediate variables of your function.")
        found.wrong(f"(other entr{'ies' if many else 'y'})", msg, "unknown-variable")
    rows = found.rows
    return found.result(
        spec,
        received={r["label"]: r["received"] for r in rows if "received" in r},
        expected={r["label"]: r["expected"] for r in rows if "expected" in r},
        wrong=[r["label"] for r in rows if not r["ok"]],
    )
