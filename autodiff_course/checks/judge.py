"""judge: turn collected data into a verdict, on the trusted side.

``judge`` never runs student code and believes nothing in the collected data that it can recompute: the test
points are derived again from the spec, the graph's values are recomputed from its inputs
(``Graph.from_dict``), and every reference (the function's value, every adjoint and tangent) is computed here,
by the engine and by PyTorch. Malformed data is an ``error`` result, never an exception.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.errors import AutodiffError
from ..engine.primitives import ELEMENTARY, ELEMENTARY_BINARY, PRIMITIVES
from ..graph import Graph
from ..notation import note
from .analysis import name_unnamed
from .collect import MAX_TRACED_RETURNED, RAW_FORMAT
from .errors import InternalCheckError, MalformedRawError
from .kinds import KINDS
from .numbers import as_number, close, finite, fmt
from .points import fresh_points, test_points, visible_count
from .privacy import for_students, plausible_token, token_or
from .result import CheckResult, render
from .shortcuts import derivative_shortcut
from .source import source_facts
from .spec import MAX_NODES, MAX_OPERATIONS, tolerances
from .timeout import CheckTimeout, time_limit
from .unanswered import unanswered_function

_SCALAR_OPS = {"input", "const"} | {name for name, p in PRIMITIVES.items() if p.elementwise}
#: Names a student may write bare and mean numpy's: the elementary functions numpy has, and pi.
_NUMPY_NAMES = {"pi"} | {name for name in (*ELEMENTARY, *ELEMENTARY_BINARY) if hasattr(np, name)}


def judge(spec: dict, raw: dict) -> CheckResult:
    """The verdict on ``raw`` (what ``collect`` returned, possibly after a JSON round trip) for exercise
    ``spec``.

    Pure: never runs student code. Raises InternalCheckError only for the checker's own faults (an unusable
    spec, or the engine and PyTorch disagreeing); everything about the student's answer is in the result.
    """
    kind = spec.get("kind")
    try:
        with time_limit(JUDGE_SECONDS):
            return _judge(spec, raw, kind)
    except TooLarge as exc:
        return too_large_result(spec, exc.operations)
    except CheckTimeout:
        return make_result(
            spec, status="error", rows=[], mistakes=["too-large"],
            messages=[f"Your answer is too large to check: judging it took longer than {JUDGE_SECONDS:g} s."],
        )


#: The trusted side's own time limit per check (student code never runs in it; this bounds the judging).
JUDGE_SECONDS = 30.0


class TooLarge(Exception):
    """The answer's graph is over ``MAX_OPERATIONS``: ``operations`` is its size, or None when the tracer
    stopped the answer at the limit (its full size is not known, and finding it would cost what the limit
    saves)."""

    def __init__(self, operations: int | None):
        super().__init__(operations)
        self.operations = operations


def too_large_result(spec: dict, operations: int | None) -> CheckResult:
    size = f"more than {MAX_OPERATIONS}" if operations is None else str(operations)
    return make_result(
        spec, status="error", rows=[], mistakes=["too-large"],
        messages=[f"Your answer is too large to check: {size} operations (the limit is "
                  f"{MAX_OPERATIONS}; a hand-written answer to this exercise has a few dozen)."],
    )


def _judge(spec: dict, raw: dict, kind) -> CheckResult:
    try:
        if not isinstance(raw, dict) or raw.get("format") != RAW_FORMAT:
            raise MalformedRawError("the collected data is not in the format collect produces")
        if raw.get("kind") != kind:
            shown = token_or(raw.get("kind"), "another kind of")
            raise MalformedRawError(f"the data was collected for a {shown!r} check, not {kind!r}")
        if raw.get("status") == "error":
            # The collector's message comes from the student's process like everything in `raw`: only a
            # message of the collector's own form is repeated (see ``collector_message``).
            return error_result(spec, collector_message(raw.get("message")))
        if kind in KINDS:
            return KINDS[kind].judge()(spec, raw)
        raise InternalCheckError(f"exercise {spec.get('id')!r} has an unknown kind {kind!r}")
    except MalformedRawError as exc:
        return _unusable(spec, str(exc))


def collector_message(message) -> str:
    """The words of a collector error as a student reads them. ``raw`` comes from the process the student's
    code ran in, so its text is theirs to choose: the collector's own sentences are recognised and only a
    name-like token of them repeated; anything else reads as the checker's failure to run the code."""
    text = _text(message)
    kind = text.removeprefix("unknown exercise kind ").strip("'\"")
    if text.startswith("unknown exercise kind ") and plausible_token(kind):
        return f"unknown exercise kind {kind!r}"
    if text.startswith("the checker could not collect exercise "):
        return "the checker could not collect this exercise from your code (it failed while running it)"
    return "the checker could not run your code"


