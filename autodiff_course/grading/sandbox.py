"""Isolation primitives for grading untrusted notebooks (Linux).

Two sandbox modes, chosen by `resolve_sandbox`:

``"bwrap"``
    Each worker runs inside bubblewrap: read-only binds of only what Python needs (``/usr``, the base Python
    prefix, the venv, the installed ``autodiff_course`` package directory and any extra ``python_path``
    directories), a fresh ``/proc`` and ``/dev``, a size-capped private tmpfs on ``/tmp``, and new network,
    pid, ipc and uts namespaces (``--unshare-net --unshare-pid --die-with-parent --new-session``). Course
    folders (source notebooks, grader configs, gradebook, other students' files) are simply not in the view.
    bwrap reads its arguments from a file descriptor (``--args FD``), so its command line, which every
    process of the sandbox can read as /proc/1/cmdline, names none of the bound folders. Those folders are
    bound at neutral places (`SandboxLayout`: ``/opt/python``, ``/opt/venv``, ``/opt/course``, ...) and the
    worker starts from there, so that nothing the submission's interpreter reports names a host folder; as
    root they are overlay mounts (`overlay_launch`), so that the mount table does not name them either.

``"none"`` (fallback where bwrap is missing or cannot run)
    The worker runs directly. When it runs as root it still tries, once, ``unshare(CLONE_NEWNET)`` (no
    network) and ``unshare(CLONE_NEWNS)`` with a /proc that hides other uids' processes (``hidepid``: not
    the grader's command line, not the host's processes) and empty tmpfs mounts over `hidden_paths` (the repo's
    ``notebooks/``, ``graders/``, ``examples/`` and whatever the caller names), and makes only the
    interpreter, the venv and the package reachable below non-traversable folders (e.g. a Python under a 0700
    home). Each child still gets rlimits, a private temp dir and a separate uid. What could not be applied is
    returned as warnings (the pool emits them once as `SandboxWarning`): other world-readable files of the
    machine stay readable in this mode.

In both modes every submission runs under an unprivileged uid unique to its worker slot (claimed with
`claim_uid`, so concurrent pools never share one); `kill_uid_processes` ends every process of that uid, which
is how daemons and fork bombs are cleaned up. Without root there is no uid to drop to: processes are then only
cleaned up by session, which a double-forked daemon escapes (warned).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import errno
import fcntl
import functools
import importlib.util
import json
import os
import shutil
import signal
import site
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from pathlib import Path

__all__ = [
    "SandboxUnavailable",
    "SandboxWarning",
    "bwrap_available",
    "resolve_sandbox",
    "SandboxLayout",
    "neutral_layout",
    "bwrap_command",
    "overlay_launch",
    "OVERLAY_STAGE",
    "pycache_dirs",
    "args_through_fd",
    "default_hidden_paths",
    "claim_uid",
    "processes_of_uid",
    "kill_uid_processes",
    "isolate_fallback",
    "set_no_new_privs",
    "set_parent_death_signal",
    "set_child_subreaper",
    "deny_user_namespaces",
    "remove_ipc_of_uid",
    "unshare_ipc",
    "vm_size",
]

UID_BASE = 62000
UID_COUNT = 1000

_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_BIND = 4096
_MS_RDONLY = 1
_MS_REMOUNT = 32
_MS_MOVE = 8192
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38

# Capabilities the worker keeps inside bwrap: drop to the slot uid (SETUID/SETGID), hand the private dir to it
# (CHOWN/FOWNER), signal and clean up after the child (KILL/DAC_OVERRIDE). Everything else is dropped.
_WORKER_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER", "CAP_KILL", "CAP_DAC_OVERRIDE")


class SandboxUnavailable(RuntimeError):
    """sandbox="bwrap" was asked for but bubblewrap is missing or cannot create its namespaces here."""


class SandboxWarning(UserWarning):
    """Grading runs with weaker isolation than the bwrap sandbox (emitted once per pool)."""


_libc = None


def _lib():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def _prctl(option: int, arg: int) -> None:
    if _lib().prctl(option, ctypes.c_ulong(arg), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}) failed: {os.strerror(err)}")


def set_no_new_privs() -> None:
    """Forbid gaining privileges through setuid binaries for this process and its descendants."""
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    """Receive `sig` when the parent dies (cleared by credential changes: call it after dropping the uid)."""
    _prctl(_PR_SET_PDEATHSIG, int(sig))


def set_child_subreaper() -> None:
    """Orphaned descendants are re-parented to this process, so it can reap (and count) them."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


