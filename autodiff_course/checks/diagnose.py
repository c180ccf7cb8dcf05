"""Naming the likely mistake behind a wrong adjoint or tangent, from the numbers alone.

A derivative the student wrote is compared with the chain rule applied to the student's OWN neighbouring
values (downstream adjoints in reverse mode, upstream tangents in forward mode). When it disagrees, the
difference is tested against the slips students make: a missing path or term, a sign, a wrong local
derivative of a named primitive, a product- or quotient-rule slip, a derivative with respect to the wrong
input, a neighbour's value used in place of the right one. Each recogniser gives a stable code and words a
first-year student understands; nothing here is random, so the words are snapshot-testable.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from ..engine.primitives import ELEMENTARY, ELEMENTARY_BINARY
from ..graph import Graph
from ..notation import and_list, local_derivative
from .analysis import GraphFacts
from .numbers import close, finite, fmt, near
from .source import SourceFacts

_MAX_SUBSET_TERMS = 8


@dataclass
class Term:
    """One contribution to a derivative: ``carried * partial``.

    Reverse mode: the path from ``node`` through its use ``other`` (the consumer), input slot ``k`` of
    ``other``; ``carried`` is the student's adjoint of ``other``. Forward mode: input slot ``k`` of ``node``
    reading ``other``; ``carried`` is the student's tangent of ``other``.
    """

    other: int
    k: int
    partial: float
    carried: float

    @property
    def value(self) -> float:
        return self.carried * self.partial


def partial_formula(graph: Graph, node_id: int, k: int) -> str:
    """d node / d (input k) in the node's own names, e.g. ``-sin(v0)`` or ``v4``."""
    n = graph.nodes[node_id]
    names = [graph.nodes[i].name for i in n.inputs]
    try:
        return n.primitive.partial_words(k, names, n.name)
    except Exception:  # noqa: BLE001 - a primitive without text still gets a correct, generic form
        return local_derivative(n.name, names[k])


@dataclass(frozen=True)
class Slip:
    """A wrong local derivative students are known to write for one slot of a primitive: its value from the
    operands' values ``(a, b)``, and the words after "d out/d input is RIGHT"."""

    slot: int
    value: object  # (operand values) -> float
    code: str
    words: str  # formatted with {out}, {a}, {b} (operand names), {right} (the right formula), {e} (exponent)


#: The catalogue of likely slips, by primitive: what diagnosis tries beyond the generic ones (another slot's
#: derivative, the value itself for a unary function, a missing factor). A new primitive adds its row here.
SLIPS: dict[str, tuple[Slip, ...]] = {
    "div": (
        Slip(1, lambda a, b: -1 / (b * b), "quotient-rule",
             "d{out}/d{b} is {right}: the numerator {a} is missing from your quotient rule"),
        Slip(1, lambda a, b: -a / b, "quotient-rule", "d{out}/d{b} is {right}: the denominator must be squared"),
        Slip(1, lambda a, b: -1 / b, "quotient-rule", "d{out}/d{b} is {right}, not -1/{b}"),
        Slip(0, lambda a, b: b, "quotient-rule", "d{out}/d{a} is {right}, not {b}"),
        Slip(0, lambda a, b: 1 / (b * b), "quotient-rule", "d{out}/d{a} is {right}, not 1/{b}^2"),
    ),
    "pow": (
        Slip(0, lambda a, e: a ** (e - 1), "power-rule",
             "d{out}/d{a} is {right}: the factor {e} in front is missing"),
        Slip(0, lambda a, e: e * a**e, "power-rule", "d{out}/d{a} is {right}: the power goes down by one"),
    ),
}

#: The code of a derivative taken with respect to the other operand: for a product that is the product rule's
#: slip (each factor pairs with the other's tangent), elsewhere a derivative with respect to the wrong input.
OTHER_SLOT_CODE: dict[str, str] = {"mul": "product-rule"}

