"""The steps of a forward or reverse pass through a traced graph, as plain data.

Everything a student sees change while stepping is computed here, once, in Python: which node a step computes,
which nodes and edges it reads, the equation in words and in numbers, and the text every node shows after the
step. The browser (and any other front end) only replays these records, so a step costs it a handful of DOM
updates, and the Python tests can check exactly what a student will read.

A step record: ``{"title", "lines", "speech", "node", "reads", "edges", "updates", "check"}``: ``speech`` is the
step in words, what the stepper's live region gives a screen reader; ``updates`` is a
list of ``[node_id, slot, text]`` (slot 0: the value line, 1: the derivative line, 2: the node's state word,
one of ``""``, ``"val"``, ``"der"``, ``"done"``) and ``check`` is ``None`` or ``{"name", "expected",
"received", "ok"}`` when a student's value of this step is being compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..checks.numbers import DEFAULT_RTOL
from ..notation import adjoint_name, join_sum, operand, student_names, tangent_name, times
from ..notation import format_number as format_value
from .layout import graph_data
from .speech import spoken
from .svg import resolve_node

__all__ = [
    "build_steps",
    "compare_marks",
    "adjoint_name",
    "tangent_name",
    "labels_at",
    "SLOT_VALUE",
    "SLOT_DERIV",
    "SLOT_STATE",
]

SLOT_VALUE, SLOT_DERIV, SLOT_STATE = 0, 1, 2

#: The absolute floor of a compare dict written by hand without ``atol`` (a 0 that rounding left as 1e-17 passes); a
#: check's own result always says its tolerances, so this only serves hand-made dicts.
COMPARE_ATOL = 1e-12


def _scalar(value: Any) -> bool:
    return value is not None and np.ndim(value) == 0


def _arg_name(node: Mapping) -> str:
    others = [n for n in node.get("names", []) if n != node["name"]]
    return others[0] if others else node["name"]


class _Text:
    """Local-derivative text and numbers of one graph, with the failures of non-elementwise primitives turned
    into "no number" rather than an exception: the stepper still shows the symbolic form for them."""

    def __init__(self, graph: Any, data: Mapping):
        self.graph = graph
        self.by_id = {n["id"]: n for n in data["nodes"]}
        try:
            from autodiff_course.engine.primitives import PRIMITIVES
        except ImportError:  # pragma: no cover - the engine is part of the package
            PRIMITIVES = {}
        self.primitives = PRIMITIVES
        self._partials: dict[int, tuple | None] = {}

    def describe(self, node: Mapping, names: list[str]) -> str:
        prim = self.primitives.get(node["op"])
        return prim.describe(names) if prim is not None else f"{node['op']}({', '.join(names)})"

    def partial_words(self, node: Mapping, k: int) -> str:
        names = [self.by_id[s]["name"] for s in node["inputs"]]
        prim = self.primitives.get(node["op"])
        try:
            return prim.partial_words(k, names, node["name"])
        except Exception:  # a primitive without a text form still gets a correct, generic one
            return f"d{node['name']}/d{names[k]}"

    def partials(self, node: Mapping) -> tuple | None:
        nid = node["id"]
        if nid not in self._partials:
            try:
                self._partials[nid] = tuple(self.graph.local_partials(nid))
            except Exception:  # structural tensor ops (matmul, sum) have vjp/jvp rules but no partials
                self._partials[nid] = None
        return self._partials[nid]


def _value_lines(text: _Text, node: Mapping) -> tuple[str, str]:
    """The node's equation in names and in numbers, and the short text of its value."""
    name = node["name"]
    value = node.get("value")
    if node["op"] == "input":
        return f"{name} = {_arg_name(node)} = {format_value(value)}", format_value(value)
    if node["op"] == "const":
        return f"{name} = {format_value(value)} (a constant)", format_value(value)
    ins = [text.by_id[s] for s in node["inputs"]]
    symbolic = text.describe(node, [i["name"] for i in ins])
    numbers = text.describe(node, [operand(i.get("value")) for i in ins])
    return f"{name} = {symbolic} = {numbers} = {format_value(value)}", format_value(value)


