"""One Chromium and one Jupyter server for the whole session: every browser test shares them (starting each
costs seconds). The server is `jupyter lab`, which also serves Notebook 7 (/tree, /notebooks/...), on a temp
copy of the course notebooks plus a scratch folder for notebooks the tests write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, CHROMIUM_ARGS, chromium, start_jupyter, stop

REPO = Path(__file__).resolve().parents[2]

# Front-end plugins the test server switches off, each with the reason.
DISABLED_PLUGINS = {
    # Fetches JupyterLab's news from the internet; the server options turn the news off as well.
    "@jupyterlab/apputils-extension:announcements": True,
}


@pytest.fixture(scope="session")
def browser():
    path = chromium()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "widget_timings.json").unlink(missing_ok=True)  # figures of this run only
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def jupyter(tmp_path_factory):
    """The shared server: {"url", "token", "root", "log"}; root holds a copy of notebooks/ and `scratch/`."""
    chromium()  # no server where no browser can use it
    base = tmp_path_factory.mktemp("jupyter")
    root = base / "root"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (root / "scratch").mkdir()
    proc, log, info = start_jupyter(base, root, DISABLED_PLUGINS)
    yield info
    stop(proc, log)
