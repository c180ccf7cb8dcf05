"""The checkers on answers nobody wrote by hand: every single-site mutation, every semantics-preserving rewrite,
and finite differences, pasted constants and cancelling huge terms, generated from the solution of every
function exercise of graders/*.toml (tests/checks/generate.py).

`make test` draws a bounded sample with hypothesis; the full sweep (the counts quoted in the README) is the
`slow` test. A mutant must fail whenever its values differ from the solution's, naming the variable it changed
(or, for a mutant whose new value is another value the function computes, the first variable whose value the
function never computes); a rewrite must pass with full marks."""

from collections import Counter

import generate as G
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff_course.checks.collect import collect
from autodiff_course.checks.judge import judge
from autodiff_course.checks.points import test_points

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # mutants divide by zero

EXERCISES = G.exercises()
MUTANTS = [m for ex in EXERCISES for m in G.mutants(ex)]
REWRITES = [r for ex in EXERCISES for r in G.rewrites(ex)]
ATTACKS = [a for ex in EXERCISES for a in G.attacks(ex)]
# The attacks again with their derivatives kept in an array of np.zeros (the estimate stored as `vbar[0]`).
ATTACKS += [G.restyled(a, "derivatives in np.zeros") for a in ATTACKS]
#: Every mutant again in each style that keeps values or derivatives as items (``vbar[4]`` of ``vbar =
#: np.zeros(9)``, a tape's ``v[3]``): it must fail as the mutant does, naming the item it changed.
RESTYLED = [G.restyled(m, style) for m in MUTANTS for style in G.item_styles(m.exercise)]
PARTIAL = [p for ex in EXERCISES for p in G.partial_domain(ex)]


def _judge(variant):
    ex = variant.exercise
    return judge(ex.spec, collect(ex.spec, {ex.name: G.compile_variant(variant)}))


def _differs(variant):
    return G.values_differ(variant.exercise, variant, test_points(variant.exercise.spec, hidden=True))


def test_every_function_exercise_has_a_solution_and_generates_variants():
    kinds = Counter(ex.kind for ex in EXERCISES)
    assert kinds == {"decomposition": 1, "forward": 2, "reverse": 1}
    assert len(MUTANTS) > 300 and len(REWRITES) > 100 and len(ATTACKS) > 30
    assert len(RESTYLED) > 2 * len(MUTANTS)
    assert {r.what for r in REWRITES} >= set(G.ITEM_STYLES)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MUTANTS))
def test_a_mutant_whose_values_differ_fails_naming_the_variable_it_changed(mutant):
    _fails_naming_what_it_changed(mutant)


def _fails_naming_what_it_changed(mutant):
    differs = _differs(mutant)
    if differs is False:
        return  # an equivalent mutant (the same values at every point): nothing to catch
    result = _judge(mutant)
    assert not result.passed, mutant.source
    if differs is None:
        return  # it raises at some point: caught, with the line named, and no culprit to compare
    assert result.culprit in mutant.notes["culprits"], (mutant.source, result.culprit, result.messages)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(RESTYLED))
def test_a_mutant_kept_in_a_list_or_an_array_fails_naming_the_item_it_changed(mutant):
    _fails_naming_what_it_changed(mutant)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(REWRITES))
def test_an_honest_rewrite_passes_with_full_marks(rewrite):
    result = _judge(rewrite)
    assert result.passed and result.score == 1.0, (rewrite.what, rewrite.source, result.feedback)


# The test points follow the course's secret (a clone makes its own): "secret 4" and "secret 10" draw hidden
# points where a forward difference with h=1e-3 is off by more than NEAR at most points (a steep second
# derivative near x1 = 0), so the estimate must still be named as one there.
@pytest.mark.parametrize("secret", [None, "secret 4", "secret 10"])
@pytest.mark.parametrize("attack", ATTACKS, ids=[f"{a.exercise.spec['id']}: {a.what}"
                                                  + (f" ({a.notes['style']})" if "style" in a.notes else "")
                                                  for a in ATTACKS])
