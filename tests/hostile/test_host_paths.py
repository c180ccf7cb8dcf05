"""The grader's folders stay out of what a submission can read and out of what a student is shown.

An outside review (attack A1) read /proc/1/cmdline inside bubblewrap: bwrap's own command line, every bound
folder in it (the course checkout, the venv, the Python installation); under the fallback (F1) the grader's
and the host's processes were all readable. Returned as string answers, the folders came back in the
feedback. Here a submission collects every command line and environment it can see, and the folders its own
interpreter knows (`sys.prefix`, module files), under bubblewrap and under the fallback:

- no other process's command line or environment names a grader folder (the course, this checkout, the
  workers' extra ``python_path``, the Python installation), only the interpreter's own path;
- under the fallback the submission sees no process of another uid;
- graded as string answers in a batch, none of those folders, nor the folders holding them, reaches the
  feedback page or the graded notebook.
"""

import base64
import dataclasses
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from corpus import COLLECTOR, HERE, HOSTILE_INDEX, REPO, TEST_LIMITS, honest_notebook, notebook_to_job, outputs_text

from autodiff_course.grading.pool import WorkerPool
from autodiff_course.grading.sandbox import NEUTRAL_PYTHON, NEUTRAL_VENV, SandboxWarning, bwrap_available

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox drops to a separate uid: needs root")

MODES = ["bwrap", "none"]

# Prints one line per visible process: its pid, owner uid, command line and environment (or why not).
READ_PROC = r'''
import json, os
def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
    except OSError as e:
        return 'refused ' + type(e).__name__
seen = []
for pid in sorted(p for p in os.listdir('/proc') if p.isdigit()):
    try:
        uid = os.stat(f'/proc/{pid}').st_uid
    except OSError:
        continue
    seen.append([int(pid), uid, read(f'/proc/{pid}/cmdline'), read(f'/proc/{pid}/environ')])
print('PROC' + json.dumps({'me': os.getpid(), 'uid': os.getuid(), 'seen': seen,
                           'mountinfo': read('/proc/self/mountinfo'), 'cgroup': read('/proc/self/cgroup')}))
'''


def _specific(folders) -> set[str]:
    """The folders deep enough to name this machine (a Python in /usr has / as its parent)."""
    return {str(f) for f in folders if len(Path(f).parts) > 2}


def _grader_folders(course: Path) -> set[str]:
    return _specific([course, REPO, HERE, sys.base_prefix, Path(sys.base_prefix).parent])


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("host-paths-course")
    (root / "graders").mkdir()
    (root / "graders" / "a.toml").write_text("SECRET = 1\n")
    return root


@pytest.mark.parametrize("mode", MODES)
def test_no_process_names_a_grader_folder(mode, course):
    if mode == "bwrap" and not bwrap_available()[0]:
        pytest.skip("bubblewrap cannot run here")
    # Room for every process of a host (the fallback, unprotected, shows them all).
    limits = dataclasses.replace(TEST_LIMITS, output_bytes=2_000_000)
    with WorkerPool(jobs=1, sandbox=mode, allow_unsandboxed=True, limits=limits, collector=COLLECTOR,
                    python_path=[HERE], hidden_paths=[course]) as pool:
        run = pool.run(notebook_to_job(honest_notebook(READ_PROC), f"proc-{mode}"))
    text = outputs_text(next(c for c in run["cells"] if c["index"] == HOSTILE_INDEX))
    assert run["status"] == "ok" and "PROC" in text, (run["message"], text)
    report = json.loads(text.split("PROC", 1)[1])
    others = [entry for entry in report["seen"] if entry[0] != report["me"]]
    if mode == "bwrap":
        # pid 1 is bwrap: its options (every bind) were read from a file descriptor, not its command line.
        (init,) = [entry for entry in report["seen"] if entry[0] == 1]
        assert "--args" in init[2] and "--ro-bind" not in init[2] and "--setenv" not in init[2], init
    else:
        # Only the submission's own processes: not the grader, not the worker, not the host's.
        assert {entry[1] for entry in report["seen"]} == {report["uid"]}, report["seen"]
        assert others == [], others
    for pid, _uid, cmdline, environ in report["seen"]:
        # The interpreter's own path is what a process of Python unavoidably shows.
        shown = f"{cmdline}\n{environ}".replace(sys.executable, "<python>")
        for folder in _grader_folders(course):
            assert folder not in shown, (pid, folder, shown)
    if mode == "bwrap":  # the fallback's covers are mount points of its namespace: see the module docstring
        for folder in _grader_folders(course) | {sys.prefix, str(Path(sys.prefix).resolve())}:
            assert folder not in report["mountinfo"], (folder, report["mountinfo"])
        # A cgroup namespace of its own: the host's cgroup (an outside review read its id) is not named.
        host = {line.rsplit(":", 1)[-1] for line in Path("/proc/self/cgroup").read_text().splitlines()} - {"/"}
        assert not any(path in report["cgroup"] for path in host), (host, report["cgroup"])


