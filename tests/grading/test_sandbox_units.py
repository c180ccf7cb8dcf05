"""The sandbox's pieces on their own: limits, wire format, file names, the bwrap view, uid claims."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autodiff_course.grading import harness, sandbox, wire
from autodiff_course.grading.limits import Limits
from autodiff_course.grading.worker import _Attempt, _FdBudget, _FdStream, _Reader, safe_relative_path

REPO = Path(__file__).resolve().parent.parent.parent


def test_default_limits_suit_teaching_notebooks():
    lim = Limits()
    assert (lim.cell_wall_seconds, lim.cell_cpu_seconds, lim.notebook_wall_seconds) == (30, 30, 120)
    assert (lim.memory_mb, lim.max_processes, lim.output_bytes) == (1024, 32, 1_000_000)
    assert Limits.from_dict(lim.to_dict()) == lim


def test_limits_reject_nonsense_naming_the_field():
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=0)
    with pytest.raises(ValueError, match="unknown Limits field.*wall"):
        Limits.from_dict({"wall": 3})


def test_frames_round_trip_across_arbitrary_chunks():
    objs = [{"event": "start", "index": 3}, {"text": "é" * 1000, "n": [1, 2.5, None]}, {"event": "done"}]
    data = b"".join(harness.encode_frame(o) for o in objs)
    reader = harness.FrameReader(1 << 20)
    got = []
    for i in range(0, len(data), 7):
        got += reader.feed(data[i:i + 7])
    assert got == objs and reader.pending == 0


def test_frames_from_a_hostile_child_are_bounded_and_checked():
    with pytest.raises(harness.ProtocolError, match="exceeds the limit"):
        harness.FrameReader(100).feed((10**6).to_bytes(4, "big"))
    with pytest.raises(harness.ProtocolError, match="not JSON"):
        harness.FrameReader(100).feed((3).to_bytes(4, "big") + b"{{{")


@pytest.mark.parametrize("name", ["/etc/passwd", "../up", "a/../../b", "", "."])
def test_job_file_names_must_stay_inside_the_private_dir(name):
    with pytest.raises(ValueError, match="relative path"):
        safe_relative_path(name)


def test_job_file_names_may_have_folders():
    assert safe_relative_path("data/points.csv") == "data/points.csv"


def test_fd_output_is_split_per_cell_even_when_marks_straddle_reads():
    budget = _FdBudget(1000)
    st = _FdStream("stdout", budget)
    stream = b"one\n\x00\x1eADC-CELL-END 3\x1e\x00two\n\x00\x1eADC-CELL-END 5\x1e\x00tail"
    for i in range(0, len(stream), 5):
        st.feed(stream[i:i + 5])
    assert st.outputs_of(3) == [{"output_type": "stream", "name": "stdout", "text": "one\n"}]
    assert st.outputs_of(5)[0]["text"] == "two\n"
    assert st.outputs_of(None)[0]["text"] == "tail"
    assert not budget.limited


def test_forged_cell_marks_cannot_grow_the_segments():
    budget = _FdBudget(1000)
    st = _FdStream("stdout", budget, cells=[3, 5])
    st.feed(b"".join(b"x\x00\x1eADC-CELL-END %d\x1e\x00" % i for i in range(100, 5000)))
    st.feed(b"\x00\x1eADC-CELL-END " + b"9" * 5000 + b"\x1e\x00end\x00\x1eADC-CELL-END 3\x1e\x00")
    assert set(st.segments) == {3}
    assert st.outputs_of(3)[0]["text"] == "x" * 1000 and budget.limited


def test_fd_output_memory_stays_bounded_by_the_budget():
    budget = _FdBudget(100)
    st = _FdStream("stderr", budget)
    for _ in range(1000):
        st.feed(b"z" * 10_000)
    assert len(st.pending) < 100 + 64 + 4096 + 10_000
    assert budget.limited
    assert len(st.outputs_of(None)[0]["text"]) <= 100


def test_a_protocol_violation_is_charged_to_the_cell_that_was_running():
    """Frames the child wrote after its violation, read before it was killed, must not move the reader on:
    they would charge the violation to the honest cell after it (and grade that cell's exercise without it)."""
    job = {"cells": [{"index": i, "cell_type": "code", "source": "", "exercise": None} for i in (1, 4, 5)]}
    fds = [os.pipe() for _ in range(3)]
    att = _Attempt()
    reader = _Reader(job, set(), Limits(), att, tuple(r for r, _ in fds))
    def send(*events):
        for ev in events:
            wire.write_frame(fds[0][1], ev)
    send({"event": "start", "index": 1}, {"event": "cell", "index": 1, "status": "ok", "error": None,
                                          "outputs": []},
         {"event": "start", "index": 4}, {"event": "exercise", "index": 3, "data": {}})
    with pytest.raises(wire.ProtocolError, match="out of sequence"):
        reader.read_fd(fds[0][0])
    # What the still-running child wrote next: the end of cell 4 and the start of cell 5.
    send({"event": "cell", "index": 4, "status": "ok", "error": None, "outputs": []},
         {"event": "start", "index": 5})
    for _, w in fds:
        os.close(w)
    reader.drain()
    assert reader.current["index"] == 4 and set(att.cells) == {1}
    for r, _ in fds:
        os.close(r)


def test_short_traceback_drops_colours_and_length():
    stb = ["\x1b[31mTraceback\x1b[0m"] + [f"line {i}" for i in range(100)] + ["x" * 5000]
    tb = harness.short_traceback(stb)
    assert tb[0] == "Traceback" and "..." in tb
    assert len(tb) <= harness.TRACEBACK_LINES and max(map(len, tb)) <= harness.TRACEBACK_LINE_CHARS


SYSTEM = ("/usr", "/etc/", "/bin", "/sbin", "/lib")


@pytest.mark.skipif(not sandbox.bwrap_available()[0], reason="bubblewrap cannot run here")
def test_bwrap_view_holds_the_package_but_not_the_course_folders():
    cmd, fds = sandbox.bwrap_command(["python"], env={"A": "1"}, tmp_bytes=1 << 20)
    for fd in fds:
        os.close(fd)
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in cmd
    ro = {cmd[i + 1]: cmd[i + 2] for i, a in enumerate(cmd) if a == "--ro-bind"}
    rw = [cmd[i + 1] for i, a in enumerate(cmd) if a in ("--bind", "--dev-bind")]
    assert rw == []
    assert ro[str(REPO / "autodiff_course")] == f"{sandbox.NEUTRAL_COURSE}/autodiff_course"
    for secret in ("notebooks", "graders", "examples", "tests", ""):
        assert str(REPO / secret).rstrip("/") not in ro
    assert not any(p in ("/", str(REPO), str(REPO.parent), str(Path.home())) for p in ro)
    # Every folder outside the system ones is shown at a neutral place, not at its own.
    for source, target in ro.items():
        assert target.startswith("/opt/") or (target == source and source.startswith(SYSTEM)), (source, target)


def test_neutral_layout_names_no_host_folder_in_what_it_makes_up(tmp_path):
    extra = tmp_path / "collector-folder"
    extra.mkdir()
    layout = sandbox.neutral_layout([extra])
    host = {p for p in (sys.prefix, sys.base_prefix, str(Path(sys.base_prefix).resolve()), str(REPO), str(extra))
            if not p.startswith("/usr")}
    assert all(target.startswith("/opt/") for _host, target in layout.folders), layout.folders
    assert layout.inside(extra / "m.py") == f"{layout.python_path[0]}/m.py"
    assert layout.inside(REPO / "autodiff_course" / "x.py") == f"{sandbox.NEUTRAL_COURSE}/autodiff_course/x.py"
    made_up = [layout.executable, layout.package_parent, *layout.python_path, *layout.blanks,
               *(v for _k, v in layout.env), *(p for p, _c in layout.files),
               *(t for pair in layout.symlinks for t in pair)]
    contents = [c.decode("utf-8", "surrogateescape") for _p, c in layout.files]
    for text in made_up + contents:
        for folder in host:
            assert folder not in text, (folder, text[:200])
    if sys.prefix != sys.base_prefix:  # a virtual environment: its interpreter and pyvenv.cfg are made up
        cfg = dict(layout.files)[f"{sandbox.NEUTRAL_VENV}/pyvenv.cfg"].decode()
        assert "home = " in cfg and layout.executable.startswith(f"{sandbox.NEUTRAL_VENV}/bin/")


@pytest.mark.skipif(not sandbox.bwrap_available()[0], reason="bubblewrap cannot run here")
def test_resolve_sandbox_prefers_bwrap_where_it_runs():
    assert sandbox.resolve_sandbox("auto") == ("bwrap", [])
    with pytest.raises(ValueError, match="sandbox must be"):
        sandbox.resolve_sandbox("docker")


def test_claimed_uids_are_exclusive_across_processes():
    mine = sandbox.claim_uid()
    try:
        # Another process asking for exactly this uid is refused (a range of one: other pools running on the
        # machine at the same time cannot make this pass or fail).
        code = ("from autodiff_course.grading import sandbox\n"
                f"print(sandbox.claim_uid(base={mine}, count=1))")
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert other.returncode != 0 and "no free sandbox uid" in other.stderr, (other.stdout, other.stderr)
    finally:
        sandbox.release_uid(mine)


@pytest.mark.skipif(os.geteuid() != 0, reason="killing by uid needs root")
def test_kill_uid_processes_ends_a_daemon_of_that_uid_only():
    uid = sandbox.claim_uid()
    try:
        victim = subprocess.Popen(["sleep", "60"], user=uid, group=uid, extra_groups=[],
                                  start_new_session=True)
        bystander = subprocess.Popen(["sleep", "60"])
        assert sandbox.processes_of_uid(uid) == [victim.pid]
        assert sandbox.kill_uid_processes(uid)
        assert victim.wait(timeout=10) == -9
        assert bystander.poll() is None
        bystander.kill()
        bystander.wait()
    finally:
        sandbox.release_uid(uid)


_CHANNEL_PROBE = r"""
import ctypes, errno, os, sys
from autodiff_course.grading import sandbox
NR = {"x86_64": {"mq_open": 240, "add_key": 248, "keyctl": 250},
      "aarch64": {"mq_open": 180, "add_key": 217, "keyctl": 219}}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)
def call(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(NR[name], *args)
    return r, ctypes.get_errno()
if sys.argv[1] == "filtered":
    sandbox.set_no_new_privs()
    assert sandbox.deny_user_namespaces()
O_CREAT, O_RDWR = 0o100, 0o2
mq = call("mq_open", b"probe_q_%d" % os.getpid(), O_CREAT | O_RDWR, 0o600, None)
key = call("add_key", b"user", b"probe_key", b"secret", 6, ctypes.c_long(-4))  # KEY_SPEC_USER_KEYRING
print(mq[0] >= 0, mq[1] == errno.EPERM, key[0] >= 0, key[1] == errno.EPERM, os.getpid() > 0)
if mq[0] >= 0:
    libc.mq_unlink(b"/probe_q_%d" % os.getpid())
if key[0] >= 0:
    call("keyctl", 21, ctypes.c_long(key[0]))  # KEYCTL_INVALIDATE
"""


@pytest.mark.skipif(not sandbox.user_namespaces_deniable(), reason="the seccomp filter is for Linux x86_64/aarch64")
def test_the_child_filter_refuses_message_queues_and_keyrings_that_outlive_a_student():
    # An outside review passed a secret from one student to the next through a POSIX message queue and through
    # the uid's kernel keyring. Without the filter both calls work here (so the test can fail); with it, EPERM.
    run = lambda mode: subprocess.run([sys.executable, "-c", _CHANNEL_PROBE, mode], capture_output=True,
                                      text=True, timeout=60, check=True).stdout.split()
    assert run("plain") == ["True", "False", "True", "False", "True"]
    assert run("filtered") == ["False", "True", "False", "True", "True"]


def _outside_socket_dirs() -> str:
    for d in ("/srv", "/opt", "/var/lib", "/usr/local"):
        if os.path.isdir(d) and os.access(d, os.W_OK) and not any(
                d == s or d.startswith(s + "/") for s in sandbox.SOCKET_DIRS):
            return d
    pytest.skip("no writable folder outside the socket folders")


@pytest.mark.skipif(os.geteuid() != 0, reason="the fallback's namespaces need root")
def test_the_fallback_hides_a_course_folder_that_holds_the_package(tmp_path):
    """A world-readable course folder with its environment inside (a .venv in the course) is covered with
    only the environment left in it. Covering it stages bind mounts in /run, which used to be read-only by
    then: the course, instructor notebooks and graders included, stayed readable by every submission."""
    import shutil
    import tempfile
    course = tempfile.mkdtemp(prefix="adc-course-", dir=_outside_socket_dirs())
    try:
        os.chmod(course, 0o755)
        os.makedirs(os.path.join(course, ".venv", "lib"))
        Path(course, "graders.toml").write_text("SECRET")
        Path(course, ".venv", "lib", "kept.py").write_text("kept")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            problems = sandbox.isolate_fallback([course], [os.path.join(course, ".venv")])
            seen = (os.path.exists(os.path.join(course, "graders.toml")),
                    os.path.exists(os.path.join(course, ".venv", "lib", "kept.py")))
            os.write(w, json.dumps([problems, seen]).encode())
            os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            problems, seen = json.loads(f.read())
        os.waitpid(pid, 0)
        assert problems == [] and seen == [False, True], (problems, seen)
    finally:
        shutil.rmtree(course)
