"""Honest answers that keep their values, tangents or adjoints as attributes of an object (a class with
``__slots__``, a ``SimpleNamespace``, ``self`` in a method) or under the keys of a dict (``v['v3']``,
``adj["v3"]``, ``v[3]``): each is a variable the student wrote (issue 11), so they pass, a name assigned twice
is still assigned twice, and a wrong line is named as the student spelled it, never by a made-up ``vbarN``.

Every answer is our own, a notebook cell compiled with its text readable (``generate.compile_function``); the
exercise is y = sin(x0) + x1 cos(x0) + x1/x2."""

from __future__ import annotations

import re

import pytest
from generate import compile_function

from autodiff_course import check_decomposition, check_forward, check_reverse
from autodiff_course.graph.tracing import run_traced

F = "np.sin(x0) + x1*np.cos(x0) + x1/x2"
POINTS = [[1.8, 2.4, 0.7], [0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]]


def _cell(text: str, name: str = "function", changes: tuple[tuple[str, str], ...] = ()):
    """The function ``name`` of the cell ``text``, each ``(old, new)`` applied once (a mutant)."""
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return compile_function(text, name)


# -- the decomposition --------------------------------------------------------------------------------------
SLOTS = '''
class Values:
    __slots__ = ("v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8")

def function(x0, x1, x2):
    s = Values()
    s.v0 = x0
    s.v1 = x1
    s.v2 = x2
    s.v3 = np.sin(s.v0)
    s.v4 = np.cos(s.v0)
    s.v5 = s.v1 * s.v4
    s.v6 = s.v1 / s.v2
    s.v7 = s.v3 + s.v5
    s.v8 = s.v7 + s.v6
    return s.v8
'''

NAMESPACE = '''
from types import SimpleNamespace

def function(x0, x1, x2):
    t = SimpleNamespace(v0=x0, v1=x1, v2=x2)
    t.v3 = np.sin(t.v0)
    t.v4 = np.cos(t.v0)
    t.v5 = t.v1 * t.v4
    t.v6 = t.v1 / t.v2
    t.v7 = t.v3 + t.v5
    t.v8 = t.v7 + t.v6
    return t.v8
'''

METHOD = '''
class Decomposition:
    def __init__(self, x0, x1, x2):
        self.v0, self.v1, self.v2 = x0, x1, x2

    def run(self):
        self.v3 = np.sin(self.v0)
        self.v4 = np.cos(self.v0)
        self.v5 = self.v1 * self.v4
        self.v6 = self.v1 / self.v2
        self.v7 = self.v3 + self.v5
        self.v8 = self.v7 + self.v6
        return self.v8

def function(x0, x1, x2):
    return Decomposition(x0, x1, x2).run()
'''

KEYS = '''
def function(x0, x1, x2):
    v = {}
    v['v0'] = x0
    v['v1'] = x1
    v['v2'] = x2
    v['v3'] = np.sin(v['v0'])
    v['v4'] = np.cos(v['v0'])
    v['v5'] = v['v1'] * v['v4']
    v['v6'] = v['v1'] / v['v2']
    v['v7'] = v['v3'] + v['v5']
    v['v8'] = v['v7'] + v['v6']
    return v['v8']
'''

DOUBLE_QUOTED = KEYS.replace("'", '"')

INT_KEYS = '''
def function(x0, x1, x2):
    v = {0: x0, 1: x1, 2: x2}
    v[3] = np.sin(v[0])
    v[4] = np.cos(v[0])
    v[5] = v[1] * v[4]
    v[6] = v[1] / v[2]
    v[7] = v[3] + v[5]
    v[8] = v[7] + v[6]
    return v[8]
'''

BOUND_METHOD = '''
class Answer:
    def function(self, x0, x1, x2):
        self.v0 = x0
        self.v1 = x1
        self.v2 = x2
        self.v3 = np.sin(self.v0)
        self.v4 = np.cos(self.v0)
        self.v5 = self.v1 * self.v4
        self.v6 = self.v1 / self.v2
        self.v7 = self.v3 + self.v5
        self.v8 = self.v7 + self.v6
        return self.v8

function = Answer().function
'''

