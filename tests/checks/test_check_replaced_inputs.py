"""PyTorch exercises judge against the instructor's data: an answer computed on an input the student replaced
(zeroed) fails with a message naming that input, and earns nothing, not even for the parts (a shape) that
still hold. The answers are the course notebooks' own solution cells, run in order in this process."""

import ast
from pathlib import Path

import nbformat
import pytest

from autodiff_course.checks import check_variables
from autodiff_course.course.config import load_config

REPO = Path(__file__).resolve().parents[2]
# Cells that draw (widgets, timings) are left out: no exercise reads what they make.
_SKIP = ("autodiff_course.widgets", "timeit", "GraphStepper", "autograd_stepper")

# (assignment, exercise, the answer cell before which the input is zeroed, the zeroing)
ATTACKS = [
    ("autodiff_by_hand", "mlp_gradients", "mlp_gradients", "x_batch", "x_batch = torch.zeros(100, 3)"),
    ("autograd_basics", "network_input_grad", "network_input_grad", "x_net",
     "x_net = torch.zeros(1, 10, requires_grad=True)"),
    ("autograd_basics", "network_weight_grad", "network_input_grad", "x_net",
     "x_net = torch.zeros(1, 10, requires_grad=True)"),
    ("chain_rule_training", "mse_gradient", "mse_gradient", "x", "x = torch.zeros(3)"),
    ("chain_rule_training", "gradient_step", "mse_gradient", "x", "x = torch.zeros(3)"),
    ("worksheet", "forward_ops", "forward_ops", "x", "x = torch.zeros(21, requires_grad=True)"),
    ("worksheet", "derive_by_hand", "forward_ops", "x", "x = torch.zeros(21, requires_grad=True)"),
    ("worksheet", "backward_compare", "forward_ops", "x", "x = torch.zeros(21, requires_grad=True)"),
    ("tensors_grad_fn", "vector_backward", "vector_backward", "v", "v = torch.zeros(3)"),
    # "the same 10 numbers": tracking switched on for other numbers than the locked cell drew (review P15)
    ("autograd_basics", "requires_grad", "requires_grad", "a", "a = torch.zeros(10)"),
]


def _namespace(assignment: str, exercise: str, *, before: str | None = None, attack: str = "") -> dict:
    """The notebook's variables when the test cell of ``exercise`` runs, ``attack`` run just before the
    answer cell ``before``-answer."""
    nb = nbformat.read(REPO / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    namespace: dict = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type != "code" or any(s in cell.source for s in _SKIP):
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            if meta["grade_id"] == exercise:
                return namespace
            continue  # another exercise's test cell
        if attack and meta.get("grade_id") == f"{before}-answer":
            exec(attack, namespace)  # noqa: S102 - the test's own attack
        exec(cell.source, namespace)  # noqa: S102 - the course's own solution
    raise AssertionError(f"no test cell {exercise!r} in {assignment}")


def _check(assignment: str, exercise: str, namespace: dict):
    spec = load_config(REPO / "graders" / f"{assignment}.toml").exercise(exercise)
    opts = {k: spec[k] for k in ("rtol", "atol", "instructor_data") if k in spec}
    return check_variables(namespace, spec["variables"], spec["expect"], id=exercise, **opts)


@pytest.mark.parametrize(("assignment", "exercise", "before", "name", "attack"), ATTACKS,
                         ids=[f"{a[0]}-{a[1]}" for a in ATTACKS])
def test_an_answer_on_a_zeroed_input_fails_naming_it_and_earns_nothing(assignment, exercise, before, name,
                                                                       attack):
    honest = _check(assignment, exercise, _namespace(assignment, exercise))
    assert honest.passed and honest.score == 1.0, honest.feedback
    attacked = _check(assignment, exercise, _namespace(assignment, exercise, before=before, attack=attack))
    assert not attacked.passed and attacked.score == 0.0, attacked.feedback
    assert "replaced-input" in attacked.mistakes
    assert f"Your `{name}` is not the notebook's" in attacked.feedback


def test_every_expectation_computed_from_a_variable_has_the_instructors_data_for_it():
    # Where an expected value is computed from a student's variable, the exercise owns that input (instructor
    # data) and is attacked above. Left out: exercises whose variable is the answer itself, not an input
    # (`sum_tensor` sums the student's own random `a`, `grad_fn_names` asks for the names of the student's
    # own tensors).
    own = {("tensors_grad_fn", "sum_tensor"), ("worksheet", "grad_fn_names")}
    covered = {(a[0], a[1]) for a in ATTACKS}
    for path in sorted((REPO / "graders").glob("*.toml")):
        for spec in load_config(path).exercises:
            if spec["kind"] != "variables" or (path.stem, spec["id"]) in own:
                continue
            reads = {n.id for e in spec["expect"] for n in ast.walk(ast.parse(e["equals"], mode="eval"))
                     if isinstance(n, ast.Name)}
            if reads & set(spec["variables"]):
                assert spec.get("instructor_data") and (path.stem, spec["id"]) in covered, (path.stem, spec["id"])
