"""Honest answers in styles the checkers had not met (each written here in our own words): a reverse pass run
from a tape, with the values in a list and the adjoints pushed back in a loop; adjoints and tangents kept in
an array made with ``np.zeros``; and two shortcuts that are not automatic differentiation (a complex step,
``torch.autograd``), which earn nothing for the derivatives the checker cannot follow."""

from __future__ import annotations

import inspect
import linecache
import textwrap

import numpy as np
import pytest

from autodiff_course import check_forward, check_reverse
from autodiff_course.graph import Graph
from autodiff_course.graph.tracing import run_traced

F = "np.sin(x0) + x1*np.cos(x0) + x1/x2"
POINTS = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]]


def _changed(fn, old: str, new: str):
    """``fn`` with ``old`` replaced by ``new`` in its text, compiled with that text readable (as a cell is)."""
    source = textwrap.dedent(inspect.getsource(fn))
    assert source.count(old) == 1, old
    source = source.replace(old, new)
    filename = f"<changed {fn.__name__}: {old}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own answers, changed at one site
    return namespace[fn.__name__]


# -- a tape -------------------------------------------------------------------------------------------------
def tape_in_a_list(x0, x1, x2):
    vals = [x0, x1, x2]
    edges = []

    def record(value, partials):
        vals.append(value)
        edges.append((len(vals) - 1, partials))

    record(np.sin(vals[0]), [(0, np.cos(vals[0]))])
    record(np.cos(vals[0]), [(0, -np.sin(vals[0]))])
    record(vals[1] * vals[4], [(1, vals[4]), (4, vals[1])])
    record(vals[1] / vals[2], [(1, 1 / vals[2]), (2, -vals[1] / vals[2] ** 2)])
    record(vals[3] + vals[5], [(3, 1.0), (5, 1.0)])
    record(vals[6] + vals[7], [(6, 1.0), (7, 1.0)])
    adj = [0.0] * len(vals)
    adj[8] = 1.0
    for node, partials in reversed(edges):
        for parent, local in partials:
            adj[parent] = adj[parent] + adj[node] * local
    return (vals[8], *adj)


def tape_of_tuples(x0, x1, x2):
    # The values live only inside tuples: no variable or list of the student's holds one by itself.
    tape = [(x0, ()), (x1, ()), (x2, ())]

    def push(value, *partials):
        tape.append((value, partials))
        return len(tape) - 1

    s = push(np.sin(tape[0][0]), (0, np.cos(tape[0][0])))
    c = push(np.cos(tape[0][0]), (0, -np.sin(tape[0][0])))
    m = push(tape[1][0] * tape[c][0], (1, tape[c][0]), (c, tape[1][0]))
    q = push(tape[1][0] / tape[2][0], (1, 1 / tape[2][0]), (2, -tape[1][0] / tape[2][0] ** 2))
    a = push(tape[s][0] + tape[m][0], (s, 1.0), (m, 1.0))
    y = push(tape[q][0] + tape[a][0], (q, 1.0), (a, 1.0))
    g = [0.0] * len(tape)
    g[y] = 1.0
    for k in range(len(tape) - 1, -1, -1):
        for parent, local in tape[k][1]:
            g[parent] += g[k] * local
    return (tape[y][0], *g)


@pytest.mark.parametrize("answer", [tape_in_a_list, tape_of_tuples])
def test_a_reverse_pass_run_from_a_tape_earns_full_marks(answer):
    # Before: 0.2, "Your function returns 10 values; it should return 5", with adjoints named after the loop's
    # item variable (`localbar`) and after variables the student never wrote (`xbar0`).
    result = check_reverse(answer, F, points=POINTS)
    assert (result.passed, result.score) == (True, 1.0), result.feedback


def test_a_loop_item_never_names_a_value_and_a_list_item_names_what_no_variable_holds():
    run = run_traced(tape_in_a_list, POINTS[0])
    graph = Graph.from_run(run, [run.returned[0]])  # y's graph (the checkers' own)
    names = {name for n in graph.nodes for name in n.names}
    assert not names & {"local", "parent", "node", "partials"}, names
    assert [n.name for n in graph.nodes if n.op != "const"] == [f"vals[{k}]" for k in range(9)]


