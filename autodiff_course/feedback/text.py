"""A check result as plain text: a headline, the diagnosis, then one line per graded part."""

from __future__ import annotations

from ..notation import fmt, fmt_apart

_HEADLINE = {
    "ok": "passed",
    "failed": "not yet right",
    "error": "could not be checked",
    "timeout": "your code ran out of time",
    "unanswered": "not answered yet",
}
_MARK = {"ok": "ok", "wrong": "WRONG", "inherited": "wrong (inherited)", "missing": "missing",
         "not-credited": "not credited (computed on replaced inputs)", "not-judged": "not judged (no credit)"}


def result_text(result) -> str:
    """The feedback of ``result`` (a CheckResult or anything with its attributes) as plain text."""
    head = f"{result.exercise}: {_HEADLINE.get(result.status, result.status)}"
    rows = list(result.rows)
    if rows and result.kind == "decomposition" and rows[0].get("part") == "y":
        # Scored in two halves (y, and the steps: see checks.decomposition), so counted in two.
        steps = rows[1:]
        right = sum(1 for r in steps if r.get("ok"))
        head += (f" (y {'right' if rows[0].get('ok') else 'wrong'}, {right} of {len(steps)} steps right, "
                 f"score {result.score:.2f})")
    elif rows:
        right = sum(1 for r in rows if r.get("ok") and r.get("share", 1) == 1)
        # Parts that earned some credit but not all (inherited, misplaced, or lost at one point): with them the
        # score can be read off the count.
        partly = sum(1 for r in rows if 0 < r.get("share", 1 if r.get("ok") else 0) < 1)
        head += f" ({right} of {len(rows)} parts right{f', {partly} partly right' if partly else ''}, " \
                f"score {result.score:.2f})"
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
            yours, expected = fmt_apart(r.get("received"), r.get("expected"))
            if "received" in r:
                text += f", yours {yours if 'expected' in r else fmt(r.get('received'))}"
            if result.show_expected and "expected" in r and not r.get("ok"):
                text += f", expected {expected}"
            lines.append(text)
    return "\n".join(lines)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _point(result) -> str:
    return "(" + ", ".join(fmt(v) for v in result.point) + ")"
