"""Build the HTML book strictly and report how long each notebook took to execute.

    python -m tools.build_book            # incremental: only what changed runs again
    python -m tools.build_book --all      # re-read every page (notebooks still come from the cache)

The budget comes from ``$LR_BOOK_BUDGET`` (``quick`` or ``full``, default ``full``).
The build is strict: any cell error or Sphinx warning fails it (``-W -n --keep-going``
here, ``execute.allow_errors: false`` in ``_config.yml``).  Which cache a build
uses, and why a change in ``lib/`` or in the budget re-executes the notebooks, is
explained in :mod:`tools.book_cache`.

A build that failed leaves no marker behind, so the next one re-reads every page
(``--all``): otherwise Sphinx would skip the pages whose warnings failed it and
the next build would pass without having fixed them.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tools import book_cache
from tools.toc import ROOT, toc_notebooks

OK_MARKER = ".last-build-ok"
SECTION_SECONDS_LIMIT = 240  # a section may take at most 4 minutes under the full budget


@dataclass(frozen=True)
class NotebookRun:
    """How a notebook's outputs in this build came about."""

    path: Path
    seconds: float | None  # execution time, None when there is no successful run
    executed_now: bool  # False: outputs reused from the cache


def _cache_hashkeys(cache_path: Path) -> set[str]:
    if not cache_path.is_dir():
        return set()
    from jupyter_cache import get_cache

    return {record.hashkey for record in get_cache(cache_path).list_cache_records()}


def notebook_runs(root: Path, cache_path: Path, before: set[str] = frozenset()) -> list[NotebookRun]:
    """For every notebook in ``_toc.yml``: its successful run in the jupyter-cache at ``cache_path``.

    A notebook whose current source has no record in the cache of the current
    fingerprint (:func:`tools.book_cache.cache_dir`) did not execute successfully
    under this budget and library.  ``before`` holds the cache's hash keys from
    before the build, to tell fresh runs from reused ones.
    """
    runs = []
    cache = None
    if cache_path.is_dir():
        from jupyter_cache import get_cache

        cache = get_cache(cache_path)
    for path in toc_notebooks(root):
        record = None
        if cache is not None:
            try:
                record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
            except KeyError:
                record = None
        if record is None:
            runs.append(NotebookRun(path, None, False))
        else:
            runs.append(NotebookRun(path, float(record.data.get("execution_seconds", "nan")),
                                    record.hashkey not in before))
    return runs


def report(runs: list[NotebookRun], root: Path, budget: str) -> str:
    lines = [f"{'notebook':<44} {'seconds':>8}  outputs"]
    for run in runs:
        name = run.path.relative_to(root).as_posix()
        if run.seconds is None:
            lines.append(f"{name:<44} {'-':>8}  NOT EXECUTED (failed, or the build stopped)")
            continue
        status = "executed in this build" if run.executed_now else "from the cache"
        if budget == "full" and run.seconds > SECTION_SECONDS_LIMIT:
            status += f"  OVER the {SECTION_SECONDS_LIMIT} s limit for a section"
        lines.append(f"{name:<44} {run.seconds:8.1f}  {status}")
    return "\n".join(lines)


def build(root: Path = ROOT, path_output: Path | None = None, fresh: bool = False) -> int:
    """Run the strict build, print the execution report, return the exit status.

    As with ``jupyter-book build``, the book goes to ``<path_output>/_build``
    (``path_output`` defaults to ``root``).
    """
    import subprocess

    from lib.core import budget as budget_module

    budget = budget_module.current()
    build_dir = Path(path_output or root).resolve() / "_build"
    cache_path = book_cache.cache_dir(build_dir, root, budget)
    before = _cache_hashkeys(cache_path)
    marker = build_dir / OK_MARKER
    fresh = fresh or not marker.exists()
    marker.unlink(missing_ok=True)
    (build_dir / book_cache.CACHE_FOLDER / book_cache.LAST_USED).unlink(missing_ok=True)

    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
               "build", str(root), "--path-output", str(build_dir.parent), "-W", "-n", "--keep-going"]
    if fresh:
        command.append("--all")
    print(f"[build_book] budget={budget} cache={cache_path}"
          f"{' (re-reading every page)' if fresh else ''}", flush=True)
    start = time.perf_counter()
    # Nobody watches a progress bar during a build, and its widget would only leave
    # hidden widget state in the HTML; a reader's own Jupyter still shows them.
    env = {**os.environ, "LR_BOOK_PROGRESS": os.environ.get("LR_BOOK_PROGRESS", "0")}
    status = subprocess.call(command, cwd=root, env=env)
    seconds = time.perf_counter() - start

    used = book_cache.last_used_cache(build_dir) or cache_path
    if used != cache_path:
        print(f"[build_book] WARNING: lib/ or the requirements changed as the build started; it used {used}")
        before = set()
    print("\n[build_book] notebook execution times")
    print(report(notebook_runs(root, used, before), root, budget))
    if book_cache.cache_dir(build_dir, root, budget) != used:
        print("[build_book] WARNING: lib/ or the requirements changed during the build; "
              "the next build will execute the notebooks again")
    print(f"[build_book] build {'succeeded' if status == 0 else 'FAILED'} in {seconds:.1f} s "
          f"(budget {budget}); HTML in {build_dir / 'html'}", flush=True)
    if status == 0:
        marker.write_text(book_cache.fingerprint(root, budget) + "\n")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="re-read every page (a fresh Sphinx environment)")
    parser.add_argument("--path-output", type=Path, default=None,
                        help="build into PATH_OUTPUT/_build (default: the book's folder)")
    args = parser.parse_args(argv)
    return build(ROOT, args.path_output, fresh=args.all)


if __name__ == "__main__":
    sys.exit(main())
