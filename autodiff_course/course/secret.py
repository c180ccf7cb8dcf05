"""The course's secret: mixed into the seed of the random hidden test points, so nobody without it can draw
them again (the assignment and exercise ids the seed also uses are printed in every released test cell).

It is made once, on first use by `grade`, `new-assignment` or `sync-notebooks`, at
`<course>/.autodiff-course/secret` (32 random bytes as hex, the file mode 0600, its folder 0700) and never
leaves the instructor's side: no test cell, job for the sandbox, result, feedback or release holds it, and
nbgrader's `release` copies only `source/<assignment>`. The in-notebook check needs no secret: it runs at the
visible points only. Losing the file draws other random points at the next grading (the submissions are run
again); keep it with the gradebook.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["SECRET_FILE", "course_secret"]

#: Where the secret lives, relative to the course folder.
SECRET_FILE = Path(".autodiff-course") / "secret"


def course_secret(course_dir: str | Path, *, create: bool = False) -> str | None:
    """The secret of the course at `course_dir` (hex text), made first with `create` if there is none;
    None when there is none and `create` is false. Raises OSError naming the file if it cannot be read or
    made, ValueError if it holds no secret."""
    path = Path(course_dir) / SECRET_FILE
    if create and not path.exists():
        path.parent.mkdir(mode=0o700, exist_ok=True)
        ignore = path.parent / ".gitignore"
        if not ignore.exists():  # a course kept in git never commits its secret
            ignore.write_text("*\n", encoding="ascii")
        try:
            # O_EXCL: two commands started at once keep the first one's secret.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    if len(text) < 32 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"{path}: not a course secret (delete it to make a new one: the random hidden test "
                         "points change)")
    return text