def _value_speech(text: _Text, node: Mapping) -> str:
    """The node's value in words: "v4 is cos of v0: now -0.227202"."""
    name, value = node["name"], format_value(node.get("value"))
    if node["op"] == "input":
        return f"{name} is the input {_arg_name(node)}: {value}"
    ins = [text.by_id[s]["name"] for s in node["inputs"]]
    return f"{name} is {spoken(text.describe(node, ins))}: now {value}"


def _check_speech(check: dict | None) -> str:
    if check is None:
        return ""
    verdict = "matches" if check["ok"] else "differs"
    return f" Your {check['name']} is {check['received']}, expected {check['expected']}: {verdict}."


def _check(received: Mapping, key: str, expected: Any, rtol: float, atol: float) -> dict | None:
    if key not in received:
        return None
    got = received[key]
    try:
        ok = bool(
            np.allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol)
        )
    except (TypeError, ValueError):
        ok = False
    return {
        "name": key,
        "expected": format_value(expected),
        "received": format_value(got) if _is_number_like(got) else repr(got),
        "ok": ok,
    }


def _is_number_like(x: Any) -> bool:
    try:
        np.asarray(x, dtype=float)
        return True
    except (TypeError, ValueError):
        return False


def _check_line(check: dict | None) -> list[str]:
    if check is None:
        return []
    verdict = "\u2713 matches" if check["ok"] else "\u2717 differs"
    return [f"expected {check['name']} = {check['expected']}, yours = {check['received']} {verdict}"]


def _student_keys(node: Mapping, kind: str, wrt_arg: str | None) -> list[str]:
    """The names a student may have given this node's value, tangent or adjoint, most specific first."""
    names = [node["name"], *[n for n in node.get("names", []) if n != node["name"]]]
    return student_names(names, kind, wrt_arg)


def _normalise_compare(compare: Any) -> dict | None:
    if compare is None:
        return None
    if hasattr(compare, "to_dict"):
        compare = compare.to_dict()
    if not isinstance(compare, Mapping):
        raise TypeError(
            f"compare must be a CheckResult or a dict with 'received', got {type(compare).__name__}"
        )
    received = compare.get("received") or {}
    if not isinstance(received, Mapping):
        raise TypeError("compare['received'] must map the student's variable names to their values")
    # An empty or missing "wrong" list means "not said": then the values decide, at the check's tolerance.
    return {
        "culprit": compare.get("culprit"),
        "received": dict(received),
        # The check's own expected values, where it gives them, outrank the graph's: a student's graph that
        # computes the wrong function agrees with itself, not with the exercise's reference.
        "expected": dict(compare.get("expected") or {}),
        "wrong": compare.get("wrong") or None,
        "rtol": float(compare.get("rtol", DEFAULT_RTOL)),
        "atol": float(compare.get("atol", COMPARE_ATOL)),
    }


def compare_marks(
    data: Mapping, checks: Mapping[tuple[int, str], dict], compare: dict | None
) -> dict[int, str]:
    """Node id -> mark (`"wrong"` or `"culprit"`) from the per-node comparisons and the check's culprit."""
    marks: dict[int, str] = {}
    if compare is None:
        return marks
    explicit = compare.get("wrong")
    for (nid, _kind), check in checks.items():
        if (explicit is None and not check["ok"]) or (explicit is not None and check["name"] in explicit):
            marks[nid] = "wrong"
    culprit = compare.get("culprit")
    if culprit:
        nid = _culprit_node(data, culprit)
        if nid is not None:
            marks[nid] = "culprit"
    return marks


def _culprit_node(data: Mapping, culprit: str) -> int | None:
    try:
        return resolve_node(data, culprit)
    except KeyError:
        pass
    for node in data["nodes"]:  # the culprit may be a tangent or adjoint name (`vbar4`, `dv4dx0`)
        for kind in ("adjoint", "tangent"):
            if culprit in _student_keys(node, kind, None) or (
                kind == "tangent"
                and any(culprit.startswith(f"d{n}d") for n in [node["name"], *node["names"]])
            ):
                return node["id"]
    return None


