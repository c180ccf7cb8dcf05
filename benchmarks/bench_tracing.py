"""What tracing costs a student's plain Python: the traced run of an answer against the same answer untraced.

    python benchmarks/bench_tracing.py [--repeats 5] [--iterations 100000] [--quick] [--json PATH]

The checks run a student's function twice at every point: plainly (floats) and traced (engine values, the
locals' names recorded). Work in the answer that builds no graph, a loop that sums plain numbers, must not
cost more traced than untraced, or an honest answer with a long loop runs out of the check's time limit.
Each figure is ``run_traced(f, point)`` over ``f(*point)``, medians of ``--repeats`` runs in the same process:
  loop       a 10^5-iteration loop of plain arithmetic in the student's function, then the seed function
  helper     the same loop calling a helper function of the student's on every iteration
  seed       the seed reverse function alone (no loop: the graph's own cost, for scale)
Target: the loop and helper ratios under 3x (the line tracer of 2026-12-01 cost 70x on the loop).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STUDENT = """
import numpy as np

def step(s, i):
    return s + i * 0.5

def loop(x0, x1, x2):
    s = 0.0
    for i in range(ITERATIONS):
        s += i * 0.5
    v3 = np.sin(x0)
    v5 = x1 * np.cos(x0)
    return v3 + v5 + x1 / x2, s

def helper(x0, x1, x2):
    s = 0.0
    for i in range(ITERATIONS):
        s = step(s, i)
    v3 = np.sin(x0)
    v5 = x1 * np.cos(x0)
    return v3 + v5 + x1 / x2, s

def seed(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8
"""


def _median(f, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        f()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="10^4 iterations, 3 repeats")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.quick:
        args.iterations, args.repeats = 10_000, 3

    from autodiff_course.graph.tracing import run_traced

    namespace: dict = {"ITERATIONS": args.iterations}
    exec(compile(STUDENT, "<student>", "exec"), namespace)  # noqa: S102 - the benchmark's own answers
    point = [1.8, 2.4, 0.7]
    figures = {}
    for name in ("loop", "helper", "seed"):
        f = namespace[name]
        repeats = args.repeats * (200 if name == "seed" else 1)
        run_traced(f, point)  # warm
        plain = _median(lambda f=f: f(*point), repeats)
        traced = _median(lambda f=f: run_traced(f, point), repeats)
        figures[name] = {"plain_s": plain, "traced_s": traced, "ratio": traced / plain}
        # The seed's ratio compares engine values with floats: the graph's own cost, not tracing overhead.
        what = "(engine values against floats)" if name == "seed" else ""
        print(f"{name:7s} untraced {plain * 1e3:9.3f} ms   traced {traced * 1e3:9.3f} ms   "
              f"ratio {traced / plain:6.2f}x {what}")
    worst = max(figures["loop"]["ratio"], figures["helper"]["ratio"])
    print(f"worst loop ratio {worst:.2f}x (target < 3x), {args.iterations} iterations, {sys.version.split()[0]}")
    if args.json:
        args.json.write_text(json.dumps({"iterations": args.iterations, "python": sys.version.split()[0],
                                         "figures": figures}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
