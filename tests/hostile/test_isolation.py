"""No memory of another student: the process that runs a notebook never held an earlier student's job or result.

The test grades student A (whose answer and output carry a marker), then student B in the same worker, and
while B's cell runs it reads the whole memory of B's process from outside (as root, through /proc/PID/mem)
looking for A's marker: in the answer's source, in A's printed output, in A's result. Under both sandboxes.
"""

import os
import re
import threading
import time

import pytest
from corpus import COLLECTOR, HERE, TEST_LIMITS, honest_notebook, notebook_to_job

from autodiff_course.grading.pool import WorkerPool
from autodiff_course.grading.sandbox import bwrap_available, processes_of_uid

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="reads another uid's memory: needs root")

# Not a substring of anything B runs; A's source holds SOURCE_MARK, A's output OUTPUT_MARK (built at run time).
SOURCE_MARK = b"answer-of-student-alpha-5c81e0d2"
OUTPUT_MARK = b"printed-by-student-alpha-93b7"


def _memory_holds(pid: int, needles: list[bytes]) -> dict[bytes, bool]:
    found = dict.fromkeys(needles, False)
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)", line)
            start, end, perms, path = int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4)
            # Python objects live in writable anonymous memory (the heap, arenas, mmaps); skipping the
            # mapped files keeps the scan short enough not to disturb the grading.
            if not perms.startswith("rw") or path not in ("", "[heap]", "[stack]"):
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError:
                continue
            for needle in needles:
                found[needle] = found[needle] or needle in data
    return found


@pytest.fixture(scope="module", params=["bwrap", "none"])
def pool(request):
    if request.param == "bwrap" and not bwrap_available()[0]:
        pytest.skip("bubblewrap cannot run here")
    with WorkerPool(jobs=1, sandbox=request.param, allow_unsandboxed=True, limits=TEST_LIMITS, collector=COLLECTOR,
                    python_path=[HERE]) as p:
        yield p


def test_a_child_holds_nothing_of_the_previous_student(pool):
    answer = (f"secret = '{SOURCE_MARK.decode()}'\n"
              f"print('printed-by-' + 'student-alpha-93b7')\n"
              "big = [secret * 3 for _ in range(1000)]")
    first = pool.run(notebook_to_job(honest_notebook(answer), "alpha"))
    assert first["status"] == "ok", first["message"]
    assert OUTPUT_MARK.decode() in str(first["cells"])

    found: dict = {}

    def scan():
        give_up = time.monotonic() + 20
        while time.monotonic() < give_up and not found:
            for pid in processes_of_uid(pool.uids[0]):
                try:
                    found.update(_memory_holds(pid, [SOURCE_MARK, OUTPUT_MARK]))
                except OSError:  # it ended while being read: take the next one
                    continue
                return
            time.sleep(0.05)

    scanner = threading.Thread(target=scan)
    scanner.start()
    second = pool.run(notebook_to_job(honest_notebook("import time\ntime.sleep(1.5)"), "beta"))
    scanner.join()
    assert second["status"] == "ok", second["message"]
    assert found, "the child of the second job was not seen"
    assert found == {SOURCE_MARK: False, OUTPUT_MARK: False}


_IPC = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
KEY = 0x0ADC5EED
def probe():
    ids = [libc.shmget(KEY, 0, 0), libc.msgget(KEY, 0), libc.semget(KEY, 0, 0)]
    print('FOUND' if any(i >= 0 for i in ids) else 'nothing left', ids)
"""


def test_sysv_ipc_objects_do_not_outlive_their_notebook(pool):
    create = _IPC + ("probe()\nIPC_CREAT = 0o1000\n"
                     "print('made', libc.shmget(KEY, 4096, IPC_CREAT | 0o666), libc.msgget(KEY, IPC_CREAT | 0o666),"
                     " libc.semget(KEY, 1, IPC_CREAT | 0o666))")
    first = pool.run(notebook_to_job(honest_notebook(create), "ipc-maker"))
    text = "".join(o.get("text", "") for c in first["cells"] for o in c["outputs"])
    assert "made" in text and "-1" not in text.split("made")[1], text
    second = pool.run(notebook_to_job(honest_notebook(_IPC + "probe()"), "ipc-finder"))
    text = "".join(o.get("text", "") for c in second["cells"] for o in c["outputs"])
    assert "nothing left" in text, text
    for kind in ("shm", "msg", "sem"):  # nor on the host
        with open(f"/proc/sysvipc/{kind}") as f:
            assert f"{0x0ADC5EED}" not in [line.split()[0] for line in f.read().splitlines()[1:]]
