"""The notebooks as a reader opens them: a real JupyterLab, driven by Chromium through Playwright.

A JupyterLab server starts on 127.0.0.1 (a free port, a random token, no browser of its own,
no extension manager, settings and workspaces in a temporary folder) with the quick budget in
its environment, so every kernel inherits ``LR_BOOK_BUDGET=quick``, ``LR_BOOK_DATA`` and
``LR_BOOK_PROGRESS=0``.  Its root is a temporary folder holding a copy of the notebooks (so
that nothing JupyterLab saves reaches the checkout); ``lib`` is imported from the test
environment, where ``requirements.txt`` installs it.  For every notebook of ``_toc.yml``:

1. open it in JupyterLab, choose *Run > Run All Cells* from the menu, and wait until every
   code cell has an execution count and the kernel is idle;
2. check that no cell shows an error (``application/vnd.jupyter.error`` or a traceback on
   ``application/vnd.jupyter.stderr``) and that the kernel sent none over its websocket
   (errors in widget callbacks never reach the page: JupyterLab sends them to its log console);
3. for each explorer the notebook displays (a top-level ipywidgets box), move every control
   through the real page: a slider handle with the keyboard, a dropdown with ``select_option``,
   a text box with ``fill`` + Enter, a check box and a button with a click.  A new valid value
   must redraw the figure (the PNG inside the explorer's output changes); an invalid one (a
   word in a number box, a number out of range in a slider's editable read-out) must leave
   the figure and show a message.  Sliders, dropdowns, check boxes and buttons cannot hold an
   invalid value, so they are moved once.  Each action's seconds to the new image (or to the
   message) go into a table, printed and written to ``_build/jupyter-explorers.txt``;
4. collect the text of every rendered Markdown cell: no raw MyST markup (roles such as
   ``{glue:text}``, ``{cite}``, ``{eq}``, ``{numref}``; directive blocks) may show.

The notebooks come from one folder, the fixture :func:`reader_notebooks`: the reader copies
the HTML build writes (the notebooks the launch buttons open).  Pointed at the source notebooks
in ``chapters/``, which are MyST, the raw-markup check is an expected failure
(``xfail(strict=True)``).

Everything the test starts (the server, its kernels) is stopped at the end, also on failure;
a server that does not answer, a notebook that does not finish and an explorer that does not
redraw all fail with a time limit instead of hanging.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tools.toc import ROOT, toc_notebooks

pytestmark = pytest.mark.book

NOTEBOOKS = toc_notebooks()
SOURCE_NOTEBOOKS = ROOT / "chapters"
REPORT = ROOT / "_build" / "jupyter-explorers.txt"

SERVER_START_TIMEOUT = 90  # s until the server answers /api/status
OPEN_TIMEOUT = 90_000  # ms until the notebook is shown and its kernel idle
RUN_ALL_TIMEOUT = 300  # s for Run All Cells under the quick budget (about 15 s of compute each)
REDRAW_TIMEOUT = 60  # s from an action to the new figure or a message
BUTTON_TIMEOUT = 180  # s for a button (it may train)
INVALID_TIMEOUT = 20  # s to wait for the message an invalid value must bring
RESTORE_TIMEOUT = 10  # s to wait for the message to go when a valid value is typed back
ACTIONS_PER_EXPLORER = 40  # a bound, in case controls keep appearing

# MyST markup that must not show in a rendered Markdown cell (in the text a reader sees).
RAW_MYST = re.compile(r"\{(?:glue|cite|eq|numref|ref|doc|term|download|math|prf)(?::[\w-]+)?\}"
                      r"|^\s*(?:```|~~~|:::)\s*\{[\w:-]+\}|^\s*\([\w-]+\)=\s*$", re.M)
# A reader's JupyterLab: notebooks fully in the page (no virtual scrolling, so every cell can be
# read), no news or update checks (they would try to leave the machine).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}

# Helpers the page gets before JupyterLab loads: find explorers and their controls, and read
# an explorer's state (a hash of its images, the text of its messages).
PAGE_HELPERS = r"""
window.lrBook = {
  hash(text) {
    let h1 = 5381, h2 = 52711;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = (Math.imul(h1, 33) ^ c) >>> 0;
      h2 = (Math.imul(h2, 31) + c) >>> 0;
    }
    return h1.toString(16) + h2.toString(16) + ':' + text.length;
  },
  explorers() {
    // top-level widget boxes in cell outputs (not boxes inside an explorer's own output)
    return [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output > .jupyter-widgets.widget-box')]
      .filter(el => !el.parentElement.closest('.jupyter-widgets'));
  },
  own(root, selector) {  // elements of this explorer, not of widgets shown inside its output
    return [...root.querySelectorAll(selector)].filter(el => {
      const out = el.closest('.widget-output');
      return !(out && root.contains(out));
    });
  },
  idle() {  // a kernel is connected (not "No Kernel | Initializing") and idle
    const indicator = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
    const name = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName');
    const status = [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.textContent.trim());
    return indicator !== null && indicator.getAttribute('data-status') === 'idle'
      && name !== null && !/No Kernel/.test(name.textContent)
      && status.some(text => / \| Idle$/.test(text) && !/^No Kernel/.test(text));
  },
  state(index) {
    const root = this.explorers()[index];
    if (!root) return null;
    const images = [...root.querySelectorAll('.widget-output img')].map(img => this.hash(img.src));
    const messages = this.own(root, '.widget-html-content').map(el => el.innerText.trim());
    return {figure: images.join('|'), message: messages.join('\n'), idle: this.idle()};
  },
  visible(el) {
    return !!el && el.offsetParent !== null && getComputedStyle(el).visibility !== 'hidden';
  },
  label(el) {
    const box = el.closest('.widget-inline-hbox') || el.parentElement;
    const clean = t => t.replace(/[\u200b\s]+/g, ' ').trim();  // ipywidgets writes a zero-width space for no label
    const texts = [...box.querySelectorAll('.widget-label, .widget-label-basic span, .widget-label-basic')]
      .map(l => clean(l.textContent)).filter(Boolean);
    if (texts.length) return texts[0];
    if (el.tagName === 'BUTTON') return el.textContent.trim() || el.title || 'button';
    // an unlabelled control beside a labelled one (a number box's slider): name it after that one
    let sibling = box.previousElementSibling;
    while (sibling) {
      const l = sibling.querySelector('.widget-label');
      if (l && clean(l.textContent)) return clean(l.textContent) + ' (slider)';
      sibling = sibling.previousElementSibling;
    }
    return '';
  },
  partner(el) {  // the slider that sets the same value as a text box (a number box), with its range
    const box = el.closest('.widget-inline-hbox');
    const parent = box && box.parentElement;
    const handle = parent ? parent.querySelector(':scope > .widget-inline-hbox .noUi-handle') : null;
    return handle ? {min: handle.getAttribute('aria-valuemin'), max: handle.getAttribute('aria-valuemax'),
                     now: handle.getAttribute('aria-valuenow')} : null;
  },
  partnerText(handle) {  // the text box beside a number box's slider: the value it shows
    const box = handle.closest('.widget-inline-hbox');
    const parent = box && box.parentElement;
    const input = parent ? parent.querySelector(':scope > .widget-text input') : null;
    return input ? input.value : null;
  },
  controls(index) {
    const root = this.explorers()[index];
    if (!root) return [];
    document.querySelectorAll('[data-lrbook-control]').forEach(el => el.removeAttribute('data-lrbook-control'));
    const kinds = [
      ['slider', '.widget-slider .noUi-handle, .widget-hslider .noUi-handle, .widget-vslider .noUi-handle'],
      ['dropdown', '.widget-dropdown select'],
      ['text', '.widget-text input, .widget-textarea textarea'],
      ['checkbox', '.widget-checkbox input[type=checkbox]'],
      ['button', 'button.widget-button'],
    ];
    const elements = [], seen = new Set();
    for (const [kind, selector] of kinds) {
      for (const el of this.own(root, selector)) {
        if (!seen.has(el)) { seen.add(el); elements.push([kind, el]); }
      }
    }
    // in the order a reader sees them
    elements.sort((a, b) => (a[1].compareDocumentPosition(b[1]) & Node.DOCUMENT_POSITION_FOLLOWING) ? -1 : 1);
    const found = [];
    let n = 0;
    for (const [kind, el] of elements) {
      {
        const id = String(n++);
        el.setAttribute('data-lrbook-control', id);
        const box = el.closest('.widget-inline-hbox');
        const readout = box ? box.querySelector('.widget-readout') : null;
        const editable = readout && readout.getAttribute('contenteditable') === 'true' && this.visible(readout);
        if (editable) readout.setAttribute('data-lrbook-control', id + '-readout');
        const disabled = el.disabled || el.getAttribute('aria-disabled') === 'true'
          || (box && box.querySelector('.noUi-target[disabled]') !== null)
          || (el.closest('[disabled]') !== null);
        found.push({id, kind, label: this.label(el), disabled: !!disabled,
                    value: kind === 'slider' ? (el.getAttribute('aria-valuetext') || el.getAttribute('aria-valuenow'))
                         : kind === 'checkbox' ? String(el.checked)
                         : kind === 'button' ? '' : el.value,
                    type: el.type || '', now: el.getAttribute('aria-valuenow'),
                    min: el.getAttribute('aria-valuemin'), max: el.getAttribute('aria-valuemax'),
                    options: kind === 'dropdown' ? [...el.options].map(o => o.value) : [],
                    readout: editable ? readout.textContent.trim() : null,
                    shown: readout && this.visible(readout) ? readout.textContent.trim() : null,
                    partner: kind === 'text' ? this.partner(el) : null,
                    partnerText: kind === 'slider' ? this.partnerText(el) : null});
      }
    }
    // anything a reader could operate that this test does not know how to move
    for (const el of this.own(root, 'input, select, textarea, button, [role=slider]')) {
      if (!seen.has(el) && !el.closest('.noUi-handle')) {
        found.push({id: null, kind: 'unhandled', label: el.outerHTML.slice(0, 120), disabled: el.disabled});
      }
    }
    return found;
  },
  errors() {  // error outputs anywhere in the open notebook
    const notebook = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
    if (!notebook) return [];
    const found = [];
    for (const el of notebook.querySelectorAll('[data-mime-type="application/vnd.jupyter.error"]')) {
      found.push('error output: ' + el.innerText.slice(0, 1500));
    }
    for (const el of notebook.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')) {
      const text = el.innerText;
      if (/Traceback|Error|Exception/.test(text)) found.push('stderr: ' + text.slice(0, 1500));
    }
    for (const el of notebook.querySelectorAll('.jupyter-widgets')) {
      if (el.children.length === 0 && /Error displaying widget/.test(el.textContent)) {
        found.push('widget: ' + el.textContent.slice(0, 300));
      }
    }
    return found;
  },
  progress() {  // the code cells' prompts: how many ran, run, wait
    const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
      .map(p => p.textContent.trim());
    return {total: prompts.length, done: prompts.filter(p => /^\[\d+\]:$/.test(p)).length,
            busy: prompts.filter(p => p === '[*]:').length, idle: this.idle()};
  },
  markdown() {
    const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell')];
    return cells.map(cell => {
      const rendered = cell.querySelector('.jp-RenderedMarkdown');
      return {rendered: cell.classList.contains('jp-mod-rendered') && rendered !== null,
              text: rendered ? rendered.innerText : '',
              directives: rendered ? [...rendered.querySelectorAll('code[class*="language-{"]')]
                                       .map(c => c.className) : []};
    });
  },
};
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class JupyterServer:
    """A JupyterLab server of this test: where it listens and how to stop it."""

    process: subprocess.Popen
    base: str
    token: str
    log: Path

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def shutdown_kernels(self) -> None:
        """Stop every kernel (each notebook's, when it is done), so the next runs alone."""
        try:
            for session in self.api("GET", "/api/sessions") or []:
                self.api("DELETE", f"/api/sessions/{session['id']}")
            for kernel in self.api("GET", "/api/kernels") or []:
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
        except (urllib.error.URLError, OSError, ValueError):
            pass

    def stop(self) -> None:
        """Stop the server and every process it started (kernels run in sessions of their own)."""
        import psutil  # ipykernel's dependency

        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        self.shutdown_kernels()
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(children, timeout=10)


