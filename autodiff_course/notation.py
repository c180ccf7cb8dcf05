"""The course's notation, in one place: how students name things, how a rule is written, how a number reads.

The course writes ``v0 .. v8``, adjoints ``vbar3`` and tangents ``dv3dx0``; students also write ``v3_bar``,
``dv3``, ``v3_dot``. These functions list the names a value may go by, most usual first, so the checkers find a
student's adjoint or tangent among their locals whatever spelling they chose, and the stepper marks the same
names. The checkers' feedback and the stepper write a chain-rule term the same way (``vbar4 * (-sin(v0))``)
and print numbers with the same function.
"""

from __future__ import annotations

import re
from typing import Any

from .graph.data import format_number

__all__ = [
    "ADJOINT_HOLDERS", "LEVEL_WORDS", "MISTAKES", "NOTES", "TANGENT_HOLDERS", "adjoint_name", "adjoint_names",
    "and_list", "fmt", "fmt_apart", "fmt_row", "format_number", "join_sum",
    "held_name", "local_derivative", "natural_key", "note", "numbered", "numbered_order", "operand",
    "student_names", "tangent_name", "tangent_names", "times",
]

_NUMBERED = re.compile(r"^([A-Za-z_]*?)(?:(\d+)|\[(\d+)\])$")


def numbered(name: str) -> tuple[str, int, bool] | None:
    """``(prefix, number, indexed)`` of a numbered name: ``v3`` -> ``("v", 3, False)``, an item of a list or an
    array, ``v[3]`` -> ``("v", 3, True)``, an attribute or a key, ``s.v3`` -> ``("s.v", 3, False)``; None for
    any other name."""
    m = _NUMBERED.match(name)
    if m is None:
        # A numbered name kept in an object or a dict, ``s.v3`` or ``v['v3']``: the holder's own prefix
        # (``s.v``), so ``s.v0 .. s.v8`` are in the student's order as ``v0 .. v8`` are.
        held = held_name(name)
        inner = _NUMBERED.match(held[1]) if held is not None else None
        if inner is None or inner.group(2) is None:
            return None
        return held[2](inner.group(1)), int(inner.group(2)), False
    return m.group(1), int(m.group(2) if m.group(2) is not None else m.group(3)), m.group(2) is None


def _spellings(name: str, own, items, generic) -> list[str]:
    """The spellings of a derivative of ``name``: for a numbered name, ``own(prefix)`` joined to its number
    (``vbar3``) and ``items(prefix)`` indexed by it (``vbar[3]``, an item of an array of derivatives), then
    ``generic(plain)`` of the name written whole (``v3bar``); the student's own kind (``v3`` or ``v[3]``, a
    value kept in a list or an array) first."""
    found = numbered(name)
    if found is None:
        return list(dict.fromkeys(generic(name)))
    prefix, k, indexed = found
    plain = f"{prefix}{k}"
    scalar = ([f"{f}{k}" for f in own(prefix)] if prefix else []) + generic(plain)
    indexed_forms = [f"{f}[{k}]" for f in items(prefix)] if prefix else []
    return list(dict.fromkeys(indexed_forms + scalar if indexed else scalar + indexed_forms))


def adjoint_names(name: str) -> list[str]:
    """Spellings of the adjoint of variable ``name``: ``v3`` -> ``vbar3, v3bar, v3_bar, bar_v3, v3b, gv3,
    grad_v3`` and the items ``vbar[3], v_bar[3], ...`` of an array of adjoints, then the entries of a dict or
    an object of adjoints (``adj['v3']``, ``grads.v3``); ``v[3]`` (a value kept in a list or an array) ->
    ``vbar[3], ...`` first, then the same spellings as ``v3``; ``s.v3`` or ``v['v3']`` (kept in an object or a
    dict) -> the same holder's ``s.vbar3``, ``v['vbar3']``, then ``vbar['v3']``, ``adj.v3``, ..., then those
    of ``v3``."""
    return _held_spellings(name, adjoint_names, _adjoint_items, ADJOINT_HOLDERS) or _spellings(
        name,
        own=lambda p: [f"{p}bar", f"{p}_bar"],
        items=_adjoint_items,
        generic=lambda n: [f"{n}bar", f"{n}_bar", f"bar_{n}", f"{n}_adj", f"adj_{n}", f"g{n}",
                           f"grad_{n}"] + _keyed(n, ADJOINT_HOLDERS),
    )