#: Slips of forward mode that change both terms of a binary rule at once: (tangent of the result from
#: a, b, da, db; code; words, formatted with {a}, {b} (operand names)).
RULE_SLIPS: dict[str, tuple[tuple, ...]] = {
    "mul": (
        (lambda a, b, da, db: a * da + b * db, "product-rule",
         "the product rule pairs each factor with the OTHER factor's tangent: d({a}*{b}) = {b}*d{a} + {a}*d{b}."),
        (lambda a, b, da, db: da * db, "product-rule",
         "the tangent of a product is not the product of the tangents."),
    ),
    "div": (
        (lambda a, b, da, db: (b * da + a * db) / (b * b), "quotient-rule",
         "the quotient rule subtracts: d({a}/{b}) = ({b}*d{a} - {a}*d{b}) / {b}^2."),
        (lambda a, b, da, db: (b * da - a * db) / b, "quotient-rule",
         "the quotient rule divides by {b}^2, not by {b}."),
        (lambda a, b, da, db: (b * da - a * db) * b * b, "quotient-rule",
         "the quotient rule divides by {b}^2; your line multiplies by it."),
        (lambda a, b, da, db: b * da - a * db, "quotient-rule",
         "the quotient rule divides by {b}^2: d({a}/{b}) = ({b}*d{a} - {a}*d{b}) / {b}^2."),
        (lambda a, b, da, db: da / db, "quotient-rule",
         "the tangent of a quotient is not the quotient of the tangents."),
    ),
}


def _primitive_candidates(
    graph: Graph, facts: GraphFacts, node_id: int, k: int
) -> list[tuple[float, str, str]]:
    """Wrong values of d node / d input k that students are known to write: (value, code, words)."""
    n = graph.nodes[node_id]
    vals = [facts.value(i) for i in n.inputs]
    names = [graph.nodes[i].name for i in n.inputs]
    right = partial_formula(graph, node_id, k)
    out: list[tuple[float, str, str]] = []
    rule = OTHER_SLOT_CODE.get(n.op, "wrong-input")
    for k2 in range(len(n.inputs)):
        if k2 != k and n.inputs[k2] != n.inputs[k]:
            wrong = partial_formula(graph, node_id, k2)
            out.append(
                (
                    facts.partials[node_id][k2],
                    rule,
                    f"{local_derivative(n.name, names[k])} is {right}, but you used {wrong}, the derivative with "
                    f"respect to {names[k2]}",
                )
            )
    if len(vals) == 2:
        words = {"out": n.name, "a": names[0], "b": names[1], "right": right, "e": fmt(vals[1])}
        for slip in SLIPS.get(n.op, ()):
            if slip.slot == k:
                with _quiet():
                    out.append((slip.value(*vals), slip.code, slip.words.format(**words)))
    # A unary function's own value in place of its derivative (not for the linear ones: -x and x).
    if n.primitive is not None and n.primitive.arity == 1 and not n.primitive.linear:
        out.append(
            (
                facts.value(node_id),
                "wrong-local-derivative",
                f"you used {n.name} = {n.primitive.describe(names)} itself where its derivative belongs: "
                f"d/d{names[0]} {n.primitive.describe(names)} is {right}",
            )
        )
        out.append(
            (
                -facts.value(node_id),
                "wrong-local-derivative",
                f"you used -{n.name} = -{n.primitive.describe(names)} where its derivative belongs: "
                f"d/d{names[0]} {n.primitive.describe(names)} is {right}",
            )
        )
    if facts.partials[node_id][k] != 1:
        out.append(
            (
                1.0,
                "wrong-local-derivative",
                f"the local derivative {local_derivative(n.name, names[k])} = {right} is missing (you multiplied by 1)",
            )
        )
    return out


class _quiet:
    """Slip candidates may divide by zero or overflow at some points; such candidates are simply not
    matches."""

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        return etype in (ZeroDivisionError, OverflowError, ValueError)


@dataclass
class Diagnosis:
    """A recognised mistake: ``words`` name it and the rule in words (the hint), ``solution`` is the corrected
    line (``vbar0 = vbar3 * cos(v0) + vbar4 * (-sin(v0))``), shown only where the reveal policy allows it."""

    code: str
    words: str
    solution: str = ""


