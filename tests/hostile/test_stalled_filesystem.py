"""A submission file on a filesystem that never answers a read does not stall the grader.

A student folder may hold (or be) a FUSE mount whose server answers the lookup and the open of a file and then
never its read: a plain read blocks for ever, before any sandbox. Here a real FUSE mount is served by a small
server speaking the kernel's FUSE protocol on /dev/fuse, which does exactly that; `read_untrusted` must give up
within its deadline with an error naming the file. Afterwards the server fails the stalled read, which ends
the abandoned reading thread, and the mount is taken down.
"""

import ctypes
import ctypes.util
import os
import select
import stat
import struct
import threading
import time

import pytest

from autodiff_course.grading.notebooks import UntrustedFileError, read_untrusted

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/fuse"),
                                reason="mounting a FUSE filesystem needs root and /dev/fuse")

_LOOKUP, _FORGET, _GETATTR, _OPEN, _READ, _INIT, _BATCH_FORGET = 1, 2, 3, 14, 15, 26, 42
_ROOT, _FILE = 1, 2
_IN_HEADER = struct.Struct("<IIQQIIIHH")  # len, opcode, unique, nodeid, uid, gid, pid, extlen, padding
_OUT_HEADER = struct.Struct("<IiQ")  # len, error, unique
_ENOENT, _EIO, _ENOSYS = 2, 5, 38


def _attr(node: int) -> bytes:
    """A fuse_attr: the root folder, or a 10-byte regular file with a single name."""
    mode, size, nlink = (stat.S_IFDIR | 0o755, 0, 2) if node == _ROOT else (stat.S_IFREG | 0o644, 10, 1)
    now = int(time.time())
    return struct.pack("<QQQQQQIIIIIIIIII", node, size, 1, now, now, now, 0, 0, 0, mode, nlink, 0, 0, 0,
                       4096, 0)


class StalledFuse:
    """Serves one file, ``data.csv``, whose reads are never answered."""

    def __init__(self, mountpoint: str):
        self.mountpoint = mountpoint
        self.stalled: list[int] = []  # the reads waiting for an answer
        self.stop = False
        self.fd = os.open("/dev/fuse", os.O_RDWR)
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self.libc = libc
        options = f"fd={self.fd},rootmode=40000,user_id=0,group_id=0".encode()
        if libc.mount(b"stalled", mountpoint.encode(), b"fuse", ctypes.c_ulong(2 | 4), options) != 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            pytest.skip(f"cannot mount FUSE here: {os.strerror(err)}")
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _reply(self, unique: int, error: int = 0, body: bytes = b"") -> None:
        os.write(self.fd, _OUT_HEADER.pack(_OUT_HEADER.size + len(body), -error, unique) + body)

    def _serve(self) -> None:
        while not self.stop:
            if not select.select([self.fd], [], [], 0.05)[0]:
                continue
            try:
                request = os.read(self.fd, 1 << 21)
            except OSError:  # the connection was aborted or unmounted: done
                return
            _len, opcode, unique, node, *_rest = _IN_HEADER.unpack_from(request)
            arg = request[_IN_HEADER.size:]
            if opcode == _INIT:
                # fuse_init_out (64 bytes): protocol 7.31, no features.
                self._reply(unique, body=struct.pack("<IIIIHHII", 7, 31, 0, 0, 0, 0, 4096, 1) + bytes(36))
            elif opcode == _LOOKUP:
                if node == _ROOT and arg.rstrip(b"\0") == b"data.csv":
                    self._reply(unique, body=struct.pack("<QQQQII", _FILE, 0, 60, 60, 0, 0) + _attr(_FILE))
                else:
                    self._reply(unique, _ENOENT)
            elif opcode == _GETATTR:
                self._reply(unique, body=struct.pack("<QII", 60, 0, 0) + _attr(node))
            elif opcode == _OPEN:
                self._reply(unique, body=struct.pack("<QII", 1, 0, 0))
            elif opcode == _READ:
                self.stalled.append(unique)  # not answered: the reader blocks here
            elif opcode not in (_FORGET, _BATCH_FORGET):  # forgets take no reply
                self._reply(unique, _ENOSYS)

    def close(self) -> None:
        """Fail the stalled reads (so the abandoned reader ends), stop serving, unmount."""
        for unique in self.stalled:
            self._reply(unique, _EIO)
        self.stop = True
        self.thread.join(5)
        self.libc.umount2(self.mountpoint.encode(), 2)  # MNT_DETACH
        os.close(self.fd)


def test_a_file_whose_read_never_returns_is_refused_within_the_deadline(tmp_path):
    mnt = tmp_path / "student-folder"
    mnt.mkdir()
    fuse = StalledFuse(str(mnt))
    try:
        start = time.monotonic()
        with pytest.raises(UntrustedFileError, match=r"data\.csv: not read within 1 s"):
            read_untrusted(None, mnt / "data.csv", 100, seconds=1)
        elapsed = time.monotonic() - start
        assert fuse.stalled  # the read did reach the filesystem, which stalled it
        # The deadline, plus the thread's start: far below the read's own wait, which is for ever.
        assert 1.0 <= elapsed < 3.0, elapsed
    finally:
        fuse.close()
    assert not fuse.thread.is_alive()
    # The abandoned reader ended once its read failed: nothing of it is left behind.
    give_up = time.monotonic() + 5
    while any(t.name == "read-untrusted" for t in threading.enumerate()) and time.monotonic() < give_up:
        time.sleep(0.01)
    assert not any(t.name == "read-untrusted" for t in threading.enumerate())


def test_a_file_of_a_filesystem_that_answers_is_read_as_before(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"1.0,2.0\n")
    assert read_untrusted(None, path, 100, seconds=1) == b"1.0,2.0\n"
