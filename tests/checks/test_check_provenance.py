"""PyTorch exercises tell honest work from stand-ins (issue 11): a value the exercise asks to derive by hand
that the student's cells take from autograd, a gradient the exercise asks autograd for that is typed or
computed by a formula, and a pasted "my gradients match" all fail, naming the variable and the reason, while
the notebooks' own solutions (and honest variants of them) keep full marks.

Every answer runs for real: the course notebook's cells in order, in this process, with real PyTorch, the
cell texts kept in ``In`` as IPython keeps them. Stand-ins are generated: every way of reaching autograd
crossed with every way of carrying its result into the answer."""

import itertools
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autodiff_course.checks import check_variables
from autodiff_course.checks.provenance import machine_derived
from autodiff_course.course.config import load_config

REPO = Path(__file__).resolve().parents[2]
# Cells that draw (widgets, timings, plots) are left out: no exercise reads what they make.
_SKIP = ("autodiff_course.widgets", "timeit", "GraphStepper", "autograd_stepper", "plt.subplots")


def _cells(assignment: str):
    nb = nbformat.read(REPO / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and not any(s in c.source for s in _SKIP)]


def run_until(assignment: str, exercise: str, answers: dict[str, list[str]] | None = None) -> dict:
    """The notebook's namespace when the test cell of ``exercise`` runs, each answer cell whose id is in
    ``answers`` replaced by those cells (run one after the other), ``In`` holding every cell run."""
    namespace: dict = {"__name__": "__main__", "In": [""]}
    for cell in _cells(assignment):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            if meta["grade_id"] == exercise:
                return namespace
            continue  # another exercise's test cell
        exercise_id = meta.get("grade_id", "").removesuffix("-answer")
        for text in (answers or {}).get(exercise_id, [cell.source]):
            namespace["In"].append(text)
            exec(text, namespace)  # noqa: S102 - the course's own solution or the test's own variant
    raise AssertionError(f"no test cell {exercise!r} in {assignment}")


def check(assignment: str, exercise: str, namespace: dict):
    spec = load_config(REPO / "graders" / f"{assignment}.toml").exercise(exercise)
    opts = {k: spec[k] for k in ("rtol", "atol", "instructor_data", "by_hand") if k in spec}
    return check_variables(namespace, spec["variables"], spec["expect"], id=exercise, **opts)


def _variables_exercises():
    for path in sorted((REPO / "graders").glob("*.toml")):
        for spec in load_config(path).exercises:
            if spec["kind"] == "variables":
                yield path.stem, spec["id"]


@pytest.mark.parametrize(("assignment", "exercise"), list(_variables_exercises()),
                         ids=[f"{a}-{e}" for a, e in _variables_exercises()])
def test_every_solution_run_in_order_keeps_full_marks(assignment, exercise):
    result = check(assignment, exercise, run_until(assignment, exercise))
    assert result.passed and result.score == 1.0, result.feedback


# -- 1. "derive by hand" ------------------------------------------------------------------------------------
_WORKSHEET_DERIVED = 2 * np.linspace(-5.0, 5.0, 21)

# How a student reaches autograd's dl/dx (each leaves the gradient in `auto`, or fills x.grad) ...
REACH = {
    "backward-then-grad": "l.backward(retain_graph=True)\nauto = x.grad.clone()",
    "autograd.grad": "(auto,) = torch.autograd.grad(l, x, retain_graph=True)",
    "grad-imported-by-name": "from torch.autograd import grad as differentiate\n"
                             "auto = differentiate(l, x, retain_graph=True)[0]",
    "torch.func.grad": "auto = torch.func.grad(lambda t: (t**2 + 5).sum())(x.detach())",
    "jacobian-diagonal": "auto = torch.autograd.functional.jacobian(lambda t: (t**2 + 5).sum(), x.detach())",
}
# ... and how it reaches the answer.
CARRY = {
    "direct": ["{reach}\nx_grad_derived = auto"],
    "through-names": ["{reach}\ndy_dx = auto / (dl_dz * dz_dy)\nx_grad_derived = dl_dz * dz_dy * dy_dx"],
    "an-earlier-cell": ["{reach}", "x_grad_derived = 1 * auto"],
    "a-helper": ["def derivative():\n    {reach_indented}\n    return auto\nx_grad_derived = derivative()"],
    "copied-in-place": ["{reach}\nx_grad_derived = torch.empty(21)\nx_grad_derived.copy_(auto)"],
    "accumulated": ["{reach}\nx_grad_derived = torch.zeros(21)\nx_grad_derived += auto"],
}
_BY_HAND_FACTORS = "dl_dz = 1\ndz_dy = 1\n"