OPERATORS = '''
class Var:
    def __init__(self, v):
        self.v = v

    def sin(self):
        return Var(np.sin(self.v))

    def cos(self):
        return Var(np.cos(self.v))

    def __mul__(self, o):
        return Var(self.v * o.v)

    def __truediv__(self, o):
        return Var(self.v / o.v)

    def __add__(self, o):
        return Var(self.v + o.v)

def function(x0, x1, x2):
    v0, v1, v2 = Var(x0), Var(x1), Var(x2)
    v3 = v0.sin()
    v4 = v0.cos()
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v7 + v6
    return v8.v
'''

# (INT_KEYS passed before: its reassigned form, below, did not.)
DECOMPOSITIONS = {"slots": SLOTS, "namespace": NAMESPACE, "method": METHOD, "the function a method": BOUND_METHOD,
                  "objects with operators": OPERATORS, "keys": KEYS, "double-quoted keys": DOUBLE_QUOTED}


@pytest.mark.parametrize("text", DECOMPOSITIONS.values(), ids=DECOMPOSITIONS.keys())
def test_values_kept_as_attributes_or_under_keys_are_a_decomposition(text):
    # Before: "line 13 computes sin(x0) without storing the result in an intermediate variable".
    result = check_decomposition(_cell(text), F, points=POINTS)
    assert (result.passed, result.score) == (True, 1.0), result.feedback


@pytest.mark.parametrize("text, old, new, name", [
    (SLOTS, "s.v7 = s.v3 + s.v5\n    s.v8 = s.v7 + s.v6", "s.v3 = s.v3 + s.v5\n    s.v8 = s.v3 + s.v6", "s.v3"),
    (METHOD, "self.v7 = self.v3 + self.v5\n        self.v8 = self.v7",
     "self.v3 = self.v3 + self.v5\n        self.v8 = self.v3", "self.v3"),
    (KEYS, "v['v7'] = v['v3'] + v['v5']\n    v['v8'] = v['v7']", "v['v3'] = v['v3'] + v['v5']\n    v['v8'] = v['v3']",
     "v['v3']"),
    (DOUBLE_QUOTED, 'v["v7"] = v["v3"] + v["v5"]\n    v["v8"] = v["v7"]',
     'v["v3"] = v["v3"] + v["v5"]\n    v["v8"] = v["v3"]', 'v["v3"]'),
    (INT_KEYS, "v[7] = v[3] + v[5]\n    v[8] = v[7]", "v[3] = v[3] + v[5]\n    v[8] = v[3]", "v[3]"),
    # Each object's methods write `self.v`: the function's names of the objects (`v3.v`) name the values.
    (OPERATORS, "v7 = v3 + v5\n    v8 = v7 + v6", "v3 = v3 + v5\n    v8 = v3 + v6", "v3.v"),
], ids=["slots", "method", "keys", "double-quoted keys", "int keys", "objects with operators"])
def test_an_attribute_or_a_key_assigned_again_breaks_a_new_variable_per_operation(text, old, new, name):
    # Before: "computes sin(...) without storing the result" (or, for v[3], the same words): the store was not
    # seen, so neither was the second one.
    result = check_decomposition(_cell(text, changes=((old, new),)), F, points=POINTS)
    assert not result.passed and result.culprit == name, result.feedback
    assert result.mistakes == ["reassigned"], result.feedback
    assert f"`{name}` is assigned again" in result.feedback, result.feedback


@pytest.mark.parametrize("text, old, new, name", [
    (SLOTS, "s.v5 = s.v1 * s.v4", "s.v5 = s.v1 * np.cos(s.v0)", "s.v5"),
    (KEYS, "v['v7'] = v['v3'] + v['v5']", "v['v7'] = v['v3'] + v['v1'] * v['v4']", "v['v7']"),
    (BOUND_METHOD, "self.v5 = self.v1 * self.v4", "self.v5 = self.v1 * np.cos(self.v0)", "self.v5"),
], ids=["slots", "keys", "the function a method"])
def test_a_line_of_two_operations_is_named_by_the_students_spelling(text, old, new, name):
    result = check_decomposition(_cell(text, changes=((old, new),)), F, points=POINTS)
    assert not result.passed and result.culprit == name and result.mistakes[0] == "not-elementary", result.feedback