# The string answers of the worksheet's grad_fn_names exercise, made of every grader folder the submission
# can find: in bwrap's command line, in the mount table, in its own interpreter.
LEAK_ANSWER = r'''
import os, sys, numpy
found = []
for path in ('/proc/1/cmdline', '/proc/self/cmdline'):
    try:
        found += open(path, 'rb').read().decode('utf-8', 'replace').split('\0')
    except OSError:
        pass
try:
    found += [line.split()[4] for line in open('/proc/self/mountinfo')]
except OSError:
    pass
found += [sys.prefix, sys.base_prefix, os.path.dirname(sys.prefix), os.path.dirname(numpy.__file__),
          os.path.dirname(os.path.dirname(os.path.abspath(os.__file__)))]
import autodiff_course
found.append(os.path.dirname(os.path.dirname(autodiff_course.__file__)))
found = sorted({p for p in found if p.startswith('/') and not p.startswith(('/usr', '/proc', '/dev', '/etc'))},
               key=len, reverse=True)
print('FOUND', found)
y_grad_fn, z_grad_fn, l_grad_fn = (found + ['', '', ''])[:3]
z_grad_fn = repr(found)
'''


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_host_folders_read_in_the_sandbox_do_not_reach_the_feedback(mode, tmp_path):
    if mode == "bwrap" and not bwrap_available()[0]:
        pytest.skip("bubblewrap cannot run here")
    from autodiff_course.grading.batch import grade

    examples = REPO / "examples" / "submitted"
    subs, out = tmp_path / "submitted", tmp_path / "graded"
    shutil.copytree(examples / "ada" / "worksheet", subs / "zpath" / "worksheet")
    path = subs / "zpath" / "worksheet" / "worksheet.ipynb"
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
               == "grad_fn_names-answer"]
    cell.source = LEAK_ANSWER
    nbformat.write(nb, path)
    summary = grade(course=REPO, submissions=subs, out=out, assignments=["worksheet"], jobs=1, progress=False,
                    sandbox=mode, allow_unsandboxed=True, gradebook=tmp_path / "gradebook.db",
                    report_line=lambda line: None)
    (result,) = summary.results
    entry = next(e for e in result["exercises"] if e["id"] == "grad_fn_names")
    assert entry["score"] == 0
    raw = json.dumps(result["run"]["exercises"]["grad_fn_names"])
    if mode == "none":
        assert str(REPO) in raw or sys.prefix in raw  # the attack did find grader folders
    else:  # under bwrap it finds the sandbox's neutral folders only
        assert NEUTRAL_PYTHON in raw and str(REPO) not in raw and sys.prefix not in raw, raw
    page = (out / "feedback" / "zpath" / "worksheet" / "worksheet.html").read_text()
    graded = nbformat.read(out / "autograded" / "zpath" / "worksheet" / "worksheet.ipynb", as_version=4)
    shown = json.dumps([c.get("outputs", []) for c in graded.cells])
    assert "FOUND" in shown and "yours" in page  # the answer and the printout are shown, scrubbed
    forbidden = _specific([REPO, REPO.parent, sys.prefix, Path(sys.prefix).parent, sys.base_prefix,
                           Path(sys.base_prefix).parent, tmp_path, HERE])
    for text, where in ((page, "feedback page"), (shown, "graded notebook")):
        for folder in forbidden:
            assert folder not in text, (where, folder)