@pytest.fixture(scope="module")
def reader_notebooks(built_book) -> Path:
    """The folder of the notebooks a reader opens in Jupyter: the reader copies the HTML build writes.

    ``tools/reader.py`` writes them into ``_build/html/_sources/chapters`` (the prose as plain
    Markdown with the build's numbers, figures and citations), and the launch buttons open
    them there.  Each ``_toc.yml`` notebook's file name is looked up in this folder.  Pointed at
    ``chapters/`` instead (the MyST sources), the raw-markup check is an expected failure.
    """
    return built_book.html / "_sources" / "chapters"


def _shows_source_notebooks(folder: Path) -> bool:
    return Path(folder).resolve() == SOURCE_NOTEBOOKS.resolve()


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory, reader_notebooks) -> JupyterServer:
    """JupyterLab on 127.0.0.1 with a token, serving a copy of the notebooks; stopped at the end."""
    base_dir = tmp_path_factory.mktemp("jupyterlab")
    notebooks_dir = base_dir / "notebooks"
    notebooks_dir.mkdir()
    for notebook in NOTEBOOKS:
        copy = Path(reader_notebooks) / notebook.name
        if not copy.is_file():
            pytest.fail(f"{reader_notebooks} holds no {notebook.name} (the notebooks of _toc.yml)")
        shutil.copy(copy, notebooks_dir / notebook.name)
    settings = base_dir / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))

    env = {key: value for key, value in os.environ.items() if key not in ("JUPYTER_PATH", "PYTHONSTARTUP")}
    env.update(LR_BOOK_BUDGET="quick", LR_BOOK_PROGRESS="0", PYTHONUNBUFFERED="1",
               JUPYTER_CONFIG_DIR=str(base_dir / "config"), JUPYTER_DATA_DIR=str(base_dir / "data"),
               JUPYTER_RUNTIME_DIR=str(base_dir / "runtime"), IPYTHONDIR=str(base_dir / "ipython"))
    env.pop("MPLBACKEND", None)  # the kernels use the inline backend, as a reader's do
    if os.environ.get("LR_BOOK_DATA"):  # relative to the folder the tests run from; kernels run elsewhere
        env["LR_BOOK_DATA"] = str(Path(os.environ["LR_BOOK_DATA"]).expanduser().resolve())
    port, token = _free_port(), secrets.token_hex(24)
    command = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
               "--ServerApp.open_browser=False", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={notebooks_dir}", "--ServerApp.allow_root=True",
               f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base_dir / 'workspaces'}",
               "--LabApp.extension_manager=readonly",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = base_dir / "server.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(command, cwd=base_dir, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = JupyterServer(process, f"http://127.0.0.1:{port}", token, log)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with status {process.returncode} before answering "
                            f"(port {port} in use?):\n{server.log_tail()}")
            try:
                server.api("GET", "/api/status")
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer on port {port} within {SERVER_START_TIMEOUT} s:\n"
                                f"{server.log_tail()}")
                time.sleep(0.25)
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------- one notebook