@pytest.mark.parametrize("answer, old, new, culprit, code", [
    (tape_in_a_list, "(4, vals[1])", "(4, vals[2])", "adj[4]", "wrong-local-derivative"),
    (tape_in_a_list, "(2, -vals[1] / vals[2] ** 2)", "(2, vals[1] / vals[2] ** 2)", "adj[2]", "sign"),
    (tape_in_a_list, "adj[8] = 1.0", "adj[8] = 2.0", "adj[8]", "seed"),
    (tape_of_tuples, "(c, tape[1][0])", "(c, tape[2][0])", "g[4]", "wrong-local-derivative"),
    (tape_of_tuples, "g[y] = 1.0", "g[y] = 0.5", "g[8]", "seed"),
], ids=["local derivative", "sign", "seed", "tuples: local derivative", "tuples: seed"])
def test_a_wrong_step_of_a_tape_is_named_by_the_item_the_student_wrote(answer, old, new, culprit, code):
    result = check_reverse(_changed(answer, old, new), F, points=POINTS)
    assert not result.passed and (result.culprit, result.mistakes[0]) == (culprit, code), result.feedback
    words = result.feedback
    assert "it should return" not in words and "localbar" not in words and "xbar" not in words, words


# -- derivatives in an array made with np.zeros -------------------------------------------------------------
def _adjoints_in(make, name="vbar"):
    source = f'''
def function_reverse(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    {name} = {make}
    {name}[8] = 1.0
    {name}[7] = {name}[8]
    {name}[6] = {name}[8]
    {name}[5] = {name}[7]
    {name}[4] = {name}[5] * v1
    {name}[3] = {name}[7]
    {name}[2] = -{name}[6] * v1 / v2 ** 2
    {name}[1] = {name}[5] * v4 + {name}[6] / v2
    {name}[0] = {name}[3] * np.cos(v0) - {name}[4] * np.sin(v0)
    return (v8, *{name})
'''
    return _compiled(source, "function_reverse")


def _tangents_in(make):
    source = f'''
def function_dx0(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    dv = {make}
    dv[0] = 1.0
    dv[3] = np.cos(v0) * dv[0]
    dv[4] = -np.sin(v0) * dv[0]
    dv[5] = dv[1] * v4 + v1 * dv[4]
    dv[6] = dv[1] / v2 - v1 * dv[2] / v2 ** 2
    dv[7] = dv[3] + dv[5]
    dv[8] = dv[6] + dv[7]
    return v8, dv[8]
'''
    return _compiled(source, "function_dx0")


def _compiled(source: str, name: str):
    filename = f"<answer {abs(hash(source))}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np, "zeros": np.zeros}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own answers
    return namespace[name]


MAKERS = ["np.zeros(9)", "np.zeros(9, dtype=float)", "zeros(9)", "np.ones(9) * 0.0", "np.empty(9) * 0.0",
          "np.full(9, 0.0)", "np.zeros_like(np.arange(9.0))", "np.full_like(np.arange(9.0), 0.0)"]


@pytest.mark.parametrize("make", MAKERS)
def test_adjoints_kept_in_an_array_of_zeros_earn_full_marks(make):
    # Before: 0.5, "storing one of your values into `vbar`, a numpy array of plain numbers".
    result = check_reverse(_adjoints_in(make), F, points=POINTS)
    assert (result.passed, result.score) == (True, 1.0), result.feedback


@pytest.mark.parametrize("make", MAKERS)
def test_tangents_kept_in_an_array_of_zeros_earn_full_marks_and_every_one_is_judged(make):
    # Before: 0.67 ("cannot follow"). Every tangent the array holds is a part of its own now.
    result = check_forward(_tangents_in(make), F, wrt=0, points=POINTS)
    assert (result.passed, result.score) == (True, 1.0), result.feedback
    assert {r["part"] for r in result.rows} >= {f"dv[{k}]" for k in (3, 4, 5, 6, 7, 8)}, result.rows


@pytest.mark.parametrize("name", ["vbar", "grads"])
def test_a_wrong_adjoint_in_an_array_is_named_by_its_item(name):
    answer = _adjoints_in("np.zeros(9)", name)
    wrong = _changed(answer, f"{name}[4] = {name}[5] * v1", f"{name}[4] = {name}[5] * v2")
    result = check_reverse(wrong, F, points=POINTS)
    assert not result.passed and result.culprit == f"{name}[4]", result.feedback
    assert result.mistakes[0] == "wrong-local-derivative", result.feedback
    assert f"{name}[0]: wrong (inherited)" in result.feedback