def diagnose(
    *,
    mode: str,
    graph: Graph,
    facts: GraphFacts,
    node: int,
    received: float,
    terms: list[Term],
    own: float,
    scale: float,
    labels: dict[int, str],
    carried: dict[int, float],
    rtol: float,
    atol: float,
    rule_words: str,
    seed: float | None = None,
    numbers: bool = True,
    source: SourceFacts | None = None,
) -> Diagnosis:
    """The likely mistake in the student's derivative ``received`` of ``node`` (``mode``: "reverse" or
    "forward"), given the terms of the chain rule built from the student's own neighbouring values. Without
    ``numbers`` the words quote no value (the point is hidden: values would give its inputs away). The words
    never contain the corrected line: that is the diagnosis's ``solution``."""
    found = _diagnosis(mode=mode, graph=graph, facts=facts, node=node, received=received, terms=terms, own=own,
                       scale=scale, labels=labels, carried=carried, rtol=rtol, atol=atol, seed=seed,
                       numbers=numbers, source=source)
    found.solution = f"{labels[node]} = {rule_words}"
    return found


def unreadable(label: str, received, missing: str, not_finite: str) -> Diagnosis | None:
    """The diagnosis of a derivative that cannot be compared: absent (``missing`` says what to do) or not a
    finite number (``not_finite`` says what it is instead); None for a finite float."""
    if received is None:
        return Diagnosis("missing", f"{label} is missing: {missing}")
    if not finite(received):
        # A value that is no number is quoted as the student wrote it (``None``), once.
        shown = str(received.get("repr", "?")) if isinstance(received, dict) else fmt(received)
        return Diagnosis("not-a-number", f"{label} is {shown}, {not_finite}.")
    return None


