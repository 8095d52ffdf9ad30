"""Dump every value a built book glued into its prose, to compare two builds.

    python -m tools.glue_values _build/jupyter_execute > glue.json
    python -m tools.glue_values --diff old.json new.json
    python -m tools.glue_values --execute chapters/02_range_test.ipynb > glue.json   # one notebook, no build

myst-nb's ``glue`` stores each value as an output whose metadata carries
``scrapbook.name``: in the executed notebook itself when it was run by hand
(nbclient, Jupyter; the MIME type then carries glue's ``application/papermill.record/``
prefix), and, after a book build, in ``<notebook>.glue.json`` beside
the executed notebook in ``_build/jupyter_execute/`` for the values that were not
displayed.  This tool reads both and writes one JSON object, ``{"<notebook>:<name>":
value}``: numbers and text as they were glued (their ``text/plain`` form), a
figure as ``"<figure>"`` (its pixels are not compared: a refactoring that keeps
every number keeps the figures' data, and PNG bytes depend on the matplotlib
build).  ``--diff`` prints the names whose values differ between two dumps, and
those present in only one; it exits with 1 when anything differs.  Timings
(``*_seconds``) differ from run to run by nature: ``--ignore 'seconds$'`` leaves
out the names that match a regular expression.
"""
from __future__ import annotations

import argparse
import ast
import json
import math
import re
import sys
from pathlib import Path

import nbformat


def _value(output) -> object:
    prefix = output.get("metadata", {}).get("scrapbook", {}).get("mime_prefix", "")
    data = {key[len(prefix):] if prefix and key.startswith(prefix) else key: value
            for key, value in output.get("data", {}).items()}
    if "image/png" in data or "image/svg+xml" in data:
        return "<figure>"
    text = data.get("text/plain", "")
    if isinstance(text, list):
        text = "".join(text)
    try:  # numbers and quoted strings, as glue's repr wrote them
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def glued_values(folder: Path) -> dict[str, object]:
    """``{"<notebook stem>:<glue name>": value}`` for every executed notebook under ``folder``."""
    values: dict[str, object] = {}
    for path in sorted(Path(folder).rglob("*.ipynb")):
        outputs = [output for cell in nbformat.read(path, as_version=4).cells
                   for output in cell.get("outputs", [])]
        stored = path.with_suffix(".glue.json")
        if stored.is_file():
            outputs += list(json.loads(stored.read_text()).values())
        for output in outputs:
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                values[f"{path.stem}:{name}"] = _value(output)
    return values


def execute(notebook: Path, folder: Path) -> Path:
    """Run ``notebook`` with nbclient in its own folder (as the book build does) and write the
    executed copy into ``folder``; returns its path."""
    import nbclient

    from tools.sphinx_fixes import slice_kernel_polls

    slice_kernel_polls()   # as in the book build: a missed ZeroMQ wake-up must not cost a 600 s cell timeout
    notebook = Path(notebook).resolve()
    nb = nbformat.read(notebook, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}}).execute()
    target = Path(folder) / notebook.name
    nbformat.write(nb, target)
    return target


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def diff(old: dict, new: dict, ignore: str | None = None, only: str | None = None) -> list[str]:
    """One line per name whose value differs, or that only one dump has (names matching ``ignore``
    skipped; with ``only``, just the names that match it)."""
    lines = []
    for key in sorted(set(old) | set(new)):
        if (ignore and re.search(ignore, key)) or (only and not re.search(only, key)):
            continue
        if key not in new:
            lines.append(f"only in old: {key} = {old[key]!r}")
        elif key not in old:
            lines.append(f"only in new: {key} = {new[key]!r}")
        elif not _same(old[key], new[key]):
            lines.append(f"changed: {key}: {old[key]!r} -> {new[key]!r}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path,
                        help="a folder of executed notebooks, or with --diff two JSON dumps")
    parser.add_argument("--diff", action="store_true", help="compare two dumps")
    parser.add_argument("--execute", action="store_true",
                        help="execute the given notebooks (no book build) and dump their glued values")
    parser.add_argument("--ignore", metavar="REGEX", default=None,
                        help="with --diff: leave out names that match REGEX (e.g. 'seconds$')")
    parser.add_argument("--only", metavar="REGEX", default=None,
                        help="with --diff: compare only names that match REGEX (e.g. '^02_range_test:')")
    args = parser.parse_args(argv)
    if args.diff:
        if len(args.paths) != 2:
            parser.error("--diff takes two JSON files")
        old, new = (json.loads(p.read_text()) for p in args.paths)
        lines = diff(old, new, args.ignore, args.only)
        compared = [k for k in set(old) | set(new) if not (args.ignore and re.search(args.ignore, k))
                    and not (args.only and not re.search(args.only, k))]
        print("\n".join(lines) if lines else f"identical: {len(compared)} glued values")
        return 1 if lines else 0
    if args.execute:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            for notebook in args.paths:
                execute(notebook, Path(folder))
            values = glued_values(Path(folder))
    elif len(args.paths) != 1:
        parser.error("give one folder of executed notebooks")
    else:
        values = glued_values(args.paths[0])
    json.dump(values, sys.stdout, indent=1, sort_keys=True, default=repr)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