def _stand_in(reach: str, carry: list[str]) -> list[str]:
    cells = [c.format(reach=REACH[reach], reach_indented=REACH[reach].replace("\n", "\n    "))
             for c in carry]
    return [_BY_HAND_FACTORS + cells[0], *cells[1:]]


@pytest.mark.parametrize(("reach", "carry"), list(itertools.product(REACH, CARRY)))
def test_a_derivative_taken_from_autograd_fails_the_by_hand_exercise(reach, carry):
    ns = run_until("worksheet", "derive_by_hand", {"derive_by_hand": _stand_in(reach, CARRY[carry])})
    # The stand-in has the right numbers: only what the cells say tells it apart.
    assert np.array_equal(ns["x_grad_derived"].detach().numpy(), _WORKSHEET_DERIVED)
    result = check("worksheet", "derive_by_hand", ns)
    assert not result.passed and "not-by-hand" in result.mistakes, result.feedback
    assert result.culprit == "x_grad_derived"
    assert "`x_grad_derived` is not derived by hand" in result.feedback
    assert "autograd's result" in result.feedback
    # The shape and the values (3 of 5 weight) are lost; the two factors derived by hand keep theirs.
    assert result.score == pytest.approx(2 / 5)


HONEST = {
    "solution-as-written": "dy_dx = 2 * x.detach()\nx_grad_derived = dl_dz * dz_dy * dy_dx",
    "without-detach": "x_grad_derived = dl_dz * dz_dy * 2 * x",
    "through-data": "x_grad_derived = 2 * x.data",
    "numpy": "x_grad_derived = torch.from_numpy(2 * x.detach().numpy())",
    "sympy": "import sympy\nX = sympy.Symbol('X')\nslope = sympy.lambdify(X, sympy.diff(X**2 + 5, X))\n"
             "x_grad_derived = torch.tensor([float(slope(float(v))) for v in x.detach()])",
    # A look at autograd in the same cell, its result not used for the answer, is no evidence.
    "a-look-at-autograd": "x_grad_derived = 2 * x.detach()\nprint(torch.autograd.grad(l, x, retain_graph=True))",
    # A name once taken from autograd and then derived again is judged by its last value.
    "replaced-by-a-derivation": "x_grad_derived = torch.autograd.grad(l, x, retain_graph=True)[0]\n"
                                "x_grad_derived = 2 * x.detach()",
}


@pytest.mark.parametrize("variant", list(HONEST))
def test_an_honest_derivation_in_any_style_keeps_full_marks(variant):
    ns = run_until("worksheet", "derive_by_hand", {"derive_by_hand": [_BY_HAND_FACTORS + HONEST[variant]]})
    result = check("worksheet", "derive_by_hand", ns)
    assert result.passed and result.score == 1.0, result.feedback


def test_a_by_hand_number_read_off_x_grad_fails_and_the_derived_one_passes():
    taken = "out.backward()\nby_hand = x.grad[0, 0].item()"
    result = check("tensors_grad_fn", "mean_backward",
                   run_until("tensors_grad_fn", "mean_backward", {"mean_backward": [taken]}))
    assert not result.passed and result.mistakes == ["not-by-hand"], result.feedback
    assert result.culprit == "by_hand" and "`by_hand` is not derived by hand" in result.feedback
    assert result.score == pytest.approx(2 / 4)  # x.grad, autograd's part, keeps its weight


def test_without_a_history_of_cells_nothing_is_claimed():
    # A plain script has no `In`: the check judges by value, as the module documents.
    ns = run_until("worksheet", "derive_by_hand", {"derive_by_hand": _stand_in("autograd.grad", CARRY["direct"])})
    del ns["In"]
    assert check("worksheet", "derive_by_hand", ns).score == 1.0


def test_the_words_name_the_construct_never_the_students_text():
    cells = ["import torch.autograd as A\nsecret_name_42 = A.grad(l, x)\nanswer = secret_name_42 * 1"]
    assert machine_derived(cells, ["answer"]) == {"answer": "an autograd `grad` function"}
    read = ["l.backward()\nmine = x.grad.clone()"]
    assert machine_derived(read, ["mine"]) == {"mine": "a tensor's `.grad` (what backward() computed)"}
    # A cell that does not parse is skipped, not fatal.
    assert machine_derived(["%matplotlib inline", "answer = 2 * x"], ["answer"]) == {}


