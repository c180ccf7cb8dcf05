"""The decomposition check: y written as intermediate variables, each one elementary operation of earlier
ones.

The traced graph names every node by the local that held it; an operation node no local held (``_t1``) is a
step the student folded into a longer line. That line is named, with the operations it hides. y itself must
equal the reference at every test point.
"""

from __future__ import annotations

from .analysis import GraphFacts, written_out
from .expected import expected_at
from .judge import (
    Findings,
    PointData,
    drawn_graph,
    hidden_summary,
    make_result,
    numbers_shown,
    shown_point,
    without_numbers,
)
from .reverse import PointVerdict, _hidden_numbers, check_y, fresh_reading, part_credit


def structure_rows(graph) -> Findings:
    """One row per operation; a failing row for each line that holds more than one operation."""
    found = Findings()
    written = written_out(graph)
    out = graph.outputs[0]
    unnamed = [n for n in graph.nodes if n.op not in ("input", "const") and not n.names]
    # The returned expression may be the last step itself (`return v6 + v7`), if its operands are variables.
    if graph.nodes[out] in unnamed and all(
        graph.nodes[i].names or graph.nodes[i].op == "const" for i in graph.nodes[out].inputs
    ):
        unnamed.remove(graph.nodes[out])
    by_line: dict = {}
    for n in unnamed:
        by_line.setdefault(n.line, []).append(n)
    holders: dict[str, list] = {}
    for n in graph.nodes:
        if n.op not in ("input", "const"):
            for name in n.names:
                holders.setdefault(name, []).append(n)
    said: set[str] = set()
    for n in graph.nodes:
        if n.op in ("input", "const") or (not n.names and n.id != out):
            continue
        hidden = [m for m in by_line.get(n.line, []) if m.id != n.id]
        label = n.name if n.names else "y"
        earlier = next((name for name in n.names if holders[name][0] is not n), None)
        if earlier is not None and not hidden:
            if earlier in said:
                continue  # one row per name, however often it is assigned again (a loop)
            said.add(earlier)
            first = holders[earlier][0]
            again = holders[earlier][1:]
            lines = sorted({m.line for m in again if m.line is not None})
            at = (f" on line {lines[0]}" if len(lines) == 1 else
                  f" on lines {', '.join(map(str, lines[:-1]))} and {lines[-1]}" if lines else "")
            src = f" (`{n.source}`)" if n.source and len(again) == 1 else ""
            times = "again" if len(again) == 1 else f"{len(again)} more times"
            msg = (
                f"`{earlier}` is assigned {times}{at}{src}, after it already held {graph.equation(first.id)}: "
                "a decomposition gives every operation a new intermediate variable, so each value keeps its "
                "own name."
            )
            found.wrong(f"{earlier} (line {n.line})", msg, "reassigned", label=label, culprit=earlier)
            continue
        if not hidden:
            found.right(label, label=graph.equation(n.id) if n.names else label)
            continue
        ops = [written[m.id] for m in hidden]
        shown = ", ".join(ops[:4]) + (", ..." if len(ops) > 4 else "")
        line = f"line {n.line}" if n.line is not None else "a line"
        src = f" `{n.source}`" if n.source else ""
        msg = (
            f"{line}{src} is not a decomposition: it does {len(hidden) + 1} operations at once. Give "
            + (f"{ops[0]} its" if len(ops) == 1 else f"each of {shown} its")
            + " own intermediate variable, so every line does one elementary operation on earlier variables."
        )
        found.wrong(label, msg, "not-elementary", culprit=label)
        by_line.pop(n.line, None)
    for line, nodes in by_line.items():  # operations on a line no variable ends up holding
        ops = [written[m.id] for m in nodes]
        where = f"line {line}" if line is not None else "your function"
        msg = (
            f"{where} computes {', '.join(ops)} without storing the result{'s' if len(ops) > 1 else ''} "
            f"in an "
            "intermediate variable."
        )
        found.wrong(f"line {line}", msg, "not-elementary")
    return found


def _y_verdict(spec: dict, p: PointData, atol: float) -> PointVerdict:
    v = PointVerdict()
    items = p.returned or []
    check_y(spec, p, v, GraphFacts(p.graph), items[0] if items else None, expected_at(spec, p.inputs), atol)
    return v


def judge_decomposition(spec: dict, points: list[PointData], failures: dict | None = None, fresh=()):
    failures = failures or {}
    atol = float(spec.get("atol", 0.0) or 0.0)
    verdicts = [_y_verdict(spec, p, atol) for p in points]
    first = next((i for i, v in enumerate(verdicts) if v.failed), 0)
    shown = verdicts[first]
    found = structure_rows(points[0].graph)
    rows, messages, culprit = found.rows, found.messages, found.culprit
    # Two halves of equal weight: the right value of y, and a true decomposition (credit per operation; a
    # name assigned again, however often, is one wrong step). The headline counts the two halves apart.
    y_credit = part_credit([v.rows["y"] for v in verdicts], len(points) + len(failures))
    structure = sum(1 for r in rows if r["ok"]) / len(rows) if rows else 1.0
    all_rows = [shown.rows["y"]] + rows
    for f in failures.values():
        all_rows.append({"part": f"point {f.point.index + 1}", "label": "a test point", "ok": False,
                         "status": "wrong", "message": f.message, "code": f.code})
        messages.append(f.message)
    received, expected = shown.received, shown.expected
    if not numbers_shown(spec, points[first]):
        received, expected = {}, {}
        all_rows[0] = without_numbers(all_rows[0])
    summary = hidden_summary(points + [f.point for f in failures.values()],
                             [v.failed for v in verdicts] + [True] * len(failures))
    extra = None
    if fresh and shown.failed and not numbers_shown(spec, points[first]):
        extra = fresh_reading(spec, shown, fresh, lambda p: _y_verdict(spec, p, atol),
                              _hidden_numbers(points, verdicts))
    return make_result(
        spec,
        status="ok",
        rows=all_rows,
        messages=[summary] * bool(summary) + list(shown.messages[:1]) + ([extra[0]] if extra else [])
        + list(shown.messages[1:]) + messages,
        mistakes=list(shown.mistakes) + [r["code"] for r in all_rows[1:] if not r["ok"]],
        culprit=culprit or shown.culprit,
        received=received,
        expected=expected,
        wrong=[r.get("name", r["label"]) for r in all_rows if not r["ok"]],
        point=shown_point(spec, points[first]),
        graph=drawn_graph(points, verdicts),
        score=(y_credit + structure) / 2,
        fresh=extra[1] if extra is not None else None,
        failed_at=[p.index for p, v in zip(points, verdicts, strict=True) if v.failed] + list(failures),
    )