def _diagnosis(*, mode, graph, facts, node, received, terms, own, scale, labels, carried, rtol, atol, seed,
               numbers, source) -> Diagnosis:
    yours = f" (yours is {fmt(received)})" if numbers else ""
    n = graph.nodes[node]
    label = labels[node]

    def same(a: float, b: float) -> bool:
        return close(a, b, scale, rtol, atol)

    if seed is not None:
        if mode == "reverse":
            return Diagnosis(
                "seed",
                f"{label} is the adjoint of the output {n.name} itself: d{n.name}/d{n.name} = 1, "
                f"so {label} must be 1{yours}.",
            )
        what = (
            "the input you differentiate with respect to"
            if seed == 1
            else "an input other than the one you differentiate with respect to"
        )
        return Diagnosis("seed", f"{n.name} is {what}, so its tangent {label} is {fmt(seed)}{yours}.")
    if near(received, own, scale):
        return Diagnosis(
            "finite-difference",
            f"{label}{' = ' + fmt(received) if numbers else ''} is close to the exact value but not "
            f"exact (off by "
            f"{abs(received - own) / max(abs(own), scale, 1e-300):.1e} relative). This exercise asks for "
            "automatic differentiation: apply the chain rule exactly, with no finite-difference estimate "
            "and no rounded numbers.",
        )
    if own != 0 and same(received, -own):
        return Diagnosis("sign", f"{label} has the wrong sign.")
    uses_words = [graph.nodes[t.other].name for t in terms]
    grounded = _substitution(mode, graph, facts, node, label, received, terms, own, labels, carried, same,
                             source)
    if grounded is not None:
        return grounded
    readable = source is not None and source.known
    if readable:
        grounded = _value_for_derivative(mode, graph, facts, node, label, received, terms, own, labels, same,
                                         source, yours)
        if grounded is not None:
            return grounded
    if len(terms) >= 2 and len(terms) <= _MAX_SUBSET_TERMS:
        for size in range(len(terms) - 1, 0, -1):
            for subset in itertools.combinations(range(len(terms)), size):
                if same(received, sum(terms[i].value for i in subset)):
                    kept = [uses_words[i] for i in subset]
                    replaced = source.overwritten(label) if source is not None else None
                    if replaced is not None:
                        return _overwritten(label, replaced)
                    return _missing(mode, n.name, label, uses_words, kept, readable)
        for j, t in enumerate(terms):
            if t.value != 0 and same(received, own - 2 * t.value):
                through = uses_words[j]
                return Diagnosis(
                    "sign",
                    f"in {label} the term through {through} has the wrong sign.",
                )
    if terms and received == 0 and own != 0:
        return _missing(mode, n.name, label, uses_words, [], readable)
    for t in terms:
        through = graph.nodes[t.other].name
        with _quiet():
            for wrong in (t.carried / t.partial, t.partial / t.carried):
                if (t.partial != 0 and t.carried != 0 and not same(wrong, t.value)
                        and same(received, own - t.value + wrong)):
                    carried = "adjoint" if mode == "reverse" else "tangent"
                    if abs(t.carried) == 1:
                        # The carried factor is ±1: dividing by the local derivative and multiplying by its
                        # reciprocal (`vbar6 * v2` for `vbar6 / v2`) give the same number, so both are said.
                        return Diagnosis("wrong-local-derivative",
                                         f"in {label} the term through {through} has the local derivative "
                                         f"upside down (divided by it, or times its reciprocal): it is the "
                                         f"{carried} times the local derivative.")
                    return Diagnosis("wrong-local-derivative",
                                     f"in {label} the term through {through} divides where the chain rule "
                                     f"multiplies: it is the {carried} times the local derivative.")
    for t in terms:
        if t.carried == 0:
            continue
        implied = (received - (own - t.value)) / t.carried
        if mode == "reverse":
            op_node, k = t.other, t.k
        else:
            op_node, k = node, t.k
        for value, code, words in _primitive_candidates(graph, facts, op_node, k):
            if math.isfinite(value) and close(implied, value, max(abs(t.partial), abs(value)), rtol, atol):
                return Diagnosis(code, f"{words}.")
    if mode == "forward" and len(terms) == 2:
        found = _forward_rule_slip(graph, facts, node, terms, received, same)
        if found is not None:
            return Diagnosis(found[0], found[1])
    if not readable:
        # From the numbers alone, a value in place of a derivative comes after the catalogue's slips, which
        # may give the same number (``/v1`` for ``/v1**2`` where dv1 = 1).
        grounded = _value_for_derivative(mode, graph, facts, node, label, received, terms, own, labels, same,
                                         source, yours)
        if grounded is not None:
            return grounded
    if len(terms) == 1 and terms[0].partial != 0:
        t = terms[0]
        carried_label = labels.get(t.other)
        if carried_label is not None and t.carried != 1 and same(received, t.partial):
            what = "adjoint" if mode == "reverse" else "tangent"
            reads = source.reads(label, carried_label) if source is not None else None
            if reads is False:
                return Diagnosis(
                    "missing-factor",
                    f"your line for {label} leaves out {carried_label}, the {what} the chain rule carries.",
                )
            if reads is None:
                # The line cannot be read: say only what the numbers show (the local derivative times 1), and
                # which other reading gives the same number.
                ones = [labels[m] for m, value in carried.items()
                        if m not in (node, t.other) and m in labels and value == 1]
                op_node, k = (t.other, t.k) if mode == "reverse" else (node, t.k)
                also = (f" The same number comes from using {_either(ones)} (which is 1) in place of "
                        f"{carried_label}." if ones else "")
                return Diagnosis(
                    "missing-factor",
                    f"{label} equals the local derivative {partial_formula(graph, op_node, k)} alone{yours}: "
                    f"the chain rule multiplies it by {carried_label}, the {what} it carries.{also}",
                )
        implied_carried = received / t.partial
        for other, value in carried.items():
            if (
                other not in (t.other, node)
                and other in labels
                and value != 0
                and same(implied_carried * t.partial, value * t.partial)
                # Claimed only if the student's line reads that name (another reading may give the same number).
                and (source is None or source.reads(label, labels[other]) is not False)
            ):
                right, used = labels.get(t.other, graph.nodes[t.other].name), labels[other]
                if mode == "reverse":
                    why = (
                        f"{n.name} is used by {graph.nodes[t.other].name}, so its adjoint comes from {right}"
                    )
                else:
                    why = f"{n.name} is computed from {graph.nodes[t.other].name}, so its tangent comes from {right}"
                if source is None or not source.known:
                    # Unread line: the numbers show the value, not which name was written.
                    return Diagnosis(
                        "wrong-neighbour",
                        f"{label} is the value the chain rule gives with {used} in place of {right}: {why}.",
                    )
                return Diagnosis(
                    "wrong-neighbour",
                    f"{label} uses {used} where {right} belongs: {why}.",
                )
    # After the catalogue and the neighbours: a quotient rule's missing square is also "times the
    # denominator", and a neighbour's tangent may be another's times a value.
    grounded = _extra_factor(graph, label, received, own, labels, same, source, yours, terms, carried)
    if grounded is not None:
        return grounded
    if len(terms) == 1:
        op_node, k = (terms[0].other, terms[0].k) if mode == "reverse" else (node, terms[0].k)
        on = graph.nodes[op_node]
        formula = partial_formula(graph, op_node, k)
        return Diagnosis(
            "wrong-local-derivative",
            f"{label} does not follow the chain rule; check the local derivative "
            f"{local_derivative(on.name, graph.nodes[on.inputs[k]].name)} of {graph.equation(op_node)}, which is "
            f"{formula}.",
        )
    uses = and_list([graph.nodes[t.other].name for t in terms])
    if mode == "reverse" and terms:
        rule = f"{n.name} is used by {uses}, and {label} adds up the contribution of each use"
    elif terms:
        rule = f"{n.name} is computed from {uses}, and {label} adds up the term of each input"
    else:
        rule = f"{label} is the derivative of {n.name}"
    return Diagnosis("wrong", f"{label} does not follow the chain rule: {rule}.")


