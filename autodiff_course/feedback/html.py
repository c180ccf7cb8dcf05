"""A check result as an HTML fragment for a notebook: the diagnosis, then a table of every graded part."""

from __future__ import annotations

import html

from ..notation import fmt, fmt_row
from .graph_figure import graph_figure

_COLOURS = {"ok": "#1a7f37", "wrong": "#cf222e", "inherited": "#9a6700", "missing": "#cf222e",
            "not-credited": "#9a6700", "not-judged": "#cf222e"}
_WORDS = {"ok": "right", "wrong": "wrong", "inherited": "wrong, inherited", "missing": "missing",
          "not-credited": "not credited, computed on replaced inputs",
          "not-judged": "not judged, no credit"}
_HEAD = {
    "ok": "Passed",
    "failed": "Not yet right",
    "error": "Could not be checked",
    "timeout": "Your code ran out of time",
    "unanswered": "Not answered yet",
}


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def result_html(result) -> str:
    """``result`` (a CheckResult) as a self-contained HTML fragment."""
    colour = "#1a7f37" if result.passed else "#cf222e"
    parts = [
        f'<div class="autodiff-check" data-status="{_e(result.status)}">',
        f'<p style="color:{colour}"><strong>{_e(_HEAD.get(result.status, result.status))}</strong> '
        f"&middot; {_e(result.exercise)} &middot; score {result.score:.2f}</p>",
    ]
    for m in result.messages:
        parts.append(f"<p>{_e(m)}</p>")
    rows = list(result.rows)
    if rows:
        show = result.show_expected
        head = (
            "<tr><th>part</th><th>yours</th>"
            + ("<th>expected</th>" if show else "")
            + "<th>verdict</th></tr>"
        )
        body = []
        for r in rows:
            status = r.get("status", "ok" if r.get("ok") else "wrong")
            label = r.get("label", r.get("part"))
            culprit = result.culprit is not None and label == result.culprit
            style = ' style="background:#fff8c5"' if culprit else ""
            # A wrong value never reads as the expected one; a right one reads "equal to rounding" where its
            # last shown digit differs (see notation.fmt_row).
            yours, expected, rounding = (fmt_row(r["received"], r["expected"], bool(r.get("ok")))
                                         if "received" in r and "expected" in r
                                         else (fmt(r.get("received")), fmt(r.get("expected")), False))
            cells = [
                f"<td><code>{_e(label)}</code>{' &larr; start here' if culprit else ''}</td>",
                f"<td>{_e(yours) if 'received' in r else ''}</td>",
            ]
            if show:
                cells.append(f"<td>{_e(expected) if 'expected' in r else ''}</td>")
            cells.append(
                f'<td style="color:{_COLOURS.get(status, "#cf222e")}">{_e(_WORDS.get(status, status))}'
                + (" (equal to rounding)" if rounding and status == "ok" else "")
                # a row's message that is also the result's (a trace the checker could not follow) is said once
                + (f"<br><small>{_e(r['message'])}</small>"
                   if r.get("message") and not r.get("ok") and r["message"] not in result.messages else "")
                + "</td>"
            )
            body.append(f"<tr{style}>{''.join(cells)}</tr>")
        where = (
            f"<caption>at ({_e(', '.join(fmt(v) for v in result.point))})</caption>"
            if result.point is not None
            else ""
        )
        parts.append(f'<table class="autodiff-check-table">{where}{head}{"".join(body)}</table>')
    if not result.passed:
        parts.append(graph_figure(result))
    parts.append("</div>")
    return "\n".join(parts)