def _adjoint_items(p: str) -> list[str]:
    return [f"{p}bar", f"{p}_bar", f"bar_{p}", f"{p}b", f"g{p}", f"{p}_adj", f"adj_{p}"]


#: The names of a dict or an object that keeps derivatives under the variables' own names (``adj['v3']``,
#: ``grads.x0``, ``dot['v3']``).
ADJOINT_HOLDERS = ("adj", "adjs", "adjoint", "adjoints", "bar", "vbar", "bars", "grad", "grads", "gradient",
                   "gradients", "g")
TANGENT_HOLDERS = ("dot", "dots", "tangent", "tangents", "d", "dv", "deriv", "derivs", "derivative",
                   "derivatives")

#: A value kept as an attribute (``s.v3``) or under a string key (``v['v3']``, ``adj["v3"]``), as the tracer
#: names them (graph/held.py).
_HELD = re.compile(r"""^([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*)|\[(['"])([A-Za-z_]\w*)\3\])$""")


def held_name(name: str):
    """``(holder, base, respell)`` of a name kept in an object or a dict: ``s.v3`` -> ``("s", "v3", f)`` with
    ``f("vbar3") == "s.vbar3"``, ``v['v3']`` -> ``("v", "v3", f)`` with ``f("vbar3") == "v['vbar3']"``; None
    for any other name."""
    m = _HELD.match(name)
    if m is None:
        return None
    holder = m.group(1)
    if m.group(2) is not None:
        return holder, m.group(2), lambda b: f"{holder}.{b}"
    q = m.group(3)
    return holder, m.group(4), lambda b: f"{holder}[{q}{b}{q}]"


def local_derivative(out: str, wrt: str) -> str:
    """``dv5/dv4``, the local derivative of ``out`` with respect to ``wrt`` written with their names; a name
    kept in an object or a dict in brackets, so it reads as one (``d(s.v5)/d(s.v4)``)."""
    return "/".join(f"d({n})" if held_name(n) else f"d{n}" for n in (out, wrt))


def _keyed(base: str, holders) -> list[str]:
    """``base`` as an attribute or a key (either quote) of each of ``holders``: ``adj.v3, adj['v3'], ...``."""
    if not base.isidentifier():
        return []
    return [f for h in holders for f in (f"{h}.{base}", f"{h}['{base}']", f'{h}["{base}"]')]


def _held_spellings(name: str, spellings, items, holders) -> list[str] | None:
    """The spellings of a derivative of ``name`` kept in an object or a dict (``s.v3``): the holder's own
    entries named as ``spellings`` spells ``v3`` (``s.vbar3``), then ``v3`` under the holders ``items`` makes
    of the holder's name (``vbar['v3']``) and under ``holders`` (``adj.v3``), then ``spellings`` of ``v3``
    (plain variables); None for another name."""
    found = held_name(name)
    if found is None:
        return None
    holder, base, respell = found
    plain = spellings(base)
    own = [respell(x) for x in plain if x.isidentifier()]
    return list(dict.fromkeys(own + _keyed(base, [*items(holder), *holders]) + plain))


def adjoint_name(name: str) -> str:
    """The course's spelling of the adjoint of ``name`` (``v3`` -> ``vbar3``, ``y`` -> ``ybar``, ``v[3]`` ->
    ``vbar[3]``); an operation no variable held (named by its written-out form, ``(v1 * v4)``) is "the adjoint
    of (v1 * v4)"."""
    if name.startswith("("):
        return f"the adjoint of {name}"
    return adjoint_names(name)[0]


def tangent_name(name: str, wrt: str | None = None) -> str:
    """The course's spelling of a tangent: ``dv5dx0`` with respect to ``x0``, ``dv5`` when the input is
    implied; for an operation no variable held, ``d(v1 * v4)/dx0``."""
    if name.startswith("("):
        return f"d{name}/d{wrt}" if wrt else f"d{name}"
    return tangent_names(name, [wrt] if wrt else [])[0]