@dataclass
class Action:
    """One move of one control and what the explorer did."""

    explorer: int
    control: str  # kind and label, e.g. "slider η"
    action: str  # what was done, e.g. "ArrowRight (0.5 -> 0.52)"
    outcome: str  # "redrew", "message", or what went wrong
    seconds: float | None
    problem: str | None = None  # fails the test
    note: str | None = None  # worth a look, does not fail the test


@dataclass
class NotebookResult:
    name: str
    seconds_to_run: float | None = None
    failure: str | None = None  # the notebook did not open or run, or the test could not go on
    errors: list[str] = field(default_factory=list)  # error outputs of Run All Cells, in the page or from the kernel
    explorer_failure: str | None = None  # an explorer's control gave an error output
    markdown: list[dict] = field(default_factory=list)
    explorers: int = 0
    actions: list[Action] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f"explorer {a.explorer + 1}, {a.control}: {a.action}: {a.problem}" for a in self.actions if a.problem]


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _kernel_message(data: bytes) -> dict | None:
    """A kernel message from a websocket frame: JupyterLab 4's binary protocol
    (``v1.kernel.websocket.jupyter.org``: part offsets, then channel, header, parent header,
    metadata, content) or the older JSON text frames."""
    try:
        if data[:1] == b"{":
            return json.loads(data)
        count = int.from_bytes(data[:8], "little")
        offsets = [int.from_bytes(data[8 + 8 * i:16 + 8 * i], "little") for i in range(count)]
        parts = [data[offsets[i]:offsets[i + 1]] for i in range(count - 1)]
        return {"channel": parts[0].decode(), "header": json.loads(parts[1]), "content": json.loads(parts[4])}
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