# -- no user namespaces inside the sandbox (what bwrap's --disable-userns gives, without --unshare-user) ------
# A seccomp filter: unshare/clone with CLONE_NEWUSER and setns fail with EPERM, clone3 (whose flags a filter
# cannot read) with ENOSYS so that libc falls back to clone; syscalls of another ABI (x32, i386) fail too.
# POSIX message queues (mq_open) and the kernel's keyrings (add_key, request_key, keyctl) fail with EPERM as
# well: both outlive the process that made them and are reachable by the next student given the same uid (an
# outside review passed a secret from one student to the next through each), and no answer needs them.
_SECCOMP_ARCH = {  # machine: (AUDIT_ARCH, unshare, clone, clone3, setns, (mq_open, add_key, request_key, keyctl))
    "x86_64": (0xC000003E, 272, 56, 435, 308, (240, 248, 249, 250)),
    "aarch64": (0xC00000B7, 97, 220, 435, 268, (180, 217, 218, 219)),
}
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _userns_filter(machine: str) -> list[tuple[int, int, int, int]] | None:
    if machine not in _SECCOMP_ARCH:
        return None
    arch, unshare, clone, clone3, setns, denied = _SECCOMP_ARCH[machine]
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    eperm, enosys = _RET_ERRNO | errno.EPERM, _RET_ERRNO | errno.ENOSYS
    # Written with labels; jumps are resolved below (BPF jumps count the instructions they skip).
    prog: list[tuple] = [
        (ld, None, None, 4),                       # arch
        (jeq, "nr", "enosys", arch),               # same ABI, else ENOSYS
        ("nr", ld, None, None, 0),                 # syscall number
        (jge, "enosys", None, 0x40000000),         # x32 numbers
        (jeq, "enosys", None, clone3),
        (jeq, "eperm", None, setns),
        *[(jeq, "eperm", None, number) for number in denied],
        (jeq, "flags", None, unshare),
        (jeq, "flags", "allow", clone),
        ("flags", ld, None, None, 16),             # low half of the first argument (the flags)
        (jset, "eperm", "allow", _CLONE_NEWUSER),
        ("eperm", ret, None, None, eperm),
        ("enosys", ret, None, None, enosys),
        ("allow", ret, None, None, _RET_ALLOW),
    ]
    labels = {ins[0]: pc for pc, ins in enumerate(prog) if isinstance(ins[0], str)}
    plain = [ins[1:] if isinstance(ins[0], str) else ins for ins in prog]

    def offset(target, pc):
        return 0 if target is None else labels[target] - pc - 1

    return [(code, offset(jt, pc), offset(jf, pc), k) for pc, (code, jt, jf, k) in enumerate(plain)]


def user_namespaces_deniable() -> bool:
    """Whether `deny_user_namespaces` can work on this machine (Linux on x86_64 or aarch64)."""
    return sys.platform.startswith("linux") and os.uname().machine in _SECCOMP_ARCH


def deny_user_namespaces() -> bool:
    """Install the seccomp filter above in this process (inherited by every descendant; needs
    no_new_privs or CAP_SYS_ADMIN). Returns False where it cannot be installed."""
    prog = _userns_filter(os.uname().machine) if sys.platform.startswith("linux") else None
    if prog is None:
        return False
    insns = (_SockFilter * len(prog))(*[_SockFilter(*i) for i in prog])
    fprog = _SockFprog(len(prog), insns)
    return _lib().prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0


def vm_size() -> int:
    """This process's address-space size in bytes (what RLIMIT_AS limits), 0 where /proc does not say."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def unshare_ipc() -> None:
    """A new SysV IPC namespace for this process (needs CAP_SYS_ADMIN): its objects die with it."""
    _unshare(_CLONE_NEWIPC)


def _ipc_ids_of_uid(uid: int) -> list[tuple[str, int]]:
    found = []
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        if not lines:
            continue
        head = lines[0].split()
        at_uid, at_cuid = head.index("uid"), head.index("cuid")
        for line in lines[1:]:
            cols = line.split()
            if len(cols) > max(at_uid, at_cuid) and uid in (int(cols[at_uid]), int(cols[at_cuid])):
                found.append((kind, int(cols[1])))
    return found


def _as_uid(uid: int, action) -> None:
    """Run `action()` in a forked helper that has dropped to `uid` (needs root), and wait for it."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            action()
            os._exit(0)
        except BaseException:
            os._exit(2)
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def remove_ipc_of_uid(uid: int) -> int:
    """Remove every SysV shared memory segment, message queue and semaphore set that `uid` owns or created
    in this IPC namespace; returns how many were found. The removal runs as `uid` (a worker without
    CAP_SYS_ADMIN may not remove another uid's objects; their owner may)."""
    found = _ipc_ids_of_uid(uid)
    if not found or os.geteuid() != 0:
        return len(found)
    libc = _lib()
    removers = {"shm": lambda i: libc.shmctl(i, 0, None), "msg": lambda i: libc.msgctl(i, 0, None),
                "sem": lambda i: libc.semctl(i, 0, 0)}
    _as_uid(uid, lambda: [removers[kind](ident) for kind, ident in found])
    return len(found)


_bwrap_probe: dict = {}


