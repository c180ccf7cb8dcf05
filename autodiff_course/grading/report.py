"""Per-student feedback pages and the class report, rendered from stored results only.

The class report is the instructor's: it alone lists each exercise's hidden test points and how many
students failed at each, in a section marked "instructor only".

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

__all__ = ["class_statistics", "feedback_path", "item_statistics", "render_feedback", "render_report",
           "submission_state", "write_feedback", "write_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.unanswered { color: #57606a; }
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
    "unanswered": "not answered yet",
    "tampered": "test cell was modified (graded with the original)",
    "missing": "missing",
}


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{body}\n"
            "</body>\n</html>\n")


def spec_of(config, exercise_id: str) -> dict:
    """The exercise's spec, or {} (the default policy) for one the config no longer has."""
    return next((spec for spec in config.exercises if spec["id"] == exercise_id), {})


def _check_html(entry: dict, spec: dict) -> str:
    if entry.get("check") is not None:
        from autodiff_course.checks import CheckResult
        from autodiff_course.checks.reveal import feedback_view

        try:
            return feedback_view(CheckResult.from_dict(entry["check"]), spec)._repr_html_()
        except Exception:  # noqa: BLE001 - fall back to the plain feedback text stored with the result
            pass
    from autodiff_course.checks.privacy import for_students

    message = entry.get("message") or _STATUS_WORDS.get(entry["status"], entry["status"])
    return f"<pre>{html.escape(for_students(_strip_paths(message)))}</pre>"


def render_feedback(result: dict, config) -> str:
    """One student's feedback page for one assignment."""
    title = f"{config.title} - feedback for {result['student']}"
    parts = [f"<h1>{html.escape(config.title)}</h1>",
             f"<p>Student: <b>{html.escape(result['student'])}</b> &middot; notebook "
             f"<code>{html.escape(result['notebook'])}</code> &middot; score "
             f"<b>{result['score']:g} / {result['max_score']:g}</b></p>"]
    timing = result.get("late") or {}
    late = timing.get("description")
    if late and timing.get("unknown"):
        cost = (f" (before the penalty: {result.get('raw_score', result['score']):g})"
                if timing.get("penalty") else "")
        parts.append(f"<p class=\"late\">Submission time: {html.escape(late)}{cost}</p>")
    elif late:
        parts.append(f"<p class=\"late\">Late: {html.escape(late)} (before the penalty: "
                     f"{result.get('raw_score', result['score']):g})</p>")
    if result.get("problems"):
        from autodiff_course.checks.privacy import for_students

        items = "".join(f"<li>{html.escape(for_students(_strip_paths(p)))}</li>" for p in result["problems"])
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
                     f"{_check_html(entry, spec_of(config, entry['id']))}</section>")
    return _page(title, "\n".join(parts))


def _strip_paths(problem: str) -> str:
    # Problem lines start with the path of a file on the grading machine; a student only needs its name.
    head, sep, tail = problem.partition(": ")
    return f"{Path(head).name}: {tail}" if sep and "/" in head else problem


def feedback_path(out: str | Path, student: str, config) -> Path:
    """Where a student's feedback page goes: nbgrader's feedback layout,
    `<out>/feedback/<student>/<assignment>/<notebook>.html`, which `nbgrader release_feedback` reads."""
    return Path(out) / "feedback" / student / config.assignment / f"{config.notebook_stem}.html"


