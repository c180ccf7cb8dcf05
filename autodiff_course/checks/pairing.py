"""Which of the student's locals is the derivative of which variable, where its name does not say.

The course's spellings (``dv3dx0``, ``vbar3`` and the others of ``notation``) name the variable they belong
to. Students also write ``t3``, ``d3``, ``a3``, ``g3``, ``adj3`` (a numbered family of their own beside
``v0 .. v8``), or a derivative under any name in the return line of a reverse answer. These are paired to
the student's variables by what the student wrote, never by a name made up for them:

- by position: the name written alone at a place of the return line (``return y, a0, a1, a2``) is the
  derivative returned there;
- by number: a family of locals numbered like the variables (``t0 .. t7`` beside ``v0 .. v7``) is taken for
  their derivatives only when its values follow the chain rule from one another at most steps (a family of
  local partials, ``p4 = -sin(v0)``, does not), so a single wrong step is still named by the student's name.

A derivative returned that no variable holds is called by its place in the return line (``ordinal``).
"""

from __future__ import annotations

from collections.abc import Callable

from ..notation import numbered
from .judge import PointData, finite
from .numbers import close


def ordinal(k: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ... ``11th``, ``12th``, ``13th``, ``21st``."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def returned_place(position: int) -> str:
    """How a returned value no variable of the student holds is called: "the 4th value you return" (its place
    counted from 1, y being the 1st)."""
    return f"the {ordinal(position + 1)} value you return"


def _value_names(graph) -> set[str]:
    return {name for n in graph.nodes for name in (n.name, *n.names)}


def returned_names(p: PointData, source, graph, nodes: list[int], start: int = 1) -> dict[int, tuple[str, object]]:
    """``{node: (name, value)}`` for the nodes whose derivative is returned at place ``start + i`` of the
    return line (``nodes[i]``) by a name written alone there that is a local of the student's and no value of
    the forward pass (``return y, a0, a1, 2 * v1``: ``a0`` and ``a1``; ``2 * v1`` names none). Its value is
    the local's, or the value returned there when the local is not a number (then it is not recorded)."""
    if source is None or not getattr(source, "known", False) or source.returns is None:
        return {}
    if len(source.returns) != start + len(nodes):
        return {}
    values = _value_names(graph)
    found = {}
    for i, n in enumerate(nodes):
        reads = _alone(source.returns[start + i])
        if len(reads) != 1:
            continue
        (name,) = reads
        if name in values:
            continue
        returned = p.returned[start + i] if p.returned and len(p.returned) > start + i else None
        found[n] = (name, p.locals.get(name, returned))
    return found


def _alone(reads: frozenset[str]) -> set[str]:
    """The names an expression reads, without the holders of the others (``g.dc`` reads ``g`` and ``g.dc``,
    ``vbar[4]`` reads ``vbar`` and ``vbar[4]``): ``g.dc`` written alone is one name."""
    return {r for r in reads if not any(o != r and o.startswith((f"{r}.", f"{r}[")) for o in reads)}


def numbered_families(p: PointData, graph, nodes: list[int]) -> list[dict[int, str]]:
    """Candidate pairings ``{node: local}`` of a family of numbered locals with the numbered variables among
    ``nodes`` (``t3`` with ``v3``), the families that cover most first. A family's prefix is none of the
    variables' (``v``, ``x``), and its members hold numbers."""
    numbers: dict[int, int] = {}
    taken_prefixes: set[str] = set()
    for n in graph.nodes:
        for name in (n.name, *n.names):
            found = numbered(name)
            if found is not None:
                taken_prefixes.add(found[0])
                if n.id in nodes and not found[2]:
                    numbers.setdefault(n.id, found[1])
    values = _value_names(graph)
    families: dict[str, dict[int, str]] = {}
    for key, value in p.locals.items():
        found = numbered(key)
        if found is None or found[2] or not found[0] or found[0] in taken_prefixes or key in values:
            continue
        if not finite(value):
            continue
        families.setdefault(found[0], {})[found[1]] = key
    pairings = []
    for family in families.values():
        pairing = {n: family[k] for n, k in numbers.items() if k in family}
        if len(pairing) >= 2:
            pairings.append(pairing)
    pairings.sort(key=len, reverse=True)
    return pairings


def paired_by_number(p: PointData, graph, nodes: list[int], known: dict[int, object],
                     chain: Callable[[dict], dict[int, float]], scale, rtol: float, atol: float
                     ) -> dict[int, tuple[str, object]]:
    """The first family of ``numbered_families`` for ``nodes`` whose values follow the chain rule from one
    another (``chain(received)``: each node's derivative by the chain rule on the ``received`` ones, beside
    the student's derivatives already ``known``) at more than half of its members, as ``{node: (name,
    value)}``; {} for none."""
    for pairing in numbered_families(p, graph, nodes):
        values = {n: p.locals[k] for n, k in pairing.items()}
        own = chain({**known, **values})
        if 2 * sum(1 for n, x in values.items() if close(x, own[n], scale[n], rtol, atol)) > len(values):
            return {n: (k, p.locals[k]) for n, k in pairing.items()}
    return {}
