"""A check result as plain text: a headline, the diagnosis, then one line per graded part."""

from __future__ import annotations

from ..notation import fmt

_HEADLINE = {
    "ok": "passed",
    "failed": "not yet right",
    "error": "could not be checked",
    "timeout": "your code ran out of time",
    "unanswered": "not answered yet",
}
_MARK = {"ok": "ok", "wrong": "WRONG", "inherited": "wrong (inherited)", "missing": "missing",
         "not-credited": "not credited (computed on replaced inputs)"}


def result_text(result) -> str:
    """The feedback of ``result`` (a CheckResult or anything with its attributes) as plain text."""
    head = f"{result.exercise}: {_HEADLINE.get(result.status, result.status)}"
    rows = list(result.rows)
    if rows:
        right = sum(1 for r in rows if r.get("ok"))
        head += f" ({right} of {len(rows)} parts right, score {result.score:.2f})"
    elif result.status == "failed":
        head += f" (score {result.score:.2f})"
    lines = [head + "."]
    lines += list(result.messages)
    inherited = [r.get("label", r.get("part")) for r in rows if r.get("status") == "inherited"]
    if result.culprit and inherited:
        many = len(inherited) > 1
        lines.append(
            f"Fix {result.culprit} first: {_and(inherited)} {'are' if many else 'is'} wrong only because "
            f"{'they build' if many else 'it builds'} on wrong values."
        )
    table = [r for r in rows if not r.get("ok") and ("received" in r or "expected" in r)]
    if table and not result.passed:
        lines.append("")
        lines.append("Not right yet" + (f" at {_point(result)}" if result.point is not None else "") + ":")
        for r in table:
            text = f"  {r.get('label', r.get('part'))}: {_MARK.get(r.get('status'), r.get('status'))}"
            if "received" in r:
                text += f", yours {fmt(r.get('received'))}"
            if result.show_expected and "expected" in r and not r.get("ok"):
                text += f", expected {fmt(r.get('expected'))}"
            lines.append(text)
    return "\n".join(lines)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _point(result) -> str:
    return "(" + ", ".join(fmt(v) for v in result.point) + ")"
