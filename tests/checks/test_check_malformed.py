"""judge trusts nothing it can recompute, and turns damaged or forged collected data into an error result."""

import copy
import json
import random

import answers_by_hand as S
import pytest
from test_check_json import spec_for

from autodiff_course.checks import CheckResult, collect, judge


@pytest.fixture(scope="module")
def reverse_case():
    spec = spec_for("reverse_product_rule_slip", "reverse", "Y", 0)
    return spec, collect(spec, vars(S))


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        "raw",
        {},
        {"format": "autodiff-course.raw/1"},
        {"format": "autodiff-course.raw/1", "kind": "reverse", "points": "x"},
        {"format": "autodiff-course.raw/1", "kind": "reverse", "points": [None]},
        {"format": "other", "kind": "reverse"},
    ],
)
def test_malformed_data_is_an_error_result(raw):
    spec = spec_for("reverse_seed_fixed", "reverse", "Y", 0)
    result = judge(spec, raw)
    assert isinstance(result, CheckResult)
    assert result.status == "error" and result.score == 0.0 and not result.passed


def test_data_collected_at_other_points_is_rejected(reverse_case):
    spec, raw = reverse_case
    forged = copy.deepcopy(raw)
    forged["points"][0]["inputs"] = [1.0, 1.0, 1.0]
    assert judge(spec, forged).status == "error"


def test_forged_graph_values_are_recomputed_not_believed(reverse_case):
    spec, raw = reverse_case
    forged = copy.deepcopy(raw)
    for node in forged["points"][0]["graph"]["nodes"]:
        if node["op"] not in ("input", "const"):
            node["value"] = 123.0
    assert judge(spec, forged).to_dict() == judge(spec, raw).to_dict()


def test_forged_graph_inputs_are_rejected(reverse_case):
    spec, raw = reverse_case
    forged = copy.deepcopy(raw)
    forged["points"][0]["graph"]["nodes"][0]["value"] = 0.5
    assert judge(spec, forged).status == "error"


def test_a_forged_pass_for_a_wrong_function_is_not_believed():
    # A student who returns the right numbers for a graph that is not their function's still fails on y.
    spec = spec_for("reverse_seed_fixed", "reverse", "Y", 0)
    raw = collect(spec, vars(S))
    forged = copy.deepcopy(raw)
    forged["points"][0]["returned"]["items"][0] = 0.0
    result = judge(spec, forged)
    assert not result.passed and result.mistakes[0] == "swapped-order" or result.rows[0]["ok"] is False


def test_randomly_damaged_data_never_crashes_judge(reverse_case):
    spec, raw = reverse_case
    rng = random.Random(20261122)
    junk = [None, "x", -1, 1e308, float("nan"), [], {}, [1, 2], {"a": 1}, True, "nan"]

    def paths(x, prefix=()):
        yield prefix
        if isinstance(x, dict):
            for k, v in x.items():
                yield from paths(v, prefix + (k,))
        elif isinstance(x, list):
            for i, v in enumerate(x):
                yield from paths(v, prefix + (i,))

    all_paths = [p for p in paths(raw) if p]
    for _ in range(400):
        damaged = json.loads(json.dumps(raw))
        path = rng.choice(all_paths)
        parent = damaged
        for key in path[:-1]:
            parent = parent[key]
        if rng.random() < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = rng.choice(junk)
        result = judge(spec, damaged)
        assert isinstance(result, CheckResult)
        assert result.status in ("ok", "failed", "error", "timeout")
        if result.status == "ok":
            # Damage that leaves the verdict standing must not turn a wrong answer into a right one.
            pytest.fail(f"damaging {path} made a wrong answer pass")
