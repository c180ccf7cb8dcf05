"""Derivatives spelled otherwise than the course does (``t4``, ``d4``, ``a4``, ``g4``, ``adj4``, ``grad_v4``) are
still the student's: a wrong step in one is named by the student's name, an honest answer keeps full marks; a
returned value no variable holds is called by its place, never by a made-up name; an answer that takes its
derivative from PyTorch or a complex step is told so in those words (issue 11, item 5).

Each answer is a course solution of answers_by_hand with its derivatives renamed, defined from its text as a
notebook cell is (``generate.compile_function``), so the checker can read its lines."""

import inspect
import re

import answers_by_hand as S
import pytest
from generate import compile_function

from autodiff_course.checks import check_forward, check_reverse

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

POINTS_Y = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]]
POINTS_F = [[1.8, 2.4], [1.0, 1.0], [-0.7, 1.9]]


def _renamed(solution, pattern: str, spelling: str, change: tuple[str, str] | None = None):
    """``solution``'s text with ``change`` applied (before renaming) and every derivative matching
    ``pattern`` (its number in group 1) renamed to ``spelling`` with ``#`` for the number."""
    text = inspect.getsource(solution)
    if change is not None:
        assert change[0] in text, change
        text = text.replace(*change)
    text = re.sub(pattern, lambda m: spelling.replace("#", m.group(1)), text)
    return compile_function(text, solution.__name__)


# -- forward: tangents ----------------------------------------------------------------------------------------
# The slip in each exercise: the local derivative of v4 = cos(v0) without its minus, and of v4 = exp(v2) as v2.
FORWARD = {
    "dx0": (S.forward_seed, r"\bdv(\d)dx0\b", ("dv4dx0 = dv0dx0 * -np.sin(v0)", "dv4dx0 = dv0dx0 * np.sin(v0)"),
            {"points": POINTS_Y}),
    "dx1": (S.forward_example_dx1, r"\bv(\d)_dot\b", ("v4_dot = v4 * v2_dot", "v4_dot = v2 * v2_dot"),
            {"points": POINTS_F, "wrt": 1}),
}


def _forward(exercise: str, spelling: str, wrong: bool):
    solution, pattern, change, opts = FORWARD[exercise]
    fn = _renamed(solution, pattern, spelling, change if wrong else None)
    return check_forward(fn, S.Y if exercise == "dx0" else S.F, **opts)


@pytest.mark.parametrize("exercise", list(FORWARD))
@pytest.mark.parametrize("spelling", ["t#", "d#"])
def test_a_wrong_step_in_a_numbered_family_of_tangents_is_named_by_the_students_name(exercise, spelling):
    # Before: no tangent found but the returned one; the culprit was dydx0 (or none) and the message spoke of
    # "dy/dx1", which no line of the student's computes on its own.
    honest = _forward(exercise, spelling, wrong=False)
    assert (honest.passed, honest.score) == (True, 1.0), honest.feedback
    wrong = _forward(exercise, spelling, wrong=True)
    name = spelling.replace("#", "4")
    assert not wrong.passed and wrong.culprit == name, wrong.feedback
    assert wrong.messages[0].startswith(f"{name} is wrong "), wrong.feedback
    assert wrong.mistakes[0] in ("sign", "wrong-local-derivative"), wrong.mistakes
    # Every tangent the student wrote is a part of its own: the ones before the slip keep their credit.
    assert wrong.score > 0.5, wrong.feedback


@pytest.mark.parametrize("exercise", list(FORWARD))
@pytest.mark.parametrize("spelling", ["v#_dot", "dot_v#", "v#dot", "dv#_dx{wrt}", "dv#", "dv#dx{wrt}"])
def test_tangents_in_the_other_usual_spellings_keep_their_names(exercise, spelling):
    # A guard (these spellings were already found by name): the pairing by number must not take them over.
    spelling = spelling.replace("{wrt}", exercise[-1])
    honest = _forward(exercise, spelling, wrong=False)
    assert (honest.passed, honest.score) == (True, 1.0), honest.feedback
    wrong = _forward(exercise, spelling, wrong=True)
    assert wrong.culprit == spelling.replace("#", "4"), wrong.feedback


