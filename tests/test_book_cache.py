"""The two cache traps: a change in lib/ must re-execute notebooks, and quick outputs never reach a full build."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

from tools import book_cache, build_book

ROOT = Path(__file__).resolve().parent.parent


def _book(tmp_path: Path) -> Path:
    """A minimal book of one notebook that shows the budget and a value from its own lib/."""
    root = tmp_path / "book"
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "value.py").write_text("VALUE = 'first'\n")
    (root / "requirements.txt").write_text("numpy\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: page\n")
    (root / "intro.md").write_text("# Intro\n")
    (root / "_config.yml").write_text(
        "title: cache test\n"
        "only_build_toc_files: true\n"
        "execute:\n  execute_notebooks: cache\n  allow_errors: false\n  timeout: 120\n"
        "sphinx:\n"
        f"  local_extensions:\n    book_cache: {ROOT / 'tools'}\n"
    )
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Page"),
        nbformat.v4.new_code_cell(
            "import os, pathlib\n"
            "with open(os.environ['EXECUTION_LOG'], 'a') as log:\n"
            "    log.write('run\\n')\n"
            "value = pathlib.Path('lib/value.py').read_text().split('=')[1].strip().strip(\"'\")\n"
            "print(f\"MARK budget={os.environ.get('LR_BOOK_BUDGET')} value={value}\")"),
    ]
    nbformat.write(nb, root / "page.ipynb")
    return root


# ------------------------------------------------------------------ fast: the fingerprint


def test_fingerprint_follows_lib_requirements_and_budget(tmp_path):
    root = _book(tmp_path)
    base = book_cache.fingerprint(root, "quick")
    assert book_cache.fingerprint(root, "quick") == base  # deterministic
    assert book_cache.fingerprint(root, "full") != base

    (root / "lib" / "value.py").write_text("VALUE = 'second'\n")
    changed_lib = book_cache.fingerprint(root, "quick")
    assert changed_lib != base
    (root / "lib" / "sub").mkdir()
    (root / "lib" / "sub" / "new.py").write_text("X = 1\n")
    assert book_cache.fingerprint(root, "quick") != changed_lib

    before_requirements = book_cache.fingerprint(root, "quick")
    (root / "requirements.txt").write_text("numpy==2.0\n")
    assert book_cache.fingerprint(root, "quick") != before_requirements


def test_fingerprint_ignores_notebooks_bytecode_and_prose(tmp_path):
    root = _book(tmp_path)
    base = book_cache.fingerprint(root, "quick")
    (root / "intro.md").write_text("# Another intro\n")
    (root / "lib" / "__pycache__").mkdir()
    (root / "lib" / "__pycache__" / "value.cpython-311.pyc").write_bytes(b"\0\1")
    nb = nbformat.read(root / "page.ipynb", as_version=4)
    nb.cells[0].source = "# Renamed page"
    nbformat.write(nb, root / "page.ipynb")
    assert book_cache.fingerprint(root, "quick") == base


def test_each_budget_gets_its_own_cache_folder(tmp_path):
    root = _book(tmp_path)
    quick = book_cache.cache_dir(tmp_path / "_build", root, "quick")
    full = book_cache.cache_dir(tmp_path / "_build", root, "full")
    assert quick != full
    assert quick.parent == full.parent == (tmp_path / "_build" / book_cache.CACHE_FOLDER).resolve()
    assert quick.name.startswith("quick-") and full.name.startswith("full-")


def test_a_relative_data_path_is_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(book_cache.DATA_ENV, "../shared/datasets/mnist")
    book_cache._absolute_data_path()
    assert os.environ[book_cache.DATA_ENV] == str((tmp_path / "../shared/datasets/mnist").resolve()) \
        or os.environ[book_cache.DATA_ENV] == os.path.abspath(tmp_path / "../shared/datasets/mnist")


def test_bad_root_is_rejected(tmp_path):
    with pytest.raises(ValueError):
        book_cache.fingerprint(tmp_path / "missing", "quick")


# ------------------------------------------------------------------ slow: real builds


def _build(root: Path, budget: str, monkeypatch, capfd) -> tuple[str, str]:
    monkeypatch.setenv("LR_BOOK_BUDGET", budget)
    status = build_book.build(root)
    log = capfd.readouterr().out
    assert status == 0, log[-3000:]
    html = (root / "_build" / "html" / "page.html").read_text()
    return html, log


@pytest.mark.book
def test_cache_traps_on_a_real_build(tmp_path, monkeypatch, capfd):
    root = _book(tmp_path)
    runs = tmp_path / "executions.log"
    monkeypatch.setenv("EXECUTION_LOG", str(runs))

    def executions() -> int:
        return len(runs.read_text().splitlines()) if runs.exists() else 0

    html, _ = _build(root, "quick", monkeypatch, capfd)
    assert "MARK budget=quick value=first" in html and executions() == 1

    # nothing changed: nothing is read again and nothing runs
    html, log = _build(root, "quick", monkeypatch, capfd)
    assert executions() == 1
    assert "targets for 0 source files that are out of date" in log
    assert "from the cache" in log

    # trap 1: a change in lib/ alone (the notebook's source is untouched) runs the notebook again
    (root / "lib" / "value.py").write_text("VALUE = 'second'\n")
    html, log = _build(root, "quick", monkeypatch, capfd)
    assert "MARK budget=quick value=second" in html and executions() == 2
    assert "executed in this build" in log

    # trap 2: a full build never shows the quick outputs ...
    html, _ = _build(root, "full", monkeypatch, capfd)
    assert "MARK budget=full value=second" in html and "budget=quick" not in html
    assert executions() == 3

    # ... and switching back finds the quick outputs in their own cache, without running again
    html, log = _build(root, "quick", monkeypatch, capfd)
    assert "MARK budget=quick value=second" in html and "budget=full" not in html
    assert executions() == 3
    assert "from the cache" in log
    shutil.rmtree(root / "_build")