def build_steps(graph: Any, mode: str = "forward", wrt: Any = 0, compare: Any = None) -> dict:
    """All steps of `mode` ("forward" or "reverse") through `graph` (an engine `Graph`).

    Forward mode: one step per node, computing its value and its tangent with respect to input `wrt` (an input
    index or name). Reverse mode: one step per node for the forward pass, one step seeding the output's
    adjoint, then one step per edge, latest node first, adding that edge's contribution to its input's
    adjoint, so an adjoint visibly sums its paths. `compare`: a `CheckResult` or a dict ``{"culprit": name,
    "received": {student variable: value}}`` (optional ``"expected"``: the check's values, used over the
    graph's own; ``"wrong"``: names known wrong, ``"rtol"``, ``"atol"``); steps that compute a compared
    quantity show expected beside received.

    Returns ``{"steps", "initial", "marks", "checks", "wrt"}``. Raises ValueError for an unknown mode or a
    graph with more than one output in reverse mode, KeyError for a `wrt` that names no input.
    """
    if mode not in ("forward", "reverse"):
        raise ValueError(f"mode must be 'forward' or 'reverse', got {mode!r}")
    data = graph_data(graph)
    text = _Text(graph, data)
    nodes = data["nodes"]
    cmp = _normalise_compare(compare)
    received = cmp["received"] if cmp else {}
    expected_by_name = cmp["expected"] if cmp else {}
    rtol, atol = (cmp["rtol"], cmp["atol"]) if cmp else (DEFAULT_RTOL, COMPARE_ATOL)
    checks: dict[tuple[int, str], dict] = {}

    def check_for(node: Mapping, kind: str, expected: Any, wrt_arg: str | None = None) -> dict | None:
        for key in _student_keys(node, kind, wrt_arg):
            found = _check(received, key, expected_by_name.get(key, expected), rtol, atol)
            if found is not None:
                checks[(node["id"], kind)] = found
                return found
        return None

    initial = []
    for node in nodes:
        # A constant is known before any step and carries no derivative: it is shown, never stepped through.
        known = node["op"] == "const"
        initial.append([node["id"], SLOT_VALUE, "= " + format_value(node.get("value")) if known else ""])
        initial.append([node["id"], SLOT_DERIV, ""])
        initial.append([node["id"], SLOT_STATE, "val" if known else ""])
    steps: list[dict] = []
    wrt_node = None

    if mode == "forward":
        if isinstance(wrt, str):
            wrt_node = text.by_id[resolve_node(data, wrt)]
        else:
            inputs = data["inputs"]
            if not 0 <= int(wrt) < len(inputs):
                raise KeyError(f"wrt={wrt!r}: the graph has inputs 0..{len(inputs) - 1}")
            wrt_node = text.by_id[inputs[int(wrt)]]
        if wrt_node["op"] != "input":
            raise KeyError(f"wrt={wrt!r} names {wrt_node['name']}, which is not an input of the graph")
        tangents = graph.tangents(wrt)
        wrt_arg = _arg_name(wrt_node)
        for node in nodes:
            if node["op"] != "const":
                steps.append(_forward_step(text, node, tangents, wrt_node, wrt_arg, check_for))
    else:
        outputs = data["outputs"]
        if len(outputs) != 1:
            raise ValueError(f"reverse mode steps back from one output; this graph has {len(outputs)}")
        for node in nodes:
            if node["op"] == "const":
                continue
            line, value_text = _value_lines(text, node)
            check = check_for(node, "value", node.get("value"))
            steps.append(
                {
                    "title": f"Forward pass: compute {node['name']}",
                    "lines": [line, *_check_line(check)],
                    "speech": f"Forward pass: {_value_speech(text, node)}.{_check_speech(check)}",
                    "node": node["id"],
                    "reads": list(dict.fromkeys(node["inputs"])),
                    "edges": [f"e{node['id']}_{k}" for k in range(len(node["inputs"]))],
                    "updates": [[node["id"], SLOT_VALUE, "= " + value_text], [node["id"], SLOT_STATE, "val"]],
                    "check": check,
                }
            )
        steps.extend(_reverse_steps(text, data, graph.adjoints(), check_for))

    marks = compare_marks(data, checks, cmp)
    told: set = set()
    for step in steps:
        if step["check"] is not None and not step["check"]["ok"]:
            said = "the culprit, the first wrong value: start here" if marks.get(step["node"]) == "culprit" else (
                "marked wrong")
            step["speech"] += f" Your {step['check']['name']} is {said}."
        elif step["check"] is None and marks.get(step["node"]) == "culprit" and step["node"] not in told:
            # The check names a culprit it has no number for (the first variable a wrong forward pass
            # computes that the function never does): its first step still says where to start.
            told.add(step["node"])
            step["speech"] += " This is the culprit, the first wrong value: start here."
    return {
        "steps": steps,
        "initial": initial,
        "marks": {str(k): v for k, v in marks.items()},
        "checks": [dict(c, node=nid, kind=kind) for (nid, kind), c in checks.items()],
        "wrt": _arg_name(wrt_node) if wrt_node else None,
    }


