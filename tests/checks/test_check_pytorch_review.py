"""PyTorch exercises as an outside review answered them (issue 11, items 5 and 7; review ids in the test names).

- P17, P35: a gradient the exercise asks autograd for, typed or written as a formula *after* backward() (so
  `.grad` holds the same numbers), fails, naming the variable and the `.grad` to read it from; the notebooks'
  answers in other honest styles keep full marks, and without a history of cells nothing is claimed.
- P11: `dydx = x.grad.item()`, a float where the check reads `dydx.values`, is the derivative autograd found.
- P15: tracking switched on for a new random `a` is not "the same 10 numbers".
- P06, P07, P24, P27: a hidden check names the student's variables it reads, never its expression or value.

Every answer runs for real: the course notebook's cells in order, with real PyTorch, `In` as IPython keeps it
(`test_check_provenance.run_until`)."""

import pytest
from test_check_provenance import REPO, _edited, check, run_until

from autodiff_course.checks import collect, collect_spec
from autodiff_course.course.config import load_config

_SOLVED_CHAIN = "dz_dh = h.grad.item()\ndz_dx = x.grad.item()"
_SOLVED_MSE = "model_params_grad = model_params.grad"
_FORMULA = ("n = x.shape[0]\nmodel_params_grad = torch.stack([2 / n * ((y_hat - y) * x).sum(), "
            "2 / n * (y_hat - y).sum()]).detach()")

# (assignment, exercise, the solution's lines, the stand-in after the same backward(), the variable, its .grad)
AFTER_BACKWARD = {
    "P17-typed": ("chain_rule_training", "chain_rule", _SOLVED_CHAIN, "dz_dh = 1 / 25\ndz_dx = 0.4",
                  "dz_dh", "h.grad"),
    "typed-dz_dx-only": ("chain_rule_training", "chain_rule", _SOLVED_CHAIN, "dz_dh = h.grad.item()\ndz_dx = 0.4",
                         "dz_dx", "x.grad"),
    "P35-formula": ("chain_rule_training", "mse_gradient", _SOLVED_MSE, _FORMULA, "model_params_grad",
                    "model_params.grad"),
    # Read from autograd, then overwritten by the formula: the last assignment is what the variable holds.
    "formula-overwrites-grad": ("chain_rule_training", "mse_gradient", _SOLVED_MSE, _SOLVED_MSE + "\n" + _FORMULA,
                                "model_params_grad", "model_params.grad"),
    "through-a-helper": ("chain_rule_training", "square_grad", "gradients = x.grad",
                         "def slope(t):\n    return 2 * t.detach()\ngradients = slope(x)", "gradients", "x.grad"),
    "typed-tensor": ("autograd_basics", "square_grad", "dydx = x.grad", "dydx = torch.tensor(2.0)", "dydx",
                     "x.grad"),
    "P11-typed-float": ("autograd_basics", "square_grad", "dydx = x.grad", "dydx = 2.0", "dydx", "x.grad"),
    "second-backward": ("chain_rule_training", "second_backward", "dh_dx = x.grad.item()", "dh_dx = 2 * 5.0",
                        "dh_dx", "x.grad"),
    "vector-jacobian": ("tensors_grad_fn", "vector_backward", "x_grad = x.grad", "x_grad = v * (y / x).detach()",
                        "x_grad", "x.grad"),
}


def _answer(assignment, exercise, old, new, extra=()):
    return run_until(assignment, exercise, {exercise: [_edited(assignment, exercise, old, new), *extra]})


@pytest.mark.parametrize("case", list(AFTER_BACKWARD))
def test_a_gradient_typed_after_backward_is_not_read_from_autograd(case):
    assignment, exercise, old, new, name, where = AFTER_BACKWARD[case]
    result = check(assignment, exercise, _answer(assignment, exercise, old, new))
    assert not result.passed and "not-from-autograd" in result.mistakes, result.feedback
    assert f"`{name}` is not read from autograd" in result.feedback, result.feedback
    assert f"read `{name}` from `{where}`" in result.feedback
    assert result.culprit == name


