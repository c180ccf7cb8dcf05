"""The stepper for a keyboard-only and a screen-reader user, in a real Chromium against a real JupyterLab
(and Notebook 7), and in exported HTML opened from disk with no kernel and no network:

- keyboard only: Tab reaches every control with a visible focus ring; arrows step, Home/End jump, Space plays
  and pauses, and JupyterLab's own shortcuts do not fire meanwhile; the polite live region says each step;
- a failed check shows the compare stepper on the student's own graph with the culprit marked in words;
- axe-core (pinned in tests/browser/package-lock.json) finds no serious or critical violation in the stepper.

Screenshots go to tests/artifacts/ (and a copy of the two the note describes to /tmp).
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from browser_support import ARTIFACTS, IGNORED_NOTEBOOK7, LAB_IDLE, NB7_IDLE, ConsoleErrors, run_cell
from seed_functions import SEED_POINT, seed_function

pytestmark = [pytest.mark.browser, pytest.mark.slow]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "checks"))
S = importlib.import_module("answers_by_hand")

X0, X1, X2 = SEED_POINT
SHOWN = 5e-6  # six significant digits
REVERSE_STEPS = 9 + 1 + 10
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"

STEPPER_CELL = (
    "import numpy as np\nfrom autodiff_course.widgets import GraphStepper\n\n"
    + inspect.getsource(seed_function)
    + f'\nGraphStepper(seed_function, {X0}, {X1}, {X2}, mode="reverse")'
)
# A student's backward pass that misses vbar1's path through v6 (from the checker tests' collection of real
# slips), and the test cell of autodiff_by_hand's reverse exercise, as sync-notebooks writes it.
WRONG_ANSWER_CELL = "import numpy as np\n\n" + inspect.getsource(S.reverse_missing_path)
CHECK_CELL = """\
from autodiff_course.course import grade
grade("autodiff_by_hand", "reverse", kind="reverse", function="reverse_missing_path",
      reference="np.sin(x0) + x1*np.cos(x0) + x1/x2", args=["x0", "x1", "x2"], test_points=[[1.8, 2.4, 0.7]],
      points=4, namespace=globals())"""

# Tab order inside a stepper, from the stepper itself.
TAB_ORDER = ["adc-reset", "adc-prev", "adc-play", "adc-next", "adc-speed", "adc-slider", "adc-graph-wrap", "SUMMARY"]


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _shot(locator, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    locator.screenshot(path=str(path))
    if os.access("/tmp", os.W_OK):  # where the session's note looks at them
        shutil.copy(path, Path("/tmp") / name)
    return path


def _focused(page) -> dict:
    """What has the keyboard focus: its class (or tag) and whether its focus ring is drawn."""
    return page.evaluate("""() => {
        const el = document.activeElement;
        const cs = getComputedStyle(el);
        return {cls: (el.className && typeof el.className === 'string' ? el.className : el.tagName),
                outline: cs.outlineStyle + ' ' + cs.outlineWidth,
                visible: el.matches(':focus-visible')};
    }""")


def _live(stepper) -> str:
    return stepper.locator(".adc-live").text_content()


def _axe(page, context: str) -> list[dict]:
    """axe-core's violations inside `context` (a CSS selector), WCAG 2.x A/AA and best practices."""
    if not AXE.exists():
        problem = "axe-core is not installed: `make setup` runs npm ci in tests/browser"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (selector) => {
            const result = await axe.run({include: [[selector]]},
                {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa',
                                                  'best-practice']}, resultTypes: ['violations']});
            return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ': ' + n.failureSummary)}));
        }""",
        context,
    )


def _serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def _record(name: str, violations: list[dict]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe_{name}.json").write_text(json.dumps(violations, indent=2) + "\n")
    print(f"axe {name}: {[(v['id'], v['impact']) for v in violations]}")


@pytest.fixture(scope="module")
def lab_page(jupyter, browser):
    """One JupyterLab page on a scratch notebook: cell 0 a GraphStepper, cell 1 a wrong answer, cell 2 its
    check, all run."""
    nbformat.write(_notebook(STEPPER_CELL, WRONG_ANSWER_CELL, CHECK_CELL), jupyter["root"] / "scratch" / "a11y.ipynb")
    context = browser.new_context(viewport={"width": 1300, "height": 1100})
    page = context.new_page()
    console = ConsoleErrors(page)
    page.goto(f"{jupyter['url']}/lab/workspaces/a11y/tree/scratch/a11y.ipynb?token={jupyter['token']}")
    page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=60000)
    run = {"idle": LAB_IDLE, "failed": "a11y_lab_failed.png"}
    run_cell(page, 0, "[1]:", **run)
    run_cell(page, 1, "[2]:", **run)
    run_cell(page, 2, "[3]:", **run)
    page.locator(".jp-OutputArea .adc-stepper[data-ready='1']").nth(1).wait_for(timeout=60000)
    yield page, console
    context.close()


def test_keyboard_alone_steps_jumps_plays_and_hears_each_step_in_jupyterlab(lab_page):
    page, console = lab_page
    stepper = page.locator(".jp-OutputArea .adc-stepper[data-ready='1']").first
    cells_before = page.locator(".jp-Notebook .jp-Cell").count()
    # The one step that is not the keyboard's: the stepper gets focus as Tab from the output area would give.
    stepper.evaluate("(el) => el.focus()")
    assert stepper.get_attribute("role") == "group" and "Graph stepper" in stepper.get_attribute("aria-label")
    live = stepper.locator(".adc-live")
    assert live.get_attribute("role") == "status" and live.get_attribute("aria-live") == "polite"
    assert stepper.locator("svg.adc-graph").get_attribute("aria-label").endswith(
        ": 9 nodes. The graph as a table, below, lists them."
    )
    # No reduced motion asked for here: the highlights fade (the exported-HTML test asks for reduced motion).
    box = stepper.locator("g.adc-node .adc-box").first
    assert box.evaluate("(el) => getComputedStyle(el).transitionDuration").startswith("0.18s")

    # Tab reaches every control in order, each with a visible focus ring; Shift+Tab goes back.
    seen = []
    for _ in TAB_ORDER:
        page.keyboard.press("Tab")
        f = _focused(page)
        seen.append(f)
        assert f["visible"] and f["outline"].startswith("solid") and f["outline"] != "solid 0px", f
    assert [next(c for c in TAB_ORDER if c in f["cls"]) for f in seen] == TAB_ORDER, seen
    for _ in TAB_ORDER:
        page.keyboard.press("Shift+Tab")
    assert "adc-stepper" in _focused(page)["cls"]

    # Arrows step; the live region says the step in words, with the number the course predicts.
    for _ in range(REVERSE_STEPS - 1):
        page.keyboard.press("ArrowRight")
    assert stepper.get_attribute("data-step") == str(REVERSE_STEPS - 1)
    said = _live(stepper)
    lead = (
        f"Step {REVERSE_STEPS - 1} of {REVERSE_STEPS}. vbar0 gets vbar4 times the derivative of v4 with "
        "respect to v0, minus sin of v0: now "
    )
    assert said.startswith(lead), said
    now = float(re.match(r"(-?\d+(?:\.\d+)?)", said[len(lead):]).group(1))
    assert now == pytest.approx(-X1 * math.sin(X0), rel=SHOWN)
    page.keyboard.press("ArrowRight")
    assert _live(stepper).endswith("vbar0 is complete, all 2 paths summed.")
    page.keyboard.press("ArrowLeft")
    assert stepper.get_attribute("data-step") == str(REVERSE_STEPS - 1)
    node_v0 = stepper.locator("g.adc-node[data-name='v0'] text.adc-der")
    assert float(node_v0.text_content().rsplit("=", 1)[1]) == pytest.approx(-X1 * math.sin(X0), rel=SHOWN)
    # ... and so does the text table, for those who do not see the drawing.
    table_v0 = stepper.locator("details.adc-table td[data-node='0'][data-slot='1']")
    assert float(table_v0.text_content().rsplit("=", 1)[1]) == pytest.approx(-X1 * math.sin(X0), rel=SHOWN)

    page.keyboard.press("Home")
    assert stepper.get_attribute("data-step") == "0" and "back at the start" in _live(stepper)
    page.keyboard.press("End")
    assert stepper.get_attribute("data-step") == str(REVERSE_STEPS)
    page.keyboard.press("Home")
    page.keyboard.press(" ")
    page.wait_for_selector(".jp-OutputArea .adc-stepper[data-playing='1']", timeout=5000)
    page.wait_for_function(
        "() => Number(document.querySelector('.jp-OutputArea .adc-stepper').dataset.step) >= 1", timeout=5000
    )
    page.keyboard.press(" ")
    page.wait_for_selector(".jp-OutputArea .adc-stepper[data-playing='0']", timeout=5000)
    paused_at = stepper.get_attribute("data-step")
    assert _live(stepper).startswith(f"Step {paused_at} of {REVERSE_STEPS}")  # the pause says where it is
    page.wait_for_timeout(700)  # 2 steps/s: a step would have come by now if it still played
    assert stepper.get_attribute("data-step") == paused_at

    # Focus stayed in the stepper and no notebook shortcut fired (arrows, Space, Home, End are Lab's too).
    assert "adc-stepper" in _focused(page)["cls"]
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells_before
    assert not console.errors, console.errors


def test_a_failed_check_shows_the_compare_stepper_with_the_culprit_marked_in_jupyterlab(lab_page):
    page, console = lab_page
    output = page.locator(".jp-Notebook .jp-CodeCell").nth(2).locator(".jp-OutputArea-output")
    assert "Not yet right" in output.text_content()
    compare = output.locator(".autodiff-compare")
    stepper = compare.locator(".adc-stepper[data-ready='1']")
    assert stepper.count() == 1
    culprit = stepper.locator("g.adc-node.adc-mark-culprit")
    assert culprit.count() == 1 and culprit.get_attribute("data-name") == "v1"
    assert culprit.locator(".adc-badge text").text_content() == "culprit"  # said in words, not only red
    assert "watch the adjoint of the node labelled \u201cculprit\u201d" in compare.locator("p").first.text_content()
    row = stepper.locator("details.adc-table tbody tr").nth(1)
    assert row.locator("th").text_content() == "v1 (x1)"
    assert row.locator("td.adc-t-mark").text_content().startswith("culprit")
    # By keyboard to the step that completes vbar1: the student's value beside the expected one, said too.
    stepper.evaluate("(el) => el.focus()")
    for _ in range(REVERSE_STEPS):
        page.keyboard.press("ArrowRight")
        if "Your vbar1 is" in _live(stepper):
            break
    said = _live(stepper)
    assert said.endswith("Your vbar1 is the culprit, the first wrong value: start here."), said
    yours, expected = (float(v) for v in re.search(r"Your vbar1 is (\S+), expected (\S+): differs", said).groups())
    assert yours == pytest.approx(math.cos(X0), rel=SHOWN)  # only the path through v5
    assert expected == pytest.approx(math.cos(X0) + 1 / X2, rel=SHOWN)
    panel = stepper.locator(".adc-panel").text_content()
    assert "expected vbar1 = 1.20137, yours = -0.227202 \u2717 differs" in panel
    stepper.locator("details.adc-table summary").click()
    _shot(compare, "stepper_compare_jupyterlab.png")
    assert not console.errors, console.errors


def test_axe_finds_no_serious_violation_in_the_steppers_in_jupyterlab(lab_page):
    page, _ = lab_page
    for s in page.locator(".jp-OutputArea .adc-stepper").all():
        s.locator("details.adc-table").evaluate("(d) => { d.open = true; }")
    page.locator(".jp-OutputArea .adc-stepper").first.evaluate("(el) => el.focus()")
    page.keyboard.press("End")
    violations = _axe(page, ".jp-OutputArea .adc-stepper")
    _record("jupyterlab", violations)
    assert not _serious(violations), _serious(violations)


def test_notebook7_shows_the_compare_stepper_and_steps_by_keyboard(jupyter, browser):
    nbformat.write(_notebook(WRONG_ANSWER_CELL, CHECK_CELL), jupyter["root"] / "scratch" / "a11y_nb7.ipynb")
    context = browser.new_context(viewport={"width": 1300, "height": 1100})
    page = context.new_page()
    console = ConsoleErrors(page, IGNORED_NOTEBOOK7)
    page.goto(f"{jupyter['url']}/notebooks/scratch/a11y_nb7.ipynb?token={jupyter['token']}")
    page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=60000)
    run = {"idle": NB7_IDLE, "failed": "a11y_nb7_failed.png"}
    run_cell(page, 0, "[1]:", **run)
    run_cell(page, 1, "[2]:", **run)
    stepper = page.locator(".autodiff-compare .adc-stepper[data-ready='1']")
    try:
        stepper.wait_for(timeout=60000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "a11y_nb7_no_stepper.png"), full_page=True)
        raise
    assert stepper.locator("g.adc-node.adc-mark-culprit").get_attribute("data-name") == "v1"
    stepper.evaluate("(el) => el.focus()")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert stepper.get_attribute("data-step") == "2"
    assert _live(stepper).startswith("Step 2 of 20. Forward pass: v1 is the input x1: 2.4.")
    assert not console.errors, console.errors
    context.close()


def test_exported_html_is_keyboard_usable_and_passes_axe_with_no_kernel_and_no_network(browser, tmp_path):
    from nbclient import NotebookClient

    from autodiff_course.widgets.export import export_html

    nb = _notebook(STEPPER_CELL, WRONG_ANSWER_CELL, CHECK_CELL)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                   store_widget_state=True).execute()
    nbformat.write(nb, tmp_path / "a11y.ipynb")
    page_path = export_html(tmp_path / "a11y.ipynb", tmp_path / "a11y.html")

    context = browser.new_context(viewport={"width": 1300, "height": 1000}, reduced_motion="reduce")
    context.set_offline(True)
    page = context.new_page()
    errors = ConsoleErrors(page, [(re.compile(r"ERR_INTERNET_DISCONNECTED @ https://"), "template CDN, offline")])
    page.goto(page_path.as_uri())
    page.wait_for_selector(".adc-stepper[data-ready='1'] >> nth=1", timeout=10000)
    steppers = page.locator(".adc-stepper[data-ready='1']")
    assert steppers.count() == 2  # the GraphStepper and the failed check's compare stepper
    first = steppers.first
    # Reduced motion asked for: no transitions on the nodes.
    assert first.get_attribute("data-motion") == "reduce"
    duration = first.locator("g.adc-node .adc-box").first.evaluate("(el) => getComputedStyle(el).transitionDuration")
    assert duration == "0s"
    first.evaluate("(el) => el.focus()")
    page.keyboard.press("End")
    assert first.get_attribute("data-step") == str(REVERSE_STEPS)
    page.keyboard.press("ArrowLeft")
    assert _live(first).startswith(f"Step {REVERSE_STEPS - 1} of {REVERSE_STEPS}. vbar0 gets vbar4")
    for s in steppers.all():
        s.locator("details.adc-table").evaluate("(d) => { d.open = true; }")
    violations = _axe(page, ".adc-stepper")
    _record("exported_html", violations)
    assert not _serious(violations), _serious(violations)
    assert not errors.errors, errors.errors
    context.close()
