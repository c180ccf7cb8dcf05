"""Canvas and Moodle import files from nbgrader's gradebook: columns, rounding, missing work, late penalties."""
from __future__ import annotations

import csv

import pytest

from autodiff_course.course import load_course
from autodiff_course.course.scaffold import new_assignment, new_course
from autodiff_course.grading.gradebook import write_gradebook
from autodiff_course.grading.lateness import apply_lateness
from autodiff_course.grading.lms import lms_export

# Exercise points of the scaffold: decomposition 2, graph 1, forward 3, reverse 3, torch_gradient 2 (11).
SCORES = {"amy": [1.3333, 1.0, 2.0237, 3.0, 0.6667],   # 8.0237 -> "8.02"
          "bo": [2.0, 1.0, 3.0, 3.0, 2.0]}               # 11, handed in 30 h late: 20 % off -> 8.8


@pytest.fixture
def gradebook(tmp_path):
    new_course(tmp_path)
    new_assignment("hw1", course_dir=tmp_path)
    toml = tmp_path / "graders" / "hw1.toml"
    toml.write_text(toml.read_text().replace('# due = "2030-01-31 23:59:00"', 'due = "2030-01-31 23:59:00"')
                    .replace("# [late]\n# per = \"day\"\n# penalty = 10\n", "[late]\nper = \"day\"\npenalty = 10\n"))
    configs = load_course(tmp_path)
    specs = configs["hw1"].exercises
    results = []
    for student, scores in SCORES.items():
        results.append({"student": student, "assignment": "hw1", "notebook": "hw1.ipynb", "handed_in": True,
                        "timestamp": "2030-02-02 05:00:00" if student == "bo" else "2030-01-30 10:00:00",
                        "exercises": [{"id": s["id"], "score": x, "max_score": float(s["points"])}
                                      for s, x in zip(specs, scores, strict=True)],
                        "score": round(sum(scores), 4), "max_score": 11.0})
    results.append({"student": "cy", "assignment": "hw1", "notebook": "hw1.ipynb", "handed_in": False,
                    "exercises": [{"id": s["id"], "score": 0.0, "max_score": float(s["points"])} for s in specs],
                    "score": 0.0, "max_score": 11.0})
    return write_gradebook(tmp_path / "gradebook.db", apply_lateness(results, configs), configs,
                           course_dir=tmp_path)


def read(path):
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_canvas_file_has_its_documented_columns_a_points_row_and_rounded_net_scores(gradebook, tmp_path):
    table = read(lms_export(gradebook=gradebook, to=tmp_path / "canvas.csv", lms="canvas", section="A1"))
    assert table == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw1"],
                     ["Points Possible", "", "", "", "", "11"],
                     ["amy", "", "", "amy", "A1", "8.02"],
                     ["bo", "", "", "bo", "A1", "8.8"],
                     ["cy", "", "", "cy", "A1", ""]]


def test_moodle_file_with_missing_as_zero_and_more_places(gradebook, tmp_path):
    table = read(lms_export(gradebook=gradebook, to=tmp_path / "moodle.csv", lms="moodle", missing="zero",
                            places=3))
    assert table == [["Username", "Email address", "hw1"], ["amy", "", "8.024"], ["bo", "", "8.8"],
                     ["cy", "", "0"]]


def test_unknown_lms_or_missing_policy_is_refused(gradebook, tmp_path):
    with pytest.raises(ValueError, match="blackboard"):
        lms_export(gradebook=gradebook, to=tmp_path / "x.csv", lms="blackboard")
    with pytest.raises(ValueError, match="--missing"):
        lms_export(gradebook=gradebook, to=tmp_path / "x.csv", lms="canvas", missing="nan")