def test_a_number_typed_in_a_later_cell_is_caught_too():
    ns = _answer("chain_rule_training", "chain_rule", _SOLVED_CHAIN, _SOLVED_CHAIN, extra=["dz_dh = 0.04"])
    result = check("chain_rule_training", "chain_rule", ns)
    assert not result.passed and result.mistakes == ["not-from-autograd"], result.feedback
    assert result.score == pytest.approx(2 / 3)  # h.retains_grad and dz_dx keep theirs


HONEST = {
    "item": ("chain_rule_training", "chain_rule", _SOLVED_CHAIN, _SOLVED_CHAIN),
    "float": ("chain_rule_training", "chain_rule", _SOLVED_CHAIN, "dz_dh = float(h.grad)\ndz_dx = float(x.grad)"),
    "through-names": ("chain_rule_training", "chain_rule", _SOLVED_CHAIN,
                      "g_h, g_x = h.grad, x.grad\ndz_dh = g_h.item()\ndz_dx = g_x[0].item()"),
    "a-helper": ("chain_rule_training", "chain_rule", _SOLVED_CHAIN,
                 "def read(t):\n    return t.grad.item()\ndz_dh = read(h)\ndz_dx = read(x)"),
    "clone": ("chain_rule_training", "mse_gradient", _SOLVED_MSE, "model_params_grad = model_params.grad.clone()"),
    "detach-copy": ("chain_rule_training", "mse_gradient", _SOLVED_MSE,
                    "model_params_grad = torch.zeros(2)\nmodel_params_grad.copy_(model_params.grad)"),
    "list-comprehension": ("chain_rule_training", "mse_gradient", _SOLVED_MSE,
                           "model_params_grad = torch.stack([g for g in model_params.grad])"),
    # P11: a float where the check reads `.values` (autograd_basics), a list where it reads `.values` of [10.0].
    "P11-item": ("autograd_basics", "square_grad", "dydx = x.grad", "dydx = x.grad.item()"),
    "float-of-grad": ("autograd_basics", "square_grad", "dydx = x.grad", "dydx = float(x.grad)"),
    "tolist": ("chain_rule_training", "square_grad", "gradients = x.grad", "gradients = x.grad.tolist()"),
    "mse-tolist": ("chain_rule_training", "mse_gradient", _SOLVED_MSE,
                   "model_params_grad = model_params.grad.tolist()"),
}


@pytest.mark.parametrize("variant", list(HONEST))
def test_a_gradient_read_from_autograd_in_any_style_keeps_full_marks(variant):
    assignment, exercise, old, new = HONEST[variant]
    result = check(assignment, exercise, _answer(assignment, exercise, old, new))
    assert result.passed and result.score == 1.0, result.feedback


def test_a_wrong_float_is_judged_by_its_value_not_by_its_type():
    # P11's hint ("Call y.backward() once, then read x.grad") with "(AttributeError)" was untrue of a float.
    ns = _answer("autograd_basics", "square_grad", "dydx = x.grad", "dydx = x.grad.item() + 1")
    result = check("autograd_basics", "square_grad", ns)
    assert not result.passed and "AttributeError" not in result.feedback, result.feedback
    assert "yours 3" in result.feedback


def test_without_a_history_of_cells_a_typed_gradient_is_judged_by_value():
    ns = _answer("chain_rule_training", "chain_rule", _SOLVED_CHAIN, "dz_dh = 1 / 25\ndz_dx = 0.4")
    del ns["In"]
    assert check("chain_rule_training", "chain_rule", ns).score == 1.0


def test_a_name_the_cells_never_visibly_bind_is_not_blamed():
    # Set through globals(): the cells show no assignment, typed or read, so nothing is claimed (the limit the
    # provenance module documents), rather than blaming an answer the reader cannot follow.
    ns = _answer("chain_rule_training", "chain_rule", _SOLVED_CHAIN,
                 "globals()['dz_dh'] = h.grad.item()\ndz_dx = x.grad.item()")
    assert check("chain_rule_training", "chain_rule", ns).score == 1.0


