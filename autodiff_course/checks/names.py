"""How students name things: their intermediate variables, adjoints and tangents.

The course writes ``v0 .. v8``, adjoints ``vbar3`` and tangents ``dv3dx0``; students also write ``v3_bar``,
``dv3``, ``v3_dot``. These functions list the names a value may go by, most usual first, so a checker can find
a student's adjoint or tangent among their locals whatever spelling they chose."""

from __future__ import annotations

import re

_NUMBERED = re.compile(r"^([A-Za-z_]*?)(\d+)$")


def adjoint_names(name: str) -> list[str]:
    """Spellings of the adjoint of variable ``name``: ``v3`` -> ``vbar3, v3bar, v3_bar, bar_v3, v3b, gv3``."""
    out = []
    m = _NUMBERED.match(name)
    if m and m.group(1):
        out.append(f"{m.group(1)}bar{m.group(2)}")
        out.append(f"{m.group(1)}_bar{m.group(2)}")
    out += [f"{name}bar", f"{name}_bar", f"bar_{name}", f"{name}_adj", f"adj_{name}", f"g{name}"]
    return out


def adjoint_name(name: str) -> str:
    """The course's spelling of the adjoint of ``name`` (``v3`` -> ``vbar3``, ``y`` -> ``ybar``)."""
    return adjoint_names(name)[0]


def tangent_names(name: str, wrt: list[str]) -> list[str]:
    """Spellings of the tangent of ``name`` with respect to an input known by the names ``wrt``:
    ``dv3dx0``, ``dv3_dx0``, ``d{name}``, ``{name}_dot``, ``{name}dot``, ``dot_{name}``."""
    out = []
    for w in wrt:
        out += [f"d{name}d{w}", f"d{name}_d{w}"]
    out += [f"d{name}", f"{name}_dot", f"{name}dot", f"dot_{name}", f"{name}_tangent"]
    return out


def natural_key(name: str):
    """Sort key that puts ``v2`` before ``v10``."""
    m = _NUMBERED.match(name)
    return (m.group(1), int(m.group(2)), "") if m else (name, -1, name)


def numbered_order(names: list[str]) -> list[int] | None:
    """Indices of ``names`` sorted by their numbers, when every name is one prefix followed by a distinct
    number
    (``v0 .. v8``); None otherwise (then creation order is the student's order)."""
    matches = [_NUMBERED.match(n) for n in names]
    if not names or not all(matches):
        return None
    if len({m.group(1) for m in matches}) != 1 or len({int(m.group(2)) for m in matches}) != len(names):
        return None
    return sorted(range(len(names)), key=lambda i: int(matches[i].group(2)))
