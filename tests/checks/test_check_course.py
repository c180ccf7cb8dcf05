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


def run_notebook(name: str, stop_after: str | None = None):
    """Run the solution cells of a source notebook; at each autograded test cell collect and judge its
    exercise.
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
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
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
