"""The pages of the book, read from ``_toc.yml`` (the one list of pages).

Tests and the build script ask this module which notebooks exist, so adding a
section is: write ``chapters/NN_name.ipynb`` and add one ``- file:`` line to
``_toc.yml``.
"""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = (".ipynb", ".md")


def _walk(node) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if isinstance(node.get(key), str):
                found.append(node[key])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key) or []:
                found.extend(_walk(child))
    elif isinstance(node, list):
        for child in node:
            found.extend(_walk(child))
    return found


def toc_files(root: Path | str = ROOT) -> list[Path]:
    """Every page in ``_toc.yml``, in reading order, as paths to existing files.

    A toc entry names a file without its suffix; a missing file is an error.
    """
    root = Path(root)
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = []
    for entry in _walk(toc):
        matches = [root / f"{entry}{suffix}" for suffix in SUFFIXES
                   if (root / f"{entry}{suffix}").is_file()]
        if not matches:
            raise FileNotFoundError(f"_toc.yml lists {entry!r} but no {entry}.ipynb or {entry}.md exists")
        pages.append(matches[0])
    return pages


def toc_notebooks(root: Path | str = ROOT) -> list[Path]:
    """The ``.ipynb`` pages of the book, in reading order."""
    return [page for page in toc_files(root) if page.suffix == ".ipynb"]


def html_page(page: Path, root: Path | str = ROOT) -> str:
    """The page's address inside the built site, e.g. ``chapters/01_x.html``."""
    return page.relative_to(Path(root)).with_suffix(".html").as_posix()