def _substitution(mode, graph, facts, node, label, received, terms, own, labels, carried, same,
                  source) -> Diagnosis | None:
    """One name in the student's line stands where another belongs, shown by the line itself (it reads the
    name it used, and not the one that belongs): a neighbour's tangent or adjoint in place of the carried
    one, a forward value in place of a local derivative, or the carried value left out (a factor of 1)."""
    if source is None or not source.known or label not in source.assignments:
        return None
    what = "adjoint" if mode == "reverse" else "tangent"
    for t in terms:
        right = labels.get(t.other)
        if right is None:
            continue
        rest = own - t.value
        if (t.carried != 1 and same(received, rest + t.partial) and source.reads(label, right) is False):
            return Diagnosis("missing-factor", f"your line for {label} leaves out {right}, the {what} the chain "
                                               "rule carries.")
        legitimate = {labels.get(t2.other) for t2 in terms}
        for other, value in carried.items():
            used = labels.get(other)
            # Only a name the line reads for no other term: a neighbour that belongs to another term explains
            # nothing (that reading is a dropped term).
            # A neighbour that belongs to another term is claimed only when it adds something (reading it twice,
            # ``dv4 * v1 + dv4 * v4``); one whose term is 0 there reads as a dropped term.
            if (other in (t.other, node) or used is None or value == t.carried
                    or (used in legitimate and value * t.partial == 0 and _mentions(source, label, used) < 2)
                    or not same(received, rest + value * t.partial)):
                continue
            if source.reads(label, used) and source.reads(label, right) is False:
                through = graph.nodes[t.other].name
                why = (f"{graph.nodes[node].name} is used by {through}, so its adjoint comes from {right}"
                       if mode == "reverse" else
                       f"{graph.nodes[node].name} is computed from {through}, so its tangent comes from {right}")
                return Diagnosis("wrong-neighbour", f"{label} uses {used} where {right} belongs: {why}.")
        op_node, k = (t.other, t.k) if mode == "reverse" else (node, t.k)
        formula = partial_formula(graph, op_node, k)
        partial = local_derivative(graph.nodes[op_node].name, graph.nodes[graph.nodes[op_node].inputs[k]].name)
        legit = {w for t2 in terms for w in _words(partial_formula(
            graph, *((t2.other, t2.k) if mode == "reverse" else (node, t2.k))))} | legitimate
        found = _operand_swapped(graph, facts, op_node, k, t, rest, received, same, label, source, legit)
        if found is not None:
            return Diagnosis("wrong-local-derivative", f"in {label} the local derivative "
                             f"{partial} = {formula} is written with {found[1]} in place of {found[0]}.")
        for m in graph.nodes:
            # An operand of the same operation in place of the derivative is the catalogue's product slip.
            if not m.names or m.id in graph.nodes[op_node].inputs:
                continue
            value = facts.value(m.id)
            if value == t.partial or not same(received, rest + t.carried * value):
                continue
            # A line that does not read the carried adjoint (tangent) replaced it, not the local derivative.
            if (source.reads(label, m.name) and source.reads(label, right)
                    and not any(source.reads(label, w) for w in _words(formula))):
                return Diagnosis(
                    "wrong-local-derivative",
                    f"in {label} you used {m.name} where the local derivative "
                    f"{partial} = {formula} belongs.",
                )
    return None