def test_the_collector_records_the_cells_for_an_autograd_expectation():
    spec = load_config(REPO / "graders" / "chain_rule_training.toml").exercise("chain_rule")
    ns = _answer("chain_rule_training", "chain_rule", _SOLVED_CHAIN, _SOLVED_CHAIN)
    small = collect_spec(spec)
    assert small.get("history") is True and "expect" not in small  # the expectations stay with the judge
    raw = collect(small, ns)
    assert raw["cells"] == ns["In"] and raw == collect(spec, ns)
    no_autograd = load_config(REPO / "graders" / "chain_rule_training.toml").exercise("training_loop")
    assert "history" not in collect_spec(no_autograd) and "cells" not in collect(no_autograd, ns)


# -- P15: "the same 10 numbers" -------------------------------------------------------------------------------
def _requires_grad(answer: str):
    return check("autograd_basics", "requires_grad",
                 run_until("autograd_basics", "requires_grad", {"requires_grad": [answer]}))


@pytest.mark.parametrize("answer", ["a = torch.rand(10, requires_grad=True)",
                                    "a = torch.rand(10).requires_grad_()",
                                    "a = torch.ones(10, requires_grad=True)"])
def test_tracking_switched_on_for_new_numbers_fails_naming_a(answer):
    result = _requires_grad(answer)
    assert not result.passed and result.score == 0, result.feedback
    assert result.mistakes == ["replaced-input"] and result.culprit == "a"
    assert "Your `a` is not the notebook's" in result.feedback


@pytest.mark.parametrize("answer", ["a.requires_grad_(True)", "a.requires_grad = True", "a = a.requires_grad_()",
                                    "a = a.detach().requires_grad_(True)",
                                    "torch.manual_seed(0)\na = torch.rand(10, requires_grad=True)"])
def test_tracking_switched_on_for_the_same_numbers_passes(answer):
    result = _requires_grad(answer)
    assert result.passed and result.score == 1.0, result.feedback


def test_a_blank_requires_grad_answer_still_scores_nothing():
    result = _requires_grad("pass")
    assert not result.passed and result.score == 0 and "replaced" not in result.feedback, result.feedback


# -- P06, P07, P24, P27: hidden checks name the student's variables ---------------------------------------------
NAMED = {
    "P06": ("worksheet", "derive_by_hand",
            "dl_dz = 1\ndz_dy = 1\ndy_dx = x.detach()\nx_grad_derived = dl_dz * dz_dy * dy_dx", "x_grad_derived"),
    "P07": ("worksheet", "derive_by_hand", "dl_dz = 1\ndz_dy = 5\nx_grad_derived = 2 * x.detach()", "dz_dy"),
    "P24": ("tensors_grad_fn", "no_retain", 'u_sum.backward()\nkept_grad = ["u", "u2"]', "kept_grad"),
    "P27": ("tensors_grad_fn", "mean_backward", "out.backward()\nby_hand = 6 * (1 + 2)", "by_hand"),
}


@pytest.mark.parametrize("case", list(NAMED))
def test_a_wrong_hidden_check_names_the_variable_it_reads(case):
    assignment, exercise, answer, name = NAMED[case]
    spec = load_config(REPO / "graders" / f"{assignment}.toml").exercise(exercise)
    result = check(assignment, exercise, run_until(assignment, exercise, {exercise: [answer]}))
    assert not result.passed and result.culprit == name, result.feedback
    wrong = [m for m in result.messages if m.startswith("hidden check")]
    assert len(wrong) == 1 and f"({name}): " in wrong[0], result.messages
    # The expression and the expected value of the hidden check stay private.
    hidden = next(e for e in spec["expect"] if e.get("hidden") and name in e["check"])
    assert hidden["check"] == name or hidden["check"] not in result.feedback
    row = next(r for r in result.rows if r["label"] == wrong[0].split(": ")[0])
    assert "expected" not in row and row["label"] not in result.expected
