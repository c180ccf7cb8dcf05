"""The checkers against the course itself: every autograded exercise of the source notebooks passes with the
notebook's own solutions, through collect and judge with the specs of graders/*.toml."""

import contextlib
import io
from pathlib import Path

import nbformat
import pytest

from autodiff_course.checks import collect, judge
from autodiff_course.course.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def run_notebook(name: str, stop_after: str | None = None, answers: dict | None = None):
    """Run the solution cells of a source notebook (``answers`` maps an exercise id to the text that replaces
    its answer cell); at each autograded test cell collect and judge its exercise.
    Yields (spec, result) per exercise."""
    config = load_config(ROOT / "graders" / f"{name}.toml")
    nb = nbformat.read(ROOT / "notebooks" / name / f"{name}.ipynb", as_version=4)
    namespace = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            spec = config.exercise(meta["grade_id"])
            yield spec, judge(spec, collect(spec, namespace))
            if spec["id"] == stop_after:
                return
            continue
        answer_of = meta.get("grade_id", "").removesuffix("-answer")
        text = (answers or {}).get(answer_of, cell.source) if meta.get("solution") else cell.source
        source = "\n".join(
            line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, f"<{name} cell>", "exec"), namespace)  # noqa: S102 - the course's own notebook


# autodiff_by_hand stops before its MLP training section, which takes seconds and is PyTorch, not the
# checkers.
@pytest.mark.parametrize(
    "name,stop_after",
    [
        ("autodiff_by_hand", "reverse"),
        ("worksheet", None),
        ("tensors_grad_fn", None),
        ("autograd_basics", None),
        ("chain_rule_training", None),
    ],
)
def test_every_exercise_passes_with_the_notebooks_own_solution(name, stop_after):
    seen = []
    for spec, result in run_notebook(name, stop_after):
        assert result.passed, f"{name}:{spec['id']}: {result.feedback}"
        assert result.score == 1.0
        seen.append(spec["id"])
    expected = [s["id"] for s in load_config(ROOT / "graders" / f"{name}.toml").exercises]
    assert seen == expected[: len(seen)] and seen


@pytest.mark.parametrize("square", ["x * x", "x**2", "x.pow(2)", "torch.square(x)", "torch.mul(x, x)"])
def test_grad_fn_names_accept_every_spelling_of_the_square_the_exercise_leaves_free(square):
    """Worksheet exercise 3 asks for "the square of x" without an expression: `x * x` records MulBackward0,
    `x**2` PowBackward0, and the student's true names score full marks either way."""
    answers = {"forward_ops": f"y = {square}\nz = 5 + y\nl = torch.sum(z)\n"}
    results = {spec["id"]: r for spec, r in run_notebook("worksheet", "grad_fn_names", answers)}
    assert results["forward_ops"].score == 1.0
    assert results["grad_fn_names"].passed and results["grad_fn_names"].score == 1.0, \
        results["grad_fn_names"].feedback


def test_grad_fn_names_blame_the_name_of_the_operation_that_is_not_the_exercises():
    # `z.mean() * 21` has the sum's values, but l's backward function is a product's: l_grad_fn is wrong.
    answers = {"forward_ops": "y = x**2\nz = y + 5\nl = z.mean() * 21\n"}
    results = {spec["id"]: r for spec, r in run_notebook("worksheet", "grad_fn_names", answers)}
    names = results["grad_fn_names"]
    assert not names.passed and names.score == 0.5 and names.culprit == "l_grad_fn", names.feedback
    assert "MulBackward0" in names.feedback and "SumBackward0" not in names.feedback


def test_the_chain_is_compared_with_the_instructors_dz_dx_not_a_name_the_second_backward_clobbered():
    # dz_dx kept as x.grad itself (no .item()): x.grad.zero_() and h.backward() turn it into dh/dx = 10, but
    # the student's chain (dz/dh * dh/dx = 0.4) is right and must score.
    answers = {
        "chain_rule": "h.retain_grad()\nz = f2(h)\nz.backward(retain_graph=True)\ndz_dh = h.grad\ndz_dx = x.grad\n",
        "second_backward": "x.grad.zero_()\nh.backward()\ndh_dx = x.grad.item()\nchain = float(dz_dh) * dh_dx\n",
    }
    results = {spec["id"]: r for spec, r in run_notebook("chain_rule_training", "second_backward", answers)}
    assert results["chain_rule"].score == 1.0, results["chain_rule"].feedback
    assert results["second_backward"].score == 1.0, results["second_backward"].feedback
    # and a chain off by the forgotten zero_() still fails, on both parts
    answers["second_backward"] = "h.backward()\ndh_dx = x.grad.item()\nchain = float(dz_dh) * dh_dx\n"
    wrong = {spec["id"]: r for spec, r in run_notebook("chain_rule_training", "second_backward", answers)}
    assert wrong["second_backward"].score == 0.0 and wrong["second_backward"].culprit == "dh_dx"