def test_a_method_as_the_function_has_the_inputs_its_arguments_name():
    # Before: the bound object's `self` named the first input, and every input was named one argument late.
    run = run_traced(_cell(BOUND_METHOD), POINTS[0])
    assert run.arg_names == ["x0", "x1", "x2"], run.arg_names
    assert [run.tracer.names[id(x)] for x in run.inputs] == [["x0"], ["x1"], ["x2"]]


MADE_AT_RUN_TIME = '''
from types import SimpleNamespace

def function(x0, x1, x2):
    digits = "".join(c for c in str(x0) if c.isdigit())
    v = {'v0': x0}
    s = SimpleNamespace()
    v['v3'] = np.sin(v['v0'])
    v["k" + digits[:3]] = np.cos(v['v0'])
    setattr(s, "a" + digits[1:4], x1 * v['v3'])
    return v['v3'] + x1 * x2
'''


def test_a_key_or_an_attribute_made_while_the_function_runs_names_nothing():
    # A traced value's text holds its number: a key made of it would spell out the inputs of a hidden point in
    # the feedback. Only the keys and attributes the cell writes name a value.
    run = run_traced(_cell(MADE_AT_RUN_TIME), [0.123456, 2.5, 1.5])
    names = {name for found in run.tracer.items.values() for name in found}
    assert names == {"v['v0']", "v['v3']"}, names


WATCHED = '''
calls = []

class Watched(dict):
    def items(self):
        calls.append("items")
        return super().items()

class Lazy:
    @property
    def v9(self):
        calls.append("v9")
        return 0.0

    def __getattr__(self, name):
        calls.append(name)
        raise AttributeError(name)

def function(x0, x1, x2):
    v = Watched(v0=x0)
    p = Lazy()
    v['v3'] = np.sin(v['v0'])
    p.v4 = np.cos(v['v0'])
    return v['v3'] + x1 * p.v4 + x1 / x2
'''


def test_reading_what_a_dict_or_an_object_holds_runs_none_of_its_code():
    # The tracer reads at every node made: a student's `items`, property or `__getattr__` run then would run
    # in the middle of an operation (before: a dict subclass's `items` ran when the function returned).
    answer = _cell(WATCHED)
    run = run_traced(answer, POINTS[0])
    names = {name for found in run.tracer.items.values() for name in found}
    assert {"v['v3']", "p.v4"} <= names and answer.__globals__["calls"] == [], (names, answer.__globals__["calls"])


# -- reverse mode -------------------------------------------------------------------------------------------
REVERSE_SAME_OBJECT = '''
from types import SimpleNamespace

def function(x0, x1, x2):
    s = SimpleNamespace()
    s.v0, s.v1, s.v2 = x0, x1, x2
    s.v3 = np.sin(s.v0)
    s.v4 = np.cos(s.v0)
    s.v5 = s.v1 * s.v4
    s.v6 = s.v1 / s.v2
    s.v7 = s.v3 + s.v5
    s.v8 = s.v7 + s.v6
    s.vbar8 = 1.0
    s.vbar7 = s.vbar8
    s.vbar6 = s.vbar8
    s.vbar5 = s.vbar7
    s.vbar4 = s.vbar5 * s.v1
    s.vbar3 = s.vbar7
    s.vbar2 = -s.vbar6 * s.v1 / s.v2 ** 2
    s.vbar1 = s.vbar5 * s.v4 + s.vbar6 / s.v2
    s.vbar0 = s.vbar3 * np.cos(s.v0) - s.vbar4 * np.sin(s.v0)
    return (s.v8, s.vbar0, s.vbar1, s.vbar2, s.vbar3, s.vbar4, s.vbar5, s.vbar6, s.vbar7, s.vbar8)
'''

