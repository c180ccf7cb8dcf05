"""Reading student submissions defensively and writing graded notebooks.

A class hands in anything: folders without the notebook, a notebook under another name, a file that is not
JSON, an nbformat 3 notebook, an empty notebook, stray files. `find_submissions` and `read_submission` turn
each of those into a readable problem line naming the file, so one bad submission never stops the batch.
"""
from __future__ import annotations

import copy
import json
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autodiff_course.grading.sanitize import clean_attachments, clean_markdown, clean_markup, clean_output
from autodiff_course.grading.store import atomic_write_text
from autodiff_course.grading.wire import clean_data

__all__ = [
    "DATA_SUFFIXES",
    "MAX_DATA_FILE_BYTES",
    "Submission",
    "SubmissionError",
    "find_submissions",
    "graded_notebook",
    "read_submission",
    "read_untrusted",
    "repair_cell_ids",
    "rewrite_feedback_outputs",
    "safe_folder_name",
    "set_feedback_outputs",
    "UntrustedFileError",
]

#: Extra files in a submission folder reach the sandbox only if they are small data files of these kinds.
DATA_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".json", ".npy", ".npz", ".dat"})
MAX_DATA_FILE_BYTES = 1_000_000
#: A notebook larger than this is refused unread (status error).
MAX_NOTEBOOK_BYTES = 50_000_000
#: All data files of one submission together (beyond it the submission is refused, naming the folder).
MAX_DATA_FILES = 100
MAX_DATA_TOTAL_BYTES = 20_000_000

#: Files nbgrader's exchange writes beside a hand-in; read by the grader (late work, feedback), never data.
NBGRADER_FILES = frozenset({"timestamp.txt", "submission_secret.txt"})


class SubmissionError(ValueError):
    """A submission that cannot be graded; the message names the file and what is wrong with it."""


@dataclass
class Submission:
    """One student's folder for one assignment (it may lack the notebook: `notebook_path` is None)."""

    student: str
    assignment: str
    folder: Path
    expected_notebook: str
    notebook_path: Path | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: The notebook's bytes as read once (O_NOFOLLOW, a plain file): all that is ever parsed or hashed.
    notebook_bytes: bytes | None = None
    #: Why this submission is not graded at all (a link, FIFO, device or badly named folder), naming it.
    refused: str | None = None
    #: What only the instructor may read about `refused` (another student's file a hard link shares).
    refused_detail: str | None = None

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"

    @property
    def notebook_name(self) -> str:
        """The name the graded notebook is published under: always the instructor's name."""
        return self.expected_notebook


class UntrustedFileError(OSError):
    """A file of a submission that is refused before it is read: the message names it and says why."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "symbolic link"),
                       (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


def _lstat(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _open_dir(dir_fd: int | None, path: str | Path) -> int:
    """A file descriptor of the real folder `path` (relative to `dir_fd`); refuses a symbolic link."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(path, flags, dir_fd=dir_fd) if dir_fd is not None else os.open(path, flags)


#: How long reading one file of a submission may take before it is refused.
READ_SECONDS = 20.0


