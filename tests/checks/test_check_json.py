"""collect and judge are two halves that can live in two processes: the verdict is the same after the
collected
data crosses a JSON boundary (and a real process boundary) as when both run in one process."""

import json
import subprocess
import sys
from pathlib import Path

import answers_by_hand as S
import pytest
from test_check_verdicts import CASES

from autodiff_course.checks import collect, judge

HERE = Path(__file__).parent


def spec_for(name, kind, ref, wrt):
    return {
        "id": name,
        "assignment": "tests",
        "kind": kind,
        "function": name,
        "args": ["x0", "x1", "x2"][: 3 if ref == "Y" else 2],
        "reference": S.Y if ref == "Y" else S.F,
        "wrt": wrt,
        "test_points": S.POINT_Y if ref == "Y" else S.POINT_F,
        "hidden_points": [],
        "random_points": 2,
        "domain": ["abs(x2) > 0.2"] if ref == "Y" else ["abs(x1) > 0.5"],
        "rtol": 1e-9,
        "time_limit": 5,
    }


@pytest.mark.parametrize("name,kind,ref,wrt", [c[:4] for c in CASES], ids=[c[0] for c in CASES])
def test_verdict_is_the_same_after_a_json_round_trip(name, kind, ref, wrt):
    spec = spec_for(name, kind, ref, wrt)
    raw = collect(spec, vars(S))
    direct = judge(spec, raw)
    crossed = judge(json.loads(json.dumps(spec)), json.loads(json.dumps(raw)))
    assert crossed.to_dict() == direct.to_dict()
    # The result itself survives JSON too (the grader stores it, the report renders it again).
    again = type(direct).from_dict(json.loads(json.dumps(direct.to_dict())))
    assert again.to_dict() == direct.to_dict()


def test_collect_in_a_child_process_and_judge_here_agree_with_one_process():
    spec = spec_for("reverse_product_rule_slip", "reverse", "Y", 0)
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; sys.path.insert(0, sys.argv[1]); import answers_by_hand as S; "
            "from autodiff_course.checks import collect; "
            "print(json.dumps(collect(json.loads(sys.argv[2]), vars(S))))",
            str(HERE),
            json.dumps(spec),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    raw = json.loads(child.stdout)
    assert judge(spec, raw).to_dict() == judge(spec, collect(spec, vars(S))).to_dict()
    assert judge(spec, raw).culprit == "vbar4"


def test_collected_data_is_plain_json():
    spec = spec_for("reverse_not_a_number", "reverse", "Y", 0)
    raw = collect(spec, vars(S))
    # allow_nan=False: strict JSON, no NaN/Infinity tokens and no objects json cannot write.
    text = json.dumps(raw, allow_nan=False)
    assert json.loads(text) == raw


def test_the_sandbox_spec_hides_the_reference_and_gives_the_same_data():
    import numpy as np

    from autodiff_course.checks import collect, collect_spec, judge

    spec = {"assignment": "a", "id": "reverse", "kind": "reverse", "function": "f", "args": ["x0", "x1"],
            "reference": "np.sin(x0) * x1", "test_points": [[0.5, 2.0]], "hidden_points": [[1.0, -1.0]],
            "random_points": 2, "domain": ["x1 != 0"], "rtol": 1e-9, "show_expected": False}

    def f(x0, x1):
        v0 = x0
        v1 = x1
        v2 = np.sin(v0)
        v3 = v2 * v1
        vbar3 = 1
        vbar2 = vbar3 * v1
        vbar1 = vbar3 * v2
        vbar0 = vbar2 * np.cos(v0)
        return v3, vbar0, vbar1, vbar2, vbar3

    small = collect_spec(spec)
    assert "reference" not in small and "domain" not in small and "show_expected" not in small
    assert len(small["test_points"]) + len(small["hidden_points"]) == 4  # visible, then hidden and random
    assert small["test_points"] == spec["test_points"]
    raw = collect(small, {"f": f})
    assert raw == collect(spec, {"f": f})
    assert [p["error"] for p in raw["points"]] == [None] * 4
    result = judge(spec, raw)
    assert result.passed and result.score == 1.0

    # The batch grader collects it in two parts: the running notebook never holds a hidden or random point.
    from autodiff_course.checks.collect import join_hidden, rest_spec, split_spec, visible_spec, with_fresh

    visible, hidden = split_spec(small)
    assert hidden == {"hidden_points": small["hidden_points"]} and len(hidden["hidden_points"]) == 3
    assert not any(str(v) in json.dumps(visible) for p in hidden["hidden_points"] for v in p)
    seen = collect(visible_spec(visible), {"f": f})
    assert len(seen["points"]) == 1 and "fresh" not in seen
    seen = with_fresh(seen, collect(rest_spec(visible, 0.5), {"f": f}))
    assert join_hidden(seen, collect(rest_spec(visible, 0.5, hidden), {"f": f})) == raw
    # Cut short at the hidden points: as one collect would be (no fresh points), judged a timeout.
    late = collect(rest_spec(visible, 0.5, hidden), {"f": f})
    cut = join_hidden(seen, {**late, "points": late["points"][:1], "timed_out": True})
    assert cut["timed_out"] and len(cut["points"]) == 2 and "fresh" not in cut
    assert judge(spec, cut).status == "timeout"
    # What a fork sends instead of data, or data of another shape, is an error of this exercise only.
    assert join_hidden(seen, {"status": "error", "message": "m"}) == {"status": "error", "message": "m"}
    assert join_hidden(seen, {"points": "many"})["status"] == "error"