def bwrap_available() -> tuple[bool, str]:
    """(True, "") when bwrap exists and can create the namespaces the worker needs; else (False, why)."""
    if "result" in _bwrap_probe:
        return _bwrap_probe["result"]
    exe = shutil.which("bwrap")
    if exe is None:
        result = (False, "bubblewrap (bwrap) is not installed")
    elif not sys.platform.startswith("linux"):
        result = (False, f"bubblewrap needs Linux, this is {sys.platform}")
    else:
        cmd = [exe, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-net",
               "--unshare-pid", "--die-with-parent", "true"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            ok = proc.returncode == 0
            result = (True, "") if ok else (False, f"bwrap cannot create namespaces: {proc.stderr.strip()}")
        except (OSError, subprocess.TimeoutExpired) as exc:
            result = (False, f"bwrap failed to start: {exc}")
    _bwrap_probe["result"] = result
    return result


def _bwrap_has_option(option: str) -> bool:
    """Whether this bwrap knows `option` (``--size`` came with bubblewrap 0.7)."""
    if "help" not in _bwrap_probe:
        try:
            _bwrap_probe["help"] = subprocess.run([shutil.which("bwrap") or "bwrap", "--help"],
                                                  capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.TimeoutExpired):
            _bwrap_probe["help"] = ""
    return option in _bwrap_probe["help"]


#: Setting this environment variable to 1 is the configuration form of `allow_unsandboxed=True`.
ALLOW_UNSANDBOXED_ENV = "AUTODIFF_COURSE_ALLOW_UNSANDBOXED"


def resolve_sandbox(mode: str, allow_unsandboxed: bool = False) -> tuple[str, list[str]]:
    """Map "auto" | "bwrap" | "none" to the mode used and the warnings to show.

    Grading without bubblewrap ("none", or "auto" where bwrap cannot run) must be asked for explicitly:
    `allow_unsandboxed` (the CLI's ``--i-understand-unsandboxed``, or ``AUTODIFF_COURSE_ALLOW_UNSANDBOXED=1``).
    Raises SandboxUnavailable for "bwrap" when bwrap cannot run and for a fallback not asked for,
    ValueError for an unknown mode.
    """
    if mode not in ("auto", "bwrap", "none"):
        raise ValueError(f'sandbox must be "auto", "bwrap" or "none", got {mode!r}')
    allowed = allow_unsandboxed or os.environ.get(ALLOW_UNSANDBOXED_ENV) == "1"
    warns: list[str] = []
    if mode in ("auto", "bwrap"):
        ok, why = bwrap_available()
        if ok:
            return "bwrap", warns
        if mode == "bwrap":
            raise SandboxUnavailable(f'sandbox="bwrap" requested but {why}')
        if not allowed:
            raise SandboxUnavailable(f"{why}; grading without bubblewrap is weaker isolation and must be asked "
                                     "for: --sandbox none --i-understand-unsandboxed")
        warns.append(f"{why}; grading untrusted notebooks without bubblewrap (weaker isolation: the "
                     "submission can read world-readable files outside the hidden course folders)")
    elif not allowed:
        raise SandboxUnavailable('sandbox="none" grades untrusted notebooks without bubblewrap; ask for it '
                                 "explicitly: --sandbox none --i-understand-unsandboxed (allow_unsandboxed=True, "
                                 f"or {ALLOW_UNSANDBOXED_ENV}=1)")
    if not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        warns.append("not Linux: no namespaces, uid drop or process cleanup by uid; do not grade untrusted "
                     "submissions here")
    elif os.geteuid() != 0:
        warns.append("not running as root: submissions run under your own uid (no separate uid, no "
                     "RLIMIT_NPROC, no network isolation); a daemonising submission may survive its grading")
    return "none", warns


def _package_dir() -> Path:
    return Path(__file__).resolve().parent.parent


def git_dirs(root: Path) -> list[Path]:
    """The git folders of a checkout at `root`: ``.git``, and where a ``.git`` file (a worktree) points."""
    dot = Path(root) / ".git"
    found = [dot] if dot.exists() else []
    if dot.is_file():
        try:
            target = dot.read_text().strip()
        except OSError:
            return found
        if target.startswith("gitdir:"):
            gitdir = (dot.parent / target[len("gitdir:"):].strip()).resolve()
            found.append(gitdir)
            common = gitdir / "commondir"
            if common.is_file():
                found.append((gitdir / common.read_text().strip()).resolve())
    return found


def default_hidden_paths() -> list[Path]:
    """Course folders next to the installed package (a source checkout) that a submission must never see."""
    root = _package_dir().parent
    return [root / name for name in ("notebooks", "graders", "examples") if (root / name).exists()] + git_dirs(root)


def _covered(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


#: Where the sandbox shows the folders it needs, whatever their folders on the host: the Python installation,
#: the environment's site-packages (at their place relative to the environment), the package (below
#: ``NEUTRAL_COURSE``) and each extra ``python_path`` folder (``NEUTRAL_PATH`` + its position).
NEUTRAL_PYTHON = "/opt/python"
NEUTRAL_VENV = "/opt/venv"
NEUTRAL_COURSE = "/opt/course"
NEUTRAL_PATH = "/opt/path"
#: Where, as root, the worker finds the compiled modules of those folders (``__pycache__``, hidden in the
#: folders shown): a folder only root may enter (see `overlay_launch` and the pool's worker start).
NEUTRAL_COMPILED = "/opt/.compiled"


def _system_dirs() -> tuple[list[Path], list[tuple[str, str]]]:
    """The system folders bound at their own place (/usr, ...), and the top-level symlinks to recreate."""
    ro: list[Path] = [Path("/usr")]
    links: list[tuple[str, str]] = []
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        p = Path(top)
        if p.is_symlink():
            links.append((top, os.readlink(p)))
        elif p.is_dir():
            ro.append(p)
    return ro, links


@dataclasses.dataclass(frozen=True)
class SandboxLayout:
    """What the bwrap sandbox shows of the host, and where.

    Every host folder it needs is bound read-only at a neutral place (`folders`: host folder, sandbox folder),
    so that ``sys.path``, module files, tracebacks, the interpreter's path and the environment name no folder
    of the grader's host. `files` are made up for the sandbox (sandbox path, content): the environment's
    ``pyvenv.cfg`` naming the neutral interpreter, and the interpreter's build configuration (``sysconfig``)
    with its installation folder renamed. `blanks` are files of the bound folders shown empty because they name
    host folders (an editable install's finder and ``.pth``, a ``direct_url.json`` of a local install).
    `symlinks` (sandbox path, target) make the environment's interpreter. `executable` starts the worker;
    `package_parent` goes on its ``PYTHONPATH``; `python_path` are the sandbox folders of the extra
    ``python_path`` folders, in order; `env` is what else the interpreter needs (where its shared library is).

    What binary files hold (a ``.pyc`` names the folder it was compiled in, the interpreter its run path) is
    made neutral by `overlay_launch` (as root); without it a submission reading those finds the host folders.
    """

    folders: tuple[tuple[str, str], ...]
    files: tuple[tuple[str, bytes], ...]
    blanks: tuple[str, ...]
    symlinks: tuple[tuple[str, str], ...]
    executable: str
    package_parent: str
    python_path: tuple[str, ...]
    env: tuple[tuple[str, str], ...]

    def inside(self, host_path: str | Path) -> str:
        """Where the sandbox sees `host_path` (a path of the system folders stays where it is)."""
        return _inside(self.folders, host_path)


def _inside(folders, host_path) -> str:
    p = Path(host_path)
    for host, target in sorted(folders, key=lambda f: len(f[0]), reverse=True):
        if p == Path(host) or Path(host) in p.parents:
            return str(Path(target) / p.relative_to(host))
    return str(p)


def _names_host_folder(path: Path) -> bool:
    """Whether a file of site-packages names a host folder where the sandbox shows none (read at most 1 MB)."""
    try:
        with open(path, "rb") as f:
            text = f.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return False
    if path.name.startswith("__editable__"):
        return True
    if path.name == "direct_url.json":
        return '"file:' in text
    # A .pth line that is a path (not an import) names a host folder; an import line may name one too.
    return any(line.startswith("/") or ("/" in line and "__editable__" in line) for line in text.splitlines())


def _blanks_of_site(site_dir: Path) -> list[Path]:
    found = []
    try:
        entries = sorted(site_dir.iterdir())
    except OSError:
        return found
    for entry in entries:
        if entry.is_file() and (entry.suffix == ".pth" or entry.name.startswith("__editable__")):
            candidate = entry
        elif entry.suffix == ".dist-info" and (entry / "direct_url.json").is_file():
            candidate = entry / "direct_url.json"
        else:
            continue
        if _names_host_folder(candidate):
            found.append(candidate)
    return found


def neutral_layout(python_path=()) -> SandboxLayout:
    """The `SandboxLayout` of this interpreter, its environment, the package and `python_path` (host folders).

    A Python installation below the system folders (/usr) stays where it is: the sandbox binds those at their
    own place, and their names are the same on every machine."""
    system, _links = _system_dirs()
    folders: list[tuple[str, str]] = []

    def place(host: Path, target: str) -> None:
        if not _covered(host, system) and not any(Path(h) == host for h, _ in folders):
            folders.append((str(host), target))

    base = Path(sys.base_prefix).resolve()
    place(base, NEUTRAL_PYTHON)
    base_exec = Path(sys.base_exec_prefix).resolve()
    if not _covered(base_exec, [base]):
        place(base_exec, NEUTRAL_PYTHON + "-exec")
    real_exe = Path(sys.executable).resolve()
    if not _covered(real_exe, [base, base_exec, *system]):
        place(real_exe.parent.parent, NEUTRAL_PYTHON + "-bin")
    files: list[tuple[str, bytes]] = []
    blanks: list[str] = []
    symlinks: list[tuple[str, str]] = []
    venv = Path(sys.prefix).resolve()
    executable = _inside(folders, real_exe)
    if venv != base:
        for site_dir in sorted({Path(p).resolve() for p in site.getsitepackages()}):
            if _covered(site_dir, [venv]) and site_dir.is_dir() and not _covered(site_dir, [base]):
                place(site_dir, str(Path(NEUTRAL_VENV) / site_dir.relative_to(venv)))
                blanks += [_inside(folders, b) for b in _blanks_of_site(site_dir)]
        home = _inside(folders, real_exe.parent)
        cfg = (f"home = {home}\ninclude-system-site-packages = false\n"
               f"version = {'.'.join(map(str, sys.version_info[:3]))}\n")
        files.append((f"{NEUTRAL_VENV}/pyvenv.cfg", cfg.encode()))
        executable = f"{NEUTRAL_VENV}/bin/{Path(sys.executable).name}"
        for name in sorted({Path(sys.executable).name, "python", "python3"}):
            symlinks.append((f"{NEUTRAL_VENV}/bin/{name}", _inside(folders, real_exe)))
    env: list[tuple[str, str]] = []
    if _inside(folders, base) != str(base):
        files += _renamed_build_config(base, _inside(folders, base), folders)
        blanks += [_inside(folders, f) for f in _texts_naming(_build_dirs(base), base)]
        libdir = sysconfig.get_config_var("LIBDIR")
        if sysconfig.get_config_var("Py_ENABLE_SHARED") and libdir and _covered(Path(libdir).resolve(), [base]):
            # The interpreter finds its shared library by an absolute run path: the host's.
            env.append(("LD_LIBRARY_PATH", _inside(folders, Path(libdir).resolve())))
    package = _package_dir()
    folders.append((str(package), f"{NEUTRAL_COURSE}/{package.name}"))
    extra = []
    for i, p in enumerate(python_path):
        host = Path(p).resolve()
        folders.append((str(host), f"{NEUTRAL_PATH}{i}"))
        extra.append(f"{NEUTRAL_PATH}{i}")
    return SandboxLayout(tuple(folders), tuple(files), tuple(blanks), tuple(symlinks), executable,
                         NEUTRAL_COURSE, tuple(extra), tuple(env))


def _build_dirs(base: Path) -> list[Path]:
    """The folders of a Python installation whose text files name its folder: its scripts (their ``#!``
    lines), its pkg-config files, its build configuration (``Makefile``, ``python-config.py``)."""
    lib = base / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return [base / "bin", base / "lib" / "pkgconfig", *sorted(lib.glob("config-*"))]


def _texts_naming(dirs: list[Path], folder: Path) -> list[Path]:
    """The text files directly in `dirs` (not symbolic links, at most 4 MB) whose content names `folder`."""
    name = os.fsencode(str(folder))
    found = []
    for d in dirs:
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for f in entries:
            try:
                if f.is_symlink() or not f.is_file() or f.stat().st_size > 4 << 20:
                    continue
                data = f.read_bytes()
            except OSError:
                continue
            if b"\0" not in data[:8192] and name in data:
                found.append(f)
    return found


def _renamed_build_config(base: Path, neutral: str, folders) -> list[tuple[str, bytes]]:
    """The interpreter's build configuration (what ``sysconfig.get_config_vars()`` returns) with its
    installation folder renamed to `neutral`; [] where it is not a file of `base`."""
    try:
        spec = importlib.util.find_spec(sysconfig._get_sysconfigdata_name())
    except (AttributeError, ImportError, ValueError):
        return []
    origin = Path(spec.origin).resolve() if spec and spec.origin else None
    if origin is None or not origin.is_file() or not _covered(origin, [base]):
        return []
    text = origin.read_text(encoding="utf-8", errors="surrogateescape")
    for name in sorted({str(base), sys.base_prefix, sys.base_exec_prefix}, key=len, reverse=True):
        text = text.replace(name, neutral)
    return [(_inside(folders, origin), text.encode("utf-8", "surrogateescape"))]


def bwrap_command(worker_argv: list[str], *, env: dict[str, str], layout: SandboxLayout | None = None,
                  tmp_bytes: int | None = None, stage: str | None = None) -> tuple[list[str], list[int]]:
    """The bwrap argv that runs `worker_argv` in the worker sandbox described in the module docstring, and
    the file descriptors it reads (``--ro-bind-data``; pass them to bwrap, then close them).

    `env` replaces the environment entirely. The folders of `layout` (default: `neutral_layout()`) are bound
    read-only at their neutral places, from their host folder, or from ``stage/<position>`` when `stage` is
    given (`overlay_launch` mounts them there).
    """
    exe = shutil.which("bwrap")
    if exe is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed")
    layout = layout or neutral_layout()
    # A cgroup namespace too: /proc/self/cgroup otherwise names the host's own cgroup (an outside review read
    # its id there).
    args = [exe, "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--hostname", "grader", "--cap-drop", "ALL"]
    for cap in _WORKER_CAPS:
        args += ["--cap-add", cap]
    system, links = _system_dirs()
    for top, target in links:
        args += ["--symlink", target, top]
    # Only the interpreter, the environment and the package itself: a source checkout's course folders next to
    # the package (notebooks/, graders/, ...) are deliberately not bound.
    binds = [(str(p), str(p)) for p in system]
    binds += [(f"{stage}/{i}" if stage else host, target) for i, (host, target) in enumerate(layout.folders)]
    if stage:
        binds += [(f"{stage}/c{i}", NEUTRAL_COMPILED + target) for i, (_h, target) in enumerate(layout.folders)]
    if tmp_bytes and _bwrap_has_option("--size"):
        args += ["--size", str(int(tmp_bytes))]
    args += ["--perms", "0755", "--tmpfs", "/tmp"]
    # bwrap creates missing parents of a bind target as 0700, which the unprivileged uid cannot traverse.
    targets = [Path(t) for _s, t in binds] + [Path(t).parent for t, _l in layout.symlinks]
    parents: list[str] = []
    for p in targets:
        for a in (*reversed(p.parents), p):
            if str(a) not in ("/", "/tmp") and str(a) not in parents and not _covered(a, [Path(t) for _s, t in binds]):
                parents.append(str(a))
    for a in parents:
        args += ["--perms", "0700" if a == NEUTRAL_COMPILED else "0755", "--dir", a]
    for source, target in binds:
        args += ["--ro-bind", source, target]
    for f in ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/fonts"):
        if os.path.exists(f):
            args += ["--ro-bind", f, f]
    for path, target in layout.symlinks:
        args += ["--symlink", target, path]
    fds: list[int] = []
    for path, content in layout.files:
        fd = _memfd("sandbox-file", content)
        fds.append(fd)
        args += ["--perms", "0644", "--ro-bind-data", str(fd), path]
    for path in layout.blanks:
        args += ["--ro-bind", "/dev/null", path]
    args += ["--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp", "--clearenv"]
    for k, v in env.items():
        args += ["--setenv", k, v]
    return args + ["--", *worker_argv], fds


#: Where `overlay_launch` mounts the folders, in a tmpfs of its own mount namespace over /tmp (the host's /tmp
#: is not read by bwrap: its binds come from the system folders, /etc, /dev and this stage).
OVERLAY_STAGE = "/tmp/autodiff-course-stage"


@functools.lru_cache(maxsize=4)
def _patched_binaries(base: str, neutral: str) -> tuple[tuple[str, int, bytes], ...]:
    """The interpreter, its shared libraries and its extension modules, where they name the installation's
    folder `base` (a run path, the compiled-in prefix), renamed: (path relative to `base`, mode, content).

    Each occurrence of `base` keeps its length and its last component (``/home/someone/py/3.12.1`` reads
    ``/opt/python/3.12.1`` padded with slashes): a linker shares the tails of strings, and the version string
    of libpython is the tail of its prefix. Empty where the rest of `base` is shorter than `neutral` + "/"."""
    name = os.fsencode(base)
    keep = os.fsencode(Path(base).name)
    head = len(name) - len(keep)
    if head < len(neutral) + 1:
        return ()
    renamed = os.fsencode(neutral) + b"/" * (head - len(neutral)) + keep
    lib = Path(base) / "lib"
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [Path(sys.executable).resolve(), *lib.glob("*.so*"), *(lib / version / "lib-dynload").glob("*.so")]
    found = []
    for f in sorted(set(candidates)):
        try:
            if f.is_symlink() or not f.is_file() or not _covered(f, [Path(base)]):
                continue
            data = f.read_bytes()
            mode = stat.S_IMODE(f.stat().st_mode)
        except OSError:
            continue
        if name in data:
            found.append((str(f.relative_to(base)), mode, data.replace(name, renamed)))
    return tuple(found)


@functools.lru_cache(maxsize=64)
def pycache_dirs(folder: str) -> list[str]:
    """The ``__pycache__`` folders below `folder`, relative to it (walked once per process: a few thousand in
    a Python installation with PyTorch, under a second)."""
    found = []
    for dirpath, dirnames, _files in os.walk(folder):
        if "__pycache__" in dirnames:
            dirnames.remove("__pycache__")
            found.append(os.path.relpath(os.path.join(dirpath, "__pycache__"), folder))
    return found


def overlay_launch(command: list[str], layout: SandboxLayout) -> tuple[list[str], int]:
    """The argv that runs `command` (a bwrap command built with ``stage=OVERLAY_STAGE``) after mounting the
    folders of `layout` there as overlays (`autodiff_course.grading.overlay_launcher`: needs root), and the
    file descriptor of its spec (pass it to the process, close it once started).

    In the folders shown, the ``__pycache__`` folders are hidden: a compiled module names the folder it was
    compiled in, the host's. The whole folders are bound below `NEUTRAL_COMPILED` too, which only root may
    enter: the worker (root) loads its compiled modules from there, the submission (its own uid) cannot. The
    interpreter's binaries that name its installation folder are shown renamed (`_patched_binaries`).

    The spec passed is 8 bytes (the length of a JSON header, big-endian), the header, then the content of the
    renamed files, which the header places by offset and size."""
    folders = [h for h, _t in layout.folders]
    replace: list[list] = [[] for _ in folders]
    blob = bytearray()
    for i, (host, target) in enumerate(layout.folders):
        if target == NEUTRAL_PYTHON:
            for rel, mode, data in _patched_binaries(host, NEUTRAL_PYTHON):
                replace[i].append([rel, mode, len(blob), len(data)])
                blob += data
    spec = {"cover": "/tmp", "stage": OVERLAY_STAGE, "folders": folders, "hide": [pycache_dirs(h) for h in folders],
            "replace": replace}
    head = json.dumps(spec).encode()
    fd = _memfd("overlay-spec", len(head).to_bytes(8, "big") + head + bytes(blob))
    launcher = Path(__file__).resolve().parent / "overlay_launcher.py"
    return [sys.executable, "-I", "-S", str(launcher), str(fd), "--", *command], fd


def _memfd(name: str, data: bytes) -> int:
    """An in-memory file holding `data`, read from its start (not inherited unless passed)."""
    fd = os.memfd_create(name)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def args_through_fd(argv: list[str]) -> tuple[list[str], int]:
    """``[bwrap, "--args", FD, "--", command...]`` and FD, an in-memory file holding bwrap's options from
    `argv` (a `bwrap_command`) NUL-separated; bwrap reads only options there, the command stays.

    bwrap stays pid 1 of the sandbox, and every process there may read /proc/1/cmdline: given on the command
    line, its binds name the host's folders (the course checkout, the Python installation). Pass FD to the
    process (``pass_fds``) and close it once bwrap has started."""
    end = argv.index("--")
    fd = _memfd("bwrap-args", b"".join(os.fsencode(a) + b"\0" for a in argv[1:end]))
    return [argv[0], "--args", str(fd), *argv[end:]], fd


# Held for the life of the process: the lock on a uid's file is what reserves that uid.
_claimed: dict[int, int] = {}


def claim_uid(base: int = UID_BASE, count: int = UID_COUNT) -> int:
    """Reserve an unused uid in [base, base+count) for one worker slot, for the life of this process.

    The reservation is an flock on a file in the system temp dir, so pools in other processes (a test run and
    a batch run at once) never share a uid: `kill_uid_processes` on one slot cannot hit another's submissions.
    Raises RuntimeError when every uid of the range is taken.
    """
    lock_dir = Path(tempfile.gettempdir()) / "autodiff-course-uids"
    lock_dir.mkdir(mode=0o755, exist_ok=True)
    for uid in range(base, base + count):
        if uid in _claimed:
            continue
        fd = os.open(lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if processes_of_uid(uid):
            # Left over from a crashed pool: clean it before handing the uid out again.
            kill_uid_processes(uid)
        _claimed[uid] = fd
        return uid
    raise RuntimeError(f"no free sandbox uid in {base}..{base + count - 1} (all locked under {lock_dir})")


def release_uid(uid: int) -> None:
    """Give back a uid from `claim_uid`."""
    fd = _claimed.pop(uid, None)
    if fd is not None:
        os.close(fd)


def processes_of_uid(uid: int, *, zombies: bool = False) -> list[int]:
    """Pids of processes whose real uid is `uid` (zombies too if asked), as this process's /proc shows."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                status = f.read()
        except OSError:
            continue
        real_uid = state = None
        for line in status.splitlines():
            if line.startswith("Uid:"):
                real_uid = int(line.split()[1])
            elif line.startswith("State:"):
                state = line.split()[1]
        if real_uid == uid and (zombies or state != "Z"):
            pids.append(int(entry))
    return pids


def kill_uid_processes(uid: int, *, rounds: int = 100) -> bool:
    """SIGKILL every process of `uid` (needs root). Returns True when no live process of it is left.

    While /proc shows a live process of the uid, a helper process takes the uid and calls kill(-1, SIGKILL):
    that reaches double-forked daemons and every member of a fork bomb, and nothing of any other uid.
    (kill(-1) reports success even when it signalled nothing, so /proc, not its return value, says when we
    are done.)
    """
    for _ in range(rounds):
        if not processes_of_uid(uid):
            return True
        if os.geteuid() != 0:
            return False
        _as_uid(uid, lambda: os.kill(-1, signal.SIGKILL))
        time.sleep(0.002)
    return not processes_of_uid(uid)


def _unshare(flags: int) -> None:
    if _lib().unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    rc = _lib().mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                      ctypes.c_ulong(flags), data.encode() if data else None)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _expose(paths: list[str]) -> None:
    """Make `paths` reachable by any uid in this (private) mount namespace.

    A needed directory below an ancestor others cannot traverse (a Python installed under a 0700 home) is
    moved aside, the ancestor is covered by a 0755 tmpfs, and the directory is moved back in: the unprivileged
    uid reaches exactly the needed directories and nothing else of that ancestor.
    """
    by_ancestor: dict[str, list[str]] = {}
    for p in sorted({os.path.realpath(p) for p in paths if os.path.isdir(p)}):
        blocked = [str(a) for a in reversed(Path(p).parents)
                   if str(a) != "/" and not os.stat(a).st_mode & 0o001]
        if blocked:
            subs = by_ancestor.setdefault(blocked[0], [])
            if not any(p == s or p.startswith(s + "/") for s in subs):
                subs.append(p)
    for ancestor, subs in by_ancestor.items():
        _cover(ancestor, subs, tempfile.gettempdir())


def _cover(path: str, keep: list[str], stage_root: str, mode: str = "755", size: str = "64k") -> None:
    """Mount an empty tmpfs over `path`, keeping the directories `keep` below it visible where they were
    (each is bind-mounted aside under `stage_root`, which must not be below `path`, and moved back)."""
    stage = tempfile.mkdtemp(prefix="cover-", dir=stage_root)
    try:
        for i, sub in enumerate(keep):
            os.mkdir(os.path.join(stage, str(i)))
            _mount(sub, os.path.join(stage, str(i)), None, _MS_BIND | _MS_REC, None)
        _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode={mode},size={size}")
        for i, sub in enumerate(keep):
            os.makedirs(sub, mode=0o755, exist_ok=True)
            _mount(os.path.join(stage, str(i)), sub, None, _MS_MOVE, None)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _below(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


# Where host services keep unix sockets (a socket on a read-only mount still accepts connections): covered.
SOCKET_DIRS = ("/run", "/var/run", "/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")


def _private_proc() -> list[str]:
    """A /proc of this mount namespace that shows another uid's processes only to those who may trace them
    (root here, not the submission): the grader's command line and the host's processes stay unseen."""
    for option in ("hidepid=invisible", "hidepid=2"):  # "invisible" since Linux 5.8: not even listed
        try:
            _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, option)
            return []
        except OSError as exc:
            why = exc
    return [f"cannot mount /proc with hidepid ({why}): submissions can read the command lines of the "
            "grader and of every host process"]


def isolate_fallback(hidden_paths: list[str], expose_paths: list[str] = (), private_tmp: str | None = None,
                     tmp_bytes: int | None = None) -> list[str]:
    """Best-effort isolation of the current process (the fallback worker) without bwrap.

    As root: new network and SysV IPC namespaces (only a down loopback, no abstract unix socket of the
    host; IPC objects die with the worker) and a private mount namespace with its own /proc (other uids'
    processes hidden from the submission) in which every path of
    `hidden_paths` is covered by an empty tmpfs (keeping the directories of `expose_paths` below it, so a
    course folder holding the package can be hidden as a whole), every directory of `expose_paths` (the
    interpreter, the package) is reachable by the unprivileged uid, the folders where host services keep
    unix sockets and where anyone may write (`SOCKET_DIRS`) are empty and read-only, and `private_tmp` is a
    fresh tmpfs of `tmp_bytes` (the only place a submission can write). Returns the list of what could not
    be done, as warning texts (empty when everything was applied).
    """
    problems = []
    if os.geteuid() != 0:
        return ["not root: no network or mount namespace for submissions"]
    for flag, what in ((_CLONE_NEWNET, "submissions can use the network"),
                       (_CLONE_NEWIPC, "SysV IPC objects of submissions reach the host")):
        try:
            _unshare(flag)
        except OSError as exc:
            problems.append(f"unshare({flag:#x}) failed ({exc}): {what}")
    hidden = [os.path.realpath(p) for p in hidden_paths if os.path.exists(p)]
    try:
        _unshare(_CLONE_NEWNS)
        _mount("none", "/", None, _MS_REC | _MS_PRIVATE, None)
    except OSError as exc:
        return problems + [f"no private mount namespace ({exc}): submissions can read "
                           + (", ".join(hidden) or "the course folders")]
    problems += _private_proc()
    exposed = sorted({os.path.realpath(p) for p in expose_paths if os.path.isdir(p)})
    try:
        _expose(exposed)
    except OSError as exc:
        problems.append(f"cannot make the Python installation readable for the sandbox uid ({exc})")
    # /run first: once it is a private tmpfs it is the staging place for covering the others.
    dirs: list[str] = []
    for d in SOCKET_DIRS:
        if os.path.isdir(d) and not os.path.islink(d) and not any(_below(d, e) for e in dirs):
            dirs.append(d)
    stage_root = None
    for d in dirs:
        keep = [p for p in exposed + ([private_tmp] if private_tmp else []) if _below(p, d) and p != d]
        try:
            _cover(d, keep, stage_root or tempfile.gettempdir(), mode="755" if keep else "555")
            stage_root = stage_root or d
        except OSError as exc:
            problems.append(f"cannot cover {d} ({exc}): host sockets or shared files there stay reachable")
    # Each path is hidden on its own, so one failure cannot leave the others readable. A path that no
    # longer exists here is already invisible: `_expose` covers a 0700 ancestor (say, a checkout in a
    # private temp folder) with a tmpfs that holds only the exposed directories.
    for p in hidden:
        covered = any(_below(p, d) for d in dirs) and not any(_below(p, e) for e in exposed)
        if not os.path.lexists(p) or covered:
            continue
        keep = [e for e in exposed if _below(e, p) and e != p]
        try:
            if os.path.isdir(p):
                if keep:
                    _cover(p, keep, stage_root or tempfile.gettempdir(), mode="711")
                else:
                    _mount("tmpfs", p, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=4k,mode=000")
            else:
                _mount("/dev/null", p, None, _MS_BIND, None)
        except OSError as exc:
            problems.append(f"cannot hide {p} ({exc}): submissions can read it")
    # Read-only last: covering a hidden folder that holds the package (a course with its .venv inside) stages
    # its bind mounts in /run, which must still be writable then.
    try:
        if private_tmp:
            size = f",size={int(tmp_bytes)}" if tmp_bytes else ""
            _mount("tmpfs", private_tmp, "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode=711{size}")
        for d in dirs:
            _mount(d, d, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, None)
    except OSError as exc:
        problems.append(f"cannot make the shared folders read-only ({exc}): submissions can leave files "
                        "in them")
    return problems


def warn_once(messages: list[str], _seen: set = set()) -> None:  # noqa: B006 - the set is the memory
    """Emit each sandbox warning text once per process as SandboxWarning."""
    for m in messages:
        if m not in _seen:
            _seen.add(m)
            warnings.warn(m, SandboxWarning, stacklevel=3)