REVERSE_ADJOINT_DICT = '''
def function(x0, x1, x2):
    v0, v1, v2 = x0, x1, x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v7 + v6
    adj = {k: 0.0 for k in ("v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8")}
    adj["v8"] = 1.0
    adj["v7"] += adj["v8"]
    adj["v6"] += adj["v8"]
    adj["v3"] += adj["v7"]
    adj["v5"] += adj["v7"]
    adj["v1"] += adj["v5"] * v4
    adj["v4"] += adj["v5"] * v1
    adj["v1"] += adj["v6"] / v2
    adj["v2"] += -adj["v6"] * v1 / v2 ** 2
    adj["v0"] += adj["v3"] * np.cos(v0)
    adj["v0"] += -adj["v4"] * np.sin(v0)
    return (v8, adj["v0"], adj["v1"], adj["v2"], adj["v3"], adj["v4"], adj["v5"], adj["v6"], adj["v7"],
            adj["v8"])
'''

REVERSE_KEYS_AND_GRADS = '''
from types import SimpleNamespace

def function(x0, x1, x2):
    v = {'x0': x0, 'x1': x1, 'x2': x2}
    v['s'] = np.sin(v['x0'])
    v['c'] = np.cos(v['x0'])
    v['m'] = v['x1'] * v['c']
    v['q'] = v['x1'] / v['x2']
    v['a'] = v['s'] + v['m']
    v['y'] = v['a'] + v['q']
    grads = SimpleNamespace(y=1.0)
    grads.a = grads.y
    grads.q = grads.y
    grads.m = grads.a
    grads.s = grads.a
    grads.c = grads.m * v['x1']
    grads.x2 = -grads.q * v['x1'] / v['x2'] ** 2
    grads.x1 = grads.m * v['c'] + grads.q / v['x2']
    grads.x0 = grads.s * np.cos(v['x0']) - grads.c * np.sin(v['x0'])
    return (v['y'], grads.x0, grads.x1, grads.x2, grads.s, grads.c, grads.m, grads.q, grads.a, grads.y)
'''

REVERSE_METHODS = '''
class Reverse:
    def __init__(self, x0, x1, x2):
        self.v0, self.v1, self.v2 = x0, x1, x2

    def forward(self):
        self.v3 = np.sin(self.v0)
        self.v4 = np.cos(self.v0)
        self.v5 = self.v1 * self.v4
        self.v6 = self.v1 / self.v2
        self.v7 = self.v3 + self.v5
        self.v8 = self.v7 + self.v6

    def backward(self):
        self.vbar8 = 1.0
        self.vbar7 = self.vbar8
        self.vbar6 = self.vbar8
        self.vbar5 = self.vbar7
        self.vbar4 = self.vbar5 * self.v1
        self.vbar3 = self.vbar7
        self.vbar2 = -self.vbar6 * self.v1 / self.v2 ** 2
        self.vbar1 = self.vbar5 * self.v4 + self.vbar6 / self.v2
        self.vbar0 = self.vbar3 * np.cos(self.v0) - self.vbar4 * np.sin(self.v0)

def function(x0, x1, x2):
    r = Reverse(x0, x1, x2)
    r.forward()
    r.backward()
    return (r.v8, r.vbar0, r.vbar1, r.vbar2, r.vbar3, r.vbar4, r.vbar5, r.vbar6, r.vbar7, r.vbar8)
'''

REVERSE_OWN_NAMES = '''
from types import SimpleNamespace

def function(x0, x1, x2):
    s = np.sin(x0)
    c = np.cos(x0)
    m = x1 * c
    q = x1 / x2
    a = s + m
    y = a + q
    g = SimpleNamespace(dy=1.0)
    g.da = g.dy
    g.dq = g.dy
    g.dm = g.da
    g.ds = g.da
    g.dc = g.dm * x1
    g.dx2 = -g.dq * x1 / x2 ** 2
    g.dx1 = g.dm * c + g.dq / x2
    g.dx0 = g.ds * np.cos(x0) - g.dc * np.sin(x0)
    return (y, g.dx0, g.dx1, g.dx2, g.ds, g.dc, g.dm, g.dq, g.da, g.dy)
'''

REVERSE = {"same object": REVERSE_SAME_OBJECT, "adjoints in a dict": REVERSE_ADJOINT_DICT,
           "keys and a namespace of grads": REVERSE_KEYS_AND_GRADS, "methods": REVERSE_METHODS,
           "names of its own, returned": REVERSE_OWN_NAMES}