# Every place a submission's own interpreter names folders, printed plainly and encoded (base64, reversed,
# hex, character codes: within the notebook's 1 MB of output) so that a scrub of known folder names in the
# output cannot catch it; the encoded forms are the worksheet's string answers too, so the feedback page
# shows them.
PRINT_EVERYTHING = r'''
import base64, glob, json, os, re, sys, sysconfig, traceback
import numpy, torch, matplotlib, autodiff_course
def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
    except OSError as e:
        return 'refused ' + type(e).__name__
try:
    json.loads('{')
except ValueError:
    library_traceback = traceback.format_exc()
seen = {'sys.path': sys.path, 'prefix': [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix],
        'executable': [sys.executable, getattr(sys, '_base_executable', ''), *sys.orig_argv],
        'files': [autodiff_course.__file__, numpy.__file__, torch.__file__, matplotlib.__file__, os.__file__,
                  json.__file__, matplotlib.get_data_path()],
        'sysconfig': sysconfig.get_paths(),
        'config': {k: str(v) for k, v in sysconfig.get_config_vars().items() if '/' in str(v)},
        'environ': dict(os.environ), 'cwd': os.getcwd(), 'traceback': library_traceback,
        **{p: read(p) for p in ('/proc/self/mountinfo', '/proc/self/cmdline', '/proc/self/environ',
                                '/proc/1/cmdline', '/proc/1/environ', '/proc/self/maps',
                                '/opt/venv/pyvenv.cfg', sysconfig.get_makefile_filename())},
        'scripts': {n: read(os.path.join(sys.base_prefix, 'bin', n))[:300]
                    for n in sorted(os.listdir(os.path.join(sys.base_prefix, 'bin')))},
        # A compiled module names the folder it was compiled in: every path in the ones it can find.
        'compiled': {f: re.findall(r'/[\w.+-]+(?:/[\w.+-]+)+', read(f))
                     for m in (numpy, json, torch, matplotlib, autodiff_course, traceback)
                     for f in (getattr(m, '__cached__', None) or '',
                               os.path.join(os.path.dirname(m.__file__), '__pycache__',
                                            os.path.basename(m.__file__)[:-3] + '.cpython-311.pyc'))},
        # So does a binary's run path, and the prefix compiled into libpython.
        'binaries': sorted({p for f in [os.path.realpath('/proc/self/exe'), *glob.glob(sys.base_prefix + '/lib/*.so*'),
                                        *glob.glob(sys.base_prefix + '/lib/python3*/lib-dynload/*.so')]
                            for p in re.findall(r'/[\w.+-]+(?:/[\w.+-]+)+', read(f))})}
for key, value in seen.items():
    text = json.dumps(value)
    print('PLAIN', key, text)
    print('B64', base64.b64encode(text.encode()).decode())
    print('REV', text[::-1])
    print('HEX', text.encode().hex())
    print('ORD', [ord(c) for c in text[:3000]])
print('VERSION', sys.version)
everything = json.dumps(seen)
y_grad_fn = base64.b64encode(everything.encode()).decode()
z_grad_fn = everything[::-1]
l_grad_fn = everything.encode().hex()
raise KeyError(library_traceback[::-1][:2000])
'''


