"""Start a section notebook the way every section starts, and strip outputs before committing.

    python -m tools.notebooks new chapters/02_range_test.ipynb "The learning-rate range test"
    python -m tools.notebooks strip chapters/*.ipynb        # after saving a notebook in Jupyter
    python -m tools.notebooks sync-setup chapters/*.ipynb   # after changing the set-up cell's template

A new notebook gets the two cells the book expects (GUIDE.md):

1. the set-up cell, tagged ``remove-cell`` (hidden in the HTML), which does
   nothing where ``lib`` is importable and otherwise installs it from the book's
   repository (the reader copies the build writes name it, :mod:`tools.reader`),
   or stops with one message saying what failed and how to install ``lib`` by hand;
2. imports and the budget, tagged ``hide-input`` (collapsed above the title in
   the HTML, still run by the page's live-code button).

Then add the notebook to ``_toc.yml`` (one ``- file:`` line); the tests find it there.
Notebooks are committed without outputs or execution counts: the build executes them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

from tools.toc import ROOT

SETUP_TAG = "remove-cell"


def repository_url(root: Path | str = ROOT) -> str:
    """``repository.url`` from ``_config.yml``: the one place that names the repository."""
    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"]


def sync_setup_cells(paths) -> list[Path]:
    """Rewrite the set-up cell of each notebook to the current template; returns those that changed."""
    changed = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        cell = nb.cells[0]
        if not is_setup_cell(cell):
            raise ValueError(f"{path}: the first cell is not the set-up cell")
        if cell.source != setup_cell_source():
            cell.source = setup_cell_source()
            nbformat.write(nb, path)
            changed.append(Path(path))
    return changed


#: The command-line recipe the set-up cell prints when it cannot install ``lib`` itself.
INSTALL_BY_HAND = ("Install it by hand, then restart the kernel:\n"
                   "    git clone {url} lr-batch-book\n"
                   "    pip install -e lr-batch-book")


def setup_cell_source(url: str = "") -> str:
    """The first cell of every notebook: make ``lib`` importable, or stop with one clear message.

    ``url`` is the book's repository: empty in the source notebooks (in the book's
    own environment ``lib`` is installed and the cell does nothing), written into
    the reader copies by the build once ``repository.url`` is configured
    (:mod:`tools.reader`), so that Colab and Binder can install ``lib`` from it.
    When ``lib`` is missing and cannot be installed, the cell stops with what
    failed, the address it tried and the two commands that install ``lib`` by hand.
    """
    return f'''# Set-up for Colab, Binder or a bare Jupyter: make `lib`, the book's library, importable.
# In the book's own environment this does nothing.
REPOSITORY = "{url}"
try:
    import lib
except ImportError:
    import importlib
    import subprocess
    import sys

    HOW = {INSTALL_BY_HAND!r}
    if not REPOSITORY:
        raise SystemExit("`lib`, the book's library, is not installed here, and this notebook names no "
                         "repository to install it from.\\n" + HOW.format(url="<the book's repository>"))
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"git+{{REPOSITORY}}"],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        said = (pip.stderr or pip.stdout).strip().splitlines() or ["(no output)"]
        raise SystemExit(f"Installing `lib` with pip from {{REPOSITORY}} failed: {{said[-1]}}\\n"
                         + HOW.format(url=REPOSITORY))
    importlib.invalidate_caches()
    import lib'''


def is_setup_cell(cell) -> bool:
    """True for a notebook's set-up cell (a code cell tagged ``remove-cell`` that defines ``REPOSITORY``)."""
    return cell.cell_type == "code" and SETUP_TAG in cell.metadata.get("tags", []) and "REPOSITORY = " in cell.source


IMPORTS_SOURCE = '''from lib import glue, style
from lib.core import budget

style.use_style()
glue.text("budget", budget.current())'''


def new_chapter(path: Path, title: str, root: Path = ROOT) -> Path:
    """Write a notebook with the set-up cell, the imports cell and a title."""
    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"a chapter notebook must end in .ipynb, got {path.name!r}")
    if path.exists():
        raise FileExistsError(f"{path} exists; not overwriting it")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(setup_cell_source(), metadata={"tags": [SETUP_TAG]}),
        nbformat.v4.new_code_cell(IMPORTS_SOURCE, metadata={"tags": ["hide-input"]}),
        nbformat.v4.new_markdown_cell(f"# {title}\n\nThis page ran under the {{glue:text}}`budget` budget."),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def strip_outputs(path: Path) -> bool:
    """Remove outputs and execution counts in place; return True if anything changed."""
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.outputs or cell.execution_count is not None:
            cell.outputs, cell.execution_count, changed = [], None, True
        for key in ("execution", "collapsed", "scrolled"):
            changed |= cell.metadata.pop(key, None) is not None
    if nb.metadata.pop("widgets", None) is not None:
        changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="create a section notebook")
    new.add_argument("path", type=Path)
    new.add_argument("title")
    strip = commands.add_parser("strip", help="remove outputs and execution counts")
    strip.add_argument("paths", type=Path, nargs="+")
    sync = commands.add_parser("sync-setup", help="rewrite each notebook's set-up cell to the current template")
    sync.add_argument("paths", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.command == "new":
        print(f"created {new_chapter(args.path, args.title)}; now add it to _toc.yml")
    elif args.command == "sync-setup":
        changed = sync_setup_cells(args.paths)
        print(f"set-up cells rewritten: {len(changed)} of {len(args.paths)}")
    else:
        for path in args.paths:
            print(f"{path}: {'stripped' if strip_outputs(path) else 'already clean'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
