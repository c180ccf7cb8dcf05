"""The grader's results store: one JSON file per student and assignment under `OUT/.results/`.

Each result is committed as soon as its notebook is graded, written to a temporary file in the same folder
and `os.replace`d into place, so a run killed at any moment leaves every result either whole or absent.
Everything the grader publishes (grades.csv, feedback, report, gradebook) is rebuilt from this store, which
is what makes a restarted run grade only what is missing and a repeated run change nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Iterator

__all__ = ["RESULT_FORMAT", "ResultStore", "atomic_write_bytes", "atomic_write_text", "fingerprint",
           "spreadsheet_row"]

RESULT_FORMAT = "autodiff-course.result/1"


def atomic_write_bytes(path: str | Path, data: bytes, *, dir_fd: int | None = None) -> None:
    """Write `data` to `path` so that readers (and a later run after a crash) see the old file or the new
    one, never a part: temp file in the same folder, fsync, os.replace.

    With `dir_fd`, `path` is a name in that open folder, and the file is replaced there whatever has since
    been put under the folder's path: a rewrite that opened each folder with O_NOFOLLOW writes nowhere a
    symbolic link points (os.replace renames over a link at `path`, it never writes through one)."""
    path = Path(path)
    if dir_fd is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return atomic_write_bytes(path.name, data, dir_fd=folder)
        finally:
            os.close(folder)
    # The name `clean_partial_writes` removes after a crash; O_EXCL and O_NOFOLLOW: never an existing file.
    tmp = f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | Path, text: str, *, dir_fd: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), dir_fd=dir_fd)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def spreadsheet_row(row) -> list:
    """``row`` for a CSV an instructor opens in a spreadsheet: a text cell that a spreadsheet would read as a
    formula (``=HYPERLINK(...)``, ``+``, ``-``, ``@`` first, from a student's folder name) starts with ``'``.
    Numbers, negative ones included, are left as they are."""
    return ["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(v)
            else v for v in row]


def fingerprint(*parts: bytes | str) -> str:
    """A sha256 over the parts, each length-prefixed so that ("ab", "c") and ("a", "bc") differ."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


class ResultStore:
    """Results of one output folder, keyed by (student, assignment)."""

    def __init__(self, out_dir: str | Path):
        self.root = Path(out_dir) / ".results"

    def path(self, student: str, assignment: str) -> Path:
        return self.root / student / f"{assignment}.json"

    def clean_partial_writes(self) -> int:
        """Remove temp files a killed run left behind; returns how many."""
        removed = 0
        if self.root.is_dir():
            for tmp in self.root.rglob(".*.tmp"):
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

    def get(self, student: str, assignment: str) -> dict | None:
        """The stored result, or None if absent, unreadable or of another format (then it is regraded)."""
        try:
            data = json.loads(self.path(student, assignment).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) and data.get("format") == RESULT_FORMAT else None

    def is_current(self, student: str, assignment: str, fingerprint_: str) -> bool:
        """True if a result for exactly this input (same submission files, same config) is stored."""
        stored = self.get(student, assignment)
        return stored is not None and stored.get("fingerprint") == fingerprint_

    def put(self, result: dict) -> Path:
        """Commit one result atomically; it must carry student, assignment and fingerprint."""
        for key in ("student", "assignment", "fingerprint"):
            if key not in result:
                raise ValueError(f"result to store lacks {key!r}")
        result = {"format": RESULT_FORMAT, **result}
        path = self.path(result["student"], result["assignment"])
        # No indentation: json's C encoder serves only unindented output, and a result holds the raw run
        # (every output of every cell), which the pure-Python encoder took ~40 ms a notebook to write.
        atomic_write_text(path, json.dumps(result, sort_keys=True, allow_nan=False) + "\n")
        return path

    def __iter__(self) -> Iterator[dict]:
        """Every stored result, sorted by (student, assignment)."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*/*.json")):
            data = self.get(path.parent.name, path.stem)
            if data is not None:
                yield data

    def all(self) -> list[dict]:
        return list(self)
