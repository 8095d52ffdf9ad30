"""The notebooks as committed: found from _toc.yml, set-up cell first, no outputs."""
from __future__ import annotations

import ast
import json
import re

import nbformat
import pytest
import yaml

from tools import notebooks
from tools.toc import ROOT, toc_files, toc_notebooks

NOTEBOOKS = toc_notebooks()
ALL_NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def _name(path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def check_setup_cell(nb: nbformat.NotebookNode, url: str) -> None:
    """The first cell installs lib from ``url`` when it is not importable, and hides in the HTML."""
    first = nb.cells[0]
    assert first.cell_type == "code", "the first cell must be the set-up code cell"
    assert "remove-cell" in first.metadata.get("tags", []), "the set-up cell must carry the tag remove-cell"
    tree = ast.parse(first.source)
    # `try: import lib / except ImportError: <install>`
    tries = [node for node in ast.walk(tree) if isinstance(node, ast.Try)]
    assert tries, "the set-up cell must try to import lib first"
    body_imports = [alias.name for node in tries[0].body if isinstance(node, ast.Import) for alias in node.names]
    assert "lib" in body_imports
    handlers = [h for h in tries[0].handlers if isinstance(h.type, ast.Name) and h.type.id == "ImportError"]
    assert handlers, "the install must happen only on ImportError"
    strings = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    urls = [s for s in strings if s.startswith("https://")]
    assert urls == [url], f"the set-up cell installs from {urls}, but _config.yml names {url}"
    assert "pip" in first.source and "git+" in first.source


def check_imports_cell(nb: nbformat.NotebookNode) -> None:
    second = nb.cells[1]
    assert second.cell_type == "code"
    assert re.search(r"^from lib[\w.]* import ", second.source, re.M), "second cell: imports from lib"
    assert "budget" in second.source or "settings.current()" in second.source, (
        "second cell: the budget, or the section's settings object read once (settings.current())")


def test_the_toc_lists_existing_pages_in_reading_order():
    pages = toc_files()
    assert pages[0] == ROOT / "intro.md"
    assert pages[-1] == ROOT / "bibliography.md"
    assert ROOT / "chapters" / "01_why_lr_is_hard.ipynb" in pages
    assert len(set(pages)) == len(pages)


def test_every_chapter_notebook_is_in_the_toc():
    missing = [nb for nb in ALL_NOTEBOOKS if nb not in NOTEBOOKS]
    assert not missing, f"add to _toc.yml (or delete): {[_name(nb) for nb in missing]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_first_cell_installs_lib_from_the_configured_repository(path):
    nb = nbformat.read(path, as_version=4)
    check_setup_cell(nb, CONFIG["repository"]["url"])
    check_imports_cell(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_name)
def test_notebook_is_committed_without_outputs(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, cell in enumerate(raw["cells"]) if cell["cell_type"] == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"cells {dirty} of {_name(path)} hold outputs or execution counts; "
                       f"run: python -m tools.notebooks strip {_name(path)}")
    assert "widgets" not in raw["metadata"], "saved widget state is an output too"


def test_the_launch_buttons_use_the_same_repository():
    assert CONFIG["repository"]["url"].startswith("https://github.com/")
    assert CONFIG["launch_buttons"]["binderhub_url"] and CONFIG["launch_buttons"]["colab_url"]
    assert CONFIG["launch_buttons"]["thebe"] is True


def test_the_build_is_strict_and_cached():
    assert CONFIG["execute"]["execute_notebooks"] == "cache"
    assert CONFIG["execute"]["allow_errors"] is False
    assert "book_cache" in CONFIG["sphinx"]["local_extensions"]


def test_a_new_chapter_starts_with_the_two_expected_cells(tmp_path):
    path = notebooks.new_chapter(tmp_path / "07_new.ipynb", "A new section")
    nb = nbformat.read(path, as_version=4)
    check_setup_cell(nb, CONFIG["repository"]["url"])
    check_imports_cell(nb)
    with pytest.raises(FileExistsError):
        notebooks.new_chapter(path, "again")
    with pytest.raises(ValueError):
        notebooks.new_chapter(tmp_path / "07_new.md", "wrong suffix")


def test_strip_outputs_removes_outputs_and_counts(tmp_path):
    path = notebooks.new_chapter(tmp_path / "08_x.ipynb", "X")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi")]
    nb.cells[1].execution_count = 3
    nb.metadata["widgets"] = {"state": {}}
    nbformat.write(nb, path)
    assert notebooks.strip_outputs(path) is True
    clean = nbformat.read(path, as_version=4)
    assert clean.cells[1].outputs == [] and clean.cells[1].execution_count is None
    assert "widgets" not in clean.metadata
    assert notebooks.strip_outputs(path) is False
