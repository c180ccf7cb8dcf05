"""The five course notebooks (nbgrader source versions, with solutions) open and run cleanly in JupyterLab:
Run All Cells in a real Chromium against a real server, then no error output in the saved notebook and no
error in the browser console (JupyterLab's own offline noise aside, see browser_support.IGNORED_CONSOLE).

Every stepper a notebook holds (GraphStepper or autograd_stepper cells) is then drawn and steps: two Next
clicks move it to step 2 and its live region says so.

A screenshot per notebook goes to tests/artifacts/notebook_<assignment>.png, and one of autodiff_by_hand's
forward stepper in its text to tests/artifacts/course_stepper_autodiff_by_hand.png (copied to /tmp).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from browser_support import ARTIFACTS, ConsoleErrors

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = sorted(p.parent.name for p in (REPO / "notebooks").glob("*/*.ipynb") if p.stem == p.parent.name)

# Resolves once JupyterLab shows `path` with a live, idle kernel (false until then).
_READY = """(path) => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!(w && w.context && w.context.path === path && kernel && kernel.status === 'idle'
              && w.content && w.content.model);
}"""
# notebook:run-all-cells resolves when the last cell has run (or execution stopped at an error); then save,
# so the file on disk holds what the browser shows. Started without waiting, so the five notebooks run at once.
_START_RUN_ALL = """() => {
    const app = window.jupyterapp;
    window.__adcRunAll = null;
    app.commands.execute('notebook:run-all-cells')
        .then(async (ok) => { await app.commands.execute('docmanager:save'); window.__adcRunAll = {ok}; })
        .catch((e) => { window.__adcRunAll = {ok: false, error: String(e)}; });
}"""


def test_the_five_source_notebooks_are_found():
    assert ASSIGNMENTS == [
        "autodiff_by_hand",
        "autograd_basics",
        "chain_rule_training",
        "tensors_grad_fn",
        "worksheet",
    ]


def _error_outputs(nb) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
                found.append(f"cell {index} {grade_id}: {out.get('ename')}: {out.get('evalue')}".strip())
    return found


# The steppers each notebook holds: the cells that call GraphStepper(...) or autograd_stepper(...).
STEPPERS = {"autodiff_by_hand": 2, "autograd_basics": 0, "chain_rule_training": 1, "tensors_grad_fn": 1, "worksheet": 1}

# Scrolls to each stepper cell (JupyterLab draws only the cells near the viewport), waits for its stepper to be
# ready, clicks Next twice and reports what the stepper then shows.
_STEP_STEPPERS = """async () => {
    const nb = window.jupyterapp.shell.currentWidget.content;
    const out = [];
    for (let i = 0; i < nb.widgets.length; i++) {
        const cell = nb.widgets[i];
        const source = cell.model.sharedModel.getSource();
        if (cell.model.type !== 'code' || !/(GraphStepper|autograd_stepper)\\(/.test(source)) continue;
        if (nb.scrollToItem) await nb.scrollToItem(i, 'center');
        let root = null;
        for (let t = 0; t < 150 && !(root = cell.node.querySelector('.adc-stepper[data-ready="1"]')); t++) {
            await new Promise((done) => setTimeout(done, 100));
        }
        if (!root) { out.push({cell: i, ready: false}); continue; }
        const next = root.querySelector('.adc-next');
        next.click();
        next.click();
        out.push({cell: i, ready: true, step: root.dataset.step, of: root.querySelector('.adc-slider').max,
                  live: root.querySelector('.adc-live').textContent,
                  nodes: root.querySelectorAll('g.adc-node').length});
    }
    return out;
}"""
_SCROLL_TO = """async (i) => {
    const nb = window.jupyterapp.shell.currentWidget.content;
    await nb.scrollToItem(i, 'start');
    await new Promise((done) => setTimeout(done, 200));
    nb.widgets[i].node.scrollIntoView({block: 'start'});
}"""

_OPEN = "async (path) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }"
# Frees the CPU for the next notebook (the machine may have two cores) and closes its tab.
_CLOSE = """async () => {
    const w = window.jupyterapp.shell.currentWidget;
    await w.sessionContext.shutdown();
    w.dispose();
}"""


@pytest.fixture(scope="module")
def ran(jupyter, browser):
    """Every course notebook opened in one JupyterLab page, one after the other, and run. Running them at once
    in several pages is no faster on two cores and makes the pages' kernel start requests and widget comms
    race (500s from POST /api/kernels, "Comm not found"): noise of the test, not of the notebooks.
    Yields assignment -> {"run", "console" (errors logged while it ran), "seconds"}."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    console = ConsoleErrors(page)
    first = f"{ASSIGNMENTS[0]}/{ASSIGNMENTS[0]}.ipynb"
    # A workspace of its own: the stepper test opens another Lab page on the same server.
    page.goto(f"{jupyter['url']}/lab/workspaces/course/tree/{first}?token={jupyter['token']}")
    results = {}
    for assignment in ASSIGNMENTS:
        t0 = time.monotonic()
        seen = len(console.all)
        path = f"{assignment}/{assignment}.ipynb"
        if path != first:
            page.evaluate(_OPEN, path)
        page.wait_for_function(_READY, arg=path, timeout=60000, polling=200)
        page.evaluate(_START_RUN_ALL)
        done = page.wait_for_function("() => window.__adcRunAll", timeout=90000, polling=200).json_value()
        page.wait_for_timeout(300)  # the last outputs' renderers (widgets, SVG) finish drawing
        page.screenshot(path=str(ARTIFACTS / f"notebook_{assignment}.png"))
        steppers = page.evaluate(_STEP_STEPPERS) if done.get("ok") else []
        if steppers and assignment == "autodiff_by_hand":
            # The forward stepper with the sentence above it that says what to watch.
            page.evaluate(_SCROLL_TO, steppers[0]["cell"] - 1)
            page.wait_for_timeout(300)
            shot = ARTIFACTS / "course_stepper_autodiff_by_hand.png"
            page.screenshot(path=str(shot))
            if os.access("/tmp", os.W_OK):
                shutil.copy(shot, Path("/tmp") / shot.name)
        page.evaluate(_CLOSE)
        seconds = time.monotonic() - t0
        results[assignment] = {"run": done, "console": console.all[seen:], "seconds": seconds, "steppers": steppers}
        print(f"{assignment}: opened and ran in {seconds:.1f} s")
    yield results
    context.close()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_course_notebook_runs_all_cells_in_jupyterlab_without_errors(assignment, jupyter, ran):
    path = f"{assignment}/{assignment}.ipynb"
    result = ran[assignment]
    nb = nbformat.read(jupyter["root"] / path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    errors = _error_outputs(nb)
    assert not errors, f"{path}: error outputs: {errors}"
    assert result["run"] == {"ok": True}, f"{path}: Run All Cells did not complete: {result['run']}"
    # Every non-empty code cell ran, in order: what was saved is the browser's run, not the source's outputs.
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), path
    assert not result["console"], f"{path}: browser console errors: {result['console']}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_stepper_of_a_course_notebook_is_drawn_and_steps(assignment, ran):
    steppers = ran[assignment]["steppers"]
    assert len(steppers) == STEPPERS[assignment], steppers
    for s in steppers:
        assert s["ready"], (assignment, s)
        assert s["step"] == "2" and int(s["of"]) > 2, (assignment, s)
        assert s["live"].startswith(f"Step 2 of {s['of']}. "), (assignment, s)
        assert s["nodes"] >= 3, (assignment, s)
