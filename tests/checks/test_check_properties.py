"""Properties over many points: right answers always pass (the tolerance follows each quantity's scale, so
cancellation and large values never fail a right answer, and the engine/PyTorch cross-check never raises a
false alarm), and a one-slip answer is always caught with the same culprit."""

import answers_by_hand as S
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff_course.checks import check_forward, check_reverse

coordinate = st.floats(-6, 6, allow_nan=False)
away_from_zero = st.one_of(st.floats(0.2, 6), st.floats(-6, -0.2))
POINT_Y = st.tuples(coordinate, coordinate, away_from_zero).map(list)
POINT_F = st.tuples(st.floats(-4, 4), st.one_of(st.floats(0.5, 4), st.floats(-4, -0.5))).map(list)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(POINT_Y)
def test_right_reverse_answers_pass_everywhere_in_the_domain(point):
    for fn in (S.reverse_seed_fixed, S.reverse_alternative):
        result = check_reverse(fn, S.Y, points=[point])
        assert result.passed, result.feedback


@SETTINGS
@given(POINT_F)
def test_right_answers_to_the_worked_example_pass_everywhere(point):
    assert check_reverse(S.reverse_example_seed, S.F, points=[point]).passed
    assert check_forward(S.forward_example_seed, S.F, wrt=0, points=[point]).passed
    assert check_forward(S.forward_example_dx1, S.F, wrt=1, points=[point]).passed


@SETTINGS
@given(POINT_Y)
def test_right_forward_answer_passes_everywhere_in_the_domain(point):
    assert check_forward(S.forward_seed, S.Y, points=[point]).passed


@SETTINGS
@given(st.tuples(coordinate, st.floats(0.5, 6), away_from_zero).map(list))
def test_a_sign_slip_is_always_the_culprit_where_it_shows(point):
    # vbar4 = -vbar5 * v1 differs from the right vbar4 = v1 wherever x1 != 0 (here |x1| >= 0.5).
    result = check_reverse(S.reverse_inherited, S.Y, points=[point])
    assert not result.passed
    assert result.culprit == "vbar4" and result.mistakes[0] == "sign"
