"""GraphStepper in a real browser: Debian's Chromium driven by Playwright, against a real JupyterLab server,
and against notebooks exported to HTML opened from disk with no kernel and no network.

Skips (saying how to install Chromium) where Chromium is missing, unless CI is set: then it fails.
Screenshots and timings go to tests/artifacts/.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from browser_support import ARTIFACTS, IGNORED_NOTEBOOK7, LAB_IDLE, NB7_IDLE, ConsoleErrors, run_cell
from seed_functions import SEED_POINT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

X0, X1, X2 = SEED_POINT
VBAR0 = math.cos(X0) - X1 * math.sin(X0)  # dy/dx0 of y = sin(x0) + x1 cos(x0) + x1/x2
VBAR1 = math.cos(X0) + 1 / X2  # dy/dx1
SHOWN = 5e-6  # the widget prints 6 significant digits
REVERSE_STEPS = 9 + 1 + 10  # forward pass, seed, one step per edge

NOTEBOOK_SOURCE = f"""\
import numpy as np
from autodiff_course.widgets import GraphStepper

def function(x0, x1, x2):
    v0 = x0
    v1 = x1
    v2 = x2
    v3 = np.sin(v0)
    v4 = np.cos(v0)
    v5 = v1 * v4
    v6 = v1 / v2
    v7 = v3 + v5
    v8 = v6 + v7
    return v8