@pytest.mark.parametrize("text", REVERSE.values(), ids=REVERSE.keys())
def test_adjoints_kept_as_attributes_or_under_keys_earn_full_marks_under_their_own_names(text):
    # Before: full marks by position, every adjoint named after no variable (``the adjoint of (cos(x0))``).
    result = check_reverse(_cell(text), F, points=POINTS)
    assert (result.passed, result.score) == (True, 1.0), result.feedback
    parts = {r["part"] for r in result.rows}
    own = {"same object": "s.vbar4", "adjoints in a dict": 'adj["v4"]', "keys and a namespace of grads": "grads.c",
           "methods": "self.vbar4", "names of its own, returned": "g.dc"}
    assert own[next(k for k, t in REVERSE.items() if t == text)] in parts, parts


def test_adjoints_kept_in_an_object_are_in_the_order_of_their_numbers_not_of_their_lines():
    # s.v4 computed before s.v3: the adjoints are returned by number, as for v0 .. v8 (before: "in the wrong
    # order", the attributes read in the order their lines ran).
    text = REVERSE_SAME_OBJECT.replace("    s.v3 = np.sin(s.v0)\n    s.v4 = np.cos(s.v0)\n",
                                       "    s.v4 = np.cos(s.v0)\n    s.v3 = np.sin(s.v0)\n")
    assert text != REVERSE_SAME_OBJECT
    result = check_reverse(_cell(text), F, points=POINTS)
    assert (result.passed, result.score) == (True, 1.0), result.feedback
    assert [r["part"] for r in result.rows[1:]] == [f"s.vbar{k}" for k in range(9)], result.rows


_MADE_UP = re.compile(r"\bv_?bar\d|\bvbar\[|\bxbar|\bsbar|\bv\w*bar\b")


@pytest.mark.parametrize("text, old, new, culprit, code", [
    (REVERSE_SAME_OBJECT, "s.vbar4 = s.vbar5 * s.v1", "s.vbar4 = s.vbar5 * s.v2", "s.vbar4",
     "wrong-local-derivative"),
    (REVERSE_SAME_OBJECT, "s.vbar8 = 1.0", "s.vbar8 = 2.0", "s.vbar8", "seed"),
    (REVERSE_ADJOINT_DICT, 'adj["v4"] += adj["v5"] * v1', 'adj["v4"] += adj["v5"] * v2', 'adj["v4"]',
     "wrong-local-derivative"),
    (REVERSE_ADJOINT_DICT, 'adj["v2"] += -adj["v6"]', 'adj["v2"] += adj["v6"]', 'adj["v2"]', "sign"),
    (REVERSE_KEYS_AND_GRADS, "grads.c = grads.m * v['x1']", "grads.c = grads.m * v['x2']", "grads.c",
     "wrong-local-derivative"),
    (REVERSE_KEYS_AND_GRADS, "grads.x2 = -grads.q", "grads.x2 = grads.q", "grads.x2", "sign"),
    (REVERSE_METHODS, "self.vbar4 = self.vbar5 * self.v1", "self.vbar4 = self.vbar5 * self.v2", "self.vbar4",
     "wrong-local-derivative"),
    (REVERSE_OWN_NAMES, "g.dc = g.dm * x1", "g.dc = g.dm * x2", "g.dc", "wrong-local-derivative"),
], ids=["object: local derivative", "object: seed", "dict: local derivative", "dict: sign",
        "grads: local derivative", "grads: sign of an input's adjoint", "methods: local derivative",
        "returned by their own names: local derivative"])
def test_a_wrong_adjoint_is_named_as_the_student_wrote_it(text, old, new, culprit, code):
    result = check_reverse(_cell(text, changes=((old, new),)), F, points=POINTS)
    assert not result.passed and (result.culprit, result.mistakes[0]) == (culprit, code), result.feedback
    words = result.feedback
    assert culprit in words and "it should return" not in words, words
    if "vbar" not in text:
        assert not _MADE_UP.search(words), words