def tangent_names(name: str, wrt: list[str], column: int | None = None) -> list[str]:
    """Spellings of the tangent of ``name`` with respect to an input known by the names ``wrt``:
    ``dv3dx0``, ``dv3_dx0``, ``d{name}``, ``{name}_dot``, ``{name}dot``, ``dot_{name}``, and the items
    ``dv[3]``, ``dvdx0[3]``, ``v_dot[3]``, ... of an array of tangents (first for ``v[3]``, a value kept in a
    list or an array), then the entries of a dict or an object of tangents (``dot['v3']``, ``tangent.v3``); for
    ``s.v3`` or ``v['v3']`` (kept in an object or a dict) the same holder's first (``s.dv3dx0``), then
    ``dv['v3']``, ``dot['v3']``, ..., then those of ``v3``. An input known as an attribute or a key
    (``s.v0``) is ``v0`` in a spelling. With ``column``, last, the items ``dv3[column]``, ``v3_dot[column]``,
    ... of a tangent vector: one array per variable holding its tangent with respect to every input at once, of
    which the input's is item ``column`` (a spelling that names the input, ``dv3dx0``, is no vector of all of
    them)."""
    wrt = list(dict.fromkeys(found[1] if (found := held_name(w)) else w for w in wrt))

    def items(p: str) -> list[str]:
        return ([f"d{p}"] + [f"d{p}d{w}" for w in wrt] + [f"d{p}_d{w}" for w in wrt]
                + [f"{p}_dot", f"{p}dot", f"dot_{p}"])

    names = _held_spellings(name, lambda n: tangent_names(n, wrt), items, TANGENT_HOLDERS) or _spellings(
        name,
        own=lambda p: [],
        items=items,
        generic=lambda n: ([f"d{n}d{w}" for w in wrt] + [f"d{n}_d{w}" for w in wrt]
                           + [f"d{n}", f"{n}_dot", f"{n}dot", f"dot_{n}", f"{n}_tangent"]
                           + _keyed(n, TANGENT_HOLDERS)),
    )
    if column is None:
        return names
    vectors = [f"{s}[{column}]" for s in names if not s.endswith("]") and not any(s.endswith(f"d{w}") for w in wrt)]
    return list(dict.fromkeys(names + vectors))


def natural_key(name: str):
    """Sort key that puts ``v2`` before ``v10`` (and ``v[2]`` before ``v[10]``)."""
    found = numbered(name)
    return (found[0], found[1], "") if found else (name, -1, name)


def numbered_order(names: list[str]) -> list[int] | None:
    """Indices of ``names`` sorted by their numbers, when every name is one prefix followed by a distinct
    number (``v0 .. v8``, or ``v[0] .. v[8]``); None otherwise (then creation order is the student's order)."""
    found = [numbered(n) for n in names]
    if not names or not all(found):
        return None
    if len({f[0] for f in found}) != 1 or len({f[1] for f in found}) != len(names):
        return None
    return sorted(range(len(names)), key=lambda i: found[i][1])


def student_names(names: list[str], kind: str, wrt: str | None = None) -> list[str]:
    """Every spelling a student may give the value (``kind="value"``), adjoint or tangent of a node known by
    ``names``, most specific first, without repeats."""
    if kind == "value":
        return list(dict.fromkeys(names))
    if kind == "adjoint":
        return list(dict.fromkeys(s for n in names for s in adjoint_names(n)))
    if kind == "tangent":
        return list(dict.fromkeys(s for n in names for s in tangent_names(n, [wrt] if wrt else [])))
    raise ValueError(f"kind must be 'value', 'adjoint' or 'tangent', not {kind!r}")


# -- writing a rule out --------------------------------------------------------------------------------------
def times(coefficient: str, operand: str) -> str:
    """``operand * coefficient`` with the brackets a reader needs (``vbar4 * (-sin(v0))``, ``vbar7``)."""
    if coefficient == "1":
        return operand
    if coefficient == "-1":
        return f"-{operand}"
    if coefficient.startswith("-") or any(c in coefficient for c in " +/^"):
        coefficient = f"({coefficient})"
    return f"{operand} * {coefficient}"


def join_sum(terms: list[str]) -> str:
    """Terms joined into a sum, a leading minus turned into a subtraction: ``a - b + c``; "0" for none."""
    if not terms:
        return "0"
    out = terms[0]
    for t in terms[1:]:
        out += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
    return out