class KernelErrors:
    """Errors the kernel sends over the page's websocket, also those the page never shows
    (JupyterLab puts output of widget callbacks in its log console, not in the notebook)."""

    ERROR = re.compile(rb'"msg_type":\s*"error"')
    STDERR = re.compile(rb'"name":\s*"stderr"')

    def __init__(self, page):
        self.found: list[str] = []
        page.on("websocket", self._watch)

    def _watch(self, websocket) -> None:
        websocket.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        data = payload if isinstance(payload, bytes) else str(payload).encode("utf-8", "replace")
        if not (self.ERROR.search(data) or self.STDERR.search(data)):
            return  # most frames: no need to decode them
        message = _kernel_message(data)
        if message is None:
            self.found.append("kernel message (undecoded): " + data.decode("utf-8", "replace")[:800])
            return
        kind, content = message.get("header", {}).get("msg_type"), message.get("content", {})
        if kind == "error":
            trace = ANSI.sub("", "\n".join(content.get("traceback", [])))
            self.found.append(f"kernel error {content.get('ename')}: {content.get('evalue')}\n{trace[-1500:]}")
        elif kind == "stream" and content.get("name") == "stderr" and re.search(
                r"Traceback|Error|Exception", content.get("text", "")):
            self.found.append("kernel stderr: " + ANSI.sub("", content["text"])[-1500:])


class ExplorerBroke(AssertionError):
    """A control's action gave an error output: the explorer's state is unknown, stop moving controls."""


