"""Per-student feedback pages and the class report, rendered from stored results only.

Feedback shows the checkers' diagnosis of each exercise (rendered by `CheckResult._repr_html_`, which honours
the exercise's `show_expected`), never test cell source, hidden points or hidden reference values: nothing
from the config but the exercise id, kind and points reaches the page. Everything here is deterministic
(sorted, no timestamps, SVG without dates or random ids) so a repeated run rewrites identical files.
"""
from __future__ import annotations

import html
import io
from collections import Counter
from pathlib import Path

from autodiff_course.grading.store import atomic_write_text

__all__ = ["class_statistics", "render_feedback", "render_report", "write_feedback", "write_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.ok { color: #1a7f37; } .failed { color: #b35900; } .error, .timeout, .tampered, .missing { color: #c62828; }
section.exercise { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
svg { max-width: 100%; height: auto; }
pre { white-space: pre-wrap; background: #f8f8f8; padding: .5rem; }
"""

_STATUS_WORDS = {
    "ok": "passed",
    "failed": "not yet right",
    "error": "raised an error",
    "timeout": "ran out of time",
    "tampered": "test cell was modified (graded with the original)",
    "missing": "missing",
}


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{body}\n"
            "</body>\n</html>\n")


def _check_html(entry: dict) -> str:
    if entry.get("check") is not None:
        from autodiff_course.checks import CheckResult

        try:
            return CheckResult.from_dict(entry["check"])._repr_html_()
        except Exception:  # noqa: BLE001 - fall back to the plain feedback text stored with the result
            pass
    message = entry.get("message") or _STATUS_WORDS.get(entry["status"], entry["status"])
    return f"<pre>{html.escape(message)}</pre>"


def render_feedback(result: dict, config) -> str:
    """One student's feedback page for one assignment."""
    title = f"{config.title} - feedback for {result['student']}"
    parts = [f"<h1>{html.escape(config.title)}</h1>",
             f"<p>Student: <b>{html.escape(result['student'])}</b> &middot; notebook "
             f"<code>{html.escape(result['notebook'])}</code> &middot; score "
             f"<b>{result['score']:g} / {result['max_score']:g}</b></p>"]
    if result.get("problems"):
        items = "".join(f"<li>{html.escape(_strip_paths(p))}</li>" for p in result["problems"])
        parts.append(f"<h2>About your submission</h2><ul>{items}</ul>")
    parts.append("<table><tr><th>exercise</th><th>points</th><th>result</th></tr>" + "".join(
        f"<tr><td><a href=\"#{html.escape(e['id'])}\">{html.escape(e['id'])}</a></td>"
        f"<td>{e['score']:g} / {e['max_score']:g}</td>"
        f"<td class=\"{e['status']}\">{html.escape(_STATUS_WORDS.get(e['status'], e['status']))}</td></tr>"
        for e in result["exercises"]) + "</table>")
    for entry in result["exercises"]:
        parts.append(f"<section class=\"exercise\" id=\"{html.escape(entry['id'])}\">"
                     f"<h2>{html.escape(entry['id'])} <small>({entry['score']:g} / {entry['max_score']:g}, "
                     f"<span class=\"{entry['status']}\">{html.escape(entry['status'])}</span>)</small></h2>"
                     f"{_check_html(entry)}</section>")
    return _page(title, "\n".join(parts))


def _strip_paths(problem: str) -> str:
    # Problem lines name files by their path on the grading machine; a student only needs the file name.
    head, sep, tail = problem.partition(": ")
    return f"{Path(head).name}: {tail}" if sep and "/" in head else problem


def write_feedback(out: str | Path, results: list[dict], configs: dict) -> None:
    """`out/feedback/<student>/<assignment>.html` for every result."""
    out = Path(out)
    for result in results:
        config = configs.get(result["assignment"])
        if config is None:
            continue
        atomic_write_text(out / "feedback" / result["student"] / f"{result['assignment']}.html",
                          render_feedback(result, config))


def class_statistics(results: list[dict], configs: dict) -> dict:
    """Per assignment: totals and per exercise the mean points, pass rate, commonest mistakes, statuses."""
    stats: dict[str, dict] = {}
    for name, config in configs.items():
        mine = sorted((r for r in results if r["assignment"] == name), key=lambda r: r["student"])
        if not mine:
            continue
        exercises = {}
        for spec in config.exercises:
            entries = [e for r in mine for e in r["exercises"] if e["id"] == spec["id"]]
            mistakes: Counter = Counter()
            for entry in entries:
                for mistake in (entry.get("check") or {}).get("mistakes", []) or []:
                    mistakes[str(mistake)] += 1
            exercises[spec["id"]] = {
                "max_score": float(spec["points"]),
                "mean": round(sum(e["score"] for e in entries) / len(entries), 3) if entries else 0.0,
                "pass_rate": (sum(e["status"] == "ok" for e in entries) / len(entries)) if entries else 0.0,
                "mistakes": sorted(mistakes.items(), key=lambda kv: (-kv[1], kv[0]))[:5],
                "statuses": dict(sorted(Counter(e["status"] for e in entries).items())),
            }
        stats[name] = {"title": config.title, "max_score": config.max_score,
                       "totals": [(r["student"], r["score"]) for r in mine], "exercises": exercises}
    return stats


def _histogram_svg(stats: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    names = list(stats)
    cols = min(3, max(len(names), 1))
    rows = -(-max(len(names), 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(list(axes.flat)[:len(names)], names, strict=True):
        scores = [score for _, score in stats[name]["totals"]]
        top = stats[name]["max_score"]
        ax.hist(scores, bins=min(10, max(int(top), 1)), range=(0, top), color="#4c72b0", edgecolor="white")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("score", fontsize=8)
        ax.set_ylabel("students", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    buffer = io.StringIO()
    # Fixed hash salt and no date: the SVG is byte-identical across runs.
    with matplotlib.rc_context({"svg.hashsalt": "autodiff-course", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def render_report(results: list[dict], configs: dict) -> str:
    """The class report: score distribution (inline SVG), per-exercise mean, pass rate, commonest
    mistakes, and the submissions that were tampered with, failed to run or could not be read."""
    stats = class_statistics(results, configs)
    students = sorted({r["student"] for r in results})
    parts = ["<h1>Class report</h1>",
             f"<p>{len(students)} students, {len(results)} graded submissions.</p>"]
    if stats:
        parts.append("<h2>Score distribution</h2>" + _histogram_svg(stats))
    for name, info in stats.items():
        totals = [score for _, score in info["totals"]]
        parts.append(f"<h2>{html.escape(info['title'])} <small>({html.escape(name)})</small></h2>"
                     f"<p>mean {sum(totals) / len(totals):.2f} / {info['max_score']:g} over "
                     f"{len(totals)} students</p>")
        rows = []
        for ex_id, ex in info["exercises"].items():
            mistakes = ", ".join(f"{html.escape(m)} ({n})" for m, n in ex["mistakes"]) or "&ndash;"
            statuses = ", ".join(f"{s} {n}" for s, n in ex["statuses"].items())
            rows.append(f"<tr><td>{html.escape(ex_id)}</td><td>{ex['mean']:.2f} / {ex['max_score']:g}</td>"
                        f"<td>{100 * ex['pass_rate']:.0f}%</td><td>{mistakes}</td><td>{statuses}</td></tr>")
        parts.append("<table><tr><th>exercise</th><th>mean</th><th>pass rate</th>"
                     "<th>most common mistakes</th><th>statuses</th></tr>" + "".join(rows) + "</table>")
    flagged = []
    for result in sorted(results, key=lambda r: (r["student"], r["assignment"])):
        bad = sorted({e["status"] for e in result["exercises"]} & {"tampered", "error", "timeout"})
        unreadable = (result.get("handed_in", True) and result["problems"]
                      and all(e["status"] in ("error", "missing") for e in result["exercises"]))
        if bad or unreadable:
            detail = "; ".join(result.get("problems", [])) or ", ".join(
                f"{e['id']}: {e['status']}" for e in result["exercises"] if e["status"] in bad)
            flagged.append(f"<tr><td>{html.escape(result['student'])}</td><td>{html.escape(result['assignment'])}"
                           f"</td><td>{html.escape(', '.join(bad) or 'unreadable')}</td>"
                           f"<td>{html.escape(detail)}</td></tr>")
    parts.append("<h2>Tampered, failed and unreadable submissions</h2>")
    parts.append("<table><tr><th>student</th><th>assignment</th><th>status</th><th>detail</th></tr>"
                 + "".join(flagged) + "</table>" if flagged else "<p>None.</p>")
    return _page("Class report", "\n".join(parts))


def write_report(path: str | Path, results: list[dict], configs: dict) -> None:
    atomic_write_text(path, render_report(results, configs))
