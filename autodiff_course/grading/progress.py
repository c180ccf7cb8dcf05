"""Progress bar for a grading batch: submissions done, rate and time left, on stderr (tqdm)."""
from __future__ import annotations

import sys

__all__ = ["Progress"]


class Progress:
    """A context manager around tqdm; with `enabled=False` it counts silently (tests, library use).

    Problem lines go through `write` so they print above the bar instead of through it."""

    def __init__(self, *, total: int, enabled: bool = True, desc: str = "grading"):
        self.total = total
        self.enabled = enabled and total > 0
        self.done = 0
        self._bar = None
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="nb", file=sys.stderr, dynamic_ncols=True,
                             bar_format="{desc}: {n_fmt}/{total_fmt} |{bar}| {rate_fmt} "
                                        "[{elapsed}<{remaining}]")

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)

    def write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