def test_a_local_derivative_of_values_kept_in_an_object_reads_as_one_of_its_names():
    wrong = _cell(REVERSE_SAME_OBJECT, changes=(("s.vbar4 = s.vbar5 * s.v1", "s.vbar4 = s.vbar5 * s.v2"),))
    result = check_reverse(wrong, F, points=POINTS)
    assert "d(s.v5)/d(s.v4)" in result.feedback and "ds.v5" not in result.feedback, result.feedback


# -- forward mode -------------------------------------------------------------------------------------------
FORWARD_SAME_OBJECT = '''
class Trace:
    __slots__ = ("v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8",
                 "dv0", "dv1", "dv2", "dv3", "dv4", "dv5", "dv6", "dv7", "dv8")

def function(x0, x1, x2):
    s = Trace()
    s.v0, s.v1, s.v2 = x0, x1, x2
    s.dv0, s.dv1, s.dv2 = 1.0, 0.0, 0.0
    s.v3 = np.sin(s.v0)
    s.dv3 = np.cos(s.v0) * s.dv0
    s.v4 = np.cos(s.v0)
    s.dv4 = -np.sin(s.v0) * s.dv0
    s.v5 = s.v1 * s.v4
    s.dv5 = s.dv1 * s.v4 + s.v1 * s.dv4
    s.v6 = s.v1 / s.v2
    s.dv6 = s.dv1 / s.v2 - s.v1 * s.dv2 / s.v2 ** 2
    s.v7 = s.v3 + s.v5
    s.dv7 = s.dv3 + s.dv5
    s.v8 = s.v7 + s.v6
    s.dv8 = s.dv7 + s.dv6
    return s.v8, s.dv8
'''

FORWARD_TANGENT_DICT = '''
def function(x0, x1, x2):
    v = {'v0': x0, 'v1': x1, 'v2': x2}
    dot = {'v0': 1.0, 'v1': 0.0, 'v2': 0.0}
    v['v3'] = np.sin(v['v0'])
    dot['v3'] = np.cos(v['v0']) * dot['v0']
    v['v4'] = np.cos(v['v0'])
    dot['v4'] = -np.sin(v['v0']) * dot['v0']
    v['v5'] = v['v1'] * v['v4']
    dot['v5'] = dot['v1'] * v['v4'] + v['v1'] * dot['v4']
    v['v6'] = v['v1'] / v['v2']
    dot['v6'] = dot['v1'] / v['v2'] - v['v1'] * dot['v2'] / v['v2'] ** 2
    v['v7'] = v['v3'] + v['v5']
    dot['v7'] = dot['v3'] + dot['v5']
    v['v8'] = v['v7'] + v['v6']
    dot['v8'] = dot['v7'] + dot['v6']
    return v['v8'], dot['v8']
'''

FORWARD = {"same object": FORWARD_SAME_OBJECT, "tangents in a dict": FORWARD_TANGENT_DICT}


@pytest.mark.parametrize("text", FORWARD.values(), ids=FORWARD.keys())
def test_tangents_kept_as_attributes_or_under_keys_earn_full_marks_and_each_is_judged(text):
    result = check_forward(_cell(text), F, wrt=0, points=POINTS)
    assert (result.passed, result.score) == (True, 1.0), result.feedback
    parts = {r["part"] for r in result.rows}
    tangents = ({f"s.dv{k}" for k in range(3, 9)} if "s.dv3" in text else {f"dot['v{k}']" for k in range(3, 9)})
    assert parts >= tangents, parts


@pytest.mark.parametrize("text, old, new, culprit", [
    (FORWARD_SAME_OBJECT, "s.dv5 = s.dv1 * s.v4 + s.v1 * s.dv4", "s.dv5 = s.dv1 * s.v4 + s.v1 * s.dv3", "s.dv5"),
    (FORWARD_TANGENT_DICT, "dot['v4'] = -np.sin(v['v0'])", "dot['v4'] = np.sin(v['v0'])", "dot['v4']"),
], ids=["object", "dict"])
def test_a_wrong_tangent_is_named_as_the_student_wrote_it(text, old, new, culprit):
    result = check_forward(_cell(text, changes=((old, new),)), F, wrt=0, points=POINTS)
    assert not result.passed and result.culprit == culprit, result.feedback
    assert not re.search(r"\bdv\d", result.feedback.replace("s.dv", "")), result.feedback