def no_function_message(spec: dict, err: dict) -> str:
    """The sentence for a function the notebook does not define (or defines as something else), from the
    spec's name and the error's type only (the collector's text is not repeated)."""
    what = "is not defined" if err.get("type") == "NameError" else "is not a function"
    return f"`{spec.get('function')}` {what}: run the cell that defines it first."


def _unusable(spec: dict, why: str) -> CheckResult:
    return error_result(
        spec,
        f"The collected data for this exercise is unusable ({why}). Run the test cell "
        "again; if this persists, tell your instructor.",
        mistakes=["unusable-data"],
    )


# -- shared building blocks ---------------------------------------------------------------------------------
def _text(x) -> str:
    return x if isinstance(x, str) else ""


def make_result(
    spec: dict,
    *,
    status: str,
    rows: list[dict],
    messages: list[str],
    mistakes: list[str],
    culprit: str | None = None,
    solution: str = "",
    received: dict | None = None,
    expected: dict | None = None,
    wrong: list[str] | None = None,
    point: list[float] | None = None,
    score: float | None = None,
    graph: dict | None = None,
    fresh: dict | None = None,
    failed_at: list[int] | None = None,
) -> CheckResult:
    """A result whose score is ``score`` if given, else the mean credit of ``rows`` (1 right, 0.5 wrong only
    by inheritance, 0 wrong); all-or-nothing without ``partial_credit``. ``feedback`` is rendered from the
    rest."""
    show = bool(spec.get("show_expected", True))
    passed = status == "ok" and all(r.get("ok") for r in rows)
    if status == "ok" and not passed:
        status = "failed"
    credit = [float(r.pop("credit", 1.0 if r.get("ok") else 0.0)) for r in rows]
    if score is None:
        score = sum(credit) / len(credit) if credit else (1.0 if passed else 0.0)
    if not spec.get("partial_credit", True):
        score = 1.0 if passed else 0.0
    if not show:
        expected = {}
        rows = [{k: v for k, v in r.items() if k != "expected"} for r in rows]
    if status in ("error", "timeout", "unanswered"):
        score = 0.0
    # Messages quote exceptions and paths; none of the grader's machine reaches the student. The same words
    # from several points (one error at each hidden point) are said once.
    messages = list(dict.fromkeys(for_students(m) for m in messages))
    rows = [{**r, "message": for_students(r["message"])} if isinstance(r.get("message"), str) else r
            for r in rows]
    result = CheckResult(
        exercise=str(spec.get("id")),
        kind=str(spec.get("kind")),
        status=status,
        passed=passed,
        score=round(min(max(score, 0.0), 1.0), 6),
        culprit=culprit,
        solution=solution,
        graph=graph,
        mistakes=list(dict.fromkeys(mistakes)),
        rows=rows,
        received=dict(received or {}),
        expected=dict(expected or {}),
        wrong=list(wrong or []),
        point=point,
        messages=list(messages),
        rtol=tolerances(spec)[0],
        atol=tolerances(spec)[1],
        show_expected=show,
        fresh=None if fresh is None else {**fresh, "expected": fresh.get("expected", {}) if show else {}},
        failed_at=sorted(failed_at or []),
    )
    result.feedback = render(result, "text")
    return result


@dataclass
class Findings:
    """What a check finds, in order: its rows, the messages and mistake codes of the wrong ones, and the
    culprit (the first wrong part that names one). ``result`` makes the check's result of them."""

    rows: list[dict] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    mistakes: list[str] = field(default_factory=list)
    culprit: str | None = None

    def right(self, part: str, label: str | None = None, **fields) -> None:
        self.rows.append({"part": part, "label": part if label is None else label, "ok": True, "status": "ok",
                          **fields})

    def wrong(self, part: str, message: str, code: str, *, label: str | None = None, status: str = "wrong",
              culprit: str | None = None, first: bool = False, **fields) -> None:
        """A wrong (or, with ``status="missing"``, absent) part; ``fields`` (received, expected) go into its
        row; ``first`` puts it before everything found so far; ``culprit`` names it unless one is named."""
        row = {"part": part, "label": part if label is None else label, "ok": False, "status": status,
               "message": message, **fields, "code": code}
        at = 0 if first else len(self.rows)
        self.rows.insert(at, row)
        self.messages.insert(0 if first else len(self.messages), message)
        self.mistakes.insert(0 if first else len(self.mistakes), code)
        self.culprit = self.culprit or culprit

    def result(self, spec: dict, **rest) -> CheckResult:
        """The check's result (``make_result``; ``rest`` as there) of what was found."""
        return make_result(spec, status="ok", rows=self.rows, messages=self.messages, mistakes=self.mistakes,
                           culprit=self.culprit, **rest)