# -- 2. "obtain it with autograd" ---------------------------------------------------------------------------
# (assignment, exercise, {answer cell: (the solution's text, the stand-in)}, the variable, where autograd
# leaves the gradient, what the feedback says of it). Every stand-in has the right numbers.
_EMPTY, _OTHER = "is empty", "holds other values"
TYPED = [
    ("chain_rule_training", "square_grad",
     {"square_grad": ("y = f1(x)\ny.backward()\ngradients = x.grad", "gradients = 2 * x")},
     "gradients", "x.grad", _EMPTY),
    ("chain_rule_training", "square_grad",
     {"square_grad": ("y = f1(x)\ny.backward()\ngradients = x.grad", "gradients = torch.tensor([10.0])")},
     "gradients", "x.grad", _EMPTY),
    ("autograd_basics", "square_grad", {"square_grad": ("y.backward()\ndydx = x.grad", "dydx = 2 * x")},
     "dydx", "x.grad", _EMPTY),
    ("autograd_basics", "network_input_grad",
     {"network_input_grad": ("y_net.backward()\ndydx_net = x_net.grad",
                             "dydx_net = torch.autograd.grad(y_net, x_net)[0]")},
     "dydx_net", "x_net.grad", _EMPTY),
    ("autograd_basics", "network_weight_grad",
     {"network_input_grad": ("y_net.backward()\n", ""),
      "network_weight_grad": ("W1_grad = W1.grad", "W1_grad = torch.autograd.grad(net(x_net).sum(), W1)[0]")},
     "W1_grad", "net_params[0].grad", _EMPTY),
    ("chain_rule_training", "chain_rule",
     {"chain_rule": ("z.backward(retain_graph=True)\ndz_dh = h.grad.item()\ndz_dx = x.grad.item()",
                     "dz_dh = 1 / h.item()\ndz_dx = 2 / x.item()")},
     "dz_dh", "h.grad", _EMPTY),
    # backward(inputs=[h]) fills h.grad only: dz_dh is autograd's, the typed dz_dx is not.
    ("chain_rule_training", "chain_rule",
     {"chain_rule": ("z.backward(retain_graph=True)\ndz_dh = h.grad.item()\ndz_dx = x.grad.item()",
                     "z.backward(retain_graph=True, inputs=[h])\ndz_dh = h.grad.item()\ndz_dx = 2 / x.item()")},
     "dz_dx", "x.grad", _EMPTY),
    # x.grad still holds Exercise 2's dz/dx: the typed dh/dx is not what it holds.
    ("chain_rule_training", "second_backward",
     {"second_backward": ("x.grad.zero_()\nh.backward()\ndh_dx = x.grad.item()", "dh_dx = 2 * x.item()")},
     "dh_dx", "x.grad", _OTHER),
    ("chain_rule_training", "mse_gradient",
     {"mse_gradient": ("loss.backward()\nmodel_params_grad = model_params.grad",
                       "model_params_grad = torch.stack([(2 * (y_hat - y) * x).mean(), (2 * (y_hat - y)).mean()])")},
     "model_params_grad", "model_params.grad", _EMPTY),
    ("tensors_grad_fn", "vector_backward",
     {"vector_backward": ("y.backward(v)\nx_grad = x.grad", "x_grad = v * (y / x).detach()")},
     "x_grad", "x.grad", _EMPTY),
    ("autodiff_by_hand", "mlp_gradients",
     {"mlp_gradients": ("loss.backward()\ngradients = model.weights[0].grad",
                        "gradients = torch.autograd.grad(loss, model.weights[0])[0]")},
     "gradients", "weights[0].grad", _EMPTY),
]


def _edited(assignment: str, exercise: str, old: str, new: str) -> str:
    cell = next(c for c in _cells(assignment)
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"{exercise}-answer")
    assert cell.source.count(old) == 1, (assignment, exercise)
    return cell.source.replace(old, new)


@pytest.mark.parametrize(("assignment", "exercise", "edits", "name", "where", "says"), TYPED,
                         ids=[f"{t[0]}-{t[1]}-{t[3]}-{i}" for i, t in enumerate(TYPED)])
def test_a_gradient_not_read_from_autograd_fails_where_autograd_is_asked_for(assignment, exercise, edits, name,
                                                                             where, says):
    answers = {answer: [_edited(assignment, answer, old, new)] for answer, (old, new) in edits.items()}
    result = check(assignment, exercise, run_until(assignment, exercise, answers))
    assert not result.passed and "not-from-autograd" in result.mistakes, result.feedback
    lead = "does not come from autograd" if says == _EMPTY else "is not autograd's result"
    assert f"`{name}` {lead}: `{where}` {says}" in result.feedback
    assert result.culprit == name


