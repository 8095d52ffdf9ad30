"""Start a section notebook the way every section starts, and strip outputs before committing.

    python -m tools.notebooks new chapters/02_range_test.ipynb "The learning-rate range test"
    python -m tools.notebooks strip chapters/*.ipynb

A new notebook gets the two cells the book expects (GUIDE.md):

1. the set-up cell, tagged ``remove-cell`` (hidden in the HTML), which installs
   ``lib`` from the repository named in ``_config.yml`` when it is not
   importable (Colab, a bare Jupyter) and otherwise does nothing;
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


def setup_cell_source(url: str) -> str:
    return f'''# Set-up for Colab or a bare Jupyter: install the book's library `lib` from its
# repository when it is not importable.  In the book's own environment this does nothing.
REPOSITORY = "{url}"
try:
    import lib
except ImportError:
    import importlib
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"git+{{REPOSITORY}}"], check=True)
    importlib.invalidate_caches()
    import lib'''


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
        nbformat.v4.new_code_cell(setup_cell_source(repository_url(root)), metadata={"tags": [SETUP_TAG]}),
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
    args = parser.parse_args(argv)
    if args.command == "new":
        print(f"created {new_chapter(args.path, args.title)}; now add it to _toc.yml")
    else:
        for path in args.paths:
            print(f"{path}: {'stripped' if strip_outputs(path) else 'already clean'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
