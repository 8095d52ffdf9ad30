"""Build the HTML book strictly and report how long each notebook took to execute.

    python -m tools.build_book            # incremental: only what changed runs again
    python -m tools.build_book --all      # re-read every page (notebooks still come from the cache)

The budget comes from ``$LR_BOOK_BUDGET`` (``quick`` or ``full``, default ``full``).
The build is strict: any cell error or Sphinx warning fails it (``-W -n --keep-going``
here, ``execute.allow_errors: false`` in ``_config.yml``).  Which cache a build
uses, and why a change in ``lib/`` or in the budget re-executes the notebooks, is
explained in :mod:`tools.book_cache`.

Per notebook, the report also splits the execution time into the seconds the
library spent training, evaluating, measuring (Hessians, the noise scale) and
drawing (:mod:`lib.core.timing`), and ``other`` (the rest: data loading, the
prose's numbers, widgets, Python).  The kernels write their totals after every
cell to a folder this script names in ``$LR_BOOK_TIMING_DIR``; a kernel's file is
matched to its notebook by a digest of the cells it ran, and kept beside the
jupyter-cache (``lr_book_timing.json``) so a notebook taken from the cache still
shows the split of the run that filled it.

The kernels also log every verdict the prose computes or asserts (:mod:`lib.glue`); the
build writes them, with the numbers behind each, to ``_build/verdicts.md``
(:mod:`tools.verdict_table`) for the notebooks it executed.

A build that failed leaves no marker behind, so the next one re-reads every page
(``--all``): otherwise Sphinx would skip the pages whose warnings failed it and
the next build would pass without having fixed them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from lib.core import timing
from lib.glue import VERDICT_DIR_ENV
from tools import book_cache, verdict_table
from tools.toc import ROOT, toc_notebooks

OK_MARKER = ".last-build-ok"
SECTION_SECONDS_LIMIT = 240  # a section may take at most 4 minutes under the full budget
TIMING_RUNS = "timing-runs"  # folder (in the cache folder) the kernels write their totals to
VERDICT_TABLE = "verdicts.md"  # in _build: the verdicts of the notebooks executed in the build (tools.verdict_table)
TIMING_STORE = "lr_book_timing.json"  # per jupyter-cache: cells digest -> the split of the run that filled it


@dataclass(frozen=True)
class NotebookRun:
    """How a notebook's outputs in this build came about."""

    path: Path
    seconds: float | None  # execution time, None when there is no successful run
    executed_now: bool  # False: outputs reused from the cache
    split: dict[str, float] | None = None  # seconds per lib.core.timing category, None when unknown


def notebook_digest(path: Path) -> str:
    """The digest of a notebook's code cells that its kernel reports (:func:`lib.core.timing.cells_digest`)."""
    notebook = nbformat.read(path, as_version=4)
    return timing.cells_digest(cell.source for cell in notebook.cells if cell.cell_type == "code")


def collect_splits(runs_dir: Path, cache_path: Path) -> dict[str, dict[str, float]]:
    """Merge the kernels' totals in ``runs_dir`` into the store beside the jupyter-cache at
    ``cache_path`` and return the store: cells digest -> seconds per category."""
    store_path = cache_path / TIMING_STORE
    try:
        store = json.loads(store_path.read_text()) if store_path.is_file() else {}
    except (OSError, ValueError):
        store = {}
    for path in sorted(runs_dir.glob("kernel-*.json")) if runs_dir.is_dir() else []:
        try:
            record = json.loads(path.read_text())
            store[record["cells"]] = {c: float(record["seconds"][c]) for c in timing.CATEGORIES}
        except (OSError, ValueError, KeyError, TypeError):
            continue
    if store and cache_path.is_dir():
        store_path.write_text(json.dumps(store, indent=1, sort_keys=True))
    return store


def _cache_hashkeys(cache_path: Path) -> set[str]:
    if not cache_path.is_dir():
        return set()
    from jupyter_cache import get_cache

    return {record.hashkey for record in get_cache(cache_path).list_cache_records()}


