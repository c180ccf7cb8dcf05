"""The graph check: the student's dict ``{intermediate variable: [the variables it is computed from]}``
against the traced graph of their own function.

Any of a node's names counts (``v0`` or ``x0``), constants may be listed or left out, inputs may be listed
with
no parents or left out, and the order of parents does not matter (a graph drawing has arrows, not slots).
"""

from __future__ import annotations

from ..notation import natural_key
from .judge import PointData, error_result, make_result


def _is_constant(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def judge_graph(spec: dict, raw: dict, points: list[PointData]):
    variable = spec.get("variable")
    parents = raw.get("parents")
    if not isinstance(parents, dict) or "dict" not in parents:
        if isinstance(parents, dict) and parents.get("missing"):
            return error_result(
                spec,
                f"`{variable}` is not defined: write a dict that maps each intermediate "
                "variable to the list of variables it is computed from, e.g. "
                "{'v5': ['v1', 'v4']}.",
                mistakes=["missing"],
            )
        what = parents.get("type", "something else") if isinstance(parents, dict) else "something else"
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
        from .judge import _trace_failure, describe_error

        if raw.get("function_error") is not None:
            return error_result(
                spec, f"{raw['function_error'].get('message', '')}.", mistakes=["no-function"]
            )
        p = points[0] if points else None
        if p is not None and p.error is not None:
            return error_result(spec, describe_error(p.error, spec.get("function")), mistakes=["exception"])
        return make_result(
            spec,
            status="failed",
            rows=[],
            messages=[_trace_failure(p, spec.get("function")) if p else "Nothing to compare with."],
            mistakes=["untraceable"],
        )
    graph = points[0].graph
    owner: dict[str, int] = {}
    for n in graph.nodes:
        for name in [n.name, *n.names]:
            owner.setdefault(name, n.id)
    rows, messages, mistakes = [], [], []
    culprit = None
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
                rows.append(
                    {
                        "part": label,
                        "label": label,
                        "ok": False,
                        "status": "wrong",
                        "message": msg,
                        "received": ", ".join(given[key]) or "(none)",
                        "code": "input-with-parents",
                    }
                )
                messages.append(msg)
                mistakes.append("input-with-parents")
                culprit = culprit or label
            continue
        if key is None:
            msg = (
                f"{label} is missing from `{variable}`; it is computed from "
                + " and ".join(sorted({graph.nodes[i].name for i in want}, key=natural_key))
                + "."
            )
            rows.append(
                {
                    "part": label,
                    "label": label,
                    "ok": False,
                    "status": "missing",
                    "message": msg,
                    "code": "missing-variable",
                }
            )
            messages.append(msg)
            mistakes.append("missing-variable")
            culprit = culprit or label
            continue
        used_keys.add(key)
        names = [s for s in given[key] if not _is_constant(s)]
        got = {owner.get(s, -1 - k) for k, s in enumerate(names)}
        received = ", ".join(given[key]) or "(none)"
        expected = ", ".join(sorted({graph.nodes[i].name for i in want}, key=natural_key)) or "(none)"
        if got == want:
            rows.append(
                {
                    "part": label,
                    "label": label,
                    "ok": True,
                    "status": "ok",
                    "received": received,
                    "expected": expected,
                }
            )
            continue
        missing = sorted({graph.nodes[i].name for i in want - got}, key=natural_key)
        extra = [
            s
            for s, g in zip(names, [owner.get(s, -1 - k) for k, s in enumerate(names)], strict=True)
            if g not in want
        ]
        bits = []
        if missing:
            bits.append(f"it also reads {' and '.join(missing)}")
            mistakes.append("missing-parent")
        if extra:
            bits.append(f"it does not read {' or '.join(extra)}")
            mistakes.append("extra-parent")
        msg = f"{label} = {graph.equation(n.id).split(' = ', 1)[1]}: " + "; ".join(bits) + "."
        rows.append(
            {
                "part": label,
                "label": label,
                "ok": False,
                "status": "wrong",
                "message": msg,
                "received": received,
                "expected": expected,
                "code": mistakes[-1],
            }
        )
        messages.append(msg)
        culprit = culprit or label
    unknown = [k for k in given if k not in used_keys and k not in owner]
    for k in unknown:
        msg = f"`{variable}` has an entry {k!r}, but your function has no intermediate variable called {k}."
        rows.append(
            {
                "part": k,
                "label": k,
                "ok": False,
                "status": "wrong",
                "message": msg,
                "code": "unknown-variable",
            }
        )
        messages.append(msg)
        mistakes.append("unknown-variable")
    return make_result(
        spec,
        status="ok",
        rows=rows,
        messages=messages,
        mistakes=mistakes,
        culprit=culprit,
        received={r["label"]: r["received"] for r in rows if "received" in r},
        expected={r["label"]: r["expected"] for r in rows if "expected" in r},
        wrong=[r["label"] for r in rows if not r["ok"]],
    )