def error_result(
    spec: dict, message: str, *, mistakes: list[str] | None = None, culprit: str | None = None
) -> CheckResult:
    return make_result(
        spec, status="error", rows=[], messages=[message], mistakes=mistakes or ["error"], culprit=culprit
    )


def timeout_result(spec: dict, raw: dict) -> CheckResult:
    limit = spec.get("time_limit", 10)
    return make_result(
        spec,
        status="timeout",
        rows=[],
        mistakes=["timeout"],
        messages=[
            f"Your code did not finish within the time limit of {float(limit):g} s for this check. Look "
            "for a loop that never ends (a `while` whose condition never becomes false), a function that "
            "calls itself forever, or a long loop the exercise does not need."
        ],
    )


#: Exception classes named as they are at a hidden point: Python's own, and those numpy and the engine raise.
_KNOWN_ERRORS = frozenset({name for name, value in vars(builtins).items()
                           if isinstance(value, type) and issubclass(value, BaseException)}
                          | {"DomainError", "TraceError", "AutodiffError", "LinAlgError", "AxisError"})


def describe_error(err: dict, fn_name: str | None = None, scrub: bool = False) -> str:
    """``line 37 (`dv3dv0 = cos(v0)`): NameError: name 'cos' is not defined``, with a hint for common
    slips. ``scrub``: leave out the numbers of the error's message (it happened at a hidden point)."""
    where = f"line {err['line']}" if isinstance(err.get("line"), int) else "your function"
    etype, message = _text(err.get("type")) or "Error", _text(err.get("message"))
    if scrub:
        # At a hidden point the answer's own words are not repeated: an exception's message, the text of its
        # line (read in the student's process, which can rewrite it) and a class made up for the occasion can
        # all spell out the point (an outside review read every hidden point back, written in words). The
        # kind of error and the line number say where to look; the visible point shows the rest.
        if etype not in _KNOWN_ERRORS:
            etype = "an exception of its own class"
        text = f"Your function{f' `{fn_name}`' if fn_name else ''} raised an error at {where}: {etype}"
        return text + "."
    if isinstance(err.get("source"), str) and err["source"]:
        where += f" (`{err['source']}`)"
    text = f"Your function{f' `{fn_name}`' if fn_name else ''} raised an error at {where}: {etype}: {message}"
    if etype == "NameError":
        missing = message.split("'")[1] if message.count("'") >= 2 else ""
        if missing in _NUMPY_NAMES:
            text += (
                f". Python does not know `{missing}` on its own: write `np.{missing}` "
                "(numpy is imported as np)"
            )
    return text + "."


# -- function kinds: loading and checking the collected points ----------------------------------------------
@dataclass
class PointData:
    """What was collected at one test point, checked for shape; the graph rebuilt and recomputed."""

    index: int
    inputs: list[float]
    visible: bool
    returned: list[Any] | None
    returned_tuple: bool
    error: dict | None
    graph: Graph | None
    output_index: int | None
    trace_error: dict | None
    locals: dict[str, Any] = field(default_factory=dict)
    #: A fresh point (``points.fresh_points``): never scored, its numbers may be quoted.
    fresh: bool = False
    #: What the traced run returned (``returned`` is the plain run's), None when it was not recorded.
    traced_returned: list[Any] | None = None


@dataclass
class PointFailure:
    """A point where the student's code could not be judged (it raised, or has no defined value there): it
    costs that point's share of every part, and nothing else."""

    point: PointData
    code: str
    message: str


def _error_dict(e) -> dict | None:
    if e is None:
        return None
    if not isinstance(e, dict):
        raise MalformedRawError("an error record is not a dict")
    line = e.get("line")
    return {
        "type": _text(e.get("type")),
        "message": _text(e.get("message")),
        "line": line if isinstance(line, int) and not isinstance(line, bool) else None,
        "source": _text(e.get("source")) or None,
    }


def _value(v) -> Any:
    if as_number(v) is not None:
        return as_number(v)
    if isinstance(v, dict):
        return {"type": _text(v.get("type")) or "object", "repr": _text(v.get("repr"))[:200]}
    raise MalformedRawError(f"a collected value is neither a number nor a described object: {v!r:.80}")


