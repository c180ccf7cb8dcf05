"""How traced values are named: never after a loop's item variable (it stands for every item in turn), and by
the item of a list or a dict that holds them when no variable of their own does."""

from __future__ import annotations

import numpy as np
import pytest

from autodiff_course.graph import Graph
from autodiff_course.graph.tracing import loop_targets, run_traced


def _loops(xs, pairs, nested):
    total = 0
    for a in xs:
        total += a
    for i, b in pairs:
        total += b * i
    for j, (c, d) in nested:
        total += c + d + j
    for e, *rest in nested:
        total += e + len(rest)
    kept = [f for f in xs]  # in a comprehension's own frame (its own code) before Python 3.12
    g = 1
    return total, kept, g, rest


def test_every_kind_of_loop_target_is_found_and_nothing_else():
    found = loop_targets(_loops.__code__)
    assert {"a", "i", "b", "j", "c", "d", "e", "rest"} <= found, found
    assert not found & {"total", "kept", "g", "xs", "pairs", "nested"}, found


def _graph(fn, *point):
    run = run_traced(fn, list(point))
    returned = run.returned[0] if isinstance(run.returned, tuple) else run.returned
    return Graph.from_run(run, [returned])


def test_a_value_a_loop_passes_over_keeps_its_own_name():
    def f(x0, x1):
        v2 = np.sin(x0)
        v3 = v2 * x1
        total = 0.0
        for term in (v2, v3):
            total = total + term
        return total

    names = {n.name for n in _graph(f, 1.0, 2.0).nodes}
    assert "term" not in names and {"v2", "v3", "total"} <= names, names


def _in_a_list(x0, x1):
    v = [x0, x1]
    for k in range(2):
        v.append(np.sin(v[k]))
    v.append(v[2] * v[3])
    return v[4]


def _in_a_dict(x0, x1):
    v = {0: x0, 1: x1}
    for k in range(2):
        v[2 + k] = np.sin(v[k])
    v[4] = v[2] * v[3]
    return v[4]


@pytest.mark.parametrize("fn", [_in_a_list, _in_a_dict])
def test_a_value_no_variable_holds_goes_by_its_item(fn):
    graph = _graph(fn, 1.0, 2.0)
    assert [n.name for n in graph.nodes if n.op != "const"] == [f"v[{k}]" for k in range(5)]
    # An input keeps its parameter's name among its names.
    assert graph.nodes[graph.inputs[0]].names[0] == "x0"


def test_a_variable_of_its_own_names_a_value_before_any_list_that_holds_it():
    def f(x0, x1):
        v2 = np.sin(x0)
        held = [v2, x1]
        return held[0] * held[1]

    graph = _graph(f, 1.0, 2.0)
    assert graph.node("v2").names == ["v2"], graph.node("v2").names