def notebook_runs(root: Path, cache_path: Path, before: set[str] = frozenset(),
                  splits: dict[str, dict[str, float]] | None = None) -> list[NotebookRun]:
    """For every notebook in ``_toc.yml``: its successful run in the jupyter-cache at ``cache_path``.

    A notebook whose current source has no record in the cache of the current
    fingerprint (:func:`tools.book_cache.cache_dir`) did not execute successfully
    under this budget and library.  ``before`` holds the cache's hash keys from
    before the build, to tell fresh runs from reused ones; ``splits`` maps cells digests to
    seconds per category (:func:`collect_splits`).
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
                                    record.hashkey not in before, (splits or {}).get(notebook_digest(path))))
    return runs


def report(runs: list[NotebookRun], root: Path, budget: str) -> str:
    """The table the build prints: per notebook its seconds, their split by category, its outputs' origin."""
    columns = timing.CATEGORIES + ("other",)
    lines = [f"{'notebook':<40} {'seconds':>8} " + " ".join(f"{c:>10}" for c in columns) + "  outputs"]
    totals = dict.fromkeys(("seconds",) + columns, 0.0)
    for run in runs:
        name = run.path.relative_to(root).as_posix()
        if run.seconds is None:
            lines.append(f"{name:<40} {'-':>8}  NOT EXECUTED (failed, or the build stopped)")
            continue
        if run.split is not None:
            parts = [run.split.get(c, 0.0) for c in timing.CATEGORIES]
            parts.append(max(0.0, run.seconds - sum(parts)))
            split = " ".join(f"{p:10.1f}" for p in parts)
            for c, p in zip(columns, parts):
                totals[c] += p
        else:
            split = " ".join(f"{'?':>10}" for _ in columns)
        totals["seconds"] += run.seconds
        status = "executed in this build" if run.executed_now else "from the cache"
        if budget == "full" and run.seconds > SECTION_SECONDS_LIMIT:
            status += f"  OVER the {SECTION_SECONDS_LIMIT} s limit for a section"
        lines.append(f"{name:<40} {run.seconds:8.1f} {split}  {status}")
    lines.append(f"{'all notebooks':<40} {totals['seconds']:8.1f} "
                 + " ".join(f"{totals[c]:10.1f}" for c in columns)
                 + "  (? : no split recorded; its seconds count in the total only)")
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
    runs_dir = build_dir / book_cache.CACHE_FOLDER / TIMING_RUNS
    for pattern in ("kernel-*.json", "verdicts-*.jsonl"):
        for stale in runs_dir.glob(pattern) if runs_dir.is_dir() else []:
            stale.unlink(missing_ok=True)
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
    env = {**os.environ, "LR_BOOK_PROGRESS": os.environ.get("LR_BOOK_PROGRESS", "0"),
           timing.TIMING_DIR_ENV: str(runs_dir),              # each kernel's split by category
           VERDICT_DIR_ENV: str(runs_dir)}                     # and its verdicts (tools.verdict_table)
    status = subprocess.call(command, cwd=root, env=env)
    seconds = time.perf_counter() - start

    used = book_cache.last_used_cache(build_dir) or cache_path
    if used != cache_path:
        print(f"[build_book] WARNING: lib/ or the requirements changed as the build started; it used {used}")
        before = set()
    print("\n[build_book] notebook execution times (seconds; training, evaluating, measuring, drawing: "
          "lib.core.timing)")
    print(report(notebook_runs(root, used, before, collect_splits(runs_dir, used)), root, budget))
    verdicts = verdict_table.read_logs(runs_dir, root) if runs_dir.is_dir() else {}
    if verdicts:
        (build_dir / VERDICT_TABLE).write_text(verdict_table.table(verdicts))
        print(f"[build_book] the verdicts of the notebooks executed in this build: {build_dir / VERDICT_TABLE}")
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