def write_feedback(out: str | Path, results: list[dict], configs: dict,
                   secrets: dict[tuple[str, str], str]) -> None:
    """A feedback page for every handed-in result, laid out as nbgrader's `generate_feedback` lays them out:
    beside each page the hand-in's `timestamp.txt` and the `submission_secret.txt` it is released under
    (`secrets`, by (student, assignment): `grading.feedback_secret.release_names`), which `release_feedback`
    needs. The same two files go beside the graded notebook in `autograded/`, as nbgrader's autograde leaves
    them, so `nbgrader generate_feedback --force` (which replaces the folder with its own rendering of that
    notebook and copies the files beside it) still leaves what `release_feedback` reads. Students who handed
    nothing in get no page, as with nbgrader."""
    from autodiff_course.checks.privacy import for_students

    for result in results:
        config = configs.get(result["assignment"])
        if config is None or not result.get("handed_in", True):
            continue
        page = feedback_path(out, result["student"], config)
        # The whole page, the student's own values included: a value can be a path the submission read from
        # the sandbox (an outside review returned bwrap's command line as a string answer).
        atomic_write_text(page, for_students(render_feedback(result, config)))
        graded = Path(out) / "autograded" / result["student"] / config.assignment
        for folder in (page.parent, graded) if (graded / config.notebook).is_file() else (page.parent,):
            atomic_write_text(folder / "timestamp.txt", result.get("timestamp") or "")
            atomic_write_text(folder / "submission_secret.txt", secrets[(result["student"], result["assignment"])])


def submission_state(result: dict) -> str:
    """"missing" (nothing handed in), "unanswered" (handed in, no exercise attempted: the released notebook
    as it was) or "submitted"."""
    if not result.get("handed_in", True):
        return "missing"
    run = result.get("run") or {}
    raw = run.get("exercises") or {}
    if raw and all(_unanswered(entry, raw.get(entry["id"])) for entry in result["exercises"]):
        return "unanswered"
    return "submitted"


def _unanswered(entry: dict, raw) -> bool:
    # The released stub raises NotImplementedError; a variables exercise left blank has its names missing.
    text = f"{entry.get('message') or ''} {raw if raw is not None else ''}"
    return entry["score"] == 0 and ("NotImplementedError" in text or "not defined" in text
                                    or entry["status"] in ("missing", "unanswered"))


def _correlation(xs: list[float], ys: list[float]) -> float | None:
    n = len(xs)
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / (sxx * syy) ** 0.5


def item_statistics(submitted: list[dict], config) -> dict[str, dict]:
    """Per exercise over the submitted work: difficulty (mean share of the points earned, 1 = everyone right),
    discrimination (correlation of the exercise's points with the rest of the assignment's, None below three
    submissions or without spread) and how often each diagnosed mistake was made."""
    items = {}
    for spec in config.exercises:
        scores, rests, mistakes = [], [], Counter()
        for result in submitted:
            entry = next((e for e in result["exercises"] if e["id"] == spec["id"]), None)
            if entry is None:
                continue
            scores.append(entry["score"])
            rests.append(sum(e["score"] for e in result["exercises"]) - entry["score"])
            for mistake in (entry.get("check") or {}).get("mistakes", []) or []:
                mistakes[str(mistake)] += 1
        top = float(spec["points"])
        items[spec["id"]] = {
            "difficulty": round(sum(scores) / (len(scores) * top), 3) if scores else None,
            "discrimination": None if (r := _correlation(scores, rests)) is None else round(r, 3),
            "mistakes": sorted(mistakes.items(), key=lambda kv: (-kv[1], kv[0])),
            "n": len(scores)}
    return items


def class_statistics(results: list[dict], configs: dict) -> dict:
    """Per assignment: totals over the submitted work (missing and unanswered hand-ins counted apart), and
    per exercise the mean points, pass rate, commonest mistakes and statuses over the submitted work."""
    stats: dict[str, dict] = {}
    for name, config in configs.items():
        every = sorted((r for r in results if r["assignment"] == name), key=lambda r: r["student"])
        if not every:
            continue
        states = Counter(submission_state(r) for r in every)
        mine = [r for r in every if submission_state(r) == "submitted"]
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
                       "totals": [(r["student"], r["score"]) for r in mine], "exercises": exercises,
                       "states": {k: states.get(k, 0) for k in ("submitted", "unanswered", "missing")},
                       "late": sum(bool((r.get("late") or {}).get("seconds_late")) for r in every),
                       "no_time": sum(bool((r.get("late") or {}).get("unknown")) for r in every),
                       "items": item_statistics(mine, config), "hidden": hidden_point_statistics(mine, config)}
    return stats