def _value_for_derivative(mode, graph, facts, node, label, received, terms, own, labels, same, source,
                          yours) -> Diagnosis | None:
    """A neighbour's VALUE where its adjoint (tangent) belongs: ``vbar5 = v7`` for ``vbar5 = vbar7``, or
    ``dv7 = dv3 + v5`` for ``dv7 = dv3 + dv5``. Claimed from the line when it can be read (it reads the value's
    name and not the derivative's); from the numbers alone otherwise, and then said as what they show."""
    what = "adjoint" if mode == "reverse" else "tangent"
    for t in terms:
        neighbour = graph.nodes[t.other]
        right = labels.get(t.other)
        if right is None or not neighbour.names or neighbour.op == "const":
            continue
        value = facts.value(t.other)
        if value == t.carried or not same(received, own - t.value + value * t.partial):
            continue
        name = neighbour.name
        reads = source.reads(label, name) if source is not None else None
        if reads is False or (reads and source.reads(label, right)):
            continue
        if mode == "reverse":
            why = f"{graph.nodes[node].name} is used by {name}, so its adjoint comes from {right}"
        else:
            why = f"{graph.nodes[node].name} is computed from {name}, so its tangent comes from {right}"
        if reads:
            words = f"{label} uses the value {name} where its {what} {right} belongs: {why}."
        else:
            words = (f"{label}{yours} is what the chain rule gives with the value {name} in place of its {what} "
                     f"{right}: {why}.")
        return Diagnosis("value-for-derivative", words)
    return None


def _extra_factor(graph, label, received, own, labels, same, source, yours, terms, carried) -> Diagnosis | None:
    """The right derivative times one of the student's variables that does not belong in it (``vbar2 =
    vbar5*(-v1/v2**2)*v4``): claimed only when the line reads that variable (or cannot be read)."""
    if own == 0 or not terms:
        return None
    known = source is not None and source.known
    for m in graph.nodes:
        if not m.names or m.op == "const" or m.value in (0, 1, -1):
            continue
        try:
            value = float(m.value)
        except (TypeError, ValueError):
            continue
        if not same(received, own * value) or (known and not source.reads(label, m.name)):
            continue
        if known:
            also = "".join(
                f" It also reads {labels[o]} where {labels[t.other]} belongs; the two are equal here, so the "
                "number does not show that."
                for t in terms if t.other in labels and source.reads(label, labels[t.other]) is False
                for o in [next((o for o, c in carried.items() if o in labels and o != t.other and c == t.carried
                                and source.reads(label, labels[o])), None)] if o is not None)
            return Diagnosis("extra-factor", f"{label}{yours} is the chain rule's value times {m.name}: your "
                                             f"line multiplies by {m.name}, which is no part of this "
                                             f"derivative.{also}")
        return Diagnosis("extra-factor", f"{label}{yours} equals the chain rule's value times the value of "
                                         f"{m.name}: a factor that is no part of this derivative.")
    return None