def test_every_expectation_that_asks_for_autograd_is_attacked_above():
    attacked = {(t[0], t[1], t[4]) for t in TYPED}
    for path in sorted((REPO / "graders").glob("*.toml")):
        for spec in load_config(path).exercises:
            for e in spec.get("expect") or []:
                if e.get("autograd"):
                    assert (path.stem, spec["id"], e["autograd"]) in attacked, (path.stem, spec["id"], e)


def test_a_formula_beside_a_backward_that_computed_something_else_is_not_autograds_result():
    # backward() ran twice (x.grad holds 2 * 10), the answer typed as 10: x.grad says otherwise.
    typed = "y = f1(x)\ny.backward(retain_graph=True)\ny.backward()\ngradients = 2 * x"
    result = check("chain_rule_training", "square_grad",
                   run_until("chain_rule_training", "square_grad", {"square_grad": ["x = torch.tensor([5.0], "
                                                                                    "requires_grad=True)\n" + typed]}))
    assert not result.passed and result.mistakes == ["not-from-autograd"], result.feedback
    assert "`gradients` is not autograd's result: `x.grad` holds other values" in result.feedback


# -- 3. "compare your gradients with autograd's" ------------------------------------------------------------
_WRONG_DERIVATION = _BY_HAND_FACTORS + "x_grad_derived = 2 * x.detach() + 1"


def test_a_pasted_match_fails_where_the_two_gradients_differ():
    ns = run_until("worksheet", "backward_compare", {
        "derive_by_hand": [_WRONG_DERIVATION],
        "backward_compare": ["l.backward()\ngrads_match = True"]})
    result = check("worksheet", "backward_compare", ns)
    assert not result.passed and result.culprit == "grads_match", result.feedback
    assert "grads_match is the result of comparing your x.grad with your x_grad_derived" in result.feedback
    assert result.score == pytest.approx(2 / 3)  # x.grad itself is autograd's and right


@pytest.mark.parametrize("comparison", ["torch.allclose(x.grad, x_grad_derived)",
                                        "bool((x.grad - x_grad_derived).abs().max() < 1e-6)",
                                        "torch.equal(x.grad, x_grad_derived)"])
@pytest.mark.parametrize("derivation", ["right", "wrong"])
def test_an_honest_comparison_passes_whatever_it_finds(comparison, derivation):
    answers = {"backward_compare": [f"l.backward()\ngrads_match = {comparison}"]}
    if derivation == "wrong":
        answers["derive_by_hand"] = [_WRONG_DERIVATION]
    ns = run_until("worksheet", "backward_compare", answers)
    assert ns["grads_match"] is (derivation == "right")
    result = check("worksheet", "backward_compare", ns)
    assert result.passed and result.score == 1.0, result.feedback


# -- where the history comes from ---------------------------------------------------------------------------
def test_the_graders_shell_records_the_cells_the_collector_reads(monkeypatch):
    """The batch grader's child runs each cell through its IPython shell and calls the collector with the
    shell's namespace (grading/harness.py): the stand-in is caught there from the same history."""
    import sys

    from IPython.core.interactiveshell import InteractiveShell

    from autodiff_course.checks import collect, judge
    from autodiff_course.checks.collect import collect_spec
    from autodiff_course.grading.harness import make_shell

    # An IPython shell puts a module of its own in sys.modules["__main__"] and takes over the hooks; this test
    # process goes on to run others (a Dask cluster spawns its workers from __main__), so they are restored.
    for name in ("displayhook", "excepthook"):
        monkeypatch.setattr(sys, name, getattr(sys, name))
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    monkeypatch.setattr(InteractiveShell, "_instance", getattr(InteractiveShell, "_instance", None))
    shell = make_shell()
    shell.reset()
    spec = load_config(REPO / "graders" / "worksheet.toml").exercise("derive_by_hand")
    answers = {"derive_by_hand": _stand_in("autograd.grad", CARRY["an-earlier-cell"])}
    for cell in _cells("worksheet"):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            if meta["grade_id"] == "derive_by_hand":
                break
            continue
        for text in answers.get(meta.get("grade_id", "").removesuffix("-answer"), [cell.source]):
            assert shell.run_cell(text, store_history=True).success, text
    result = judge(spec, collect(collect_spec(spec), shell.user_ns))
    assert "not-by-hand" in result.mistakes and result.score == pytest.approx(2 / 5), result.feedback


def test_every_by_hand_exercise_is_attacked_above():
    by_hand = {(path.stem, spec["id"]) for path in sorted((REPO / "graders").glob("*.toml"))
               for spec in load_config(path).exercises if spec.get("by_hand")}
    assert by_hand == {("worksheet", "derive_by_hand"), ("tensors_grad_fn", "mean_backward")}