def and_list(words: list[str]) -> str:
    """``a, b and c``, each word once."""
    words = list(dict.fromkeys(words))
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# -- numbers -------------------------------------------------------------------------------------------------
def fmt(v: Any) -> str:
    """A number as feedback shows it: up to 10 significant digits, integers without a decimal point; the
    collected stand-ins for what is not a number (a dict describing it, None for missing) in words."""
    if isinstance(v, dict):
        if v.get("type") == "NoneType":
            return "None (not a number)"  # the type's name says nothing None does not
        return f"{v.get('repr', '?')} (a {v.get('type', 'value')}, not a number)"
    if isinstance(v, str):
        return v
    if v is None:
        return "(missing)"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return repr(v)
    return format_number(f, 10)


def fmt_apart(a: Any, b: Any) -> tuple[str, str]:
    """``a`` and ``b`` as ``fmt`` shows them, with as many more significant digits (up to 17, which tell any
    two floats apart) as it takes for two different numbers not to read the same."""
    sa, sb = fmt(a), fmt(b)
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        return sa, sb
    if isinstance(a, (dict, str)) or isinstance(b, (dict, str)) or a is None or b is None or fa == fb:
        return sa, sb
    digits = 10
    while sa == sb and digits < 17:
        digits += 1
        sa, sb = format_number(fa, digits), format_number(fb, digits)
    return sa, sb


def fmt_row(received: Any, expected: Any, ok: bool) -> tuple[str, str, bool]:
    """How a table row shows the student's value and the expected one, and whether a right pair still reads
    differently (then it is right up to rounding, and the row says so). A wrong pair has as many digits as
    tell the two apart (``fmt_apart``); a right pair has ``fmt``'s 10 digits each: it is right within the
    check's tolerance, and the digits past that are rounding (an outside review read -0.198713999787516
    beside -0.198713999787515, marked right, as an error)."""
    if not ok:
        shown_received, shown_expected = fmt_apart(received, expected)
        return shown_received, shown_expected, False
    shown_received, shown_expected = fmt(received), fmt(expected)
    return shown_received, shown_expected, shown_received != shown_expected


def operand(value: Any) -> str:
    """A number as an operand in a written-out product: negative ones in parentheses (``2.4 * (-0.2)``)."""
    text = format_number(value)
    return f"({text})" if text.startswith("-") else text


# -- words every check shares --------------------------------------------------------------------------------
# The diagnoses of single mistakes (a missing path, a sign, a product-rule slip) are written where the mistake
# is recognised, from the student's own names; this table holds the sentences every kind shares: the summary of
# an answer wrong only at hidden points, the unanswered state, the words of each reveal level and the stand-in
# for a problem of the grader's own. tests/checks/test_check_messages.py renders every entry and reads them
# for jargon.
#: Sentence templates by key (``str.format`` fields in braces).
NOTES: dict[str, str] = {
    "hidden-only": "Right at {visible}, wrong at {wrong}. The hidden "
                   "points are kept private so they test your method rather than your numbers; what follows "
                   "describes the mistake without them.",
    "answers-differently": "Your function returns other values {where} when the checker follows it step by "
                           "step than when it is called with plain numbers: the same inputs must give the same "
                           "results (a branch on the type of its inputs, or a value kept from one call to the next, "
                           "makes them differ). The values of the run the checker follows are the ones judged.",
    "fresh-point": "at a fresh point {point} (not one of the test points)",
    "fresh-values": "For example, {where}, your {part} is {received}{expected}.",
    "unanswered": "Not answered yet: {what} is still the stub from the released notebook (it raises "
                  "NotImplementedError or gives None). Write your answer in its place and run this cell again.",
    "unanswered-cell": "Not answered yet: the answer cell still raises NotImplementedError, as in the released "
                       "notebook. Write your answer in its place and run it, then run this cell again.",
    "unanswered-variables": "Not answered yet: {what} {verb} not defined, or still None, as in the released "
                            "notebook. Write your answer, run its cell (if it stops with an error, fix that "
                            "first), then run this cell again.",
    "answer-cell-error": "Your answer cell stopped with {error}, before it set what this check reads. Fix "
                         "that error (it may come from an earlier exercise), run the cell, then run this check "
                         "again.",
    "verdict-only": "This check says only whether your answer is right; look again at each step of it.",
    "culprit-only": "Start with {culprit}: it is the first value that is wrong.",
    "checker-fault": "This exercise could not be checked because of a problem on the grader's side, not in "
                     "your answer. Your instructor has the details.",
    "ladder": "(After {runs} more unsuccessful run{s} of this cell you will see {more}.)",
}

