"""The trusted side's judging budget: a notebook's judging ends at its time limit, a lost judging process costs
that notebook error rows and is replaced, and results are those of judging in-process."""

from autodiff_course.course.judging import judge_run
from autodiff_course.grading.judge_pool import BoundedJudge
from autodiff_course.grading.limits import Limits

SPECS = [{"id": f"ex{i}", "kind": "variables", "points": 2} for i in range(3)]
RUN = {"status": "ok", "message": "", "exercises": {
    "ex0": {"status": "timeout", "message": "slow cell"},
    "ex1": {"status": "error", "message": "collector failed"},
}}
PRESENT = ["ex0", "ex1"]


def test_results_are_those_of_judging_in_process():
    with BoundedJudge(1) as judge:
        assert judge.judge(SPECS, RUN, present=PRESENT) == judge_run(SPECS, RUN, present=PRESENT)


def test_judging_stops_at_the_notebooks_time_limit_and_the_process_is_replaced():
    with BoundedJudge(1, Limits(judge_seconds=1e-6)) as judge:
        for _ in range(2):
            entries = judge.judge(SPECS, RUN, present=PRESENT)
            assert [e["status"] for e in entries] == ["timeout"] * 3
            assert all(e["score"] == 0 and "limit of 1e-06 s" in e["message"] for e in entries)
        assert len(judge._all) == 2 and all(p.proc.poll() is not None for p in judge._all)


def test_a_lost_judging_process_costs_only_that_notebook():
    with BoundedJudge(1) as judge:
        # A spec without an id ends the judging process in the middle of the notebook.
        specs = [SPECS[0], {"kind": "variables", "points": 1}, SPECS[2]]
        entries = judge.judge(specs, RUN, present=PRESENT)
        assert [e["status"] for e in entries] == ["timeout", "error", "error"]
        assert "ran out of memory or crashed" in entries[1]["message"]
        # The next notebook gets a new process and is judged exactly as in-process.
        assert judge.judge(SPECS, RUN, present=PRESENT) == judge_run(SPECS, RUN, present=PRESENT)
        assert len(judge._all) == 2