def hidden_point_statistics(submitted: list[dict], config) -> dict[str, list[dict]]:
    """Per exercise with hidden test points (``hidden_points`` and the seeded random ones), each of them:
    ``{"point", "origin" ("hidden" or "random"), "failed" (how many of the submitted students' answers were
    wrong there, or raised there), "judged" (how many were judged at the points at all)}``. For the instructor
    only."""
    from autodiff_course.checks.points import test_points, visible_count

    out = {}
    for spec in config.exercises:
        try:
            points = test_points(spec, hidden=True)
        except Exception:  # noqa: BLE001 - an exercise whose points cannot be drawn has nothing to list
            continue
        start = visible_count(spec)
        if len(points) <= start:
            continue
        # Judged at the points: a verdict, or an error that names the points it failed at (it raised there).
        checks = [e["check"] for r in submitted for e in r["exercises"]
                  if e["id"] == spec["id"] and e.get("check") is not None
                  and (e["check"].get("status") in ("ok", "failed") or e["check"].get("failed_at"))]
        given = len(spec.get("hidden_points") or [])
        out[spec["id"]] = [
            {"point": point, "origin": "hidden" if i - start < given else "random", "judged": len(checks),
             "failed": sum(i in (c.get("failed_at") or []) for c in checks)}
            for i, point in enumerate(points) if i >= start]
    return out


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
    states = Counter(submission_state(r) for r in results)
    parts = ["<h1>Class report</h1>",
             f"<p>{len(students)} students; {states['submitted']} submissions graded, "
             f"{states['unanswered']} handed in unanswered, {states['missing']} missing.</p>"]
    if stats:
        parts.append("<h2>Score distribution</h2>" + _histogram_svg(stats))
    parts.append(_student_table(results, configs))
    for name, info in stats.items():
        totals = [score for _, score in info["totals"]]
        mean = f"mean {sum(totals) / len(totals):.2f} / {info['max_score']:g}" if totals else "no mean"
        st = info["states"]
        parts.append(f"<h2>{html.escape(info['title'])} <small>({html.escape(name)})</small></h2>"
                     f"<p>{mean} over {len(totals)} submitted; {st['unanswered']} unanswered, "
                     f"{st['missing']} missing, {info['late']} late"
                     + (f", {info['no_time']} with no readable submission time (flagged in the students' "
                        "table)" if info["no_time"] else "") + "</p>")
        parts.append(_item_table(info["items"]))
        rows = []
        for ex_id, ex in info["exercises"].items():
            mistakes = ", ".join(f"{html.escape(m)} ({n})" for m, n in ex["mistakes"]) or "&ndash;"
            statuses = ", ".join(f"{s} {n}" for s, n in ex["statuses"].items())
            rows.append(f"<tr><td>{html.escape(ex_id)}</td><td>{ex['mean']:.2f} / {ex['max_score']:g}</td>"
                        f"<td>{100 * ex['pass_rate']:.0f}%</td><td>{mistakes}</td><td>{statuses}</td></tr>")
        parts.append("<table><tr><th>exercise</th><th>mean</th><th>pass rate</th>"
                     "<th>most common mistakes</th><th>statuses</th></tr>" + "".join(rows) + "</table>")
        parts.append(_hidden_points_table(info["hidden"]))
    flagged = []
    for result in sorted(results, key=lambda r: (r["student"], r["assignment"])):
        bad = sorted({e["status"] for e in result["exercises"]} & {"tampered", "error", "timeout"})
        unreadable = (result.get("handed_in", True) and result["problems"]
                      and all(e["status"] in ("error", "missing") for e in result["exercises"]))
        if bad or unreadable:
            internal = [e["internal"] for e in result["exercises"] if e.get("internal")]
            detail = "; ".join(result.get("problems", []) + internal) or ", ".join(
                f"{e['id']}: {e['status']}" for e in result["exercises"] if e["status"] in bad)
            flagged.append(f"<tr><td>{html.escape(result['student'])}</td><td>{html.escape(result['assignment'])}"
                           f"</td><td>{html.escape(', '.join(bad) or 'unreadable')}</td>"
                           f"<td>{html.escape(detail)}</td></tr>")
    parts.append("<h2>Tampered, failed and unreadable submissions</h2>")
    parts.append("<table><tr><th>student</th><th>assignment</th><th>status</th><th>detail</th></tr>"
                 + "".join(flagged) + "</table>" if flagged else "<p>None.</p>")
    return _page("Class report", "\n".join(parts))