def _readings(text: str) -> list[str]:
    """`text` as a student could read it back: as it is, reversed, and every run of base64 (from each of its
    first four characters) or of hex digits in it decoded."""
    views = [text, text[::-1]]
    for run in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", text):
        for start in range(4):
            body = run[start:].rstrip("=")
            body = body[: len(body) // 4 * 4]
            views.append(base64.b64decode(body).decode("utf-8", "replace"))
    for run in re.findall(r"[0-9a-f]{16,}", text):
        for start in range(2):
            body = run[start:]
            views.append(bytes.fromhex(body[: len(body) // 2 * 2]).decode("utf-8", "replace"))
    return views


def _leaks(text: str, folders) -> list[tuple[str, str]]:
    """(folder, how) for every host folder `text` names, plainly or in a form PRINT_EVERYTHING prints."""
    found = []
    views = _readings(text)
    for folder in sorted(folders):
        if any(folder in view for view in views):
            found.append((folder, "plain, reversed, base64 or hex"))
        if ", ".join(str(ord(c)) for c in folder) in text:
            found.append((folder, "character codes"))
    return found


def _host_folders(tmp_path: Path) -> set[str]:
    """The folders of the grader's host a student must never see: the environment, the Python installation,
    this checkout and its parent, the home folder, the folders of this test (the course, submissions and
    results are below it), and the real temporary folder."""
    home = str(Path.home())
    found = _specific([sys.prefix, Path(sys.prefix).resolve(), Path(sys.prefix).resolve().parent, sys.base_prefix,
                       Path(sys.base_prefix).resolve(), REPO, REPO.parent, tmp_path, tempfile.gettempdir()])
    # A Python in /usr/local is where it is on every machine (the sandbox shows /usr as it is): no detail of
    # this one. A home at the root (/root) would match unrelated text: the folders in it are what may not show.
    return {f for f in found if not f.startswith("/usr/")} | {home if len(Path(home).parts) > 2 else home + "/"}


@pytest.mark.slow
def test_no_form_of_a_host_folder_reaches_the_student_under_bwrap(tmp_path):
    if not bwrap_available()[0]:
        pytest.skip("bubblewrap cannot run here")
    from autodiff_course.grading.batch import grade

    subs, out = tmp_path / "submitted", tmp_path / "graded"
    shutil.copytree(REPO / "examples" / "submitted" / "ada" / "worksheet", subs / "zpath" / "worksheet")
    path = subs / "zpath" / "worksheet" / "worksheet.ipynb"
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
               == "grad_fn_names-answer"]
    cell.source = PRINT_EVERYTHING
    nbformat.write(nb, path)
    summary = grade(course=REPO, submissions=subs, out=out, assignments=["worksheet"], jobs=1, progress=False,
                    sandbox="bwrap", gradebook=tmp_path / "gradebook.db", report_line=lambda line: None)
    (result,) = summary.results
    page = (out / "feedback" / "zpath" / "worksheet" / "worksheet.html").read_text()
    graded = nbformat.read(out / "autograded" / "zpath" / "worksheet" / "worksheet.ipynb", as_version=4)
    shown = json.dumps([c.get("outputs", []) for c in graded.cells])
    # The attack ran to its end and printed what it read (the mount table, its own interpreter, ...).
    assert "KeyError" in shown and "PLAIN /proc/self/mountinfo" in shown and "B64" in shown, shown[:2000]
    assert "yours" in page
    folders = _host_folders(tmp_path)
    assert _leaks(page, folders) == [], "feedback page"
    assert _leaks(shown, folders) == [], "graded notebook"
    # What it read names the sandbox's own folders instead, and the renamed interpreter is the same one.
    assert f"{NEUTRAL_PYTHON}/lib" in shown and f"{NEUTRAL_VENV}/lib" in shown
    assert json.dumps(f"VERSION {sys.version}")[1:-1] in shown


def test_a_folder_overlayfs_refuses_is_bound_and_said_so():
    """/proc/sys cannot be an overlay layer: the launcher binds it (its mount line then names it) and the pool
    warns once; grading works as before."""
    if not bwrap_available()[0]:
        pytest.skip("bubblewrap cannot run here")
    with pytest.warns(SandboxWarning, match="overlayfs refused a folder of the sandbox"):
        with WorkerPool(jobs=1, sandbox="bwrap", limits=TEST_LIMITS, collector=COLLECTOR,
                        python_path=[HERE, "/proc/sys"]) as pool:
            run = pool.run(notebook_to_job(honest_notebook(), "bound"))
    assert run["status"] == "ok", run["message"]
    assert all(c["status"] == "ok" for c in run["cells"]), run["cells"]
    assert not any("/proc/sys" in w or "/opt" in w for w in pool.warnings), pool.warnings