def _forward_step(
    text: _Text, node: Mapping, tangents: Mapping, wrt_node: Mapping, wrt_arg: str, check_for
) -> dict:
    nid, name = node["id"], node["name"]
    line, value_text = _value_lines(text, node)
    tangent = tangents.get(nid, 0.0)
    dname = tangent_name(name)
    tspeech = ""
    if node["op"] == "input":
        tspeech = f"{dname} is {format_value(tangent)}" + (
            ", the seed" if nid == wrt_node["id"] else f": {name} does not depend on {wrt_arg}"
        )
        why = "the seed: we differentiate with respect to" if nid == wrt_node["id"] else "does not depend on"
        tline = (
            f"{dname} = {format_value(tangent)} ({name} {why} {wrt_arg})"
            if nid != wrt_node["id"]
            else (f"{dname} = {format_value(tangent)} ({why} {wrt_arg})")
        )
    elif node["op"] == "const":
        tline = f"{dname} = 0 (a constant does not change)"
    else:
        ins = [text.by_id[s] for s in node["inputs"]]
        terms_sym, terms_num = [], []
        partials = text.partials(node)
        for k, src in enumerate(ins):
            if src["op"] == "const":
                continue  # its tangent is 0: the term would only say "+ 0"
            words = text.partial_words(node, k)
            dsrc = tangent_name(src["name"])
            terms_sym.append(times(words, dsrc))
            if partials is not None and _scalar(partials[k]) and _scalar(tangents.get(src["id"], 0.0)):
                tsrc = operand(tangents.get(src["id"], 0.0))
                terms_num.append(tsrc if words == "1" else f"{tsrc} * {operand(partials[k])}")
        tline = f"{dname} = {join_sum(terms_sym)}" if terms_sym else f"{dname} = 0"
        tspeech = f"{dname} is {spoken(join_sum(terms_sym)) if terms_sym else '0'}: now {format_value(tangent)}"
        numbers = " + ".join(terms_num)
        if terms_num and len(terms_num) == len(terms_sym) and numbers != format_value(tangent):
            tline += " = " + numbers
        tline += f" = {format_value(tangent)}"
    check_v = check_for(node, "value", node.get("value"))
    check_t = check_for(node, "tangent", tangent, wrt_arg)
    check = check_t if check_t is not None and (check_v is None or check_v["ok"]) else check_v
    return {
        "title": f"Forward mode: compute {name} and its tangent {dname} (d{name}/d{wrt_arg})",
        "lines": [line, tline, *_check_line(check_v), *_check_line(check_t)],
        "speech": f"{_value_speech(text, node)}. Its tangent {tspeech}.{_check_speech(check_v)}"
        f"{_check_speech(check_t)}",
        "node": nid,
        "reads": list(dict.fromkeys(node["inputs"])),
        "edges": [f"e{nid}_{k}" for k in range(len(node["inputs"]))],
        "updates": [
            [nid, SLOT_VALUE, "= " + value_text],
            [nid, SLOT_DERIV, f"{dname} = {format_value(tangent)}"],
            [nid, SLOT_STATE, "done"],
        ],
        "check": check,
    }