def _student_table(results: list[dict], configs: dict) -> str:
    """One row per student, one column per assignment: the score (after any late penalty) or what is
    missing, and the total."""
    names = [a for a in configs if any(r["assignment"] == a for r in results)]
    cell = {(r["student"], r["assignment"]): r for r in results}
    rows = []
    for student in sorted({r["student"] for r in results}):
        tds, total, top = [], 0.0, 0.0
        for name in names:
            result = cell.get((student, name))
            top += configs[name].max_score
            if result is None or submission_state(result) == "missing":
                tds.append("<td class=\"missing\">missing</td>")
                continue
            total += result["score"]
            timing = result.get("late") or {}
            late = (" (no submission time: treated as late)" if timing.get("treated_as") == "late"
                    else " (no submission time)" if timing.get("unknown")
                    else " (late)" if timing.get("seconds_late") else "")
            word = " unanswered" if submission_state(result) == "unanswered" else ""
            tds.append(f"<td>{result['score']:g}{late}{word}</td>")
        rows.append(f"<tr><td>{html.escape(student)}</td>{''.join(tds)}<td>{total:g} / {top:g}</td></tr>")
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    return ("<h2>Students</h2><table class=\"students\"><tr><th>student</th>" + head + "<th>total</th></tr>"
            + "".join(rows) + "</table>")


def _hidden_points_table(hidden: dict[str, list[dict]]) -> str:
    if not hidden:
        return ""
    from autodiff_course.notation import fmt

    rows = []
    for ex_id, points in hidden.items():
        for p in points:
            where = "(" + ", ".join(fmt(v) for v in p["point"]) + ")"
            rows.append(f"<tr><td>{html.escape(ex_id)}</td><td>{html.escape(where)}</td><td>{p['origin']}</td>"
                        f"<td>{p['failed']} of {p['judged']}</td></tr>")
    return ("<h3 class=\"instructor-only\">Hidden test points (instructor only: never shown to students)</h3>"
            "<table class=\"hidden-points instructor-only\"><tr><th>exercise</th><th>hidden point</th>"
            "<th>from</th><th>students wrong there</th></tr>" + "".join(rows) + "</table>")


def _item_table(items: dict) -> str:
    rows = []
    for ex_id, item in items.items():
        diff = "&ndash;" if item["difficulty"] is None else f"{item['difficulty']:.2f}"
        disc = "&ndash;" if item["discrimination"] is None else f"{item['discrimination']:.2f}"
        mistakes = ", ".join(f"{html.escape(m)} ({n})" for m, n in item["mistakes"]) or "&ndash;"
        rows.append(f"<tr><td>{html.escape(ex_id)}</td><td>{diff}</td><td>{disc}</td><td>{mistakes}</td></tr>")
    return ("<table class=\"items\"><tr><th>exercise</th><th>difficulty (share earned)</th>"
            "<th>discrimination</th><th>diagnosed mistakes</th></tr>" + "".join(rows) + "</table>")


def write_report(path: str | Path, results: list[dict], configs: dict) -> None:
    atomic_write_text(path, render_report(results, configs))
