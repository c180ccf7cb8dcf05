"""Helpers the browser tests share: finding Chromium, starting a Jupyter server, collecting console errors,
running cells. The session-scoped fixtures built from them live in this folder's conftest.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Requests to anywhere but this machine (Chromium never proxies loopback) go to a closed port.
    "--proxy-server=http://127.0.0.1:9",
]

# Console errors that provably come neither from the course notebooks nor from autodiff_course. Each pattern
# is matched against "<text> @ <source url>"; anything else fails the test.
IGNORED_CONSOLE = [
    # The browser asks for /favicon.ico of pages opened from disk; there is none, and it is not ours.
    (re.compile(r"Failed to load resource.*favicon\.ico"), "browser's own favicon request"),
    # JupyterLab's news/announcements and update check are switched off for the server (LabApp.news_url=None,
    # NeverCheckForUpdate); the front end still logs the resulting 404s of its /lab/api/news and
    # /lab/api/update endpoints.
    (re.compile(r"Failed to load resource.*/lab/api/(news|update)"), "JupyterLab news/update, disabled"),
    # The extension manager lists PyPI extensions; offline its /lab/api/extensions request fails.
    (re.compile(r"Failed to load resource.*/lab/api/extensions"), "extension manager, offline"),
]


def chromium() -> str:
    """Path of Debian's Chromium; skips (fails under CI) with an install hint where it or Playwright is
    missing."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    problem = None
    if path is None:
        problem = "Chromium is not installed: install it with `apt-get install chromium` (Debian's package)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Playwright for Python is missing: `make setup` installs it (never `playwright install`)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}; the browser tests must run in CI")
        pytest.skip(problem)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_jupyter(base: Path, root: Path, disabled_lab_plugins: dict[str, bool]):
    """Start `jupyter lab` (which also serves Notebook 7's /tree and /notebooks pages) on 127.0.0.1 with
    `root` as its root, config dirs under `base`, and no calls home. Returns (process, info dict).
    Fails the test with the end of the server log if it does not answer within 40 s."""
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    # page_config.json is read by both front ends, JupyterLab and Notebook 7.
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": disabled_lab_plugins})
    )
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "ws"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    port, token = _free_port(), uuid.uuid4().hex
    log_path = base / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--ServerApp.token={token}",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--ServerApp.port_retries=0",
            # window.jupyterapp: lets a test run commands such as notebook:run-all-cells by name.
            "--LabApp.expose_app_in_browser=True",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail("Jupyter server did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.2)
    return proc, log, {"url": url, "token": token, "root": root, "log": log_path}


def stop(proc, log) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


# Uncaught exceptions of Notebook 7's own front end (notebook 7.x with JupyterLab 4.6 components), seen on a
# bare notebook holding only `1+1` with every third-party lab extension (nbgrader, anywidget, the widgets
# manager, the notebook lab-extension, pygments) disabled in turn: they are not ours. Matched on the message
# and on the first stack frame lying in Notebook 7's bundle.
IGNORED_NOTEBOOK7 = [
    # The keyboard-shortcuts plugin (bundled in notebook_core) reads registry.plugins[id].schema in its
    # pluginChanged handler for a plugin id the settings registry does not hold.
    (re.compile(r"reading 'schema'.* @ \S*/static/notebook/notebook_core\."), "Notebook 7 shortcuts plugin"),
    # The notebook page (no file browser on it) runs the file browser's command on the notebook's folder.
    (
        re.compile(r"Command 'filebrowser:open-path' not registered.* @ \S*/static/notebook/notebook_core\."),
        "Notebook 7 notebook page without a file browser",
    ),
]


class ConsoleErrors:
    """Collects a page's console messages of type error and its uncaught exceptions (`pageerror`), each as
    "<text> @ <source url>", minus those matching IGNORED_CONSOLE or the `ignore` patterns given."""

    def __init__(self, page, ignore: list | None = None):
        self.all: list[str] = []
        self.ignored: list[str] = []
        self._ignore = IGNORED_CONSOLE + list(ignore or [])
        page.on("console", self._console)
        page.on("pageerror", self._pageerror)

    def _add(self, text: str) -> None:
        for pattern, _why in self._ignore:
            if pattern.search(text):
                self.ignored.append(text)
                return
        self.all.append(text)

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        where = msg.location.get("url", "") if isinstance(msg.location, dict) else ""
        self._add(f"{msg.text} @ {where}")

    def _pageerror(self, error) -> None:
        frames = re.findall(r"\(?(https?://[^\s()]+|file:[^\s()]+)", error.stack or "")
        self._add(f"pageerror: {error.message} @ {frames[0] if frames else ''}")

    @property
    def errors(self) -> list[str]:
        return list(self.all)


def run_cell(page, index: int, prompt: str, idle: str, failed: str) -> None:
    """Run cell `index` once the kernel is idle (`idle`: the selector that says so in this front end); a run
    sent while the kernel connects is lost, so retry."""
    page.wait_for_selector(idle, timeout=60000)
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(index)
    for _ in range(3):
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        try:
            cell.locator(f".jp-InputArea-prompt:has-text('{prompt}')").wait_for(timeout=15000)
            return
        except Exception:
            continue
    page.screenshot(path=str(ARTIFACTS / failed))
    pytest.fail(f"the notebook did not run cell {index}; see tests/artifacts/{failed}")


LAB_IDLE = ".jp-StatusBar-TextItem:has-text('| Idle')"
# Notebook 7 shows the kernel's state as the class of its indicator in the top bar.
NB7_IDLE = ".jp-NotebookKernelStatus-idle, [data-status='idle'], .jp-Notebook-ExecutionIndicator[data-status='idle']"