def load_points(spec: dict, raw: dict) -> list[PointData]:
    """The collected points, checked against the spec's own test points. Raises MalformedRawError."""
    try:
        return _load_points(spec, raw)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        if isinstance(exc, MalformedRawError):
            raise
        # Data of the right outline that still does not fit (damaged or forged on its way here): collect
        # never produces it, so it is unusable rather than the student's mistake or the checker's.
        raise MalformedRawError(f"{type(exc).__name__}: {exc}") from None


def _load_points(spec: dict, raw: dict) -> list[PointData]:
    expected_points = test_points(spec, hidden=True)
    if spec.get("kind") == "graph":
        expected_points = expected_points[:1]
    if raw.get("too_large"):
        # The tracer stopped the answer at the limit. (Only the answer's own score rests on this claim.)
        raise TooLarge(None)
    records = raw.get("points")
    if not isinstance(records, list):
        raise MalformedRawError("no list of points")
    if len(records) > len(expected_points) or (
        len(records) < len(expected_points) and not raw.get("timed_out")
    ):
        raise MalformedRawError(f"{len(records)} points collected, the exercise has {len(expected_points)}")
    nvisible = visible_count(spec)
    return [_point_record(i, rec, point, visible=i < nvisible)
            for i, (rec, point) in enumerate(zip(records, expected_points, strict=False))]


def load_fresh(spec: dict, raw: dict) -> list[PointData]:
    """What was collected at the exercise's fresh points (``points.fresh_points``, derived again here), each
    checked like a test point. They are never scored, so data that does not fit (forged or cut short) only
    leaves them out: []."""
    records = raw.get("fresh")
    if not isinstance(records, list) or not records or spec.get("kind") == "graph":
        return []
    candidates = fresh_points(spec)
    if len(records) > len(candidates):
        return []
    try:
        out = [_point_record(i, rec, point, visible=False)
               for i, (rec, point) in enumerate(zip(records, candidates, strict=False))]
    except (MalformedRawError, TooLarge, ValueError, TypeError, KeyError, IndexError, AttributeError,
            OverflowError):
        return []
    for p in out:
        p.fresh = True
    return out