class NotebookSession:
    """One notebook open in one page of JupyterLab."""

    def __init__(self, browser, server: JupyterServer, name: str, result: NotebookResult):
        self.server, self.name, self.result = server, name, result
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.set_default_timeout(30_000)
        self.page.add_init_script(PAGE_HELPERS)
        self.kernel = KernelErrors(self.page)
        self.page.route("**/*", self._route)

    def _route(self, handle) -> None:
        if handle.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            handle.continue_()
        else:  # a reader's JupyterLab works offline: nothing may be fetched from elsewhere
            self.result.external.append(handle.request.url)
            handle.abort()

    def close(self) -> None:
        try:
            self.page.close()
        finally:
            self.server.shutdown_kernels()

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    # ------------------------------------------------------------------ open and run

    def open_and_run_all(self) -> None:
        page = self.page
        # a workspace of its own: JupyterLab does not reopen the previous notebook
        page.goto(f"{self.server.base}/lab/workspaces/test-{self.name.replace('.', '-')}/tree/{self.name}"
                  f"?reset&token={self.server.token}", wait_until="domcontentloaded", timeout=OPEN_TIMEOUT)
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=OPEN_TIMEOUT)
        self.wait_until_steadily_idle(OPEN_TIMEOUT / 1000)  # the kernel started (and was not replaced)
        start = time.perf_counter()
        for attempt in range(3):
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            try:  # the cells are queued ([*]) or ran at once
                page.wait_for_function("(p => p.busy > 0 || p.done > 0)(window.lrBook.progress())", timeout=15_000)
                break
            except Exception:  # noqa: BLE001 - a kernel that was still starting lost the requests: again
                if attempt == 2:
                    raise TimeoutError("Run All Cells started no cell (three tries)") from None
                self.wait_until_steadily_idle(OPEN_TIMEOUT / 1000)
        deadline = start + RUN_ALL_TIMEOUT
        while True:
            progress = self.js("window.lrBook.progress()")
            errors = self.js("window.lrBook.errors()") + self.kernel.found
            if progress["idle"] and progress["busy"] == 0 and (progress["done"] == progress["total"] or errors):
                break
            if time.perf_counter() > deadline:
                raise TimeoutError(f"Run All Cells: {progress['done']} of {progress['total']} code cells ran "
                                   f"within {RUN_ALL_TIMEOUT} s")
            time.sleep(0.25)
        self.result.seconds_to_run = time.perf_counter() - start
        self.result.errors += errors
        if progress["done"] != progress["total"]:
            raise AssertionError(f"Run All Cells stopped: {progress['done']} of {progress['total']} code cells ran")

    def wait_until_steadily_idle(self, timeout: float, steady: float = 1.5) -> None:
        """Wait until the kernel is connected and idle, and stays so for ``steady`` seconds."""
        deadline = time.perf_counter() + timeout
        since = None
        while True:
            if self.js("window.lrBook.idle()"):
                since = since or time.perf_counter()
                if time.perf_counter() - since >= steady:
                    return
            else:
                since = None
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the notebook's kernel was not ready within {timeout:.0f} s")
            time.sleep(0.1)

    # ------------------------------------------------------------------ explorers

    def state(self, index: int) -> dict:
        state = self.js("i => window.lrBook.state(i)", index)
        if state is None:
            raise AssertionError(f"explorer {index + 1} disappeared from the page")
        return state

    def settle(self, timeout: float = REDRAW_TIMEOUT) -> None:
        """Wait until the kernel has been idle for a moment (an action may queue two updates)."""
        for _ in range(2):
            self.page.wait_for_function("window.lrBook.idle()", timeout=timeout * 1000)
            self.page.wait_for_timeout(150)

    def wait_for_change(self, index: int, before: dict, timeout: float) -> tuple[str, float | None, dict]:
        """After an action: ("redrew", seconds to the new image) or ("message", seconds) or ("nothing", None)."""
        start = time.perf_counter()
        try:
            self.page.wait_for_function(
                """([i, before]) => { const s = window.lrBook.state(i);
                       return s && (s.figure !== before.figure || (s.message !== before.message && s.idle)); }""",
                arg=[index, before], timeout=timeout * 1000)
        except Exception as error:  # playwright's TimeoutError
            if "Timeout" not in type(error).__name__ and "Timeout" not in str(error):
                raise
            return "nothing", None, self.state(index)
        seconds = time.perf_counter() - start
        self.settle()
        after = self.state(index)
        if after["figure"] != before["figure"]:
            return "redrew", seconds, after
        return "message", seconds, after

    def controls(self, index: int) -> list[dict]:
        return self.js("i => window.lrBook.controls(i)", index)

    def control(self, control: dict, suffix: str = ""):
        return self.page.locator(f'[data-lrbook-control="{control["id"]}{suffix}"]')

    def explore(self, index: int) -> None:
        done: set[tuple[str, str, int]] = set()
        for _ in range(ACTIONS_PER_EXPLORER):
            controls = self.controls(index)
            unhandled = [c for c in controls if c["kind"] == "unhandled"]
            for c in unhandled:
                key = ("unhandled", c["label"], 0)
                if key not in done:
                    done.add(key)
                    self.record(index, c, "-", "not moved", None, "a control of a kind this test cannot move")
            counts: dict[tuple[str, str], int] = {}
            pending = None
            for c in controls:
                if c["kind"] == "unhandled":
                    continue
                occurrence = counts.get((c["kind"], c["label"]), 0)
                counts[(c["kind"], c["label"])] = occurrence + 1
                key = (c["kind"], c["label"], occurrence)
                if key not in done:
                    pending = (key, c)
                    break
            if pending is None:
                return
            key, control = pending
            done.add(key)
            if control["disabled"]:
                self.record(index, control, "-", "disabled, not moved", None)
                continue
            getattr(self, f"move_{control['kind']}")(index, control)
        self.record(index, {"kind": "explorer", "label": ""}, "-", "stopped", None,
                    f"more than {ACTIONS_PER_EXPLORER} controls kept appearing")

    def record(self, index: int, control: dict, action: str, outcome: str, seconds: float | None,
               problem: str | None = None, note: str | None = None) -> None:
        name = f"{control['kind']} {control['label']}".strip()
        self.result.actions.append(Action(index, name, action, outcome, seconds, problem, note))
        errors = self.js("window.lrBook.errors()") + self.kernel.found
        if errors:  # the explorer's action made an error (the page had none before it)
            problem = ((problem + "; ") if problem else "") + "error: " + _short(errors[-1], 400)
            self.result.actions[-1].problem = problem
            self.kernel.found.clear()
            raise ExplorerBroke(f"explorer {index + 1}, {name}, {action}: {errors[-1][:2500]}")

    def expect_redraw(self, index: int, control: dict, action: str, before: dict,
                      timeout: float = REDRAW_TIMEOUT) -> str:
        outcome, seconds, after = self.wait_for_change(index, before, timeout)
        return self.judge_redraw(index, control, action, outcome, seconds, after, timeout)

    def judge_redraw(self, index, control, action, outcome, seconds, after, timeout) -> str:
        problem = None
        if outcome == "nothing":
            problem = f"no new figure and no message within {timeout:.0f} s"
        elif outcome == "message":
            problem = f"a valid value did not redraw the figure; the explorer says: {_short(after['message'], 200)!r}"
        self.record(index, control, action, outcome, seconds, problem)
        return outcome

    def expect_message(self, index: int, control: dict, action: str, before: dict) -> str:
        outcome, seconds, after = self.wait_for_change(index, before, INVALID_TIMEOUT)
        problem = None
        if outcome == "nothing":
            problem = f"an invalid value was ignored: no message within {INVALID_TIMEOUT} s"
        elif outcome == "redrew":
            problem = "an invalid value was accepted (the figure changed, no message)"
            if after["message"] == before["message"]:
                problem += " silently"
        self.record(index, control, action, outcome if outcome != "message" else "message: "
                    + _short(after["message"]), seconds, problem)
        return outcome

    # ------------------------------------------------------------------ one kind of control each

    def move_slider(self, index: int, control: dict) -> None:
        at_max = (control["now"] is not None and control["max"] is not None
                  and float(control["now"]) >= float(control["max"]))
        key = "ArrowLeft" if at_max else "ArrowRight"
        before = self.state(index)
        handle = self.control(control)
        handle.scroll_into_view_if_needed()
        handle.focus()
        self.page.keyboard.press(key)
        outcome, seconds, after_state = self.wait_for_change(index, before, REDRAW_TIMEOUT)
        same = next((c for c in self.controls(index) if c["kind"] == "slider" and c["label"] == control["label"]), None)
        if control["partnerText"] is not None and same is not None:  # a number box: the value its text shows
            move = f"{key}: {control['partnerText']} -> {same['partnerText']}"
        else:
            move = f"{key}: {_slider_value(control)} -> {_slider_value(same) if same else '?'}"
        self.judge_redraw(index, control, move, outcome, seconds, after_state, REDRAW_TIMEOUT)
        if control["readout"] is not None and same is not None and same["readout"] is not None:
            self.type_in_readout(index, same)

    def type_in_readout(self, index: int, control: dict) -> None:
        """Type a value beyond the range into a slider's editable read-out.

        A message is right, and so is the widget refusing it (the slider stays where it was,
        nothing reaches the kernel).  A slider that moves to its end is a value clamped without a
        word (ipywidgets' numeric sliders do that): a problem for the explorer to solve.
        """
        huge, shown = "1e9", control["readout"]
        before = self.state(index)
        self.control(control, "-readout").click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(huge)
        self.page.keyboard.press("Enter")
        action = f"read-out: {shown} -> {huge} (out of range)"
        self.page.wait_for_timeout(300)
        now = next((c for c in self.controls(index) if c["kind"] == "slider" and c["label"] == control["label"]), None)
        if now is not None and now["now"] == control["now"]:  # the slider did not move
            outcome, seconds, after = self.wait_for_change(index, before, 2)
            if outcome == "nothing":
                if now["readout"] == shown:
                    self.record(index, control, action, f"refused by the widget (read-out back to {shown})", None)
                else:  # ipywidgets' selection sliders: the typed text stays, nothing else happens
                    self.record(index, control, action, f"ignored by the widget (value unchanged; the read-out "
                                f"shows {now['readout']!r} until the next move)", None,
                                note="the read-out contradicts the figure until the slider moves")
                return
        else:
            outcome, seconds, after = self.wait_for_change(index, before, REDRAW_TIMEOUT)
        problem = None
        if outcome != "message":
            problem = f"clamped to {now['readout'] if now else '?'} without a message"
        self.record(index, control, action, outcome if outcome != "message" else "message: " + _short(after["message"]),
                    seconds, problem)

    def move_dropdown(self, index: int, control: dict) -> None:
        """Choose the next option; if the explorer refuses it with a message (two controls that must
        differ, say), the one after, up to three."""
        options, current = control["options"], control["value"]
        position = options.index(current) if current in options else 0
        others = options[position + 1:] + options[:position]
        for attempt, target in enumerate(others[:3]):
            before = self.state(index)
            self.control(control).select_option(value=target)
            outcome, seconds, after = self.wait_for_change(index, before, REDRAW_TIMEOUT)
            if outcome != "message" or attempt == len(others[:3]) - 1:
                self.judge_redraw(index, control, f"{current} -> {target}", outcome, seconds, after, REDRAW_TIMEOUT)
                return
            self.record(index, control, f"{current} -> {target} (refused, next option)",
                        "message: " + _short(after["message"]), seconds)
            current = target
            self.controls(index)  # the ids again (the page may have changed)

    def move_checkbox(self, index: int, control: dict) -> None:
        before = self.state(index)
        self.control(control).click()
        self.expect_redraw(index, control, "ticked" if control["value"] == "false" else "unticked", before)

    def move_button(self, index: int, control: dict) -> None:
        before = self.state(index)
        self.control(control).click()
        self.expect_redraw(index, control, "click", before, timeout=BUTTON_TIMEOUT)

    def move_text(self, index: int, control: dict) -> None:
        original = control["value"]
        box = self.control(control)
        accepted = None
        for candidate in _valid_candidates(original, control["type"]):
            before = self.state(index)
            box.fill(candidate)
            box.press("Enter")
            outcome, seconds, after = self.wait_for_change(index, before, REDRAW_TIMEOUT)
            if outcome == "redrew":
                self.record(index, control, f"{original} -> {candidate}", outcome, seconds)
                accepted = candidate
                break
            # refused with a message: the guess was out of range, try the next one
            self.record(index, control, f"{original} -> {candidate} (a guess)", outcome if outcome != "message"
                        else "message: " + _short(after["message"]), seconds)
            if outcome == "nothing":  # the box does not answer at all: no use trying more
                break
        if accepted is None:
            tried = _valid_candidates(original, control["type"])
            self.result.actions[-1].problem = f"no new value redrew the figure (tried {tried})"
            accepted = original
        invalid = ["1e300" if control["type"] == "number" else "abc"]
        if control["partner"] is not None and _slider_top(control["partner"]) < 1e9:
            invalid.append("1e9")  # a number box with a slider: a number beyond the slider's range
        for value in invalid:
            before = self.state(index)
            box.fill(value)
            box.press("Enter")
            why = "out of range" if value == "1e9" else "invalid"
            outcome = self.expect_message(index, control, f"{accepted} -> {value} ({why})", before)
            # back to a valid value, so that the next action starts from a figure and no message
            before = self.state(index)
            box.fill(accepted)
            box.press("Enter")
            outcome, _, after = self.wait_for_change(index, before, RESTORE_TIMEOUT)
            if outcome == "nothing" and before["message"] != "" and after["message"] == before["message"]:
                stays = _short(after["message"])
                self.result.actions[-1].problem = f"{accepted} typed back, the message stays: {stays}"