#: What each reveal level adds, in the words the ladder note uses.
LEVEL_WORDS = {
    "culprit": "which value to fix first",
    "hint": "a hint about the rule",
    "solution": "the corrected line",
}


def note(key: str, **fields) -> str:
    """The sentence ``key`` of ``NOTES`` with ``fields`` filled in. Raises KeyError for an unknown key."""
    return NOTES[key].format(**fields)


#: Every mistake a check can name (its code in ``CheckResult.mistakes``), in the words a first-year student
#: reads. The diagnosis itself is written where the mistake is recognised, in the student's own names; this is
#: the list of all of them, reviewed together, and the class report's legend.
MISTAKES: dict[str, str] = {
    # writing the function as elementary steps
    "not-elementary": "a line does more than one operation, or a step is kept in no variable",
    "reassigned": "a variable is given a second value, so one name stands for two steps",
    "wrong-function": "the steps compute another function than the exercise's",
    "wrong-output": "the first value returned is not y",
    "not-the-function": "y has the right value but does not come from the inputs through your steps",
    # tangents and adjoints
    "seed": "the starting tangent or adjoint is wrong",
    "sign": "a derivative has the wrong sign",
    "missing-path": "an adjoint leaves out the path through one of the variable's uses",
    "missing-term": "a tangent leaves out the term of one of the inputs",
    "missing-factor": "a derivative leaves out the tangent or adjoint it should carry",
    "overwritten": "a second `=` replaced an adjoint instead of adding to it",
    "product-rule": "the product rule is applied wrongly",
    "quotient-rule": "the quotient rule is applied wrongly",
    "power-rule": "the power rule is applied wrongly",
    "wrong-input": "a derivative is taken with respect to the wrong input",
    "wrong-local-derivative": "the derivative of one step is wrong",
    "wrong-neighbour": "a derivative uses another variable's tangent or adjoint",
    "value-for-derivative": "a derivative uses a variable's value where its tangent or adjoint belongs",
    "extra-factor": "a derivative is multiplied by a variable that is no part of it",
    "not-returned": "the derivative returned is not the one the function computed",
    "answers-differently": "the function returns other values when it is followed than when it is called with "
                           "plain numbers",
    "finite-difference": "a derivative is estimated numerically instead of by the chain rule",
    "pasted-constant": "a number is pasted in where it should be computed",
    "missing": "a derivative the exercise asks for is not returned",
    "not-a-number": "a value is not a finite number",
    "swapped-order": "the values are returned in the wrong order",
    "wrong-return-count": "the function returns the wrong number of values",
    # the graph exercise
    "missing-parent": "a variable's list of parents lacks one",
    "extra-parent": "a variable's list of parents has one too many",
    "unknown-variable": "the dict names a variable the function does not have",
    "input-with-parents": "an input is given parents",
    "missing-variable": "a variable the exercise needs is not defined",
    "missing-operation": "a step of the exercise's function is missing",
    "not-a-dict": "the answer is not a dict of parents",
    # PyTorch exercises
    "wrong": "a value is not the one asked for",
    "replaced-input": "the given data was replaced before the gradients were computed",
    "not-by-hand": "a derivative the exercise asks to derive by hand is taken from autograd",
    "not-from-autograd": "a gradient the exercise asks autograd for is typed or computed by a formula",
    # running the code
    "exception": "the code raised an error",
    "domain-error": "a value has no defined result at a test point (a log of a negative number, 0/0)",
    "cannot-follow": "the checker could not follow the computation step by step",
    "no-function": "the function the exercise asks for is not defined",
    "timeout": "the code did not finish in time",
    "too-large": "the answer is too large to check",
    "unusable-data": "what the checker collected could not be used (run the cell again)",
    "error": "the answer could not be checked",
    "unanswered": "not answered yet",
}
