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


def check_setup_cell(nb: nbformat.NotebookNode) -> None:
    """The first cell is the set-up cell: hidden in the HTML, tries ``import lib`` and only on
    ImportError installs it; a source notebook names no repository (the reader copies do)."""
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
    assert first.source == notebooks.setup_cell_source(), (
        "the set-up cell differs from the template: run python -m tools.notebooks sync-setup chapters/*.ipynb")


def check_imports_cell(nb: nbformat.NotebookNode) -> None:
    second = nb.cells[1]
    assert second.cell_type == "code"
    assert re.search(r"^from lib[\w.]* import ", second.source, re.M), "second cell: imports from lib"
    assert "budget" in second.source or "settings.current()" in second.source, (
        "second cell: the budget, or the section's settings object read once (settings.current())")


def test_the_toc_lists_existing_pages_in_reading_order():
    pages = toc_files()
    assert pages[0] == ROOT / "intro.md"
    assert pages[-2:] == [ROOT / "bibliography.md", ROOT / "execution.md"]   # back matter
    assert ROOT / "chapters" / "01_why_lr_is_hard.ipynb" in pages
    assert len(set(pages)) == len(pages)


def test_every_chapter_notebook_is_in_the_toc():
    missing = [nb for nb in ALL_NOTEBOOKS if nb not in NOTEBOOKS]
    assert not missing, f"add to _toc.yml (or delete): {[_name(nb) for nb in missing]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_first_cell_is_the_set_up_cell_and_the_second_the_imports(path):
    nb = nbformat.read(path, as_version=4)
    check_setup_cell(nb)
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


def test_the_launch_buttons_are_configured_in_one_place():
    from tools import launch

    assert CONFIG["repository"]["url"].startswith("https://github.com/")
    assert CONFIG["launch_buttons"]["binderhub_url"] and CONFIG["launch_buttons"]["colab_url"]
    assert CONFIG["launch_buttons"]["thebe"] is True
    assert "launch" in CONFIG["sphinx"]["local_extensions"]
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'Repository = "{CONFIG["repository"]["url"]}"' in pyproject


def test_an_unconfigured_repository_leaves_the_buttons_out_and_says_so():
    from tools import launch

    for url in (launch.PLACEHOLDER, "", "https://github.com/only-an-owner", "https://example.org/a/b"):
        options = {"repository_url": url, "launch_buttons": {"binderhub_url": "https://mybinder.org", "thebe": True},
                   "use_repository_button": True}
        message = launch.configure(options)
        assert options["launch_buttons"] == {} and options["use_repository_button"] is False
        assert "left out" in message and "repository.url" in message


def test_a_configured_repository_sends_the_buttons_to_the_published_reader_copies(tmp_path):
    from tools import launch

    options = {"repository_url": "https://github.com/someone/lr-book", "repository_branch": "main",
               "launch_buttons": {"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com"},
               "use_repository_button": True}
    message = launch.configure(options)
    assert options["repository_branch"] == launch.PUBLISH_BRANCH == "gh-pages"
    assert options["path_to_docs"] == launch.READER_FOLDER == "_sources"
    assert options["launch_buttons"]["binderhub_url"] and options["use_repository_button"] is True
    assert "ghp-import" in message
    requirements = launch.binder_requirements(ROOT / "binder" / "requirements.txt", "https://github.com/someone/lr-book")
    assert "git+https://github.com/someone/lr-book" in requirements.splitlines() and "-e ." not in requirements


@pytest.mark.parametrize("repository, words", [
    ("", ["names no repository", "git clone <the book's repository> lr-batch-book", "pip install -e lr-batch-book"]),
    ("https://github.com/OWNER/REPOSITORY",
     ["Installing `lib` with pip from https://github.com/OWNER/REPOSITORY failed",
      "git clone https://github.com/OWNER/REPOSITORY lr-batch-book", "pip install -e lr-batch-book"]),
])
def test_the_set_up_cell_stops_with_one_clear_message_when_lib_cannot_be_installed(tmp_path, repository, words):
    # a Python without lib (isolated, no site-packages: -I -S) and a repository pip cannot reach
    import subprocess
    import sys

    script = tmp_path / "setup_cell.py"
    script.write_text(notebooks.setup_cell_source(repository))
    env = {"PATH": "/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0", "PIP_NO_INPUT": "1", "PIP_RETRIES": "0",
           "PIP_TIMEOUT": "5", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-I", "-S", str(script)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    message = result.stderr.strip()
    assert "Traceback" not in message
    for word in words:
        assert word in message


def test_the_build_is_strict_and_cached():
    assert CONFIG["execute"]["execute_notebooks"] == "cache"
    assert CONFIG["execute"]["allow_errors"] is False
    assert "book_cache" in CONFIG["sphinx"]["local_extensions"]


def test_a_new_chapter_starts_with_the_two_expected_cells(tmp_path):
    path = notebooks.new_chapter(tmp_path / "07_new.ipynb", "A new section")
    nb = nbformat.read(path, as_version=4)
    check_setup_cell(nb)
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