def _slider_value(control: dict) -> str:
    """What a slider shows (its read-out), else its position."""
    if control.get("shown"):
        return control["shown"]
    try:
        return f"{float(control['now']):.4g}"
    except (TypeError, ValueError):
        return str(control.get("value"))


def _slider_top(partner: dict) -> float:
    """The largest value a number box's slider reaches (its position, or ten to it for a log slider)."""
    try:
        top = float(partner["max"])
    except (TypeError, ValueError):
        return float("inf")
    return max(top, 10.0 ** min(top, 300))


NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _valid_candidates(text: str, kind: str) -> list[str]:
    """New values to try in a text box: every number in it halved, doubled, nudged (the first that redraws wins)."""
    numbers = NUMBER.findall(text)
    if not numbers:
        return ["1"]
    integer = all(re.fullmatch(r"[-+]?\d+", n) for n in numbers)

    def scaled(factor: float) -> str:
        def one(match):
            value = float(match.group()) * factor
            return str(max(1, round(value))) if integer else f"{value:.6g}"
        return NUMBER.sub(one, text)

    nudged = NUMBER.sub(lambda m: str(int(m.group()) + 1), text) if integer else scaled(1.1)
    candidates = [scaled(0.5), scaled(2.0), nudged, scaled(0.9)]
    unique = []
    for candidate in candidates:
        if candidate != text and candidate not in unique:
            unique.append(candidate)
    return unique


