"""Test points of an exercise and the instructor's reference expression.

The points are deterministic for a given exercise: the visible ``test_points``, then (for the hidden check)
``hidden_points`` and ``random_points`` points drawn from a generator seeded by a SHA-256 of
``assignment:id`` (never ``hash()``, which changes from one interpreter to the next), with the course's secret
(``POINT_SECRET``, which the batch grader's specs carry: ``course.secret``) in front when there is one, so the
public ids alone do not give the random points away. A random point is kept
only if every ``domain`` constraint holds there and the reference is finite there, so no point divides by zero
or takes a log of a negative number.

The random points are chosen among ``CANDIDATES`` such draws so that the scored points (visible, hidden and
random together) put every input on both sides of 0, and then on both sides of 1 in size, wherever the domain
and the range allow: an answer that is right only where an input is positive (``np.abs(x2)`` or
``np.maximum(x2, 0.5)`` for ``x2``) must meet a point where it is wrong.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from typing import Any, Callable

import numpy as np

from .errors import InternalCheckError

#: The spec key of the course's secret (grader side only; see ``course.secret``).
POINT_SECRET = "point_secret"

#: Random points are drawn uniformly from this box unless the spec gives ``random_range = [low, high]``.
DEFAULT_RANGE = (-3.0, 3.0)
_MAX_DRAWS = 1000
#: How many admissible draws the random points are chosen among (see ``_covering``). With 2**arity sign
#: patterns, 256 leave a sign pattern a point must fill missing with odds below 1e-14 for three inputs.
CANDIDATES = 256


def _names() -> dict:
    """The restricted namespace instructor expressions are evaluated in: numpy, math and its functions."""
    names: dict[str, Any] = {"np": np, "numpy": np, "math": math, "__builtins__": {}}
    for fn in ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sinh", "cosh", "asin", "acos", "atan", "atan2",
               "hypot", "log1p", "expm1", "log2", "log10", "pi", "e", "inf"):
        names[fn] = getattr(math, fn)
    names.update({"abs": abs, "min": min, "max": max, "float": float, "int": int})
    return names


def reference_function(spec: dict) -> Callable:
    """``spec["reference"]`` as a function of the exercise's arguments (a string is compiled once).

    Raises InternalCheckError for a missing or invalid reference (that is the exercise's fault).
    """
    reference = spec.get("reference")
    if callable(reference):
        return reference
    if not isinstance(reference, str):
        raise InternalCheckError(f"exercise {spec.get('id')!r} has no reference expression")
    args = list(spec.get("args") or [])
    try:
        code = compile(reference, f"<reference of {spec.get('id')}>", "eval")
    except SyntaxError as exc:
        raise InternalCheckError(
            f"exercise {spec.get('id')!r}: reference {reference!r} is not valid Python: {exc.msg}"
        ) from None

    def evaluate(*values):
        # Engine values pass through untouched, so the reference can be traced for its own derivatives.
        scope = dict(zip(args, (v if hasattr(v, "_op") else np.float64(v) for v in values), strict=False))
        with np.errstate(all="ignore"):
            return eval(code, _names(), scope)  # noqa: S307 - the instructor's expression, never the student's

    evaluate.__name__ = f"reference_{spec.get('id')}"
    return evaluate


def reference_value(spec: dict, point) -> float:
    """The reference at ``point`` as a float (nan when it cannot be evaluated there)."""
    return _value_at(reference_function(spec), point)


def _value_at(reference: Callable, point) -> float:
    try:
        return float(np.asarray(reference(*point), dtype=float))
    except InternalCheckError:
        raise
    except Exception:  # noqa: BLE001 - a reference that fails at a point is treated as undefined there
        return math.nan


def _domain_test(spec: dict) -> Callable[[Any], bool]:
    """Whether a point lies inside every ``domain`` constraint (each compiled once; a constraint that cannot
    be evaluated at a point rejects it). Raises InternalCheckError for a constraint that is not Python."""
    args = list(spec.get("args") or [])
    try:
        codes = [compile(c, f"<domain of {spec.get('id')}>", "eval") for c in spec.get("domain") or []]
    except SyntaxError as exc:
        raise InternalCheckError(f"exercise {spec.get('id')!r}: a domain constraint is not valid Python: "
                                 f"{exc.msg}") from None

    def inside(point) -> bool:
        scope = dict(zip(args, (np.float64(v) for v in point), strict=False))
        for code in codes:
            try:
                with np.errstate(all="ignore"):
                    if not eval(code, _names(), dict(scope)):  # noqa: S307 - the instructor's expression
                        return False
            except Exception:  # noqa: BLE001 - a constraint that cannot be evaluated there rejects the point
                return False
        return True

    return inside


def seed_of(spec: dict, purpose: str = "") -> int:
    """The random generator's seed of an exercise: the first 8 bytes of SHA-256("assignment:id"), or of
    "assignment:id:purpose" for a generator of another purpose (the fresh points). The random test points'
    seed ("" purpose) has the course's secret in front where the spec carries it ("secret:assignment:id");
    the fresh points are never scored and are shown to the student, so theirs needs none."""
    secret = spec.get(POINT_SECRET) if not purpose else None
    text = (f"{f'{secret}:' if secret else ''}{spec.get('assignment', '')}:{spec.get('id', '')}"
            f"{f':{purpose}' if purpose else ''}").encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def random_points(spec: dict) -> list[list[float]]:
    """The exercise's ``random_points`` points (see the module docstring). Raises InternalCheckError if the
    domain leaves too little room to find them."""
    count = int(spec.get("random_points") or 0)
    if count <= 0:
        return []
    key = _cache_key(spec)
    if key is None:
        return _random_points(spec, count)
    return [list(p) for p in _cached_random_points(key)]


#: The spec keys the random points depend on.
_POINT_KEYS = ("assignment", "id", POINT_SECRET, "args", "reference", "test_points", "hidden_points",
               "random_points", "random_range", "domain")


def _cache_key(spec: dict) -> str | None:
    """The spec's point-defining keys as JSON (None for a spec whose reference is a function: not cached)."""
    try:
        return json.dumps({k: spec.get(k) for k in _POINT_KEYS}, sort_keys=True)
    except (TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=256)
def _cached_random_points(key: str) -> tuple[tuple[float, ...], ...]:
    # Choosing among CANDIDATES draws costs milliseconds, and a check asks for the points several times.
    spec = json.loads(key)
    return tuple(tuple(p) for p in _random_points(spec, int(spec["random_points"])))


def _random_points(spec: dict, count: int) -> list[list[float]]:
    fixed = [[float(v) for v in p] for p in (spec.get("test_points") or []) + (spec.get("hidden_points") or [])]
    candidates = _draw(spec, max(count, CANDIDATES), seed_of(spec), digits=4, avoid=fixed)
    if len(candidates) < count:
        raise InternalCheckError(
            f"exercise {spec.get('id')!r}: found only {len(candidates)} of {count} random points "
            f"inside the domain {spec.get('domain')} after {_MAX_DRAWS} draws"
        )
    return _covering(fixed, candidates, count)


def _regions(point) -> set[tuple]:
    """The regions of the input space a point stands in: per input, its sign ``(i, positive)``, and its sign
    with its size ``(i, positive, above_one)``. 0 has no sign and 1 in size is on neither side."""
    regions: set[tuple] = set()
    for i, v in enumerate(point):
        if v == 0:
            continue
        regions.add((i, v > 0))
        if abs(v) != 1:
            regions.add((i, v > 0, abs(v) > 1))
    return regions


def _gain(new: set[tuple]) -> tuple[int, int]:
    """How much standing in the ``new`` regions is worth: signs first, then every region."""
    return sum(len(r) == 2 for r in new), len(new)


def _covering(fixed: list, candidates: list, count: int) -> list[list[float]]:
    """``count`` of the ``candidates``, chosen one at a time to stand in the most regions (signs first, then
    sizes) that neither the ``fixed`` points nor the ones already chosen stand in; ties go to the earlier draw,
    so the choice is as deterministic as the draws."""
    covered = set().union(*(_regions(p) for p in fixed))
    pool = list(candidates)
    chosen: list[list[float]] = []
    for _ in range(count):
        # max keeps the first of equals: the earliest draw
        best = max(pool, key=lambda point, covered=covered: _gain(_regions(point) - covered))
        pool.remove(best)
        chosen.append(best)
        covered |= _regions(best)
    return chosen


def _draw(spec: dict, count: int, seed: int, digits: int, avoid=None) -> list[list[float]]:
    """Up to ``count`` points drawn from the generator ``seed`` inside the domain, where the reference is
    finite, rounded to ``digits`` decimals; with ``avoid``, distinct and none of them in ``avoid``."""
    arity = len(spec.get("args") or [])
    low, high = spec.get("random_range") or DEFAULT_RANGE
    rng = np.random.default_rng(seed)
    inside = _domain_test(spec)
    reference = reference_function(spec) if spec.get("reference") is not None else None
    found: list[list[float]] = []
    for _ in range(_MAX_DRAWS):
        # Rounded so a point reads well in feedback and survives a JSON round trip exactly.
        point = [round(float(v), digits) for v in rng.uniform(low, high, size=arity)]
        if (avoid is not None and (point in avoid or point in found)) or not inside(point):
            continue
        if reference is not None and not math.isfinite(_value_at(reference, point)):
            continue
        found.append(point)
        if len(found) == count:
            break
    return found


#: How many fresh points an exercise with hidden points is also run at (see ``fresh_points``).
FRESH_CANDIDATES = 3
#: The kinds whose diagnosis at a hidden point can be shown again with numbers at a fresh point.
FRESH_KINDS = ("decomposition", "forward", "reverse")


def fresh_points(spec: dict) -> list[list[float]]:
    """The candidates for a fresh point of an exercise with hidden points: points that are none of its test
    points (visible, hidden or random), inside its domain, where the reference is finite, drawn from their own
    generator ("assignment:id:fresh", so never the random points' sequence and never derived from a hidden
    point). The student's function is run there too, but a fresh point is never scored: when the diagnosis is
    at a hidden point, feedback may quote numbers at a fresh point where the answer is also wrong.

    A spec that carries ``fresh_points`` (what ``collect_spec`` sends to the sandbox) has them as given. None
    for an exercise without hidden points or of another kind."""
    if "fresh_points" in spec:
        return [[float(v) for v in p] for p in spec["fresh_points"] or []]
    tests = test_points(spec, hidden=True)
    if spec.get("kind") not in FRESH_KINDS or spec.get("reference") is None or len(tests) <= visible_count(spec):
        return []
    # Four decimals, like the random points: an instructor's short decimals (0.3, -1.2) never turn up in one
    # by chance, so no number of a fresh point reads as a hidden one.
    return _draw(spec, FRESH_CANDIDATES, seed_of(spec, "fresh"), digits=4, avoid=tests)


def test_points(spec: dict, hidden: bool = True) -> list[list[float]]:
    """The points an exercise is checked at: ``test_points``, and with ``hidden`` also ``hidden_points`` and
    the
    seeded random points. Deterministic for a given spec."""
    points = [[float(v) for v in p] for p in spec.get("test_points") or []]
    if hidden:
        points += [[float(v) for v in p] for p in spec.get("hidden_points") or []]
        points += random_points(spec)
    return points


test_points.__test__ = False  # pytest: this is not a test


def visible_count(spec: dict) -> int:
    """How many of the points come first from ``test_points`` (the ones a student may see)."""
    return len(spec.get("test_points") or [])
