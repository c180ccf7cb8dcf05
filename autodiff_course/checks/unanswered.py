"""Unanswered: an answer still the stub the released notebook holds, told apart from a wrong answer or an
error. nbgrader releases an answer as ``raise NotImplementedError()`` (inside a function, or in place of the
cell's code, which then defines nothing); an answer may also be left as ``None``. Such an exercise reads
"not answered yet", scores 0 and has the status ``unanswered`` for every kind.
"""

from __future__ import annotations

import re
from typing import Any

from ..notation import and_list, note

STUB_ERROR = "NotImplementedError"


def stub_cell_result(spec: dict):
    """The unanswered result of an exercise whose answer cell still raises NotImplementedError as released
    (the batch grader sees the cell's own error; inside a notebook only the variables it left undefined)."""
    return _result(spec, note("unanswered-cell"))


def answer_error_result(spec: dict, error: str):
    """The result of an exercise whose answer cell was written but stopped with ``error`` (``"Type: text"``)
    before defining what the check reads: an error of the student's answer, not an unanswered stub."""
    from .judge import make_result
    from .privacy import for_students

    message = note("answer-cell-error", error=for_students(error))
    return make_result(spec, status="error", rows=[], messages=[message], mistakes=["exception"])


def _result(spec: dict, message: str):
    from .judge import make_result

    return make_result(spec, status="unanswered", rows=[], messages=[message], mistakes=["unanswered"])


def _is_none(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "NoneType"


def unanswered_function(spec: dict, points) -> Any:
    """The unanswered result when the student's function raised NotImplementedError, or returned None, at
    every point (``points``: the loaded PointData); None when it is an answer."""
    if not points:
        return None
    stub = all(p.error is not None and p.error.get("type") == STUB_ERROR for p in points) or all(
        p.error is None and p.returned is not None and len(p.returned) == 1 and _is_none(p.returned[0])
        for p in points)
    if not stub:
        return None
    return _result(spec, note("unanswered", what=f"`{spec.get('function') or 'your function'}`"))


def unanswered_parents(spec: dict, parents: Any) -> Any:
    """The unanswered result when the graph exercise's dict is not defined or is None (collect records both as
    missing)."""
    if isinstance(parents, dict) and parents.get("missing"):
        return _result(spec, note("unanswered-variables", what=f"`{spec.get('variable')}`", verb="is"))
    return None


def unanswered_variables(spec: dict, snapshots: dict, rows: list[dict], missing_type: type) -> Any:
    """The unanswered result when every expectation failed and each reads a variable that is not defined or
    is None (``snapshots``: name -> restored value, ``missing_type`` marking one not defined)."""
    if not rows or any(r.get("ok") for r in rows):
        return None
    empty = {name for name, value in snapshots.items() if value is None or isinstance(value, missing_type)}
    read = []
    for e in spec.get("expect") or []:
        names = [n for n in snapshots if re.search(rf"\b{re.escape(n)}\b", str(e.get("check")))]
        stubbed = [n for n in names if n in empty]
        if not stubbed:
            return None
        read += stubbed
    many = len(set(read)) > 1
    return _result(spec, note("unanswered-variables", what=and_list([f"`{n}`" for n in read]),
                              verb="are" if many else "is"))