w = GraphStepper(function, {X0}, {X1}, {X2}, mode="reverse")
w"""


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(NOTEBOOK_SOURCE),
        nbformat.v4.new_code_cell('print(f"python sees step {w.step} of {w.n_steps}")'),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _inside(inner: dict, outer: dict, slack: float = 0.5) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def _assert_output_node_visible(page, area_selector: str) -> None:
    """The output node's box lies inside the graph's scroll box and inside the notebook's output area, both
    as drawn on screen: nothing of it is clipped or needs scrolling to see."""
    node = page.locator(".adc-stepper g.adc-node.adc-output").first.bounding_box()
    wrap = page.locator(".adc-stepper .adc-graph-wrap").first.bounding_box()
    area = page.locator(area_selector).first.bounding_box()
    assert node and wrap and area
    assert _inside(node, wrap), ("output node outside the graph box", node, wrap)
    assert _inside(node, area), ("output node outside the output area", node, area)
    # Still readable: shrunk by at most MIN_SCALE (0.7) from its natural 150 px width.
    assert node["width"] >= 0.7 * 150 - 1, node


def _shown(page, name: str, slot: str = "adc-der") -> str:
    return page.locator(f".adc-stepper g.adc-node[data-name='{name}'] text.{slot}").first.text_content()


def _number(text: str) -> float:
    return float(text.rsplit("=", 1)[1])


def _click_through(page, n: int) -> None:
    nxt = page.locator(".adc-stepper .adc-next").first
    for k in range(1, n + 1):
        nxt.click()
        page.wait_for_selector(f".adc-stepper[data-step='{k}']", timeout=5000)
    assert nxt.get_attribute("aria-disabled") == "true"  # aria-disabled, so a focused Next keeps focus


def _step_timings(page, count: int) -> list[float]:
    """Milliseconds per Next click, each in its own frame, including the style and layout work it causes."""
    return page.evaluate(
        """async (count) => {
            const root = document.querySelector('.adc-stepper');
            const next = root.querySelector('.adc-next');
            const out = [];
            for (let i = 0; i < count && next.getAttribute('aria-disabled') !== 'true'; i++) {
                await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
                const t0 = performance.now();
                next.click();
                void document.body.offsetHeight;  // force style and layout now, inside the measurement
                out.push(performance.now() - t0);
            }
            return out;
        }""",
        count,
    )


def _record(key: str, value) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "widget_timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"{key}: {value}")


def _step_through_reverse(page, url: str, run: dict, shot: str, area: str, ignore=None) -> ConsoleErrors:
    """Open `url`, run the stepper cell, click Next through the reverse pass and check what it shows."""
    console = ConsoleErrors(page, ignore)
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=60000)
    run_cell(page, 0, "[1]:", **run)
    stepper = page.locator(".jp-OutputArea .adc-stepper[data-ready='1']")
    try:
        stepper.wait_for(timeout=60000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / run["failed"]))
        raise
    assert page.locator(".adc-stepper g.adc-node").count() == 9
    assert _shown(page, "v0") == ""  # nothing computed before the first step
    _assert_output_node_visible(page, area)
    _click_through(page, REVERSE_STEPS)
    assert (
        page.locator(".adc-stepper .adc-counter").text_content() == f"step {REVERSE_STEPS} / {REVERSE_STEPS}"
    )
    assert _shown(page, "v0").startswith("vbar0 = ")
    assert _number(_shown(page, "v0")) == pytest.approx(VBAR0, rel=SHOWN)
    assert _number(_shown(page, "v1")) == pytest.approx(VBAR1, rel=SHOWN)
    assert _number(_shown(page, "v2")) == pytest.approx(-X1 / X2**2, rel=SHOWN)
    assert _number(_shown(page, "v5", "adc-val")) == pytest.approx(X1 * math.cos(X0), rel=SHOWN)
    panel = page.locator(".adc-stepper .adc-panel").text_content()
    assert "vbar0 is complete: all 2 paths summed" in panel

    # Back one step and the last contribution is undone in place: vbar0 holds its first path only.
    page.locator(".adc-stepper .adc-prev").click()
    assert _number(_shown(page, "v0")) == pytest.approx(-X1 * math.sin(X0), rel=SHOWN)
    page.locator(".adc-stepper .adc-next").click()

    # The step is a synced trait: the kernel sees where the student is.
    run_cell(page, 1, "[2]:", **run)
    page.wait_for_selector(f"text=python sees step {REVERSE_STEPS} of {REVERSE_STEPS}", timeout=30000)
    _assert_output_node_visible(page, area)
    stepper.screenshot(path=str(ARTIFACTS / shot))
    return console


def test_jupyterlab_steps_through_the_reverse_pass_and_shows_the_adjoints(jupyter, browser):
    nbformat.write(_notebook(), jupyter["root"] / "scratch" / "stepper_lab.ipynb")
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    url = f"{jupyter['url']}/lab/workspaces/stepper/tree/scratch/stepper_lab.ipynb?token={jupyter['token']}"
    run = {"idle": LAB_IDLE, "failed": "widget_jupyterlab_failed.png"}
    console = _step_through_reverse(page, url, run, "widget_jupyterlab_reverse.png", ".jp-OutputArea-output")
    stepper = page.locator(".jp-OutputArea .adc-stepper[data-ready='1']")
    _record("jupyterlab_seed_render_ms", float(stepper.get_attribute("data-render-ms")))
    page.locator(".adc-stepper .adc-reset").click()
    times = sorted(_step_timings(page, REVERSE_STEPS))
    # Whole-page numbers: each click also relayouts JupyterLab around the widget and sends the step to the
    # kernel. The one-frame budget is asserted on the 500-node page below; here the typical step must fit too.
    _record(
        "jupyterlab_seed_step_ms", {"median": round(times[len(times) // 2], 3), "max": round(times[-1], 3)}
    )
    assert times[len(times) // 2] < 16
    assert not console.errors, console.errors
    context.close()


def test_notebook7_steps_through_the_reverse_pass_and_shows_the_adjoints(jupyter, browser):
    nbformat.write(_notebook(), jupyter["root"] / "scratch" / "stepper_nb7.ipynb")
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    url = f"{jupyter['url']}/notebooks/scratch/stepper_nb7.ipynb?token={jupyter['token']}"
    run = {"idle": NB7_IDLE, "failed": "widget_notebook7_failed.png"}
    console = _step_through_reverse(
        page, url, run, "widget_notebook7_reverse.png", ".jp-OutputArea-output", IGNORED_NOTEBOOK7
    )
    assert not console.errors, console.errors
    context.close()


def _executed_notebook(tmp_path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = _notebook()
    # store_widget_state is nbclient's default, as in `jupyter nbconvert --execute`.
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
        store_widget_state=True,
    ).execute()
    return nb


# nbconvert's classic HTML template loads require.js and MathJax from cdnjs; offline those fail. Our snippet
# asks for nothing (the test below lists every request the page made).
OFFLINE_NOISE = [
    (
        re.compile(r"ERR_INTERNET_DISCONNECTED @ https://cdnjs\.cloudflare\.com/ajax/libs/(require\.js|mathjax)/"),
        "nbconvert template's CDN scripts, offline",
    ),
    # With widget state in the notebook's metadata the template also loads the widgets' HTML manager, which
    # only other widgets would need: ours were turned into the self-contained form by the preprocessor.
    (
        re.compile(r"ERR_INTERNET_DISCONNECTED @ https://unpkg\.com/@jupyter-widgets/html-manager@"),
        "nbconvert template's widget manager, offline",
    ),
]


def _open_offline(browser, path: Path):
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    context.set_offline(True)
    page = context.new_page()
    external: list[str] = []
    errors = ConsoleErrors(page, OFFLINE_NOISE).all  # filled as the page runs
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.goto(path.as_uri())
    return context, page, external, errors


def test_exported_html_steps_with_no_kernel_and_no_network(browser, tmp_path):
    from nbconvert import HTMLExporter

    from autodiff_course.widgets.export import export_html

    nb = _executed_notebook(tmp_path)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(m["model_name"] == "AnyModel" for m in state.values())

    # What nbconvert does with a widget output when the state is saved: the live view, which needs the
    # jupyter-widgets HTML manager from a CDN, and not our self-contained form.
    saved_html, _ = HTMLExporter().from_notebook_node(nb)
    assert "data-adc-standalone" not in saved_html
    assert "application/vnd.jupyter.widget-view+json" in saved_html and "https://" in saved_html

    # JupyterLab saves no widget state by default: nbconvert then falls back to the text/html form.
    unsaved = nbformat.from_dict(json.loads(json.dumps(nb)))
    del unsaved.metadata["widgets"]
    lab_saved = tmp_path / "lab_saved.html"
    lab_saved.write_text(HTMLExporter().from_notebook_node(unsaved)[0], encoding="utf-8")
    # With the state saved, the preprocessor picks the self-contained form.
    nbformat.write(nb, tmp_path / "executed.ipynb")
    preprocessed = export_html(tmp_path / "executed.ipynb", tmp_path / "executed.html")

    for label, path in (("lab_saved", lab_saved), ("state_saved", preprocessed)):
        context, page, external, errors = _open_offline(browser, path)
        page.wait_for_selector(".adc-stepper[data-ready='1']", timeout=10000)
        assert _shown(page, "v0") == ""
        _assert_output_node_visible(page, ".adc-stepper")
        if label == "lab_saved":
            _click_through(page, REVERSE_STEPS)
        else:  # Play runs to the end by itself
            page.locator(".adc-stepper .adc-speed").select_option("16")
            page.locator(".adc-stepper .adc-play").click()
            done = f".adc-stepper[data-step='{REVERSE_STEPS}'][data-playing='0']"
            page.wait_for_selector(done, timeout=10000)
        assert _number(_shown(page, "v0")) == pytest.approx(VBAR0, rel=SHOWN), label
        assert _number(_shown(page, "v1")) == pytest.approx(VBAR1, rel=SHOWN), label
        page.locator(".adc-stepper").first.screenshot(path=str(ARTIFACTS / f"widget_exported_{label}.png"))
        assert not errors, (label, errors)
        # The page's own extras (MathJax, require.js) may try a CDN and fail; the widget asked for nothing.
        print(f"{label}: requests that failed offline: {external}")
        context.close()


def test_500_node_graph_is_ready_fast_and_steps_within_a_frame(browser, tmp_path):
    from autodiff_course.graph import Graph
    from autodiff_course.widgets import GraphStepper
    from autodiff_course.widgets.layout import layout_graph
    from autodiff_course.widgets.samples import wide_graph

    data = wide_graph(500)
    layout_graph(data)
    best = min(_cpu_time(layout_graph, data) for _ in range(5))
    _record("python_layout_500_nodes_cpu_ms", round(best * 1e3, 2))
    t0 = time.monotonic()
    w = GraphStepper(Graph.from_dict(data), mode="reverse")
    page_path = w.save_html(tmp_path / "big.html")
    print(f"500-node stepper built and saved in {time.monotonic() - t0:.1f} s")
    context, page, external, errors = _open_offline(browser, page_path)
    page.wait_for_selector(".adc-stepper[data-ready='1']", timeout=10000)
    ready = float(page.locator(".adc-stepper").get_attribute("data-ready-at"))
    t0 = time.monotonic()
    forward = _step_timings(page, 30)
    page.evaluate(
        "(k) => { const s = document.querySelector('.adc-slider'); s.value = k; "
        "s.dispatchEvent(new Event('input')); }",
        700,
    )  # into the reverse pass
    reverse = _step_timings(page, 30)
    print(f"60 timed steps in {time.monotonic() - t0:.1f} s")
    # Until the next frame has been drawn: includes paint and the compositor, which on this software-rendered
    # headless Chromium depend much on how busy the machine is; recorded, not asserted.
    frames = page.evaluate("""async () => {
        const next = document.querySelector('.adc-stepper .adc-next'); const out = [];
        const frame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
        for (let i = 0; i < 9; i++) {
            await frame(); const t0 = performance.now(); next.click(); await frame();
            out.push(performance.now() - t0);
        }
        return out.sort((a, b) => a - b); }""")
    page.screenshot(path=str(ARTIFACTS / "widget_500_nodes.png"))
    jump = page.evaluate("""() => {
        const s = document.querySelector('.adc-slider'); const t0 = performance.now();
        s.value = 0; s.dispatchEvent(new Event('input')); void document.body.offsetHeight;
        return performance.now() - t0; }""")
    steps = sorted(forward + reverse)
    _record(
        "browser_500_nodes",
        {
            "steps": w.n_steps,
            "page_ready_ms": ready,
            "step_ms_median": round(steps[len(steps) // 2], 3),
            "step_ms_p90": round(steps[int(len(steps) * 0.9)], 3),
            "step_ms_max": round(steps[-1], 3),
            "jump_to_start_ms": round(jump, 3),
            "click_to_next_frame_ms_median": round(frames[len(frames) // 2], 1),
            "load_average_1min": os.getloadavg()[0],
        },
    )
    assert len(steps) == 60 and not errors
    assert ready < 2000
    # One frame is 16 ms. Asserted on the typical step: a single slow step on a machine shared with other jobs
    # is the scheduler, not the widget (the maximum is recorded above, with the load average).
    assert steps[len(steps) // 2] < 16
    context.close()


def _cpu_time(fn, *args) -> float:
    t0 = time.process_time()
    fn(*args)
    return time.process_time() - t0
