"""Shared fixtures for the book tests: one strict quick build per session, a local server, a browser.

Tests marked ``book`` use them; ``pytest -m "not book"`` runs only the fast unit tests.
"""
from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("LR_BOOK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@dataclass(frozen=True)
class BuiltBook:
    status: int
    log: str
    build_dir: Path
    cache_path: Path

    @property
    def html(self) -> Path:
        return self.build_dir / "html"

    def log_tail(self, lines: int = 60) -> str:
        interesting = [line for line in self.log.splitlines()
                       if "WARNING" in line or "ERROR" in line or "Traceback" in line or "[build_book]" in line]
        return "\n".join(interesting[-lines:]) or "\n".join(self.log.splitlines()[-lines:])


@pytest.fixture(scope="session")
def built_book() -> BuiltBook:
    """Build the book once, strictly, under the quick budget, re-reading every page.

    ``--all`` gives Sphinx a fresh environment, so every warning is raised again
    even if an earlier build already read the page; the jupyter-cache still
    spares notebooks that were executed under the same fingerprint.
    """
    from tools import book_cache

    env = {**os.environ, "LR_BOOK_BUDGET": "quick"}
    result = subprocess.run([sys.executable, "-m", "tools.build_book", "--all"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    build_dir = ROOT / "_build"
    build_dir.mkdir(exist_ok=True)
    (build_dir / "test-build.log").write_text(result.stdout)
    sys.stdout.write("\n".join(line for line in result.stdout.splitlines() if "[build_book]" in line
                               or line.startswith("chapters/") or line.startswith("notebook ")) + "\n")
    used = book_cache.last_used_cache(build_dir)
    return BuiltBook(result.returncode, result.stdout, build_dir, used or Path("/nonexistent"))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="session")
def site(built_book):
    """The built HTML served on 127.0.0.1 (a free port) for the session; yields its base URL."""
    if not (built_book.html / "intro.html").is_file():
        pytest.fail(f"the build produced no HTML; build log:\n{built_book.log_tail()}")
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download; set $LR_BOOK_CHROMIUM to move it)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install it (Debian: apt-get install chromium) "
                    "or point $LR_BOOK_CHROMIUM at a Chromium or Chrome binary")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Tables that slow tests write for the record (tests/test_environments.py, tests/test_jupyter.py,
# tests/test_static_explorers.py):
# shown at the end of the run, also when pytest captures output (as in CI), if this run wrote them.
REPORTS = ("fresh-environments.txt", "jupyter-explorers.txt", "static-explorers.txt")
_SESSION_START = pytest.StashKey[float]()


def pytest_sessionstart(session):
    import time

    session.config.stash[_SESSION_START] = time.time()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    started = config.stash.get(_SESSION_START, None)
    for name in REPORTS:
        path = ROOT / "_build" / name
        if started is not None and path.is_file() and path.stat().st_mtime >= started:
            terminalreporter.write_sep("-", f"_build/{name}")
            terminalreporter.write(path.read_text(encoding="utf-8"))
