"""`make bench`: run every ``benchmarks/bench_*.py`` and print their figures.

    python benchmarks/run_all.py [--quick] [--only NAME ...] [--json-dir DIR]

Each benchmark runs in its own Python process (so one's imports, threads and garbage do not weigh on the
next), with the same interpreter, from the repository root, and prints its own figures; arguments after the
options are passed to every benchmark. ``--quick`` and ``--json-dir`` reach only the benchmarks that declare a
``--quick`` or ``--json`` option. A benchmark that fails is reported and the others still run; the exit status
is 1 if any failed."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def discover(only: list[str] | None = None) -> list[Path]:
    """The benchmark scripts, in name order (``bench_engine.py`` first: the others build on the engine)."""
    scripts = sorted(HERE.glob("bench_*.py"), key=lambda p: (p.name != "bench_engine.py", p.name))
    if only:
        wanted = {n.removeprefix("bench_").removesuffix(".py") for n in only}
        scripts = [p for p in scripts if p.stem.removeprefix("bench_") in wanted]
    return scripts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick to every benchmark (a smoke run)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these (e.g. engine grading)")
    ap.add_argument("--json-dir", type=Path, help="ask each benchmark to write NAME.json here")
    args, extra = ap.parse_known_args(argv)
    scripts = discover(args.only)
    if not scripts:
        print("no benchmarks found", file=sys.stderr)
        return 1
    failed = []
    for script in scripts:
        cmd = [sys.executable, str(script), *extra]
        source = script.read_text()
        if args.quick and '"--quick"' in source:  # benchmarks without a quick mode run as they are
            cmd.append("--quick")
        if args.json_dir and '"--json"' in source:
            args.json_dir.mkdir(parents=True, exist_ok=True)
            cmd += ["--json", str(args.json_dir / f"{script.stem.removeprefix('bench_')}.json")]
        print(f"### {script.name}", flush=True)
        start = time.perf_counter()
        rc = subprocess.call(cmd, cwd=ROOT)
        print(f"### {script.name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in "
              f"{time.perf_counter() - start:.0f} s\n", flush=True)
        if rc != 0:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