def _reverse_steps(text: _Text, data: Mapping, adjoints: Mapping, check_for) -> list[dict]:
    nodes = data["nodes"]
    out_id = data["outputs"][0]
    out = text.by_id[out_id]
    # Count, per node, the edges its adjoint will receive (from nodes the output depends on), so each step can
    # say "path 2 of 3" and know when an adjoint is complete.
    reach = {out_id}
    for n in reversed(nodes):
        if n["id"] in reach:
            reach.update(n["inputs"])
    incoming: dict[int, int] = {n["id"]: 0 for n in nodes}
    for n in nodes:
        if n["id"] in reach:
            for s in n["inputs"]:
                incoming[s] += 1 if text.by_id[s]["op"] != "const" else 0
    received_so_far: dict[int, int] = {n["id"]: 0 for n in nodes}
    running: dict[int, Any] = {}
    oname = adjoint_name(out["name"])
    check = check_for(out, "adjoint", adjoints.get(out_id, 1.0))
    steps = [
        {
            "title": f"Reverse pass: seed the output's adjoint {oname}",
            "lines": [f"{oname} = d{out['name']}/d{out['name']} = 1", *_check_line(check)],
            "speech": f"Reverse pass: the output's adjoint {oname} starts at 1.{_check_speech(check)}",
            "node": out_id,
            "reads": [],
            "edges": [],
            "updates": [[out_id, SLOT_DERIV, f"{oname} = 1"], [out_id, SLOT_STATE, "done"]],
            "check": check,
        }
    ]
    running[out_id] = 1.0
    for node in reversed(nodes):
        if not node["inputs"] or node["id"] not in reach:
            continue  # no inputs to send to, or the output does not depend on this node
        nbar = adjoint_name(node["name"])
        gbar = adjoints.get(node["id"], running[node["id"]])
        partials = text.partials(node)
        for k, s in enumerate(node["inputs"]):
            src = text.by_id[s]
            if src["op"] == "const":
                continue  # constants take no adjoint (the engine's backward pass does not send them one)
            sbar = adjoint_name(src["name"])
            words = text.partial_words(node, k)
            received_so_far[s] += 1
            nth, total = received_so_far[s], incoming[s]
            local = partials[k] if partials is not None else None
            lines = [
                f"{sbar} += {nbar} * d{node['name']}/d{src['name']}",
                f"d{node['name']}/d{src['name']} = {words}"
                + (f" = {format_value(local)}" if _scalar(local) and format_value(local) != words else ""),
            ]
            before = running.get(s)
            if _scalar(local) and _scalar(gbar):
                contribution = gbar * local
                after = contribution if before is None else before + contribution
                lines.append(f"{sbar} += {operand(gbar)} * {operand(local)} = {format_value(contribution)}")
                lines.append(
                    f"{sbar} = {format_value(after)}"
                    if before is None
                    else f"{sbar} = {format_value(before)} + {operand(contribution)} = {format_value(after)}"
                )
            else:
                after = adjoints.get(s) if nth == total else None
            running[s] = after
            complete = nth == total
            speech = (
                f"{sbar} gets {nbar} times the derivative of {node['name']} with respect to {src['name']}, "
                f"{spoken(words)}"
            )
            update_text = f"{sbar} = {format_value(after)}" if after is not None else f"{sbar} = \u2026"
            check = None
            if complete:
                final = adjoints.get(s, after)
                # The engine's adjoint is authoritative; the running sum above adds in the same order.
                update_text = f"{sbar} = {format_value(final)}"
                lines.append(
                    f"{sbar} is complete: all {total} path{'s' if total != 1 else ''} summed"
                    if total > 1
                    else f"{sbar} is complete (one path)"
                )
                check = check_for(src, "adjoint", final)
                lines.extend(_check_line(check))
                speech += f": now {format_value(final)}. {sbar} is complete" + (
                    f", all {total} paths summed." if total > 1 else "."
                )
            else:
                speech += f": now {format_value(after)}" if after is not None else ""
                speech += f". Path {nth} of {total}."
            steps.append(
                {
                    "title": f"Reverse pass: edge {src['name']} \u2192 {node['name']}, "
                    f"path {nth} of {total} into {sbar}",
                    "lines": lines,
                    "speech": speech + _check_speech(check),
                    "node": s,
                    "reads": [node["id"]],
                    "edges": [f"e{node['id']}_{k}"],
                    "updates": [[s, SLOT_DERIV, update_text], [s, SLOT_STATE, "done" if complete else "der"]],
                    "check": check,
                }
            )
    return steps


def labels_at(initial: list, steps: list[dict], k: int) -> dict[int, list[str]]:
    """What every node shows after the first `k` steps: node id -> [value text, derivative text, state].

    The same replay the browser does; the Python tests read the widget's state through it.
    """
    if not 0 <= k <= len(steps):
        raise IndexError(f"step {k} is outside 0..{len(steps)}")
    shown: dict[int, list[str]] = {}
    for nid, slot, value in initial:
        shown.setdefault(nid, ["", "", ""])[slot] = value
    for step in steps[:k]:
        for nid, slot, value in step["updates"]:
            shown[nid][slot] = value
    return shown