def _short(text: str, length: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[:length - 1] + "…"


def _process(browser, server: JupyterServer, name: str) -> NotebookResult:
    result = NotebookResult(name)
    session = NotebookSession(browser, server, name, result)
    try:
        try:
            session.open_and_run_all()
        finally:
            try:  # the rendered Markdown, also when the run failed
                result.markdown = session.js("window.lrBook.markdown()")
            except Exception:  # noqa: BLE001 - the page did not open: the run's error says why
                pass
        _screenshot_top(session, name)
        result.explorers = session.js("window.lrBook.explorers().length")
        if not result.errors:
            for index in range(result.explorers):
                session.explore(index)
    except ExplorerBroke as error:
        result.explorer_failure = str(error)
    except Exception as error:  # noqa: BLE001 - any failure is this notebook's, reported by its tests
        result.failure = f"{type(error).__name__}: {error}"
        try:
            shots = ROOT / "_build" / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            session.page.screenshot(path=str(shots / f"jupyter-{Path(name).stem}-failure.png"))
        except Exception:  # noqa: BLE001 - the screenshot is a courtesy
            pass
    finally:
        session.close()
    return result


def _screenshot_top(session: "NotebookSession", name: str) -> None:
    """What a reader sees at the top of the notebook once it has run: ``_build/screenshots/jupyter-<name>-top.png``."""
    try:
        shots = ROOT / "_build" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        session.page.evaluate("() => { const cell = document.querySelector('.jp-MarkdownCell');"
                              " if (cell) cell.scrollIntoView({block: 'start'}); }")
        session.page.screenshot(path=str(shots / f"jupyter-{Path(name).stem}-top.png"))
    except Exception:  # noqa: BLE001 - the screenshot is a courtesy, the checks below are the test
        pass


def _table(results: list[NotebookResult]) -> str:
    lines = ["Explorers in a real JupyterLab (tests/test_jupyter.py, quick budget)", "",
             f"{'notebook':32s} {'run all':>8s}  {'#':>2s}  {'control':24s} {'action':44s} {'s':>6s}  outcome"]
    for result in results:
        run = f"{result.seconds_to_run:.1f} s" if result.seconds_to_run is not None else "-"
        if not result.actions:
            lines.append(f"{result.name:32s} {run:>8s}  {'-':>2s}  {'(no explorer moved)':24s}")
        for i, action in enumerate(result.actions):
            seconds = f"{action.seconds:.2f}" if action.seconds is not None else "-"
            outcome = action.outcome + (f"  << {action.problem}" if action.problem else "") + (
                f"  (note: {action.note})" if action.note else "")
            lines.append(f"{result.name if i == 0 else '':32s} {run if i == 0 else '':>8s}  {action.explorer + 1:>2d}  "
                         f"{_short(action.control, 24):24s} {_short(action.action, 44):44s} {seconds:>6s}  {outcome}")
    redraws = sorted(a.seconds for r in results for a in r.actions if a.outcome == "redrew" and a.seconds is not None)
    if redraws:
        lines += ["", f"{len(redraws)} redraws: median {redraws[len(redraws) // 2]:.2f} s, max {redraws[-1]:.2f} s"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def jupyter_runs(jupyter_server, browser):
    """Each notebook opened, run and explored once, on first demand; the table rewritten after each."""
    results: dict[str, NotebookResult] = {}

    def run(notebook: Path) -> NotebookResult:
        if notebook.name not in results:
            results[notebook.name] = _process(browser, jupyter_server, notebook.name)
            REPORT.parent.mkdir(exist_ok=True)
            REPORT.write_text(_table(list(results.values())))
        return results[notebook.name]

    return run  # the table is in _build/jupyter-explorers.txt; conftest shows it at the end of the run


def _name(path: Path) -> str:
    return path.stem


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_name)
def test_every_cell_runs_in_jupyterlab_without_error(jupyter_runs, notebook, jupyter_server):
    result = jupyter_runs(notebook)
    assert result.failure is None or result.seconds_to_run is not None, (
        f"{notebook.name} did not run in JupyterLab: {result.failure}\nserver log:\n{jupyter_server.log_tail()}")
    assert not result.errors, (f"{notebook.name}: {len(result.errors)} errors in JupyterLab, e.g.:\n"
                               + "\n\n".join(result.errors[:3]))
    assert not result.external, f"requests that leave the machine: {result.external[:5]}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_name)
def test_every_explorer_control_redraws_or_explains(jupyter_runs, notebook):
    result = jupyter_runs(notebook)
    if result.seconds_to_run is None or result.errors:
        pytest.fail(f"{notebook.name} did not run cleanly, so its explorers were not tried: "
                    f"{result.failure or result.errors[0][:300]}")
    assert result.explorer_failure is None, (f"{notebook.name}: a control gave an error output: "
                                             f"{result.explorer_failure}\n\n{_table([result])}")
    assert result.failure is None, f"{notebook.name}: {result.failure}\n{_table([result])}"
    if "explorer import" in notebook.read_text(encoding="utf-8"):  # the notebook shows an explorer
        assert result.explorers >= 1, f"{notebook.name} imports an explorer but JupyterLab shows no widget"
    moved = [a for a in result.actions if a.seconds is not None]
    assert result.explorers == 0 or moved, f"{notebook.name}: no control could be moved\n{_table([result])}"
    assert not result.problems, (f"{notebook.name}:\n" + "\n".join(result.problems) + "\n\n" + _table([result]))


class RawMystMarkup(AssertionError):
    """Raw MyST markup shows in a rendered Markdown cell (the one failure the source notebooks are expected to have)."""


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_name)
def test_markdown_shows_no_raw_myst_markup(jupyter_runs, notebook, reader_notebooks, request):
    if _shows_source_notebooks(reader_notebooks):
        request.applymarker(pytest.mark.xfail(
            strict=True, raises=RawMystMarkup,
            reason="the source notebooks are MyST (glue roles, citations, directives); "
                   "point reader_notebooks at the build's reader copies"))
    result = jupyter_runs(notebook)
    assert result.markdown, f"{notebook.name}: no Markdown cell was read ({result.failure})"
    unrendered = [i for i, cell in enumerate(result.markdown) if not cell["rendered"]]
    assert not unrendered, f"{notebook.name}: Markdown cells not rendered: {unrendered}"
    raw = [(i, match.group().strip()) for i, cell in enumerate(result.markdown)
           for match in RAW_MYST.finditer(cell["text"])]
    raw += [(i, f"directive block {name}") for i, cell in enumerate(result.markdown) for name in cell["directives"]]
    if raw:
        raise RawMystMarkup(f"{notebook.name}: raw MyST markup in {len(raw)} places, e.g. {raw[:8]}")