def _point_record(i: int, rec, point, visible: bool) -> PointData:
    """One collected record at ``point`` (the exercise's own), checked for shape, its graph rebuilt."""
    if not isinstance(rec, dict):
        raise MalformedRawError(f"point {i} is not a dict")
    inputs = rec.get("inputs")
    if not isinstance(inputs, list) or [as_number(v) for v in inputs] != [float(v) for v in point]:
        raise MalformedRawError(f"point {i} was run at other inputs than the exercise's")
    returned = rec.get("returned")
    items, is_tuple = None, False
    if returned is not None:
        if not isinstance(returned, dict) or not isinstance(returned.get("items"), list):
            raise MalformedRawError(f"point {i}: returned values are malformed")
        items = [_value(v) for v in returned["items"]]
        is_tuple = bool(returned.get("tuple"))
    graph = None
    if rec.get("graph") is not None:
        nodes = rec["graph"].get("nodes") if isinstance(rec["graph"], dict) else None
        if isinstance(nodes, list) and len(nodes) > MAX_OPERATIONS:
            operations = sum(1 for d in nodes if not (isinstance(d, dict) and d.get("op") in ("input", "const")))
            if operations > MAX_OPERATIONS or len(nodes) > MAX_NODES:
                raise TooLarge(operations)
        try:
            graph = Graph.from_dict(rec["graph"])
        except (AutodiffError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise MalformedRawError(f"point {i}: the traced graph is malformed ({exc})") from None
        if any(np.ndim(n.value) != 0 or n.op not in _SCALAR_OPS for n in graph.nodes):
            raise MalformedRawError(f"point {i}: the traced graph is not a graph of numbers")
        for n in graph.nodes:
            if not (n.line is None or (isinstance(n.line, int) and not isinstance(n.line, bool))):
                raise MalformedRawError(f"point {i}: node {n.id} has a line that is not a number")
            if not (n.source is None or isinstance(n.source, str)):
                raise MalformedRawError(f"point {i}: node {n.id} has a source that is not text")
        ins = (
            [graph.nodes[k] for k in graph.inputs]
            if all(isinstance(k, int) and 0 <= k < len(graph.nodes) for k in graph.inputs)
            else None
        )
        if (
            ins is None
            or [as_number(n.value) for n in ins] != [float(v) for v in point]
            or any(n.op != "input" for n in ins)
        ):
            raise MalformedRawError(f"point {i}: the graph's inputs are not the test point")
        if len(graph.outputs) != 1 or not 0 <= graph.outputs[0] < len(graph.nodes):
            raise MalformedRawError(f"point {i}: the graph must have one output")
    locals_raw = rec.get("locals") or {}
    if not isinstance(locals_raw, dict):
        raise MalformedRawError(f"point {i}: locals are malformed")
    output_index = rec.get("output_index")
    traced_raw = rec.get("traced_returned")
    traced_returned = [_value(v) for v in traced_raw] if isinstance(traced_raw, list) else None
    return PointData(
        index=i,
        inputs=[float(v) for v in point],
        visible=visible,
        returned=items,
        returned_tuple=is_tuple,
        error=_error_dict(rec.get("error")),
        graph=graph,
        output_index=output_index if isinstance(output_index, int) else None,
        trace_error=_error_dict(rec.get("trace_error")),
        locals={str(k): _value(v) for k, v in locals_raw.items()},
        traced_returned=traced_returned,
    )


def numbers_shown(spec: dict, p: PointData) -> bool:
    """Whether words about ``p`` may quote numbers: only at a visible test point or a fresh point (no test
    point). At a hidden one every number (its inputs, the reference there, the student's own values, which
    give the inputs away: vbar4 = v1 = x1) stays out of what a student sees, whatever ``show_expected``
    says."""
    return p.visible or p.fresh


def point_words(spec: dict, p: PointData) -> str:
    """``at x0 = 1.8, x1 = 2.4`` for a point the student may see (``at a fresh point x0 = ..., not one of the
    test points`` for a fresh one); a hidden point is never spelled out."""
    if numbers_shown(spec, p):
        args = list(spec.get("args") or [f"x{i}" for i in range(len(p.inputs))])
        inputs = ", ".join(f"{a} = {fmt(v)}" for a, v in zip(args, p.inputs, strict=False))
        return note("fresh-point", point=inputs) if p.fresh else "at " + inputs
    return "at one of the hidden test points"


def shown_point(spec: dict, p: PointData) -> list[float] | None:
    return list(p.inputs) if numbers_shown(spec, p) else None


#: Graphs up to this many operations are drawn in feedback (a hand-written answer has a few dozen).
MAX_DRAWN_OPERATIONS = 80


def drawn_graph(points: list[PointData], verdicts: list | None = None) -> dict | None:
    """The student's graph at the first visible test point, to draw in feedback: ``{"data": Graph.to_dict(),
    "labels": {node name: its derivative's label}}``; None when no visible point was judged (a hidden point's
    values would give it away) or the graph is too large to draw legibly."""
    for i, p in enumerate(points):
        if p.visible and p.graph is not None:
            if sum(1 for n in p.graph.nodes if n.op not in ("input", "const")) > MAX_DRAWN_OPERATIONS:
                return None
            labels = getattr(verdicts[i], "labels", {}) if verdicts and i < len(verdicts) else {}
            return {"data": p.graph.to_dict(), "labels": dict(labels)}
    return None


def without_numbers(row: dict) -> dict:
    """``row`` without the values it compared (it was judged at a hidden point)."""
    return {k: v for k, v in row.items() if k not in ("received", "expected")}


def hidden_summary(points: list[PointData], wrong: list[bool]) -> str | None:
    """``Right at the visible test point, wrong at 2 of the 4 hidden test points.`` when every visible point
    is right (``wrong[i]`` for ``points[i]``) and some hidden one is not; None otherwise."""
    visible = [w for p, w in zip(points, wrong, strict=True) if p.visible]
    hidden = [w for p, w in zip(points, wrong, strict=True) if not p.visible]
    if not visible or any(visible) or not any(hidden):
        return None
    return note(
        "hidden-only",
        visible="the visible test point" if len(visible) == 1 else f"all {len(visible)} visible test points",
        wrong=("the only hidden test point" if len(hidden) == 1 else
               f"all {len(hidden)} hidden test points" if all(hidden) else
               f"{sum(hidden)} of the {len(hidden)} hidden test points"))


def judge_function(spec: dict, raw: dict) -> CheckResult:
    """The judge half of the function kinds (see ``kinds``)."""
    fn_name = spec.get("function")
    if raw.get("function_error") is not None and spec.get("kind") != "graph":
        err = _error_dict(raw["function_error"])
        return error_result(spec, no_function_message(spec, err), mistakes=["no-function"])
    points = load_points(spec, raw)
    if spec.get("kind") == "graph":
        from .graph_kind import judge_graph

        return judge_graph(spec, raw, points)
    if raw.get("timed_out"):
        return timeout_result(spec, raw)
    if not points:
        raise InternalCheckError(f"exercise {spec.get('id')!r} has no test points")
    fresh = load_fresh(spec, raw)
    for p in points + fresh:
        if p.graph is not None:
            name_unnamed(p.graph)
    stub = unanswered_function(spec, points)
    if stub is not None:
        return stub
    shortcut = derivative_shortcut(raw.get("source")) if spec.get("kind") in ("forward", "reverse") else None
    failures = {p.index: f for p in points if (f := point_failure(spec, p, fn_name, shortcut)) is not None}
    if len(failures) == len(points):
        # Nothing can be judged anywhere: the first failure is the whole verdict.
        f = failures[points[0].index]
        if f.code == "exception":
            result = error_result(spec, f.message, mistakes=["exception"])
            result.failed_at = sorted(failures)
            return result
        rows = (_by_value_rows(spec, points, f.message, shortcut) if f.code == "cannot-follow" else
                [{"part": "trace", "label": "traced graph", "ok": False, "status": "wrong", "message": f.message}])
        # The points the answer is wrong at (the report counts them per hidden point): none where every part
        # judged by value is right, for it is the graph that could not be followed, at no point in particular.
        by_value = [r for r in rows if r["part"] != "trace"]
        wrong_at = [] if by_value and all(r["ok"] for r in by_value) else list(failures)
        return make_result(
            spec,
            status="failed",
            failed_at=wrong_at,
            rows=rows,
            messages=[f.message],
            mistakes=[f.code],
            culprit=_assigned_at(source_facts(raw.get("source")), f) if f.code == "domain-error" else None,
        )
    points = [p for p in points if p.index not in failures]
    for f in failures.values():
        # Other points are judged: this one costs its share only.
        f.message = f.message[:-2] + "; only this point is lost.)" if f.message.endswith(".)") else f.message
    source = source_facts(raw.get("source"))
    result = _judge_kind(spec, points, failures, source, fresh)
    differs = [p for p in points if answers_differently(p)]
    lead = differs and result.passed
    if lead:
        # Right on plain numbers, but the run the checker follows returns other values: that run is the one
        # judged (the graph the tangents and adjoints are read on is its own), and the difference leads.
        for p in differs:
            p.returned = list(p.traced_returned or [])
        result = _judge_kind(spec, points, failures, source, fresh)
    elif differs and "not-returned" in result.mistakes:
        return result  # already told: its plain call returns another derivative than its traced run
    return _told_it_answers_differently(spec, result, differs, lead=bool(lead))


def _judge_kind(spec: dict, points: list[PointData], failures: dict, source, fresh) -> CheckResult:
    swapped = _y_not_first(spec, points)
    if swapped is not None:
        return swapped
    if spec["kind"] == "reverse":
        from .reverse import judge_reverse

        return judge_reverse(spec, points, failures, source, fresh)
    if spec["kind"] == "forward":
        from .forward import judge_forward

        return judge_forward(spec, points, failures, source, fresh)
    from .decomposition import judge_decomposition

    return judge_decomposition(spec, points, failures, fresh)


def answers_differently(p: PointData) -> bool:
    """Whether the student's function returned other values at ``p`` when the checker followed it (the traced
    run) than when it was called with plain numbers: a branch on the type of its inputs, or a state kept from
    one call to the next. Numbers are the same within 1e-9 relative (rounding where an operation runs through
    the engine); described objects by their type."""
    plain, traced = p.returned, p.traced_returned
    if plain is None or traced is None:
        return False
    if len(traced) != min(len(plain), MAX_TRACED_RETURNED):
        return True
    for a, b in zip(plain, traced, strict=False):
        if isinstance(a, float) and isinstance(b, float):
            if a == b or (a != a and b != b):
                continue
            if not (finite(a) and finite(b)) or abs(a - b) > 1e-9 * max(abs(a), abs(b)):
                return True
        elif isinstance(a, float) or isinstance(b, float):
            return True
        elif a.get("type") != b.get("type"):
            return True
    return False


def _told_it_answers_differently(spec: dict, result: CheckResult, differs: list[PointData],
                                 lead: bool = False) -> CheckResult:
    """``result`` for a function that answers differently when the checker follows it: it cannot pass, a part
    of its own fails (one more part at no credit), and the words say why, at the first point where it does (a
    hidden one unnamed): first when nothing else is wrong or ``lead`` (its plain calls were right), else after
    the answer's own mistakes (a finite difference's last digits also differ from run to run)."""
    if not differs:
        return result
    message = for_students(note("answers-differently", where=point_words(spec, differs[0])))
    right_otherwise = lead or all(r.get("ok") for r in result.rows)
    parts = sum(1 for r in result.rows if not str(r.get("part", "")).startswith("point "))
    result.rows.append({"part": "same answer", "label": "the same answer in both runs", "ok": False,
                        "status": "wrong", "code": "answers-differently", "message": message})
    result.score = round(result.score * parts / (parts + 1), 6) if parts else 0.0
    if right_otherwise:
        result.messages.insert(0, message)
        result.mistakes = list(dict.fromkeys(["answers-differently", *result.mistakes]))
    else:
        result.messages.append(message)
        result.mistakes = list(dict.fromkeys([*result.mistakes, "answers-differently"]))
    result.passed = False
    if result.status == "ok":
        result.status = "failed"
    result.feedback = render(result, "text")
    return result


def _by_value_rows(spec: dict, points: list[PointData], why: str, shortcut=None) -> list[dict]:
    """The parts of an answer the checker could follow at no point (``why``). A trace failure never zeroes
    what can be judged by value against the reference at every point: y, and the derivatives with respect to
    the inputs (forward: the returned derivative; reverse: the adjoints of the inputs, the first ones after y),
    each earning its credit when its value is right. What needs the student's graph earns nothing: forward and
    decomposition, one part for the graph; reverse, the adjoint of each of the reference's intermediate
    variables. So an answer the checker cannot follow is never scored as a whole (an honest one with an `if`
    is told how to write it so it can be followed; a complex step or ``torch.autograd`` is named as what it is
    in ``why``), and its derivatives' rows say that their values alone do not show the chain rule. A
    derivative taken from autograd or a complex step (``shortcut``) is no derivative by hand at all: its
    right value earns nothing, so such an answer never scores above one that estimates by finite differences."""
    from .expected import expected_at

    atol = tolerances(spec)[1]
    exps = [expected_at(spec, p.inputs) for p in points]

    def right(at: int, want) -> bool:
        for p, exp in zip(points, exps, strict=True):
            value, scale = want(exp)
            got = p.returned[at] if p.returned and len(p.returned) > at else None
            if value is None or not (finite(got) and close(got, value, scale, exp.rel, atol)):
                return False
        return True

    def by_value(label: str, ok: bool) -> dict:
        if shortcut is not None:
            return {"part": label, "label": label, "ok": False, "status": "wrong", "code": "cannot-follow",
                    "message": "not by hand: your function takes its derivatives from "
                               + ("PyTorch's autograd" if shortcut.kind == "torch" else "a complex step")
                               + " (see above), so their values earn no credit."}
        words = ("its value is right at every test point, so it keeps its credit; a value alone does not show "
                 "the chain rule, so the steps behind it earn none" if ok
                 else "its value is not right at every test point")
        return {"part": label, "label": label, "ok": ok, "status": "ok" if ok else "wrong", "code": "cannot-follow",
                "message": f"judged by its value only (the checker could not follow how your function computes it: "
                           f"see above); {words}."}

    y_ok = right(0, lambda e: (e.y, e.y_scale))
    rows = [{"part": "y", "label": "y", "ok": y_ok, "status": "ok" if y_ok else "wrong"}]
    args = list(spec.get("args") or [])
    graph_row = {"part": "trace", "label": "traced graph", "ok": False, "status": "wrong", "code": "cannot-follow",
                 "message": why}
    if spec.get("kind") == "forward":
        wrt = spec.get("wrt", 0)
        k = args.index(wrt) if isinstance(wrt, str) and wrt in args else int(wrt) if not isinstance(wrt, str) else 0
        ok = right(1, lambda e: (e.grad[k], e.grad_scale[k]) if e.grad is not None else (None, 0.0))
        return [*rows, by_value(f"dy/d{args[k] if k < len(args) else 'x'}", ok), graph_row]
    if spec.get("kind") != "reverse":
        # A decomposition's steps are what the checker follows: none can be read.
        return [*rows, graph_row]
    graph = exps[0].graph
    nodes = [n for n in graph.nodes if n.op != "const"] if graph is not None else []
    inputs = set(graph.inputs) if graph is not None else set()
    for at, n in enumerate(nodes, start=1):
        if n.id in inputs:
            k = list(graph.inputs).index(n.id)
            name = args[k] if k < len(args) else f"x{k}"
            ok = right(at, lambda e, k=k: (e.grad[k], e.grad_scale[k]) if e.grad is not None else (None, 0.0))
            rows.append(by_value(f"dy/d{name} (value {at + 1} you return)", ok))
        else:
            rows.append({"part": f"adjoint {at}", "label": f"value {at + 1} you return (an adjoint)", "ok": False,
                         "status": "not-judged", "code": "cannot-follow",
                         "message": "not judged: the adjoint of an intermediate variable is judged on your graph, "
                                    "which the checker could not follow (see above), so it earns no credit."})
    return rows


def _assigned_at(source, f: PointFailure) -> str | None:
    """The variable the student's line of a failure assigns (the culprit of a value undefined there)."""
    line = (f.point.trace_error or {}).get("line")
    for name, found in source.assignments.items():
        if any(a.line == line for a in found):
            return name
    return None


def point_failure(spec: dict, p: PointData, fn_name, shortcut=None) -> PointFailure | None:
    """Why ``p`` cannot be judged (the student's code raised there, or could not be followed), or None. A
    ``shortcut`` (``shortcuts.derivative_shortcut``: autograd or a complex step in the student's code) is
    what an answer that could not be followed is told: what it used, not what the tracing saw."""
    scrub = not numbers_shown(spec, p)
    where = f" (This happened {point_words(spec, p)}.)"
    if p.error is not None:
        return PointFailure(p, "exception", describe_error(p.error, fn_name, scrub=scrub) + where)
    if p.graph is None:
        e = p.trace_error
        if e is not None and e["type"] == "DomainError":
            # The engine refuses an undefined value (0/0, log of a negative) that plain numpy turns into nan.
            return PointFailure(p, "domain-error", describe_error(e, fn_name, scrub=scrub).replace(
                "raised an error", "has no defined value") + where)
        why = shortcut.words(spec.get("kind")) if shortcut is not None else _trace_failure(p, fn_name, scrub=scrub)
        return PointFailure(p, "cannot-follow", why + where)
    return None


def _y_not_first(spec: dict, points: list[PointData]) -> CheckResult | None:
    """y returned in another place than first: the traced graph is then of the wrong value, so say this
    alone."""
    from .expected import expected_at

    for p in points:
        items = p.returned or []
        if len(items) < 2:
            continue
        exp = expected_at(spec, p.inputs)
        ref, scale, rtol = exp.y, exp.y_scale, exp.rel
        atol = float(spec.get("atol", 0.0) or 0.0)
        if finite(items[0]) and close(items[0], ref, scale, rtol, atol):
            continue
        at = [k for k, x in enumerate(items) if k > 0 and finite(x) and close(x, ref, scale, rtol, atol)]
        if at:
            msg = (
                f"Your function returns y in place {at[0] + 1} of {len(items)}; y must come first, then the "
                + ("adjoints." if spec.get("kind") == "reverse" else "derivative.")
            )
            return make_result(
                spec,
                status="failed",
                rows=[
                    {
                        "part": "returned",
                        "label": "returned values",
                        "ok": False,
                        "status": "wrong",
                        "message": msg,
                    }
                ],
                messages=[msg],
                mistakes=["swapped-order"],
                culprit="y" if "y" in p.locals else None,
            )
    return None


def _trace_failure(p: PointData, fn_name, scrub: bool = False) -> str:
    if p.trace_error is not None:
        e = p.trace_error
        if e["type"] == "TraceError":
            return (
                "The checker follows your function step by step to see its intermediate variables: "
                + e["message"]
            )
        return (
            "Your function runs on plain numbers, but the checker could not follow it step by step to see "
            "its intermediate variables: " + describe_error(e, fn_name, scrub)
        )
    return (
        "Your function's first returned value does not depend on its inputs through operations the checker "
        "can follow: return y (computed from the inputs) first."
    )


#: The share of a part's credit kept by a value that is wrong only because it builds on an earlier mistake.
INHERITED_CREDIT = 0.5


def settle_part(verdict, label: str, received, expected: float, own: float, scale: float, rtol: float,
                atol: float, wrong_neighbours, inherits: bool = True) -> tuple[dict, bool]:
    """Record one tangent or adjoint on ``verdict`` and judge it if it is not a mistake of its own.

    ``own`` is the chain rule applied to the student's own neighbouring values (upstream tangents, downstream
    adjoints); ``wrong_neighbours()`` names those that are wrong. Returns ``(row, settled)``: settled rows are
    right, or "inherited" (right given the student's wrong neighbours); an unsettled row is the student's own
    mistake, for the caller to diagnose. Without ``inherits`` (a number written into the return line, not
    computed from any neighbour) a wrong value is never inherited.
    """
    verdict.received[label] = received
    verdict.expected[label] = expected
    row = {"part": label, "label": label, "received": received, "expected": expected}
    if finite(received) and close(received, expected, scale, rtol, atol):
        row.update(ok=True, status="ok")
        return row, True
    if inherits and finite(received) and close(received, own, scale, rtol, atol):
        wrong = wrong_neighbours()
        if wrong:
            row.update(ok=False, status="inherited", credit=INHERITED_CREDIT,
                       message=f"{label} follows correctly from your {', '.join(wrong)}, which "
                               f"{'is' if len(wrong) == 1 else 'are'} wrong.")
            return row, True
    return row, False