def test_a_family_of_local_derivatives_is_not_taken_for_the_tangents():
    # p3 .. p7 are local partials, numbered like the variables; the tangents are computed in the return line.
    # Their values do not follow from one another by the chain rule, so none of them is called a tangent.
    text = '''
def forward_partials(x0, x1):
    v0 = x0
    v1 = x1
    v2 = v0 / v1
    p2 = -v0 / v1**2
    v3 = v0 * v2
    p3 = v0
    v4 = np.exp(v2)
    p4 = np.exp(v2)
    v5 = np.cos(v0)
    p5 = -np.sin(v0)
    v6 = v3 * v5
    p6 = v5
    v7 = v4 + v6
    p7 = 1.0
    return v7, p7 * (p4 * p2 + p6 * p3 * p2 + 1.0)
'''
    result = check_forward(compile_function(text, "forward_partials"), S.F, wrt=1, points=POINTS_F)
    assert not result.passed, result.feedback
    assert not re.search(r"\bp[2-7]\b", str(result.culprit)), result.feedback
    assert not any(re.match(r"p\d is wrong", m) for m in result.messages), result.feedback


# -- reverse: adjoints ----------------------------------------------------------------------------------------
_REVERSE_SLIP = ("vbar4 = vbar5 * dv5dv4", "vbar4 = vbar5 * v4")


def _reverse(spelling: str, wrong: bool, change: tuple[str, str] | None = None):
    solution = S.reverse_seed_fixed
    if change is not None:
        text = inspect.getsource(solution)
        assert change[0] in text
        solution = compile_function(text.replace(*change), solution.__name__)
    fn = _renamed(solution, r"\bvbar(\d)\b", spelling, _REVERSE_SLIP if wrong else None)
    return check_reverse(fn, S.Y, points=POINTS_Y)


@pytest.mark.parametrize("spelling", ["adj#", "a#", "g#", "grad_v#"])
def test_a_wrong_step_in_adjoints_of_another_spelling_is_named_by_the_students_name(spelling):
    # Before: the culprit was "vbar4", a name the student never wrote.
    honest = _reverse(spelling, wrong=False)
    assert (honest.passed, honest.score) == (True, 1.0), honest.feedback
    wrong = _reverse(spelling, wrong=True)
    name = spelling.replace("#", "4")
    assert not wrong.passed and wrong.culprit == name, wrong.feedback
    assert wrong.messages[0].startswith(f"{name} is wrong "), wrong.feedback
    assert "vbar" not in wrong.feedback, wrong.feedback


@pytest.mark.parametrize("spelling", ["a#", "adj#"])
def test_numbered_adjoints_are_found_by_number_when_the_return_line_does_not_place_them(spelling):
    # The last adjoint left out of the return line: nothing is where it belongs by position, so the adjoints
    # are paired with v0 .. v8 by their numbers (they follow from one another by the chain rule).
    left_out = ("return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8",
                "return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7")
    wrong = _reverse(spelling, wrong=True, change=left_out)
    name = spelling.replace("#", "4")
    assert not wrong.passed and wrong.culprit == name, wrong.feedback
    assert "wrong-return-count" in wrong.mistakes
    assert "vbar" not in wrong.messages[0], wrong.feedback


@pytest.mark.parametrize("spelling", ["v#bar", "v#_bar", "bar_v#"])
def test_adjoints_in_the_other_usual_spellings_keep_their_names(spelling):
    # A guard (these spellings were already found by name).
    assert _reverse(spelling, wrong=False).score == 1.0
    assert _reverse(spelling, wrong=True).culprit == spelling.replace("#", "4")


def test_an_adjoint_no_variable_holds_is_called_by_its_place_not_a_made_up_name():
    text = '''
def reverse_unnamed(x0, x1, x2):
    v0 = x0
    v1 = x1
    vbar0 = v1 * x2
    vbar1 = v0 * x2
    return v0 * v1 * x2, vbar0, vbar1, 2 * v1
'''
    result = check_reverse(compile_function(text, "reverse_unnamed"), "x0*x1*x2", points=POINTS_Y)
    # Before: culprit "xbar2" and "xbar2 is wrong ...": the student has no xbar2 (nor v2).
    assert not result.passed and result.culprit is None, result.feedback
    assert "xbar2" not in result.feedback and "vbar2" not in result.feedback, result.feedback
    assert result.messages[0].startswith("The 4th value you return (the adjoint of x2) is wrong "), result.feedback
    assert [r["label"] for r in result.rows if r.get("status") == "wrong"] == ["the 4th value you return"]
    assert result.score == pytest.approx(0.75)  # y, vbar0 and vbar1 are right


