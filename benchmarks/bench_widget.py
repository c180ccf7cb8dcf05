"""How long the graph widget's Python side takes on a 500-node graph: layout, static SVG, and all steps.

    python benchmarks/bench_widget.py [--nodes 500] [--repeat 20]

Prints the best and median time of each part (wall and, for the layout, CPU time of this process, which
other jobs on a shared machine do not inflate as much). The budget for the layout is 20 ms for 500 nodes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodiff_course.widgets.layout import layout_graph  # noqa: E402
from autodiff_course.widgets.samples import wide_graph  # noqa: E402
from autodiff_course.widgets.svg import graph_to_svg  # noqa: E402


def _time(fn, repeat: int, clock=time.perf_counter) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append((clock() - t0) * 1e3)
    return min(times), statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    data = wide_graph(args.nodes)
    layout_graph(data)  # warm imports and caches
    best, median = _time(lambda: layout_graph(data), args.repeat)
    cpu_best, cpu_median = _time(lambda: layout_graph(data), args.repeat, time.process_time)
    lay = layout_graph(data)
    print(
        f"layout   {args.nodes} nodes, {lay['layers']} layers, {len(lay['edges'])} edges: "
        f"best {best:.2f} ms, median {median:.2f} ms wall; "
        f"best {cpu_best:.2f} ms, median {cpu_median:.2f} ms "
        f"CPU (budget 20 ms; load average {os.getloadavg()[0]:.1f})"
    )
    best, median = _time(lambda: graph_to_svg(data, layout=lay), args.repeat)
    print(f"svg      best {best:.2f} ms, median {median:.2f} ms")
    from autodiff_course.graph import Graph
    from autodiff_course.widgets.steps import build_steps

    graph = Graph.from_dict(data)
    for mode in ("forward", "reverse"):
        best, median = _time(lambda mode=mode: build_steps(graph, mode), max(3, args.repeat // 4))
        print(
            f"steps    {mode}: {len(build_steps(graph, mode)['steps'])} steps, best {best:.2f} ms, "
            f"median {median:.2f} ms"
        )


if __name__ == "__main__":
    main()
