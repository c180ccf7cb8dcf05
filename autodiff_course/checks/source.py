"""What the student's own code says, read on the trusted side from its text (parsed, never run).

``collect`` sends the source text of the student's function; ``SourceFacts`` lists, for every name the
function assigns, where and how (``=`` or ``+=``) and which names each assignment reads. Diagnoses use it to
claim only what a line shows: a neighbour is "used where another belongs" only if the line reads it, and a
missing path whose term was written and then replaced by a later ``=`` is said to be overwritten.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import partial

from ..graph import held

#: The longest source text judged (a hand-written answer is a few hundred lines at most).
MAX_SOURCE_CHARS = 50_000


@dataclass(frozen=True)
class Assignment:
    line: int
    augmented: bool  # ``+=`` / ``-=``
    reads: frozenset[str]
    text: str


@dataclass
class SourceFacts:
    """Assignments by target name (in the order of the lines), and every name the code mentions."""

    assignments: dict[str, list[Assignment]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)
    known: bool = False
    #: The names each returned value reads, by position, in the function's last ``return`` of several values
    #: (``return v8, 0.0`` -> [{"v8"}, {}]); None when there is no such line.
    returns: list[frozenset[str]] | None = None
    #: The text of that return line and, by position, the literal number written there (None elsewhere).
    return_text: str = ""
    return_literals: list[float | None] = field(default_factory=list)
    #: The function's text (dedented) and what to add to a line of it to get the traced lines' numbering, for
    #: a reader that needs more of the code than these facts (``propagation``: which statement a line is in).
    text: str = ""
    offset: int = 0

    def reads(self, target: str, name: str) -> bool | None:
        """Whether the last assignment of ``target`` reads ``name`` (None when the source is unknown)."""
        if not self.known or target not in self.assignments:
            return None
        return name in self.assignments[target][-1].reads

    def overwritten(self, target: str) -> tuple[Assignment, Assignment] | None:
        """``(earlier, last)`` when ``target`` was assigned with ``=`` after an earlier assignment of it that
        the last one does not read (the earlier value was thrown away, not accumulated)."""
        found = self.assignments.get(target) or []
        if len(found) < 2 or found[-1].augmented or target in found[-1].reads:
            return None
        return found[-2], found[-1]

    def wrote(self, name: str) -> bool:
        return not self.known or name in self.names


def source_facts(raw_source) -> SourceFacts:
    """The facts of ``{"text": ..., "first_line": n}`` as collected; empty (``known`` False) for anything
    else, or text that does not parse."""
    if not isinstance(raw_source, dict) or not isinstance(raw_source.get("text"), str):
        return SourceFacts()
    text = raw_source["text"][:MAX_SOURCE_CHARS]
    first = raw_source.get("first_line")
    offset = first - 1 if isinstance(first, int) and not isinstance(first, bool) else 0
    try:
        tree = ast.parse(_dedent(text))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return SourceFacts()
    facts = SourceFacts(known=True, text=_dedent(text), offset=offset)
    lines = text.splitlines()
    try:
        nodes = list(ast.walk(tree))
    except RecursionError:
        return SourceFacts()
    _return_line = [0]
    # A dict's string keys are quoted as its text quotes them (``adj["v3"]``), as the tracer names them.
    name_of = partial(_name_in, quote=partial(held.quote, text))
    reads_of = partial(_reads_in, name=name_of)
    for node in nodes:
        name = name_of(node)
        if name is not None:
            facts.names.add(name)
        elif isinstance(node, ast.arg):
            facts.names.add(node.arg)
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            reads = reads_of(node.value)
            line = node.lineno
            src = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            for t in targets:
                target = name_of(t)
                if target is not None:
                    facts.assignments.setdefault(target, []).append(
                        Assignment(line + offset, isinstance(node, ast.AugAssign), reads, src))
        if isinstance(node, ast.Return) and isinstance(node.value, (ast.Tuple, ast.List)) and (
                facts.returns is None or node.lineno >= _return_line[0]):
            _return_line[0] = node.lineno
            facts.return_text = lines[node.lineno - 1].strip() if 0 < node.lineno <= len(lines) else ""
            if any(isinstance(e, ast.Starred) for e in node.value.elts):
                # ``return (v8, *vbar)``: which value is where is not written on the line.
                facts.returns, facts.return_literals = None, []
                continue
            facts.returns = [reads_of(e) for e in node.value.elts]
            facts.return_literals = [_literal(e) for e in node.value.elts]
    for found in facts.assignments.values():
        found.sort(key=lambda a: a.line)
    return facts


def _name_in(node, quote) -> str | None:
    """The name a target or a read stands for, as the checkers name it: a variable (``vbar4``), an item of a
    list, an array or a dict at a whole number written on the line (``vbar[4]``), a dict's entry under a
    string written there (``adj['v3']``, quoted by ``quote(dict's name)``), or an attribute of a variable
    (``s.v3``); None for anything else (see ``graph.held``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and held.short_name(node.attr):
        return f"{node.value.id}.{node.attr}"
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and isinstance(node.slice, ast.Constant):
        key = node.slice.value
        if type(key) is int and key >= 0:
            return f"{node.value.id}[{key}]"
        if type(key) is str and held.short_name(key):
            q = quote(node.value.id)
            return f"{node.value.id}[{q}{key}{q}]"
    return None


def _reads_in(expression, name) -> frozenset[str]:
    """Every name ``expression`` reads: its variables, and the items, entries and attributes it reads by a
    written index, key or name (both ``vbar`` and ``vbar[4]`` of ``vbar[4]``, ``s`` and ``s.v3`` of
    ``s.v3``)."""
    return frozenset(found for n in ast.walk(expression) if (found := name(n)) is not None)


def _literal(e) -> float | None:
    """The number an expression writes literally (``0.0``, ``-2.5``), else None."""
    sign = 1.0
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(e.op, ast.USub) else 1.0
        e = e.operand
    if isinstance(e, ast.Constant) and isinstance(e.value, (int, float)) and not isinstance(e.value, bool):
        return sign * float(e.value)
    return None


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text)