def _mentions(source, label: str, name: str) -> int:
    """How many times the last line assigning ``label`` writes ``name`` (``dv0 * v0 + dv0 * v2``: 2)."""
    import re

    found = source.assignments.get(label) if source is not None and source.known else None
    if not found:
        return 0
    text = found[-1].text.split("=", 1)[-1]
    return len(re.findall(rf"(?<![\w.]){re.escape(name)}(?!\w)", text))


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _operand_swapped(graph, facts, op_node, k, t, rest, received, same, label, source, legit):
    """``(right, used)`` when the local derivative, computed with one operand replaced by another variable the
    line reads (and the operand's own name absent from it), explains the number."""
    op = graph.nodes[op_node]
    if op.primitive is None:
        return None
    args = [graph.nodes[i].value for i in op.inputs]
    for j, i in enumerate(op.inputs):
        right = graph.nodes[i].name
        if graph.nodes[i].op == "const":
            continue
        absent = source.reads(label, right) is False
        for m in graph.nodes:
            # The other operand of the same operation is the catalogue's product/quotient slip, not this. With
            # the operand's name elsewhere in the line (another term reads it), only a name no term needs.
            if (not m.names or m.id in op.inputs or not source.reads(label, m.name)
                    or not (absent or m.name not in legit)):
                continue
            swapped = list(args)
            swapped[j] = m.value
            try:
                with _quiet():
                    value = float(op.primitive.partial(k, op.value, swapped))
            except Exception:  # noqa: BLE001 - a partial undefined at the swapped value is no match
                continue
            if math.isfinite(value) and same(received, rest + t.carried * value):
                return right, m.name
    return None


def _words(formula: str) -> list[str]:
    import re

    return [w for w in re.findall(r"[A-Za-z_]\w*", formula) if w not in _FUNCTION_WORDS] or ["\0"]


#: The function names a written-out local derivative may hold (``cosh(v2)``), which are not variables.
_FUNCTION_WORDS = frozenset({*ELEMENTARY, *ELEMENTARY_BINARY, "sign"})


def _overwritten(label: str, replaced) -> Diagnosis:
    earlier, last = replaced
    return Diagnosis(
        "overwritten",
        f"{label} is assigned on line {earlier.line} (`{earlier.text}`) and again with `=` on line {last.line} "
        f"(`{last.text}`), which replaced the first value instead of adding to it. An adjoint adds up the "
        f"contributions of every use: write `{label} += ...` for the second, or one sum.",
    )


def _missing(mode: str, name: str, label: str, uses: list[str], kept: list[str], readable: bool = True
             ) -> Diagnosis:
    """A path (term) left out. From an unreadable line, said as what the number equals, not what the line
    has (another line may give the same number)."""
    if not readable and kept:
        what = "path" if mode == "reverse" else "term"
        rule = ("An adjoint adds up the contributions of every use." if mode == "reverse" else
                "A tangent adds up the terms of every input.")
        verb = "is used by" if mode == "reverse" else "depends on"
        return Diagnosis(
            "missing-path" if mode == "reverse" else "missing-term",
            f"{name} {verb} {and_list(uses)}; your {label} equals the {what}{'s' if len(kept) > 1 else ''} "
            f"through {and_list(kept)} alone. {rule}")
    if mode == "reverse":
        if len(set(uses)) == 1:
            head = f"{name} is used {len(uses)} times by {uses[0]}"
        else:
            head = f"{name} is used by {and_list(uses)}"
        if kept:
            has = f"your {label} only has the path{'s' if len(kept) > 1 else ''} through {and_list(kept)}"
        else:
            has = f"your {label} has none of them"
        return Diagnosis(
            "missing-path",
            f"{head}; {has}. An adjoint adds up the contributions of every use.",
        )
    head = f"{name} depends on {and_list(uses)}"
    if kept:
        has = f"your {label} only has the term{'s' if len(kept) > 1 else ''} through {and_list(kept)}"
    else:
        has = f"your {label} has none of them"
    return Diagnosis(
        "missing-term", f"{head}; {has}. A tangent adds up the terms of every input."
    )


def _forward_rule_slip(
    graph: Graph, facts: GraphFacts, node: int, terms: list[Term], received: float, same
) -> tuple[str, str] | None:
    """Product- and quotient-rule slips that change both terms at once (``RULE_SLIPS``)."""
    n = graph.nodes[node]
    slips = RULE_SLIPS.get(n.op)
    if not slips or len(n.inputs) != 2:
        return None
    a, b = (facts.value(i) for i in n.inputs)
    da, db = terms[0].carried, terms[1].carried
    an, bn = (graph.nodes[i].name for i in n.inputs)
    for value, code, words in slips:
        with _quiet():
            wrong = value(a, b, da, db)
            # A slip whose value is the right one here (both readings fit) says nothing.
            if same(received, wrong) and not same(wrong, sum(t.value for t in terms)):
                return code, words.format(a=an, b=bn)
    return None
