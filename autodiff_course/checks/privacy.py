"""No detail of the grader's machine in what a student reads: no absolute path of the grader (its course
folder, this package, the Python installation, its home or temporary folders), no traceback frame of the
grader's own code, no host name. Paths inside the student's own submission read relative to it.

The student's own words (their source lines, the paths their code opened) are theirs and stay as written.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

#: The sandbox runs a submission in ``<temp>/job-<id>/work``: that folder is the student's submission.
_JOB_WORK = re.compile(r"/[^\s'\"`:]*?/job-[^/\s'\"`:]+/work(?=/|\b)")
# A path ends at a space, a quote, a separator or markup (the text may be an HTML page).
_PATH_TAIL = r"(?:/[^\s'\"`:,()<>&]*)*"
#: What a folder of the grader itself (not a file below it) reads as.
FOLDER = "(grader folder)"

_registered: set[str] = set()


def register_host_paths(*paths) -> None:
    """Also keep these folders of the grader (a batch's course, submissions, output and gradebook folders, the
    workers' extra ``python_path``) out of student-facing text."""
    new = {str(Path(p).resolve()) for p in paths if p} - _registered
    if new:
        _registered.update(new)
        _host_roots.cache_clear()
        _host_pattern.cache_clear()


@lru_cache(maxsize=1)
def _host_roots() -> tuple[str, ...]:
    roots = {Path(__file__).resolve().parents[2], Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
             Path(tempfile.gettempdir()).resolve(), *map(Path, _registered)}
    for where in (Path.home, Path.cwd):
        try:
            roots.add(where().resolve())
        except (OSError, RuntimeError):  # no home folder, or a working folder that was removed
            pass
    for path in list(roots):
        roots.add(Path(os.path.realpath(path)))
    # The folders holding them name the grader's machine too (a checkout holding the venv, the home of a
    # Python installation): an outside review read the checkout's folder in a graded notebook.
    roots |= {parent for path in roots for parent in path.parents}
    # Longest first, so a root inside another is cut at the deeper one; "/" alone would match everything.
    return tuple(sorted({str(r) for r in roots if str(r) not in ("/", "")}, key=len, reverse=True))


@lru_cache(maxsize=1)
def _host_pattern() -> re.Pattern:
    roots = "|".join(re.escape(r) for r in _host_roots())
    # A root ends where its name ends: /tmp is a root, /tmpfiles is not.
    return re.compile(rf"(?:{roots})(?![\w.-]){_PATH_TAIL}")


def _basename(match: re.Match) -> str:
    text = match.group(0).rstrip("/")
    if text in _host_roots():
        return FOLDER
    return text.rsplit("/", 1)[-1] or "."


def for_students(text: str) -> str:
    """``text`` with the grader's paths cut to their last part (a file in the submission keeps its name), a
    folder of the grader itself (the course, the Python installation, a temporary folder) as `FOLDER`, the
    sandbox's working folder as ``.``, and the host's name removed. Safe on HTML (a path ends at markup)."""
    if not text:
        return text
    text = _JOB_WORK.sub(".", text)
    text = _host_pattern().sub(_basename, text)
    host = socket.gethostname()
    if len(host) >= 4:
        text = re.sub(rf"\b{re.escape(host)}\b", "(the grader)", text)
    return text


#: A frame of this package's code wherever it is installed: the host's folder, or the neutral folder the
#: bubblewrap sandbox shows it at (grading/sandbox.py), which this layer does not know by name.
_PACKAGE_FILE = re.compile(r"/autodiff_course/(?:[\w.-]+/)*[\w.-]+\.py\b")


def _grader_frame(line: str) -> bool:
    package = str(Path(__file__).resolve().parents[1])
    return line.lstrip().startswith("File ") and (package in line or _PACKAGE_FILE.search(line) is not None)


def traceback_for_students(lines: list[str]) -> list[str]:
    """Traceback lines without the frames of the grader's own code (a frame is its ``File ...`` line and the
    indented source lines under it), every other line through ``for_students``."""
    out, skipping = [], False
    for line in lines:
        if _grader_frame(line):
            skipping = True
            continue
        if skipping and line.startswith("    "):
            continue
        skipping = False
        out.append(for_students(line))
    return out


# -- the student's own text, bounded ------------------------------------------------------------------------
# A student's code runs at the hidden test points before later answers are collected, so any text an answer
# carries (a made-up variable name, a string, a class name) can spell out what it saw there. Feedback repeats
# such text only when it is a name the checker knows, or a short identifier-like token; otherwise it says what
# kind of thing was there, never the text.

#: A token feedback may repeat: an identifier of at most 32 characters with at most 3 digits, the shape of
#: a name such as `MulBackward0` or `Conv2D`, not of a record of numbers (`p1_1000d300000`).
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_TOKEN_DIGITS = 3


def plausible_token(text) -> bool:
    """Whether ``text`` (from a student's answer) is a short identifier-like token feedback may repeat."""
    return (isinstance(text, str) and _TOKEN.fullmatch(text) is not None
            and sum(c.isdigit() for c in text) <= _TOKEN_DIGITS)


def token_or(text, placeholder: str) -> str:
    """``text`` if it is a `plausible_token`, else ``placeholder`` (the student's text is not repeated)."""
    return text if plausible_token(text) else placeholder


def known_names(names, known) -> tuple[list[str], int]:
    """(the ``names`` that are in ``known``, in order, each once; how many of the others there were)."""
    shown, others = [], 0
    for name in names:
        if name in known:
            if name not in shown:
                shown.append(name)
        else:
            others += 1
    return shown, others


def not_variables(count: int) -> str:
    """'1 name that is not a variable of your function' (no name repeated: see `known_names`)."""
    return f"{count} name{'s' if count != 1 else ''} that {'is' if count == 1 else 'are'} not " \
           f"{'a variable' if count == 1 else 'variables'} of your function"
