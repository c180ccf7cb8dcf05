"""Checker latency: one ``check_reverse`` on the seed notebook's reverse-mode exercise.

    python benchmarks/bench_checks.py [--repeats 200] [--fresh 5] [--json PATH]

Two figures, with the targets of the issue:
  warm   one check_reverse (collect: plain and traced runs; judge: graph rebuilt and recomputed, engine and
         PyTorch references, diagnosis, feedback) on y = sin(x0) + x1 cos(x0) + x1/x2 at its visible point, in
         an interpreter that already did one. Target: under 50 ms. Also the same with the hidden spec's five
         points, and a wrong answer (diagnosis included).
  first  the same call in a fresh interpreter, timed from before ``import torch`` (PyTorch's import included,
         which dominates), and the part after PyTorch's import (ours). Target: under 3 s. PyTorch's import
         alone is measured beside it, because it depends on the machine's load more than on anything here.

Each warm figure is the median of ``--repeats`` calls; fresh figures are over ``--fresh`` new interpreters.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STUDENT = """
import numpy as np

def function_reverse(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1/v2
    v7 = v3+v5
    v8 = v6 + v7
    vbar8 = 1
    vbar7 = vbar8 * 1
    vbar6 = vbar8 * 1
    vbar5 = vbar7 * 1
    vbar4 = vbar5 * v1
    vbar3 = vbar7 * 1
    vbar2 = vbar6 * (-1*v1/v2**2)
    vbar1 = vbar5 * v4 + vbar6 * (1/v2)
    vbar0 = vbar3*np.cos(v0) + vbar4*(-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8

def wrong_reverse(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1/v2
    v7 = v3+v5
    v8 = v6 + v7
    vbar8 = 1
    vbar7 = vbar8
    vbar6 = vbar8
    vbar5 = vbar7
    vbar4 = vbar5 * v1
    vbar3 = vbar7
    vbar2 = vbar6 * (-v1/v2**2)
    vbar1 = vbar5 * v4
    vbar0 = vbar3*np.cos(v0) + vbar4*(-np.sin(v0))
    return v8, vbar0, vbar1, vbar2, vbar3, vbar4, vbar5, vbar6, vbar7, vbar8
"""

VISIBLE = {
    "assignment": "autodiff_by_hand",
    "id": "reverse",
    "kind": "reverse",
    "function": "function_reverse",
    "reference": "np.sin(x0) + x1*np.cos(x0) + x1/x2",
    "args": ["x0", "x1", "x2"],
    "test_points": [[1.8, 2.4, 0.7]],
    "rtol": 1e-9,
    "time_limit": 10,
}
HIDDEN = dict(
    VISIBLE, hidden_points=[[0.3, -1.2, 2.5], [-2.0, 0.5, -1.5]], random_points=2, domain=["abs(x2) > 0.2"]
)

FRESH = f"""
import time
t0 = time.perf_counter()
import torch
t_torch = time.perf_counter() - t0
from autodiff_course.checks import collect, judge
ns = {{}}
exec(compile({STUDENT!r}, "<student>", "exec"), ns)
spec = {VISIBLE!r}
result = judge(spec, collect(spec, ns))
assert result.passed, result.feedback
print(time.perf_counter() - t0, time.perf_counter() - t0 - t_torch)
"""

TORCH_ONLY = "import time; t0 = time.perf_counter(); import torch; print(time.perf_counter() - t0)"


def _student_namespace() -> dict:
    ns: dict = {}
    exec(compile(STUDENT, "<student>", "exec"), ns)  # noqa: S102 - the benchmark's own fixed code
    return ns


def warm(spec: dict, repeats: int, function: str | None = None) -> float:
    from autodiff_course.checks import collect, judge

    ns = _student_namespace()
    spec = dict(spec, function=function or spec["function"])
    judge(spec, collect(spec, ns))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        judge(spec, collect(spec, ns))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fresh(code: str, runs: int) -> list[list[float]]:
    """The numbers the last line of ``code`` prints, in each of ``runs`` fresh interpreters."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = []
    for _ in range(runs):
        text = (
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        out.append([float(x) for x in text.split()])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--fresh", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    figures = {
        "load_average": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        "warm_visible_ms": warm(VISIBLE, args.repeats) * 1e3,
        "warm_hidden_5_points_ms": warm(HIDDEN, args.repeats) * 1e3,
        "warm_wrong_answer_ms": warm(VISIBLE, args.repeats, "wrong_reverse") * 1e3,
    }
    runs = fresh(FRESH, args.fresh)
    first = [r[0] for r in runs]
    ours = [r[1] for r in runs]
    torch_import = [r[0] for r in fresh(TORCH_ONLY, args.fresh)]
    figures.update(
        first_call_s_median=statistics.median(first),
        first_call_s_min=min(first),
        first_call_without_torch_import_s_median=statistics.median(ours),
        torch_import_s_median=statistics.median(torch_import),
        torch_import_s_min=min(torch_import),
    )
    print(f"load average {figures['load_average']:.2f} on {figures['cpus']} CPUs")
    print(f"warm check_reverse, visible point      {figures['warm_visible_ms']:7.2f} ms   (target < 50 ms)")
    print(f"warm check_reverse, 5 hidden points    {figures['warm_hidden_5_points_ms']:7.2f} ms")
    print(f"warm check_reverse, wrong answer       {figures['warm_wrong_answer_ms']:7.2f} ms")
    print(
        f"first call, fresh interpreter          {figures['first_call_s_median']:7.2f} s median, "
        f"{figures['first_call_s_min']:.2f} s best   (target < 3 s)"
    )
    print(
        f"  of which after PyTorch's import      "
        f"{figures['first_call_without_torch_import_s_median']:7.2f} s median"
    )
    print(
        f"PyTorch's import alone                 {figures['torch_import_s_median']:7.2f} s median, "
        f"{figures['torch_import_s_min']:.2f} s best"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
