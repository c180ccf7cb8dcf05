"""Start bwrap with the sandbox's read-only folders mounted so that its mount table names no host folder.

Run by the pool, as root, as ``python -I -S overlay_launcher.py SPEC_FD -- bwrap ...``
(`autodiff_course.grading.sandbox.overlay_launch`). It imports nothing of the package: it runs before every
worker start, and importing the package would load every layer of it.

Why: a bind mount shows, in the fourth field of /proc/self/mountinfo, the folder of its filesystem it was
taken from, and every process of the sandbox may read that file. The interpreter bound at /opt/python would
read as taken from the host's Python installation. An overlay mount is a filesystem of its own: its root is
"/", and its options name its layers by the strings given at mount time, here ``/proc/self/fd/N``. So, in a
mount namespace of its own, this mounts each folder of the spec as a read-only overlay of itself (with an empty
second layer: overlayfs wants two lower layers when it has no upper one) at ``stage/0``, ``stage/1``, ...
in a private tmpfs over ``cover`` (a folder of the host that bwrap does not read from: /tmp), and then
becomes bwrap, which binds those. Where overlayfs cannot be mounted, a folder is bind-mounted there instead,
and the worker is told so (``NOTES_ENV``), which it reports as a warning.

Each folder is mounted twice: at ``stage/<i>`` with a layer above it that hides the paths of its ``hide``
list (whiteouts: its ``__pycache__`` folders, whose compiled files name the folder they were compiled in), and
whole at ``stage/c<i>``, which bwrap binds below a folder only root may enter (the warm worker loads its
compiled modules from there; the submission cannot read them).

SPEC_FD holds JSON: ``{"cover": folder, "stage": folder below it, "folders": [host folder, ...],
"hide": [[path relative to its folder, ...] for each folder], "replace": [[[path relative to its folder, mode,
offset, size], ...] for each folder]}`` after 8 bytes of its length, and then the content of the files that
``replace`` places in the layer above the folder (the interpreter's binaries with its folder renamed).
"""

import ctypes
import ctypes.util
import json
import os
import stat
import sys

_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 4096, 16384, 1 << 18

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _mount(source, target, fstype, flags, data):
    if _libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                   data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


#: The worker's environment variable for what could not be done here (JSON list of texts naming no folder).
NOTES_ENV = "AUTODIFF_COURSE_SANDBOX_NOTES"
_notes = []


def _overlay(fd, other_fd, target, above=False):
    """A read-only overlay of the folder `fd` at `target`, with the layer `other_fd` above it or below; a bind
    mount of the folder where overlayfs refuses it (noted for the worker's warnings)."""
    os.mkdir(target, 0o755)
    layers = (other_fd, fd) if above else (fd, other_fd)
    try:
        _mount("overlay", target, "overlay", _MS_RDONLY | _MS_NOSUID | _MS_NODEV,
               "lowerdir=" + ":".join(f"/proc/self/fd/{n}" for n in layers))
    except OSError as exc:
        note = (f"overlayfs refused a folder of the sandbox ({exc.strerror}): it is bind-mounted, so the "
                "sandbox's mount table, and its compiled modules and binaries, name its folder on this machine")
        if note not in _notes:
            _notes.append(note)
        _mount(f"/proc/self/fd/{fd}", target, None, _MS_BIND | _MS_REC, None)


def _pass_notes(command):
    """Append the notes as a --setenv for the worker to bwrap's options file (``--args FD``), which bwrap reads
    after this: not on its command line, which the sandbox can read."""
    if not _notes or "--args" not in command:
        return
    fd = int(command[command.index("--args") + 1])
    os.lseek(fd, 0, os.SEEK_END)
    os.write(fd, b"".join(a.encode() + b"\0" for a in ("--setenv", NOTES_ENV, json.dumps(_notes))))
    os.lseek(fd, 0, os.SEEK_SET)


def main(argv):
    spec_fd, sep, command = int(argv[1]), argv[2], argv[3:]
    if sep != "--" or not command:
        sys.exit("usage: overlay_launcher.py SPEC_FD -- COMMAND...")
    with os.fdopen(spec_fd, "rb") as f:
        raw = f.read()
    head = int.from_bytes(raw[:8], "big")
    spec, blob = json.loads(raw[8:8 + head]), memoryview(raw)[8 + head:]
    if _libc.unshare(_CLONE_NEWNS) != 0:
        sys.exit(f"overlay launcher: no mount namespace: {os.strerror(ctypes.get_errno())}")
    _mount("none", "/", None, _MS_REC | _MS_PRIVATE, None)
    # Every folder is opened before its path can be covered: the mounts below name it by descriptor only.
    fds = [os.open(folder, os.O_PATH | os.O_DIRECTORY) for folder in spec["folders"]]
    # A tmpfs over `cover` (in this namespace only) holds the stage: nothing is left on the host to remove.
    _mount("tmpfs", spec["cover"], "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode=700,size={len(blob) + (16 << 20)}")
    stage = spec["stage"]
    os.makedirs(stage, 0o755)
    empty = os.path.join(stage, "empty")
    os.mkdir(empty, 0o755)
    empty_fd = os.open(empty, os.O_PATH | os.O_DIRECTORY)
    for i, (fd, hide, replace) in enumerate(zip(fds, spec["hide"], spec["replace"])):
        # The compiled view (every file, their __pycache__ included) at stage/c<i>; the shown one at stage/<i>,
        # where a layer above the folder holds a whiteout for each path of `hide` and the renamed files.
        _overlay(fd, empty_fd, os.path.join(stage, f"c{i}"))
        top = os.path.join(stage, f"t{i}")
        os.mkdir(top, 0o755)
        for rel in hide:
            os.makedirs(os.path.join(top, os.path.dirname(rel)), 0o755, exist_ok=True)
            os.mknod(os.path.join(top, rel), stat.S_IFCHR, os.makedev(0, 0))
        for rel, mode, offset, size in replace:
            path = os.path.join(top, rel)
            os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            data = blob[offset:offset + size]
            while data:
                data = data[os.write(out, data):]
            os.fchmod(out, mode)
            os.close(out)
        top_fd = os.open(top, os.O_PATH | os.O_DIRECTORY)
        _overlay(fd, top_fd, os.path.join(stage, str(i)), above=True)
        os.close(top_fd)
        os.close(fd)
    os.close(empty_fd)
    _pass_notes(command)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
