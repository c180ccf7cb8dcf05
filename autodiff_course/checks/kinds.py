"""The registry of check kinds: each kind's collect half, judge half, required spec fields and defaults, in one
place that ``collect``, ``judge``, the TOML config (``course.config``) and the notebook ``check_*`` functions
all read. A new kind is one entry here.

The halves are named as ``module:function`` inside this package and imported on first use, so the registry
sits below the kinds' modules (which import ``judge`` for its shared building blocks) without a cycle.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Kind:
    """One kind of check. ``collect(spec, namespace, raw)`` fills ``raw`` in the student's process;
    ``judge(spec, raw)`` returns the CheckResult on the trusted side; ``fields`` are the spec keys the kind
    cannot do without (beyond id, kind, points); ``optional`` the keys it also reads (beyond ``COMMON_KEYS``);
    ``defaults`` its own spec defaults (beyond ``spec.DEFAULTS``); ``function`` says whether it checks a
    student's function at test points."""

    name: str
    collect_half: str
    judge_half: str
    fields: tuple[str, ...]
    optional: tuple[str, ...] = ()
    defaults: dict = field(default_factory=dict)
    function: bool = True

    @property
    def keys(self) -> frozenset[str]:
        """Every key an ``[[exercise]]`` table of this kind may hold; the config refuses any other."""
        return frozenset(COMMON_KEYS + self.fields + self.optional)

    def collect(self) -> Callable:
        return _resolve(self.collect_half)

    def judge(self) -> Callable:
        return _resolve(self.judge_half)


def _resolve(ref: str) -> Callable:
    module, name = ref.split(":")
    return getattr(importlib.import_module(f".{module}", __package__), name)


#: Keys every kind reads (docs/interfaces.md, "Exercise spec").
COMMON_KEYS = ("id", "kind", "points", "rtol", "atol", "time_limit", "show_expected", "partial_credit", "reveal")
#: Keys of a function kind beside its required ones: where it is checked, and the random points.
_POINTS = ("reference", "test_points", "hidden_points", "random_points", "random_range", "domain")

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("decomposition", "collect:collect_function", "judge:judge_function", ("function", "reference", "args"),
             _POINTS),
        Kind("graph", "collect:collect_function", "judge:judge_function", ("function", "variable", "args"),
             _POINTS),
        Kind("forward", "collect:collect_function", "judge:judge_function", ("function", "reference", "args"),
             ("wrt", *_POINTS), defaults={"wrt": 0}),
        Kind("reverse", "collect:collect_function", "judge:judge_function", ("function", "reference", "args"),
             _POINTS),
        Kind("variables", "snapshot:collect_into", "variables:judge_collected", ("variables", "expect"),
             ("instructor_data", "by_hand"), function=False),
    )
}

#: Keys an ``[[exercise.expect]]`` entry (variables kind) may hold.
EXPECT_KEYS = ("check", "equals", "weight", "hint", "hidden", "autograd")

#: The kinds that check a student's function at test points.
FUNCTION_KINDS = tuple(name for name, k in KINDS.items() if k.function)
