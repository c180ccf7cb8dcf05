"""Build the bundled example class: `examples/submitted/<student>/<assignment>/<assignment>.ipynb`.

Every submission starts from the released (student) notebook that `nbgrader generate_assignment` makes, so
it carries the same nbgrader metadata and checksums a real submission would. Each answer cell is then
filled with the instructor's solution, left untouched (still raising NotImplementedError), or filled with
the solution after a few textual edits that reproduce a typical mistake. Every edit must match the
solution text exactly once, so a change to a notebook that invalidates a mistake fails loudly here.

Run from anywhere: `python examples/make_examples.py` (regenerates every file; commit the result).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat

COURSE_DIR = Path(__file__).resolve().parent.parent
OUT_DIR = Path(__file__).resolve().parent / "submitted"

SOLUTION = "solution"  # the instructor's answer
BLANK = "blank"  # the released stub, untouched


class Answer(str):
    """A whole answer cell written from scratch (not derived from the solution)."""


# student -> what they do by default, and per assignment, per exercise: SOLUTION, BLANK, an Answer, or a
# list of (text in the solution, replacement) edits.
STUDENTS: dict[str, dict] = {
    # Everything right.
    "ada": {"default": SOLUTION},
    # Opened the notebooks and handed them in without answering.
    "ben": {"default": BLANK},
    # Solid, with the classic reverse-mode slip and a sign error in d cos.
    "chen": {
        "default": SOLUTION,
        "autodiff_by_hand": {
            # v0 feeds v3 = sin(v0) and v4 = cos(v0); only the first path is summed.
            "reverse": [("vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))", "vbar0 = vbar3 * np.cos(v0)")],
            # d cos(v0) = -sin(v0), written without the minus.
            "forward": [("dv4dx0 = -np.sin(v0) * dv0dx0", "dv4dx0 = np.sin(v0) * dv0dx0")],
        },
        "worksheet": {
            # The names as the reading text abbreviates them, not as PyTorch reports them.
            "grad_fn_names": [('y_grad_fn = y.grad_fn.name()', 'y_grad_fn = "PowBackward"'),
                              ('z_grad_fn = z.grad_fn.name()', 'z_grad_fn = "AddBackward"'),
                              ('l_grad_fn = l.grad_fn.name()', 'l_grad_fn = "SumBackward"')],
        },
        "tensors_grad_fn": {
            # Believes retained gradients spread to every intermediate result.
            "no_retain": [('kept_grad = ["u"]', 'kept_grad = ["u", "u2", "u_sum"]')],
        },
    },
    # Copies `cos`/`sin` without `np.`, slips in the product rule, forgets to zero a gradient.
    "dara": {
        "default": SOLUTION,
        "autodiff_by_hand": {
            "reverse": [("vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))",
                         "vbar0 = vbar3 * cos(v0) + vbar4 * (-sin(v0))")],
            # Product rule for v3 = v0 * v2 with the v2 * dv0 term dropped (harmless for d/dx1: dv0dx1 = 0)
            # and for v6 = v3 * v5 with the wrong tangent paired with v3.
            "forward_dx1": [("dv6dx1 = v3 * dv5dx1 + v5 * dv3dx1", "dv6dx1 = v3 * dv3dx1 + v5 * dv5dx1")],
            "mlp_gradients": BLANK,
        },
        "chain_rule_training": {
            # Reads 0.4 + 10 because x.grad still holds the first backward's result.
            "second_backward": [("x.grad.zero_()\n", "")],
        },
        "autograd_basics": {
            # Calls backward a second time "to be sure": the weight gradient doubles.
            "network_weight_grad": [("W1 = net[0].weight\n",
                                     "y_net = net(x_net)\ny_net.backward()\nW1 = net[0].weight\n")],
        },
    },
    # Estimates derivatives numerically, returns the adjoints backwards, forgets requires_grad.
    "emil": {
        "default": SOLUTION,
        "autodiff_by_hand": {
            "forward": Answer(
                "def function_dx0(x0, x1, x2):\n"
                "    # a small step in x0 and the change it makes\n"
                "    h = 1e-6\n"
                "    y = np.sin(x0) + x1 * np.cos(x0) + x1 / x2\n"
                "    y_step = np.sin(x0 + h) + x1 * np.cos(x0 + h) + x1 / x2\n"
                "    return y, (y_step - y) / h"),
            "reverse": [("    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))\n",
                         "    vbar0 = vbar3 * np.cos(v0) + vbar4 * (-np.sin(v0))\n"
                         "    return v8, vbar8, vbar7, vbar6, vbar5, vbar4, vbar3, vbar2, vbar1, vbar0\n")],
            "forward_dx1": BLANK,
        },
        "worksheet": {
            "create_x": [("x = torch.linspace(-5, 5, 21, requires_grad=True)",
                          "x = torch.linspace(-5, 5, 21)")],
        },
        "autograd_basics": {
            "square_grad": [("x = torch.tensor(1.0, requires_grad=True)", "x = torch.tensor(1.0)")],
        },
    },
    # Packs several operations into one line, misses an edge, forgets to clear gradients, and guesses.
    "fatima": {
        "default": SOLUTION,
        "autodiff_by_hand": {
            "decomposition": [("    v3 = np.sin(v0)\n    v4 = np.cos(v0)\n    v5 = v1 * v4\n"
                               "    v6 = v1 / v2\n"
                               "    v7 = v3 + v5\n    v8 = v6 + v7\n    return v8",
                               "    v3 = np.sin(v0) + v1 * np.cos(v0)\n    v4 = v1 / v2\n    v5 = v3 + v4\n"
                               "    return v5")],
            "graph": [('"v5": ["v1", "v4"],', '"v5": ["v4"],')],
            "mlp_gradients": [("optimiser.zero_grad()\n", "")],
        },
        "tensors_grad_fn": {
            "mean_backward": [("by_hand = 3 / 2 * (1 + 2)", "by_hand = 3 * (1 + 2) ** 2 / 4")],
            "vector_backward": BLANK,
        },
        "chain_rule_training": {
            # Forgets to record the loss of each epoch.
            "training_loop": [("    losses.append(loss.item())\n", "")],
        },
        "worksheet": {
            "grad_fn_role": [('grad_fn_role = "B"', 'grad_fn_role = "A"')],
            "plot_slope": [("slope = 2", "slope = 1")],
        },
    },
}


def _answer_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("solution") and not meta.get("grade"):
        grade_id = meta.get("grade_id", "")
        return grade_id[: -len("-answer")] if grade_id.endswith("-answer") else grade_id
    return None


def solutions(source_nb) -> dict[str, str]:
    """exercise id -> the instructor's answer cell with the solution markers removed."""
    answers = {}
    for cell in source_nb.cells:
        exercise = _answer_id(cell)
        if exercise is not None:
            lines = [line for line in cell.source.split("\n")
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
            answers[exercise] = "\n".join(lines)
    return answers


def apply_edits(text: str, edits: list[tuple[str, str]], where: str) -> str:
    for old, new in edits:
        count = text.count(old)
        if count != 1:
            raise ValueError(f"{where}: the edit {old!r} matches {count} times in the solution "
                             "(needs exactly 1)")
        text = text.replace(old, new)
    return text


def submission(released_nb, source_nb, student: str, assignment: str):
    """The released notebook with `student`'s answers filled in."""
    plan = STUDENTS[student]
    overrides = plan.get(assignment, {})
    answers = solutions(source_nb)
    nb = nbformat.from_dict(released_nb)
    for cell in nb.cells:
        exercise = _answer_id(cell)
        if exercise is None:
            continue
        choice = overrides.get(exercise, plan["default"])
        if choice == BLANK:
            continue
        if isinstance(choice, Answer):
            cell.source = str(choice)
            continue
        text = answers[exercise]
        if choice != SOLUTION:
            text = apply_edits(text, choice, f"{student}/{assignment}/{exercise}")
        cell.source = text
    unknown = set(overrides) - {_answer_id(c) for c in nb.cells}
    if unknown:
        raise ValueError(f"{student}/{assignment}: no answer cells for {sorted(unknown)}")
    return nb


def build(course_dir: Path = COURSE_DIR, out_dir: Path = OUT_DIR,
          released_dir: Path | None = None) -> list[Path]:
    """Write every student's submission of every assignment; returns the paths written.

    `released_dir` holds `<assignment>/<notebook>` student versions; if None they are generated with
    `autodiff_course.course.release` into a temporary directory first.
    """
    from autodiff_course.course import load_course
    from autodiff_course.course.release import release

    configs = load_course(course_dir)
    with tempfile.TemporaryDirectory(prefix="autodiff-course-examples-") as scratch:
        if released_dir is None:
            released_dir = Path(scratch)
            release(course_dir, released_dir, gradebook=Path(scratch) / "gradebook.db")  # a scratch gradebook
        written = []
        for assignment, config in configs.items():
            source_nb = nbformat.read(course_dir / "notebooks" / assignment / config.notebook, as_version=4)
            released_nb = nbformat.read(Path(released_dir) / assignment / config.notebook, as_version=4)
            for student in STUDENTS:
                nb = submission(released_nb, source_nb, student, assignment)
                path = out_dir / student / assignment / config.notebook
                path.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, path)
                written.append(path)
    return written


if __name__ == "__main__":
    sys.path.insert(0, str(COURSE_DIR))
    for written_path in build():
        print(written_path.relative_to(COURSE_DIR))