def test_a_wrong_tangent_in_an_array_is_named_with_what_its_line_reads():
    # dv[3] = cos(v0) is v4's value at every point: the line reads dv[3], so that is what is said.
    wrong = _changed(_tangents_in("np.zeros(9)"), "dv[5] = dv[1] * v4 + v1 * dv[4]",
                     "dv[5] = dv[1] * v4 + v1 * dv[3]")
    result = check_forward(wrong, F, wrt=0, points=POINTS)
    assert (result.culprit, result.mistakes[0]) == ("dv[5]", "wrong-neighbour"), result.feedback
    assert "dv[5] uses dv[3] where dv[4] belongs" in result.feedback


def test_an_array_of_zeros_cannot_hide_a_value_pasted_in():
    answer = _changed(_adjoints_in("np.zeros(9)"), "vbar[4] = vbar[5] * v1", "vbar[4] = 2.4")
    result = check_reverse(answer, F, points=POINTS)
    assert not result.passed and result.culprit == "vbar[4]", result.feedback
    assert result.mistakes[0] == "pasted-constant", result.feedback


# -- shortcuts that are not automatic differentiation -------------------------------------------------------
def complex_step(x0, x1, x2):
    def f(a, b, c):
        return np.sin(a) + b * np.cos(a) + b / c

    return f(x0, x1, x2), np.imag(f(x0 + 1e-30j, x1, x2)) / 1e-30


def adjoints_from_torch(x0, x1, x2):
    import torch

    xs = [torch.tensor(float(x), dtype=torch.float64, requires_grad=True) for x in (x0, x1, x2)]
    y = torch.sin(xs[0]) + xs[1] * torch.cos(xs[0]) + xs[1] / xs[2]
    y.backward()
    g0, g1, g2 = (float(x.grad) for x in xs)
    return (y.item(), g0, g1, g2, 1.0, xs[1].item(), 1.0, 1.0, 1.0, 1.0)


def y_only_and_zero_adjoints(x0, x1, x2):
    v8 = np.sin(x0) + x1 * np.cos(x0) + x1 / x2
    return (v8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_a_complex_step_is_named_and_only_y_keeps_its_credit():
    # A trace failure never zeroes what can be judged by value (issue 11), but a complex step is no derivative
    # by hand: y keeps its credit, the derivative (right as it is) and the graph earn none, and the words name
    # the complex step. An outside review found it scoring 2/3, above a finite difference's 1/2.
    result = check_forward(complex_step, F, wrt=0, points=POINTS)
    rows = {r["part"]: r for r in result.rows}
    assert not result.passed and result.score == pytest.approx(1 / 3) and rows["y"]["ok"], result.feedback
    assert not rows["dy/dx0"]["ok"] and "not by hand: your function takes its derivatives from a complex step" \
        in rows["dy/dx0"]["message"]
    assert not rows["trace"]["ok"]
    line = complex_step.__code__.co_firstlineno + 4
    assert (f"with a complex step (line {line}: `.imag`, an imaginary number (`...j`)): a complex-step derivative "
            "is a numerical estimate, not the chain rule") in result.feedback, result.feedback


def test_adjoints_from_torch_keep_only_y():
    # y is judged by value; the three input adjoints come from autograd, so their right values earn nothing,
    # and the six intermediate adjoints need the graph, which torch's tensors hide (the answer returns 1.0 for
    # some): the answer scores as one returning y and zeros does.
    torch_result = check_reverse(adjoints_from_torch, F, points=POINTS)
    zeros = check_reverse(y_only_and_zero_adjoints, F, points=POINTS)
    assert torch_result.score == pytest.approx(0.1), torch_result.feedback
    assert zeros.score == pytest.approx(0.1), zeros.feedback
    assert torch_result.mistakes == ["cannot-follow"], torch_result.feedback
    line = adjoints_from_torch.__code__.co_firstlineno + 3
    assert (f"computes its derivative with PyTorch's autograd (line {line}: `requires_grad`), not by hand"
            in torch_result.feedback), torch_result.feedback
    assert "not yet right (1 of 10 parts right, score 0.10)" in torch_result.feedback
    rows = [r for r in torch_result.rows if r["part"].startswith("adjoint ")]
    assert len(rows) == 6 and all(r["status"] == "not-judged" and not r["ok"] for r in rows)
