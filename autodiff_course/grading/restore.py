"""Put the instructor's locked cells (the test cells) back into a submission before grading (trusted side).

Pure functions over nbformat notebooks; nothing here executes code. nbgrader's rule decides what is locked
(``nbgrader.utils.is_locked``): a grade cell that is not a solution cell (``grade: true, solution: false``),
or any non-solution cell marked ``locked: true``. Such cells of the source notebook replace the submission's
cell with the same ``grade_id``; a missing one is inserted where it stood in the source. Student answer cells
(solution cells, autograded answers) and ordinary cells are kept as submitted.
"""

from __future__ import annotations

import copy

import nbformat
from nbgrader.utils import compute_checksum

__all__ = ["restore_test_cells", "is_locked_cell"]


def _nbgrader(cell) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


def is_locked_cell(cell) -> bool:
    """nbgrader's rule: solution cells are never locked; grade cells always are; others if ``locked``."""
    meta = _nbgrader(cell)
    if not meta or meta.get("solution", False):
        return False
    return bool(meta.get("grade", False) or meta.get("locked", False))


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _points(cell):
    try:
        return float(_nbgrader(cell).get("points", 0) or 0)
    except (TypeError, ValueError):
        return _nbgrader(cell).get("points")


def _checksum(cell) -> str | None:
    cell = copy.deepcopy(cell)
    cell["source"] = _source(cell)
    try:
        return compute_checksum(nbformat.from_dict(cell))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _tamper_reason(src_cell, sub_cell) -> str | None:
    reasons = []
    if _source(sub_cell) != _source(src_cell):
        reasons.append("its source was changed")
    if sub_cell.get("cell_type") != src_cell.get("cell_type"):
        reasons.append(f"its type was changed to {sub_cell.get('cell_type')!r}")
    if _nbgrader(src_cell).get("grade") and _points(sub_cell) != _points(src_cell):
        reasons.append(f"its points were changed from {_points(src_cell):g} to {_points(sub_cell)}")
    for flag in ("grade", "solution", "locked"):
        if bool(_nbgrader(sub_cell).get(flag, False)) != bool(_nbgrader(src_cell).get(flag, False)):
            reasons.append(f"its nbgrader flag {flag!r} was changed")
    if not reasons and _checksum(sub_cell) != _checksum(src_cell):
        reasons.append("its nbgrader checksum differs")
    return "; ".join(reasons) or None


def restore_test_cells(source_nb, submitted_nb):
    """Return ``(restored_nb, tampered)``; neither input is modified.

    `restored_nb` is the submission with every locked cell of `source_nb` restored from the source (matched by
    ``grade_id``; a code cell keeps the outputs it had in the submission). `tampered` maps each such
    ``grade_id`` that was not intact to a reason: source, type, points or nbgrader flags changed; deleted (or
    its ``grade_id`` changed), in which case the source cell is inserted at its source position; or
    duplicated, in which case the copies lose their nbgrader metadata so only one cell carries the id.
    Raises ValueError when a locked source cell has no ``grade_id``.
    """
    source = nbformat.from_dict(copy.deepcopy(dict(source_nb)))
    restored = nbformat.from_dict(copy.deepcopy(dict(submitted_nb)))
    tampered: dict[str, str] = {}

    locked = []
    for pos, cell in enumerate(source.cells):
        if is_locked_cell(cell):
            gid = _nbgrader(cell).get("grade_id")
            if not gid:
                raise ValueError(f"source notebook cell {pos} is locked but has no nbgrader grade_id")
            locked.append((pos, gid, cell))
    locked_ids = {gid for _, gid, _ in locked}

    # One submitted cell stands for each locked grade_id (an intact copy if there is one, else the first);
    # other cells claiming it become plain cells.
    src_by_id = {gid: cell for _, gid, cell in locked}
    claims: dict[str, list[int]] = {}
    for i, cell in enumerate(restored.cells):
        gid = _nbgrader(cell).get("grade_id")
        if gid in locked_ids:
            claims.setdefault(gid, []).append(i)
    first: dict[str, int] = {}
    for gid, idxs in claims.items():
        intact = [i for i in idxs if _source(restored.cells[i]) == _source(src_by_id[gid])]
        first[gid] = (intact or idxs)[0]
        if len(idxs) > 1:
            tampered[gid] = "it was duplicated"
            for i in idxs:
                if i != first[gid]:
                    restored.cells[i].metadata.pop("nbgrader", None)

    for src_pos, gid, src_cell in locked:
        new_cell = copy.deepcopy(src_cell)
        if gid in first:
            i = first[gid]
            sub_cell = restored.cells[i]
            reason = _tamper_reason(src_cell, sub_cell)
            if reason:
                tampered[gid] = reason if gid not in tampered else f"{tampered[gid]}; {reason}"
            if new_cell.cell_type == "code" and sub_cell.get("cell_type") == "code":
                new_cell["outputs"] = copy.deepcopy(sub_cell.get("outputs", []))
                new_cell["execution_count"] = sub_cell.get("execution_count")
            restored.cells[i] = new_cell
        else:
            tampered[gid] = "it was deleted or its grade_id was changed"
            at = _insert_position(source, restored, src_pos)
            restored.cells.insert(at, new_cell)
            first = {g: (j + 1 if j >= at else j) for g, j in first.items()}
            first[gid] = at
    return restored, tampered


def _insert_position(source, restored, src_pos: int) -> int:
    """Just after the restored cell that matches the nearest source cell before `src_pos` (by grade_id or
    by identical source), else at `src_pos` (clamped)."""
    for k in range(src_pos - 1, -1, -1):
        prev = source.cells[k]
        gid = _nbgrader(prev).get("grade_id")
        for j, cell in enumerate(restored.cells):
            if (gid and _nbgrader(cell).get("grade_id") == gid) or (not gid and _source(cell) == _source(prev)
                                                                   and cell.cell_type == prev.cell_type):
                return j + 1
    return min(src_pos, len(restored.cells))