def test_finite_differences_pasted_constants_and_cancelling_terms_fail(attack, secret):
    ex = attack.exercise
    spec = dict(ex.spec, point_secret=secret) if secret else ex.spec
    result = judge(spec, collect(spec, {ex.name: G.compile_variant(attack)}))
    assert not result.passed, attack.source
    if attack.what.endswith(tuple(f"h={h}" for h in ("1e-3", "1e-5", "6e-6", "1e-7", "1e-8"))):
        assert result.mistakes[0] == "finite-difference" and result.culprit == attack.culprit
    if attack.what == "pasted constant":
        assert result.mistakes[0] == "pasted-constant" and result.culprit == attack.culprit


@pytest.mark.parametrize("secret", [None, "course secret one", "course secret two"])
@pytest.mark.parametrize("mutant", PARTIAL, ids=[f"{p.exercise.spec['id']}: {p.what}" for p in PARTIAL])
def test_an_answer_right_only_where_an_input_is_positive_fails(mutant, secret):
    """`v2 = np.abs(x2)` agrees with the solution wherever x2 > 0: the scored points, whatever the course's
    secret, have every input negative somewhere inside the domain, so it fails."""
    ex = mutant.exercise
    spec = dict(ex.spec, point_secret=secret) if secret else ex.spec
    points = test_points(spec, hidden=True)
    assert G.values_differ(ex, mutant, points) is not False, mutant.source
    result = judge(spec, collect(spec, {ex.name: G.compile_variant(mutant)}))
    assert not result.passed and result.score < 1.0, (mutant.source, points)


def sweep() -> tuple[Counter, list]:
    """Every mutant (and every restyled one, counted apart with the prefix "restyled ") and every rewrite
    judged: the counts of the README, and the misses."""
    counts, misses = Counter(), []
    for m in MUTANTS + RESTYLED:
        style = m.notes.get("style")
        key = (lambda k: f"restyled {k}") if style else (lambda k: k)
        counts[key("mutants")] += 1
        differs = _differs(m)
        if differs is False:
            counts[key("equivalent")] += 1
            continue
        result = _judge(m)
        counts[key("differ")] += 1
        counts[key("caught")] += not result.passed
        if differs is None:
            counts[key("raise")] += 1
            continue
        counts[key("judged")] += 1
        where = (m.exercise.spec["id"], *([style] if style else []), m.what, m.culprit)
        if result.culprit in m.notes["culprits"]:
            counts[key("culprit right")] += 1
        else:
            misses.append(("culprit", *where, result.culprit))
        if result.mistakes and result.mistakes[0] in G.EXPECTED_CODES[m.what]:
            counts[key("diagnosis right")] += 1
        else:
            misses.append(("diagnosis", *where, result.mistakes[:1]))
    for r in REWRITES:
        counts["rewrites"] += 1
        counts["rewrites passed"] += _judge(r).score == 1.0
    return counts, misses


@pytest.mark.slow
def test_the_full_sweep_catches_every_mutant_and_passes_every_rewrite():
    counts, misses = sweep()
    print(dict(counts))
    for miss in misses:
        print(miss)
    for key in ("", "restyled "):
        assert counts[key + "caught"] == counts[key + "differ"]
        assert counts[key + "culprit right"] == counts[key + "judged"]
        assert counts[key + "diagnosis right"] >= 0.90 * counts[key + "judged"]
    assert counts["rewrites passed"] == counts["rewrites"]


@pytest.mark.slow
def test_with_every_line_unreadable_the_verdicts_stand(monkeypatch):
    """Code run through ``exec`` has no text to read: the diagnoses then rest on the numbers alone (and say
    so), but nothing a verdict or a culprit depends on may change."""
    import math

    import numpy as np

    def unreadable(source, name):
        namespace = {"np": np, "math": math}
        exec(compile(source, "<no file>", "exec"), namespace)  # noqa: S102 - generated from the solutions
        return namespace[name]

    monkeypatch.setattr(G, "compile_function", unreadable)
    counts, misses = sweep()
    print(dict(counts))
    for key in ("", "restyled "):
        assert counts[key + "caught"] == counts[key + "differ"]
        assert counts[key + "culprit right"] >= 0.95 * counts[key + "judged"]
    assert counts["rewrites passed"] == counts["rewrites"]