def read_untrusted(dir_fd: int | None, name: str | Path, max_bytes: int, shown: str | Path | None = None,
                   links: dict[tuple[int, int], int] | None = None, *, seconds: float = READ_SECONDS) -> bytes:
    """The bytes of `name` (relative to `dir_fd`, or a path), read as untrusted data.

    First opened with O_PATH and O_NOFOLLOW, which opens nothing (no device driver's open, no FIFO's, not
    the target of a symbolic link), and checked on that descriptor: it must be a regular file of at most
    `max_bytes` with a single name (a hard link could reach a file outside the submission), or with no more
    names than `links` allows for its (device, inode): the names of it found inside the same submission.
    Only then is that same file opened for reading (through ``/proc/self/fd``, so nothing can be swapped in
    between; O_NONBLOCK and O_NOCTTY besides) and checked again. The whole read has a deadline of `seconds`
    (a file on a stalled filesystem, say a FUSE mount, would block it for ever): past it the file is
    refused, and the thread left blocked in it is abandoned. Raises UntrustedFileError naming `shown`
    (default `name`)."""
    shown = shown if shown is not None else name
    box: list = []

    def read() -> None:
        try:
            box.append(_read_untrusted(dir_fd, name, max_bytes, shown, links))
        except BaseException as exc:  # handed to the caller below
            box.append(exc)

    reader = threading.Thread(target=read, name="read-untrusted", daemon=True)
    reader.start()
    reader.join(seconds)
    if not box:
        raise UntrustedFileError(f"{shown}: not read within {seconds:g} s (a stalled filesystem?); refused")
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def _read_untrusted(dir_fd, name, max_bytes, shown, links) -> bytes:
    try:
        path_fd = _open_untrusted(dir_fd, name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise UntrustedFileError(f"{shown}: cannot be read ({exc.strerror})") from None
    try:
        st = os.fstat(path_fd)
        _check_plain(st, shown, max_bytes, links)
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
        try:
            try:
                fd = os.open(f"/proc/self/fd/{path_fd}", flags)
            except FileNotFoundError:  # no /proc: by name; a file swapped in meanwhile is caught below
                fd = _open_untrusted(dir_fd, name, flags | os.O_NOFOLLOW)
        except OSError as exc:
            raise UntrustedFileError(f"{shown}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(path_fd)
    try:
        again = os.fstat(fd)
        if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):
            raise UntrustedFileError(f"{shown}: changed while it was opened; refused")
        _check_plain(again, shown, max_bytes, links)
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise UntrustedFileError(f"{shown}: over the limit of {max_bytes} bytes")
        return data
    finally:
        os.close(fd)


def _open_untrusted(dir_fd: int | None, name: str | Path, flags: int) -> int:
    return os.open(name, flags, dir_fd=dir_fd) if dir_fd is not None else os.open(name, flags)


def _check_plain(st: os.stat_result, shown, max_bytes: int, links: dict | None) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise UntrustedFileError(f"{shown}: is a symbolic link; refused")
    if not stat.S_ISREG(st.st_mode):
        raise UntrustedFileError(f"{shown}: is a {_kind(st.st_mode)}, not a plain file; refused")
    if st.st_nlink > (links or {}).get((st.st_dev, st.st_ino), 1):
        raise UntrustedFileError(f"{shown}: is a hard link to a file outside the submission "
                                 f"({st.st_nlink} names for one file); refused")
    if st.st_size > max_bytes:
        raise UntrustedFileError(f"{shown}: {st.st_size} bytes, over the limit of {max_bytes}")


def safe_folder_name(name: str) -> str | None:
    """None when `name` is plain text (valid UTF-8, no control characters); else a printable form of it."""
    raw = name.encode("utf-8", "surrogateescape")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return None
    shown = raw.decode("utf-8", "backslashreplace")
    return "".join(ch if ord(ch) >= 32 and ord(ch) != 127 else f"\\x{ord(ch):02x}" for ch in shown)


def _entries(dir_fd: int) -> list[tuple[str, os.stat_result]]:
    out = []
    for name in sorted(os.listdir(dir_fd)):
        st = _lstat(dir_fd, name)
        if st is not None:
            out.append((name, st))
    return out


def _pick_notebook(folder: Path, entries, expected: str, problems: list[str]) -> tuple[str | None, str | None]:
    """(name of the notebook to grade, or None; why it is refused, or None)."""
    kinds = {name: st.st_mode for name, st in entries}
    if expected in kinds:
        if not stat.S_ISREG(kinds[expected]):
            return None, (f"{folder / expected}: is a {_kind(kinds[expected])}, not a plain file of the "
                          "student; not graded")
        return expected, None
    expected_path = folder / expected
    notebooks = [n for n in kinds if n.endswith(".ipynb") and not n.startswith(".")]
    special = [n for n in notebooks if not stat.S_ISREG(kinds[n])]
    if special:
        return None, (f"{folder / special[0]}: is a {_kind(kinds[special[0]])}, not a plain file of the "
                      "student; not graded")
    if len(notebooks) == 1:
        problems.append(f"{expected_path}: not found; grading {notebooks[0]} instead")
        return notebooks[0], None
    if notebooks:
        problems.append(f"{expected_path}: not found, and {len(notebooks)} other notebooks "
                        f"({', '.join(notebooks)}) leave it ambiguous")
    else:
        problems.append(f"{expected_path}: not found (no notebook in the folder)")
    return None, None


def _collect_files(folder: Path, dir_fd: int, entries, notebook: str | None, problems: list[str],
                   links: _Links) -> tuple[dict[str, bytes], str | None]:
    """(small data files by name, why the submission is refused or None). A data file that is a hard link
    to a file outside the submission is left out (a problem line says why); the rest is still graded."""
    files: dict[str, bytes] = {}
    for name, st in entries:
        path = folder / name
        if name == notebook or name.startswith(".") or name in NBGRADER_FILES:
            continue
        if stat.S_ISREG(st.st_mode):
            shared, _ = links.refusal(path, name, st)
            if shared:
                problems.append(f"{shared}; the file is left out")
                continue
        if stat.S_ISDIR(st.st_mode):
            problems.append(f"{path}: folder ignored (only small data files next to the notebook are used)")
        elif not stat.S_ISREG(st.st_mode):
            return files, f"{path}: is a {_kind(st.st_mode)} in the submission; refused, not graded"
        elif Path(name).suffix.lower() not in DATA_SUFFIXES:
            problems.append(f"{path}: ignored ({Path(name).suffix or 'no extension'} is not a data file)")
        elif st.st_size > MAX_DATA_FILE_BYTES:
            problems.append(f"{path}: ignored ({st.st_size} bytes, over the "
                            f"{MAX_DATA_FILE_BYTES} byte limit for data files)")
        elif len(files) >= MAX_DATA_FILES or sum(map(len, files.values())) + st.st_size > MAX_DATA_TOTAL_BYTES:
            return files, (f"{folder}: more than {MAX_DATA_FILES} data files or {MAX_DATA_TOTAL_BYTES} bytes of "
                           "them; refused, not graded")
        else:
            try:
                files[name] = read_untrusted(dir_fd, name, MAX_DATA_FILE_BYTES, path, links.allowed)
            except UntrustedFileError as exc:
                return files, f"{exc}; not graded"
    return files, None


class _Links:
    """Where the names of one submission's files with several names (hard links) are, and what follows.

    `index` maps (device, inode) to every (student folder, assignment, name) of such a file found in the
    whole submissions folder (each assignment folder's own entries; `_link_index`). One inode with several
    names cannot say which name is the original, so the rule only asks where the names are:
    - every name inside this submission (a student's ``data.csv`` and ``copy.csv``): read as usual;
    - the others in other students' submissions: the file is refused in each of them with the same words,
      and the instructor-only detail names the other copies; nobody is graded on a shared file (the
      instructor separates them: copy each, or remove the copier's) and nobody is told whose file it is;
    - some name not found in the submissions folder (a file of the grading machine, the instructor's
      notebook, or a subfolder): refused as a link outside the submission.
    """

    def __init__(self, index: dict, student: str, assignment: str):
        self.index, self.here = index, (student, assignment)
        self.allowed: dict[tuple[int, int], int] = {}

    def refusal(self, path: Path, name: str, st: os.stat_result) -> tuple[str | None, str | None]:
        """(why the file at `path` is refused, the instructor-only detail), or (None, None) to read it (the
        names found here are then allowed in `allowed`, which `read_untrusted` checks on the open file)."""
        if st.st_nlink <= 1:
            return None, None
        key = (st.st_dev, st.st_ino)
        names = self.index.get(key, [])
        here = [n for s, a, n in names if (s, a) == self.here]
        others = [(s, a, n) for s, a, n in names if (s, a) != self.here]
        if len(here) >= st.st_nlink:
            self.allowed[key] = st.st_nlink
            return None, None
        if others and len(here) + len(others) >= st.st_nlink:
            detail = f"{path} is the same file as " + ", ".join(
                str(path.parents[2] / s / a / n) for s, a, n in others)
            return (f"{path}: is the same file as one in another student's submission (a hard link, "
                    f"{st.st_nlink} names); not graded as anyone's work until the instructor separates the "
                    "copies (the class report names them)"), detail
        return (f"{path}: is a hard link to a file outside the submission ({st.st_nlink} names for one "
                "file); refused"), None


def _link_index(root_fd: int, students, wanted: list[str]) -> dict[tuple[int, int], list[tuple[str, str, str]]]:
    """(device, inode) -> (student folder, assignment, name) of every plain file with more than one name in
    the assignment folders of the submissions folder at `root_fd` (what `_Links` decides from)."""
    index: dict[tuple[int, int], list[tuple[str, str, str]]] = {}
    for student, st in students:
        if not stat.S_ISDIR(st.st_mode):
            continue
        try:
            student_fd = _open_dir(root_fd, student)
        except OSError:
            continue
        try:
            for assignment in wanted:
                ast = _lstat(student_fd, assignment)
                if ast is None or not stat.S_ISDIR(ast.st_mode):
                    continue
                try:
                    fd = _open_dir(student_fd, assignment)
                except OSError:
                    continue
                try:
                    for name, fst in _entries(fd):
                        if stat.S_ISREG(fst.st_mode) and fst.st_nlink > 1:
                            index.setdefault((fst.st_dev, fst.st_ino), []).append((student, assignment, name))
                finally:
                    os.close(fd)
        finally:
            os.close(student_fd)
    return index


def _read_folder(sub: Submission, student_fd: int, links: _Links) -> None:
    """Fill `sub` from its assignment folder (a real folder inside `student_fd`), refusing what is not plain."""
    st = _lstat(student_fd, sub.assignment)
    if st is None:
        sub.problems.append(f"{sub.folder}: no submission")
        return
    if not stat.S_ISDIR(st.st_mode):
        sub.refused = f"{sub.folder}: is a {_kind(st.st_mode)}, not a folder of the student; not graded"
        return
    try:
        fd = _open_dir(student_fd, sub.assignment)
    except OSError as exc:
        sub.refused = f"{sub.folder}: cannot be opened ({exc.strerror}); not graded"
        return
    try:
        entries = _entries(fd)
        name, sub.refused = _pick_notebook(sub.folder, entries, sub.expected_notebook, sub.problems)
        if sub.refused:
            return
        if name is not None:
            refused, sub.refused_detail = links.refusal(sub.folder / name, name, dict(entries)[name])
            if refused:
                sub.refused = f"{refused}; not graded"
                return
        sub.files, sub.refused = _collect_files(sub.folder, fd, entries, name, sub.problems, links)
        if sub.refused or name is None:
            return
        try:
            sub.notebook_bytes = read_untrusted(fd, name, MAX_NOTEBOOK_BYTES, sub.folder / name, links.allowed)
        except UntrustedFileError as exc:
            sub.refused = f"{exc}; not graded"
            return
        sub.notebook_path = sub.folder / name
    finally:
        os.close(fd)


def find_submissions(submissions_dir: str | Path, configs: dict, *, assignments: list[str] | None = None
                     ) -> tuple[list[Submission], list[str]]:
    """Every (student, assignment) pair to grade, and the problems met while looking.

    Students are the sub-folders of `submissions_dir` (`<student>/<assignment>/<notebook>`); every student
    gets an entry for every selected assignment, with `notebook_path=None` when they handed nothing in.
    Everything below `submissions_dir` is untrusted: symbolic links, FIFOs, sockets and devices are never
    followed or read; a submission holding one, or a folder whose name is not plain text, gets `refused`
    (the reason, naming the file) and is not graded. A file with several names (a hard link) is read only if
    every name is in the same submission; one shared with another student's submission is refused in each
    (`refused_detail`, for the instructor only, names the others), one with a name elsewhere is refused as
    a link outside the submission; a data file refused so is left out, a notebook is not graded (`_Links`).
    Folders for assignments the course does not have are reported, not graded. Raises `SubmissionError`
    only if the submissions folder itself is missing.
    """
    root = Path(submissions_dir)
    if not root.is_dir():
        raise SubmissionError(f"{root}: submissions folder does not exist")
    wanted = sorted(assignments) if assignments is not None else sorted(configs)
    problems: list[str] = []
    submissions: list[Submission] = []
    root_fd = _open_dir(None, root.resolve())
    try:
        top = [(n, st) for n, st in _entries(root_fd) if not n.startswith(".")]
        students = [(n, st) for n, st in top if not stat.S_ISREG(st.st_mode)]
        for stray, _st in [(n, st) for n, st in top if stat.S_ISREG(st.st_mode)]:
            problems.append(f"{root / stray}: ignored (expected one folder per student)")
        if not students:
            problems.append(f"{root}: no student folders, nothing to grade")
        index = _link_index(root_fd, students, wanted)
        for name, st in students:
            submissions += _student(root, root_fd, name, st, configs, wanted, problems, index)
    finally:
        os.close(root_fd)
    return submissions, problems


def _student(root: Path, root_fd: int, name: str, st, configs: dict, wanted: list[str], problems: list[str],
             index: dict) -> list[Submission]:
    shown = safe_folder_name(name)
    student = name if shown is None else f"{shown} (invalid name)"
    student_dir = root / name
    refused = None
    if shown is not None:
        refused = f"{root / shown}: the folder name is not plain UTF-8 text; not graded (rename the folder)"
    elif not stat.S_ISDIR(st.st_mode):
        refused = f"{student_dir}: is a {_kind(st.st_mode)}, not a student folder; not graded"
    subs = [Submission(student=student, assignment=a, folder=student_dir / a,
                       expected_notebook=configs[a].notebook, refused=refused) for a in wanted]
    if refused:
        return subs
    try:
        fd = _open_dir(root_fd, name)
    except OSError as exc:
        for sub in subs:
            sub.refused = f"{student_dir}: cannot be opened ({exc.strerror}); not graded"
        return subs
    try:
        for entry, est in _entries(fd):
            if entry.startswith("."):
                continue
            if not stat.S_ISDIR(est.st_mode):
                problems.append(f"{student_dir / entry}: ignored (expected one folder per assignment)")
            elif entry not in configs:
                problems.append(f"{student_dir / entry}: unknown assignment {entry!r} (the course has "
                                f"{', '.join(sorted(configs))}); not graded")
        for sub in subs:
            _read_folder(sub, fd, _Links(index, name, sub.assignment))
    finally:
        os.close(fd)
    return subs


def read_submission(path: str | Path, data: bytes | None = None) -> nbformat.NotebookNode:
    """The notebook at `path` (or its bytes `data`, already read) as nbformat 4, converting older formats.

    Raises `SubmissionError` naming the file for: a file that is not plain (`read_untrusted`), unreadable
    bytes, invalid JSON (with line and column), JSON nested deeper than `MAX_NOTEBOOK_DEPTH`, JSON that is
    not a notebook, a format nbformat cannot convert, and a notebook without cells. Metadata of the wrong
    type (a `nbgrader` entry that is not an object, a `grade_id` that is not text) is dropped with a note in
    `nb.metadata["autodiff_course"]["dropped"]`, so no later step meets it.
    """
    path = Path(path)
    if data is None:
        try:
            data = read_untrusted(None, path, MAX_NOTEBOOK_BYTES)
        except UntrustedFileError as exc:
            raise SubmissionError(str(exc)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(
            f"{path}: not a notebook (not UTF-8 text: {exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise SubmissionError(f"{path}: empty file, not a notebook")
    depth = _nesting_depth(text)
    if depth > MAX_NOTEBOOK_DEPTH:
        raise SubmissionError(f"{path}: JSON nested {depth} levels deep (a notebook needs a handful; the "
                              f"limit is {MAX_NOTEBOOK_DEPTH})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise SubmissionError(f"{path}: JSON but not a Jupyter notebook (no `nbformat` field)")
    version = data.get("nbformat")
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as exc:  # noqa: BLE001 - nbformat raises many types for unconvertible input
        raise SubmissionError(f"{path}: nbformat {str(version)[:20]} notebook that cannot be converted to "
                              f"nbformat 4 ({type(exc).__name__}: {str(exc)[:300]})") from None
    if not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"{path}: notebook has no cell list")
    if not nb.cells:
        raise SubmissionError(f"{path}: notebook has no cells")
    if re.search(r"\\u[dD][89a-fA-F]", text):
        # Escaped lone surrogates parse into strings no UTF-8 file can hold (the graded notebook, the store).
        nb = nbformat.from_dict(clean_data(nb, "the notebook", -MAX_NOTEBOOK_DEPTH))
    dropped = []
    for pos, cell in enumerate(nb.cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise SubmissionError(f"{path}: cell {pos} is not a code, markdown or raw cell")
        # Converted (and some hand-edited) notebooks keep sources as lists of lines; the grader wants text.
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(str(part) for part in cell["source"])
        if not isinstance(cell.get("source", ""), str):
            raise SubmissionError(f"{path}: cell {pos} has a source that is not text")
        dropped += _typed_metadata(cell, pos)
    if dropped:
        nb.metadata["autodiff_course"] = {"dropped": dropped}
    return nb


def _output_for_students(output: dict) -> dict:
    """A cell output of the graded run without the grader's paths or traceback frames."""
    from autodiff_course.checks.privacy import for_students, traceback_for_students

    out = copy.deepcopy(output)
    if out.get("output_type") == "error":
        out["evalue"] = for_students(str(out.get("evalue", "")))
        out["traceback"] = traceback_for_students([str(line) for line in out.get("traceback") or []])
    elif out.get("output_type") == "stream":
        out["text"] = for_students(str(out.get("text", "")))
    elif isinstance(out.get("data"), dict):
        for mime, value in out["data"].items():
            if isinstance(value, str) and (mime.startswith("text/") or mime == "image/svg+xml"):
                out["data"][mime] = for_students(value)
    return out


#: Deepest JSON nesting a submitted notebook may have (outputs and metadata of real notebooks stay far below).
MAX_NOTEBOOK_DEPTH = 100


def _nesting_depth(text: str) -> int:
    """The deepest nesting of JSON arrays and objects in `text`, brackets inside strings excluded.

    Checked before parsing: Python's JSON parser, nbformat's validator and `copy.deepcopy` all recurse."""
    depth = deepest = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]', text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif tok in "]}":
            depth -= 1
    return deepest


def _typed_metadata(cell, pos: int) -> list[str]:
    """Make `cell.metadata` a dict and its `nbgrader` entry well typed; returns what was dropped."""
    dropped = []
    if not isinstance(cell.get("metadata"), dict):
        dropped.append(f"cell {pos}: metadata of type {type(cell.get('metadata')).__name__}")
        cell["metadata"] = nbformat.NotebookNode()
    meta = cell["metadata"]
    if "nbgrader" in meta and not isinstance(meta["nbgrader"], dict):
        dropped.append(f"cell {pos}: nbgrader metadata of type {type(meta['nbgrader']).__name__}")
        del meta["nbgrader"]
    nbg = meta.get("nbgrader")
    if nbg is not None:
        if "grade_id" in nbg and not isinstance(nbg["grade_id"], str):
            dropped.append(f"cell {pos}: grade_id of type {type(nbg['grade_id']).__name__}")
            del nbg["grade_id"]
        for flag in ("grade", "solution", "locked"):
            if flag in nbg and not isinstance(nbg[flag], bool):
                dropped.append(f"cell {pos}: nbgrader {flag} of type {type(nbg[flag]).__name__}")
                del nbg[flag]
    return dropped


def _feedback_outputs(exercise: dict) -> list:
    from autodiff_course.checks.privacy import for_students

    text = for_students(exercise.get("feedback_text") or exercise.get("message") or exercise["status"])
    data = {"text/plain": f"[{exercise['status']}] {exercise['score']:g} / {exercise['max_score']:g}\n{text}"}
    if exercise.get("feedback_html"):
        # It shows the student's values, which may be paths their code read in the sandbox.
        data["text/html"] = for_students(clean_markup(exercise["feedback_html"]))
    return [nbformat.v4.new_output("display_data", data=data)]


#: What nbformat 4.5 allows as a cell id (its schema's pattern and length).
_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def repair_cell_ids(nb: nbformat.NotebookNode) -> int:
    """Give every cell of `nb` (in place) an id nbformat's schema accepts; returns how many were changed.

    A hand-in can carry ids that are not text, break the schema's pattern or length, repeat, or are missing;
    restoring test cells can also bring in a source cell's id a student already used. nbconvert and
    formgrader refuse such a notebook outright. Ids that are valid and unique are kept, the others become
    ``cell-<position>`` (with a suffix if that is taken): the same hand-in always gets the same ids, where
    nbformat's own repair draws random ones, so a repeated run rewrites an identical graded notebook.
    Notebooks before nbformat 4.5 have no cell ids: any found there are removed."""
    changed = 0
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) < (4, 5):
        for cell in nb.cells:
            if "id" in cell:
                del cell["id"]
                changed += 1
        return changed
    valid = [isinstance(c.get("id"), str) and _CELL_ID.fullmatch(c["id"]) is not None for c in nb.cells]
    taken: set[str] = set()
    keep = []
    for cell, ok in zip(nb.cells, valid):
        keep.append(ok and cell["id"] not in taken)
        if keep[-1]:
            taken.add(cell["id"])
    for pos, (cell, kept) in enumerate(zip(nb.cells, keep)):
        if kept:
            continue
        new_id, n = f"cell-{pos}", 1
        while new_id in taken:
            new_id, n = f"cell-{pos}-{n}", n + 1
        taken.add(new_id)
        cell["id"] = new_id
        changed += 1
    return changed


def graded_notebook(restored: nbformat.NotebookNode, run: dict | None, exercises: list[dict]
                    ) -> nbformat.NotebookNode:
    """The notebook a student gets back: their cells with the outputs of the graded run, and each test
    cell's output replaced by the diagnosis of its exercise (never the hidden test code: test cells keep
    the source the student saw). No active content: JavaScript outputs are dropped, scripts and event
    handlers removed from HTML and SVG outputs and from markdown (`grading.sanitize`). Cell ids are made
    valid and unique (`repair_cell_ids`), so nbconvert and formgrader open it."""
    nb = copy.deepcopy(restored)
    nb.metadata.pop("widgets", None)  # widget state is drawn as HTML by nbconvert's page (see grading.sanitize)
    by_index = {cell["index"]: cell for cell in (run or {}).get("cells", [])}
    by_id = {ex["id"]: ex for ex in exercises}
    count = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            # Markdown and raw cells are rendered as HTML by formgrader and nbconvert.
            cell.source, kept = clean_attachments(clean_markdown(cell.source), cell.get("attachments"))
            if kept:
                cell["attachments"] = kept
            else:
                cell.pop("attachments", None)
            continue
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        ran = by_index.get(index)
        count += 1
        cell.execution_count = count if ran is not None else None
        if grade_id in by_id:
            continue  # a test cell: its exercise's diagnosis, below
        if ran is not None:
            cleaned = (clean_output(_output_for_students(o)) for o in ran.get("outputs", []))
            cell.outputs = [nbformat.from_dict(o) for o in cleaned if o is not None]
        else:
            cell.outputs = []
    set_feedback_outputs(nb, exercises)
    repair_cell_ids(nb)
    return nb


def set_feedback_outputs(nb: nbformat.NotebookNode, exercises: list[dict]) -> int:
    """Replace, in place, the outputs of each test cell of `nb` (a code cell whose grade_id is an exercise of
    `exercises`) with that exercise's diagnosis, and nothing else; returns how many cells were set. The
    graded notebook is built with it and rewritten with it when the reveal level changes."""
    by_id = {ex["id"]: ex for ex in exercises}
    count = 0
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("cell_type") == "code" and grade_id in by_id:
            cell["outputs"] = _feedback_outputs(by_id[grade_id])
            count += 1
    return count


def rewrite_feedback_outputs(autograded: Path, student: str, assignment: str, notebook: str,
                             exercises: list[dict]) -> str | None:
    """Set the test-cell outputs (`set_feedback_outputs`) of the graded notebook
    `autograded/<student>/<assignment>/<notebook>` in place, atomically; nothing else in it changes.

    Only a graded notebook as the grader wrote it is touched: each folder is opened with O_NOFOLLOW and the
    notebook read as a plain file with one name (`read_untrusted`), then replaced inside that same open
    folder, so a symbolic link or hard link placed there is neither followed nor written through. Returns
    None when it was rewritten or is not there (nothing was graded into it), else a problem line naming it."""
    path = autograded / student / assignment / notebook
    parts = (student, assignment, notebook)
    if any(part in ("", ".", "..") or os.sep in part for part in parts):
        return f"{path}: not a graded notebook's path; left as it was"
    fds: list[int] = []
    try:
        try:
            fds.append(_open_dir(None, autograded))
            for part in parts[:2]:
                fds.append(_open_dir(fds[-1], part))
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"{path}: a folder on its way cannot be opened as a plain folder ({exc.strerror}); left as it was"
        if _lstat(fds[-1], notebook) is None:
            return None
        try:
            text = read_untrusted(fds[-1], notebook, MAX_NOTEBOOK_BYTES, path).decode("utf-8")
            nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
            if not isinstance(nb.get("cells"), list):
                raise ValueError("no cell list")
            set_feedback_outputs(nb, exercises)
            atomic_write_text(notebook, nbformat.writes(nb), dir_fd=fds[-1])
        except UntrustedFileError as exc:
            return f"{exc}; not rewritten at the current reveal level"
        except Exception as exc:  # noqa: BLE001 - one unreadable or unwritable notebook is a line, not a stop
            return (f"{path}: could not be rewritten at the current reveal level ({type(exc).__name__}: "
                    f"{str(exc)[:200]}); left as it was")
        return None
    finally:
        for fd in reversed(fds):
            os.close(fd)
