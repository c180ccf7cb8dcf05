"""Formulas as words, for the stepper's live region: what a screen reader says at each step.

A screen reader reads ``-sin(v0)*dv0`` as "dash sin left paren v0 ..." or skips the signs altogether; the
live region instead says "minus sin of v0 times dv0". The written forms come from the primitives' text
(``Primitive.describe`` / ``partial_words``) and the stepper's own lines, so this only has to know the few
symbols they use: ``+ - * / ^ ( )``, function calls, ``ᵀ`` and ``if ... else``.
"""

from __future__ import annotations

import re

__all__ = ["spoken"]

_CALL = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\(")
# A bracket around one name or number says nothing aloud: "sin of (v0)" -> "sin of v0".
_LONE = re.compile(r"\(\s*(-?[A-Za-z_0-9.]+)\s*\)")
_POWER = re.compile(r"\^(?:\(([^()]*)\)|([A-Za-z_0-9.]+))")


def _power(m: re.Match) -> str:
    exponent = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
    if exponent == "2":
        return " squared"
    return f" to the power {exponent}" if m.group(2) is not None else f" to the power ({exponent})"


def spoken(expr: str) -> str:
    """`expr` (a formula as the stepper writes it) in words: ``"-sin(v0)"`` -> ``"minus sin of v0"``,
    ``"1/(2*sqrt(v0))"`` -> ``"1 over (2 times sqrt of v0)"``, ``"v2^2"`` -> ``"v2 squared"``.

    Names and numbers are kept as they are written (a screen reader says "v0" and "0.69" well).
    """
    s = re.sub(r"\s*\*\*\s*", "^", expr.strip())
    s = _CALL.sub(r"\1 of (", s)
    s = _POWER.sub(_power, s)
    s = s.replace("\u1d40", " transposed").replace(" > ", " greater than ").replace(" < ", " less than ")
    for _ in range(4):  # nested lone brackets, innermost first
        s = _LONE.sub(r"\1", s)
    s = re.sub(r"\s*\*\s*", " times ", s)
    s = re.sub(r"\s*/\s*", " over ", s)
    s = re.sub(r"\s+\+\s+", " plus ", s)
    s = re.sub(r"\s+-\s+", " minus ", s)
    # A sign in front of a term: at the start, after a bracket or an operator word.
    s = re.sub(r"(^|[(\s])-\s*", r"\1minus ", s)
    s = re.sub(r"\s+", " ", s)
    return s.replace("( ", "(").replace(" )", ")").strip()