# -- derivatives taken from PyTorch or a complex step ------------------------------------------------------------
#: Hidden points whose numbers appear nowhere else (the feedback must not show them).
HIDDEN = {"points": POINTS_Y[:1], "hidden_points": [[0.37, -1.23, 2.51], [-2.07, 0.53, -1.59]]}

_TORCH_FORWARD = '''
def forward_torch(x0, x1, x2):
    import torch
    t = torch.tensor(x0, requires_grad=True)
    y = torch.sin(t) + x1 * torch.cos(t) + x1 / x2
    y.backward()
    return y.item(), t.grad.item()
'''
_TORCH_REVERSE = '''
def reverse_torch(x0, x1, x2):
    import torch
    x = torch.tensor([x0, x1, x2], dtype=torch.float64, requires_grad=True)
    y = torch.sin(x[0]) + x[1] * torch.cos(x[0]) + x[1] / x[2]
    y.backward()
    g = x.grad
    return y.item(), g[0].item(), g[1].item(), g[2].item()
'''
_COMPLEX = '''
def forward_complex(x0, x1, x2):
    import cmath
    z = complex(x0, 1e-20)
    g = cmath.sin(z) + x1 * cmath.cos(z) + x1 / x2
    return np.sin(x0) + x1 * np.cos(x0) + x1 / x2, g.imag / 1e-20
'''
_NP_IMAG = '''
def forward_np_imag(x0, x1, x2):
    def f(x):
        return np.sin(x) + x1 * np.cos(x) + x1 / x2
    return f(x0), np.imag(f(x0 + 1e-20j)) / 1e-20
'''


def _hidden_numbers_absent(feedback: str) -> bool:
    return not any(str(x) in feedback for point in HIDDEN["hidden_points"] for x in point)


@pytest.mark.parametrize("check, text, name, what", [
    (check_forward, _TORCH_FORWARD, "forward_torch", "tangents"),
    (check_reverse, _TORCH_REVERSE, "reverse_torch", "adjoints"),
])
def test_a_derivative_computed_with_torch_is_said_to_be_autograds_not_the_students(check, text, name, what):
    # Before: "RuntimeError: Could not infer dtype of Scalar", which says nothing of what the student did.
    result = check(compile_function(text, name), S.Y, **HIDDEN)
    assert not result.passed and result.status == "failed", result.feedback
    assert "computes its derivative with PyTorch's autograd (line 4: `requires_grad`), not by hand" in (
        result.messages[0]), result.feedback
    assert f"write the {what} yourself" in result.messages[0]
    assert "dtype" not in result.feedback and "RuntimeError" not in result.feedback
    assert _hidden_numbers_absent(result.feedback), result.feedback


@pytest.mark.parametrize("text, name, line, uses", [
    (_COMPLEX, "forward_complex", 4, "`complex(...)`"),
    (_NP_IMAG, "forward_np_imag", 5, "`.imag`, an imaginary number (`...j`)"),
])
def test_a_complex_step_derivative_is_named_as_such_and_does_not_pass(text, name, line, uses):
    # Before: "float(...), a math or library function ... turned one of your values into a plain number", or
    # a sentence that did not say the derivative was not the chain rule's.
    result = check_forward(compile_function(text, name), S.Y, **HIDDEN)
    assert not result.passed and result.status == "failed", result.feedback
    assert (f"computes its derivative with a complex step (line {line}: {uses}): a complex-step derivative is a "
            "numerical estimate, not the chain rule") in result.messages[0], result.feedback
    assert "plain number" not in result.feedback
    assert _hidden_numbers_absent(result.feedback), result.feedback


@pytest.mark.parametrize("check, fn", [
    (check_forward, lambda: _renamed(S.forward_seed, r"\bdv(\d)dx0\b", "t#", FORWARD["dx0"][2])),
    (check_reverse, lambda: _renamed(S.reverse_seed_fixed, r"\bvbar(\d)\b", "a#", _REVERSE_SLIP)),
])
def test_a_derivative_paired_by_number_shows_no_hidden_number(check, fn):
    result = check(fn(), S.Y, **HIDDEN)
    assert not result.passed and result.culprit in ("t4", "a4"), result.feedback
    assert _hidden_numbers_absent(result.feedback), result.feedback
