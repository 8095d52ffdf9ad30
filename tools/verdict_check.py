"""Execute chapters under other data seeds and report every contradiction that can be detected.

    python -m tools.verdict_check chapters/03_schedules.ipynb --seeds 1 2        # quick budget
    python -m tools.verdict_check chapters/0*.ipynb --seeds 0 1 2 --json report.json

The prose of the chapter states verdicts ("A ends lower than B", "x lies between y and z"). Each is
either computed from the run's numbers (glued words) or guarded by :func:`lib.glue.require`, which
stops the notebook with a :class:`lib.glue.VerdictError` naming the sentence.  One run with one data
seed can only show that the verdicts hold for that run; this tool re-runs each notebook with other
data (``$LR_BOOK_DATA_SEED``: :func:`lib.core.data.load_mnist` then splits MNIST with another
permutation, so every quick-budget experiment sees other training and validation images) and
collects, per notebook and seed:

* **contradiction**: a guarded sentence that the numbers no longer support (a ``VerdictError`` or
  any ``AssertionError`` raised by a cell), with the sentence it names;
* **prose**: the Markdown rendered with the run's glued values shows something no verdict may say:
  a factor printed as 0 ("a factor of 0", from a ratio below 0.5 formatted with ``:.0f``), a
  negative factor, ``nan`` or ``inf``, a glue role whose value the run never glued;
* **error**: any other exception (the notebook is broken, not just its prose).

It exits with 1 when anything was found.  Under the quick budget the six notebooks take about
20 minutes per seed on two CPU cores (measured: 01 94 s, 02 160-400 s, 03 86 s, 04 164-420 s, 05 410-620 s,
06 400-740 s, the upper ends on a shared machine), too long for every CI run; the test suite
runs the tool on a small notebook and the lead runs it on the chapter before a release.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from tools.reader import GLUE_TEXT, _text, glued_outputs

DATA_SEED_ENV = "LR_BOOK_DATA_SEED"       # the variable lib.core.data.default_split_seed reads
BUDGET_ENV = "LR_BOOK_BUDGET"

#: Rendered prose that no verdict may contain: (pattern, what it means).
PROSE_CONTRADICTIONS = (
    (re.compile(r"factor of 0(?![.,]?\d)"), "a factor printed as 0 (a ratio below 0.5 written with :.0f)"),
    (re.compile(r"factor of -"), "a negative factor"),
    (re.compile(r"(?<![\w.])(?:nan|inf|-inf)(?![\w])", re.I), "a number that is not finite"),
    (re.compile(r"\bNOT the same\b"), "a restored state that differs"),
)


@dataclass
class Finding:
    """One problem found in one notebook under one data seed."""

    notebook: str
    seed: int
    kind: str          # "contradiction", "prose" or "error"
    message: str


def _window(text: str, start: int, end: int, width: int = 70) -> str:
    return " ".join(text[max(0, start - width):min(len(text), end + width)].split())


def prose_findings(executed: Path, name: str, seed: int) -> list[Finding]:
    """Render every Markdown cell of an executed notebook with its glued values and look for
    :data:`PROSE_CONTRADICTIONS` that involve a glued value (typed prose such as "a loss is NaN"
    is not the run's doing), and for glue roles without a value."""
    values = glued_outputs(Path(executed))
    findings = []
    for cell in nbformat.read(executed, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        pieces, spans, missing, end = [], [], [], 0
        for match in GLUE_TEXT.finditer(cell.source):
            pieces.append(cell.source[end:match.start()])
            key = match.group(1)
            if key in values:
                text = _text(values[key], match.group(2), key)
            else:
                missing.append(key)
                text = f"<{key}?>"
            start = sum(map(len, pieces))
            spans.append((start, start + len(text)))
            pieces.append(text)
            end = match.end()
        pieces.append(cell.source[end:])
        rendered = "".join(pieces)
        findings += [Finding(name, seed, "prose", f"the prose glues {key!r} but the run did not") for key in missing]
        for pattern, meaning in PROSE_CONTRADICTIONS:
            for match in pattern.finditer(rendered):
                if any(match.start() < stop and start < match.end() for start, stop in spans):
                    findings.append(Finding(name, seed, "prose",
                                            f"{meaning}: \u201c{_window(rendered, match.start(), match.end())}\u201d"))
    return findings


def check_notebook(notebook: Path, seed: int, folder: Path, budget: str = "quick") -> list[Finding]:
    """Execute ``notebook`` (with nbclient, in its own folder) under data seed ``seed`` and the
    budget ``budget``, and return what :func:`prose_findings` and the cells' errors show."""
    import nbclient
    from nbclient.exceptions import CellExecutionError

    from tools.glue_values import execute
    from tools.sphinx_fixes import slice_kernel_polls

    slice_kernel_polls()          # a missed ZeroMQ wake-up on a busy machine would cost a 600 s cell timeout
    name = Path(notebook).name
    saved = {key: os.environ.get(key) for key in (DATA_SEED_ENV, BUDGET_ENV)}
    os.environ[DATA_SEED_ENV], os.environ[BUDGET_ENV] = str(seed), budget   # the kernel inherits them
    try:
        executed = execute(Path(notebook), folder)
    except CellExecutionError as error:
        ename, evalue = getattr(error, "ename", ""), getattr(error, "evalue", str(error))
        kind = "contradiction" if ename in ("VerdictError", "AssertionError") else "error"
        return [Finding(name, seed, kind, f"{ename}: {evalue}".strip())]
    except nbclient.exceptions.CellTimeoutError as error:
        return [Finding(name, seed, "error", f"a cell timed out: {error}")]
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return prose_findings(executed, name, seed)


def check(notebooks: list[Path], seeds: list[int], budget: str = "quick", log=print) -> list[Finding]:
    """:func:`check_notebook` for every notebook and seed; ``log`` gets one line per run."""
    if not notebooks:
        raise ValueError("notebooks must name at least one notebook")
    if not seeds or any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be non-negative ints, at least one, got {seeds!r}")
    findings = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            for notebook in notebooks:
                started = time.perf_counter()
                found = check_notebook(Path(notebook), seed, Path(folder), budget)
                log(f"{Path(notebook).name} seed {seed}: {len(found)} finding(s), "
                    f"{time.perf_counter() - started:.0f} s")
                findings += found
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2],
                        help="values of $LR_BOOK_DATA_SEED to run under (default: 1 2)")
    parser.add_argument("--budget", default="quick", choices=("quick", "full"))
    parser.add_argument("--json", type=Path, default=None, help="also write the findings to this file")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    findings = check(args.notebooks, args.seeds, args.budget, log=lambda line: print(line, file=sys.stderr))
    for finding in findings:
        print(f"{finding.notebook} [seed {finding.seed}] {finding.kind}: {finding.message}")
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in findings], indent=1, ensure_ascii=False))
    if not findings:
        print(f"no contradiction found in {len(args.notebooks)} notebook(s) under seeds "
              f"{', '.join(map(str, args.seeds))}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
