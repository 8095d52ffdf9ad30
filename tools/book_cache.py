"""Sphinx extension: a notebook is executed again whenever its inputs change.

jupyter-cache, which Jupyter Book uses for ``execute_notebooks: cache``, matches
a notebook on the source of its code cells and nothing else.  That leaves two
traps:

1. A change in ``lib/`` (or in the pinned requirements) changes what a cell
   computes but not its source, so the old outputs would be reused.
2. A cache filled under ``LR_BOOK_BUDGET=quick`` would serve its small-run
   figures and numbers to a later full build.

This extension closes both.  It computes a *fingerprint* of everything outside
the notebooks that decides their outputs (see :data:`FINGERPRINT_GLOBS`, the
budget, ``$LR_BOOK_DEVICE``, ``$LR_BOOK_DATA_SEED`` and the installed torch version) and

* gives every fingerprint a jupyter-cache of its own,
  ``_build/.jupyter_cache/<budget>-<digest>`` (switching back to an earlier
  state finds its cache again, so quick and full builds can alternate cheaply);
* exposes the fingerprint as the Sphinx config value ``lr_book_fingerprint``
  with ``rebuild="env"``: when it changes, Sphinx re-reads every page instead of
  keeping pages rendered from the old cache.

It also turns a relative ``$LR_BOOK_DATA`` into an absolute path (relative to
the directory the build was started from), because notebooks run with their
own folder as working directory.

It is loaded from ``_config.yml`` (``sphinx.local_extensions``), so a plain
``jupyter-book build .`` is as safe as ``python -m tools.build_book``.
"""
from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path

FINGERPRINT_GLOBS = ("lib/**/*.py", "requirements*.txt", "pyproject.toml")
CACHE_FOLDER = ".jupyter_cache"
LAST_USED = "LAST_USED"  # file in the cache folder naming the cache the latest build used
DATA_ENV = "LR_BOOK_DATA"
DEVICE_ENV = "LR_BOOK_DEVICE"


def _budget() -> str:
    from lib.core import budget  # the one place that reads and validates $LR_BOOK_BUDGET

    return budget.current()


def _torch_version() -> str:
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "absent"


def fingerprint(root: Path | str, budget: str | None = None) -> str:
    """Hex digest of the inputs that decide a notebook's outputs, besides its source.

    ``root`` is the book's folder; ``budget`` defaults to the one in force.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"root must be an existing folder, got {str(root)!r}")
    budget = _budget() if budget is None else budget
    digest = hashlib.sha256()
    for key, value in (("budget", budget), ("device", os.environ.get(DEVICE_ENV, "")),
                       ("data_seed", os.environ.get("LR_BOOK_DATA_SEED", "").strip() or "0"),
                       ("torch", _torch_version())):
        digest.update(f"{key}={value}\n".encode())
    files = sorted({path for pattern in FINGERPRINT_GLOBS for path in root.glob(pattern)
                    if path.is_file() and "__pycache__" not in path.parts})
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def cache_dir(build_dir: Path | str, root: Path | str, budget: str | None = None) -> Path:
    """The jupyter-cache folder for the current fingerprint, under ``build_dir``."""
    budget = _budget() if budget is None else budget
    return Path(build_dir).resolve() / CACHE_FOLDER / f"{budget}-{fingerprint(root, budget)[:16]}"


def _absolute_data_path() -> None:
    value = os.environ.get(DATA_ENV)
    if value and not os.path.isabs(value):
        os.environ[DATA_ENV] = os.path.abspath(value)


def _on_config_inited(app, config) -> None:
    root = Path(app.srcdir)
    budget = _budget()
    config.lr_book_fingerprint = f"{budget}-{fingerprint(root, budget)}"
    # app.outdir is <build>/html; jupyter-book keeps its cache beside it.
    path = cache_dir(Path(app.outdir).parent, root, budget)
    config.nb_execution_cache_path = str(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / LAST_USED).write_text(str(path) + "\n")
    _absolute_data_path()


def last_used_cache(build_dir: Path | str) -> Path | None:
    """The cache folder the latest build in ``build_dir`` used (None before the first build)."""
    marker = Path(build_dir) / CACHE_FOLDER / LAST_USED
    return Path(marker.read_text().strip()) if marker.is_file() else None


def setup(app):
    app.add_config_value("lr_book_fingerprint", "", "env")
    app.connect("config-inited", _on_config_inited)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
