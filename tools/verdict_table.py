"""The chapter's verdicts with the numbers behind them, from the logs of one book build.

    python -m tools.verdict_table FOLDER            # a Markdown table on stdout
    python -m tools.verdict_table FOLDER -o FILE    # ... written to FILE

During a build (``tools/build_book.py``) every kernel appends to
``FOLDER/verdicts-<pid>.jsonl`` what :mod:`lib.glue` decides: each claim guarded by
:func:`lib.glue.require` (*asserted*: the sentence and the numbers it was checked
on), each word chosen from numbers by :func:`~lib.glue.compare`,
:func:`~lib.glue.position`, :func:`~lib.glue.change`, :func:`~lib.glue.count` or
:func:`~lib.glue.choose`, and each text handed to the prose.  A glued text that
contains such words is a *computed* verdict; its row lists the numbers that chose
them.  The kernel's timing file in the same folder (``kernel-<pid>.json``, see
:mod:`lib.core.timing`) tells which notebook a log belongs to.

The build writes the table to ``_build/verdicts.md``; the closing notes quote it.
Texts glued without any of the helpers (names, lists, numbers written as words)
are not verdicts and are counted, not listed.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tools.toc import ROOT, toc_notebooks


@dataclass
class Verdict:
    """One row: how the claim is held (``asserted`` or ``computed``), the claim, and its numbers."""

    kind: str
    claim: str
    numbers: dict = field(default_factory=dict)
    held: bool = True


def _short(value, width: int = 160) -> str:
    text = " ".join(str(value).split()).replace("|", "/")
    return text if len(text) <= width else text[:width - 3] + "..."


def _number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _short(value, 40)
    return f"{value:.4g}"


def verdicts(records: list[dict], all_texts: bool = False) -> tuple[list[Verdict], int]:
    """The verdicts of one kernel's log, in order, and the count of glued texts that are not verdicts.

    A computed verdict is a ``text`` record whose value contains the words of the ``word`` /
    ``chosen`` records logged since the previous text that used them; those records' numbers
    (or, for ``choose``, whether its condition held) are the row's numbers.  With ``all_texts``
    every other glued text is a row too (kind ``glued text``: words a notebook chose itself, or no
    verdict at all), and the count returned is 0.
    """
    rows: list[Verdict] = []
    pending: list[dict] = []
    plain = 0
    for record in records:
        kind = record.get("kind")
        if kind == "asserted":
            rows.append(Verdict("asserted", record.get("sentence", ""), dict(record.get("numbers") or {}),
                                bool(record.get("held", True))))
        elif kind in ("word", "chosen"):
            pending.append(record)
        elif kind == "text":
            value = str(record.get("value", ""))
            used = [w for w in pending if w.get("word") and str(w["word"]) in value]
            if not used:
                if all_texts:
                    rows.append(Verdict("glued text", f"{record.get('name')}: {value}"))
                else:
                    plain += 1
                continue
            numbers: dict = {}
            for w in used:
                if w["kind"] == "chosen":
                    numbers[f"{w.get('name')}: condition"] = bool(w.get("held"))
                else:
                    for name, number in (w.get("numbers") or {}).items():
                        if name != "tolerance" or number:
                            numbers[f"{w.get('helper')}.{name}"] = number
            rows.append(Verdict("computed", f"{record.get('name')}: {value}", numbers))
            pending = [w for w in pending if w not in used]
    return rows, plain


def read_logs(folder: Path, root: Path = ROOT) -> dict[str, list[dict]]:
    """Each notebook's log records (by its path relative to ``root``), matched through the kernels'
    timing files; a log whose kernel wrote no timing file is keyed ``kernel <pid>``."""
    from tools.build_book import notebook_digest

    by_digest = {notebook_digest(path): str(path.relative_to(root)) for path in toc_notebooks(root)}
    logs: dict[str, list[dict]] = {}
    for log in sorted(Path(folder).glob("verdicts-*.jsonl")):
        pid = log.stem.split("-", 1)[1]
        name = f"kernel {pid}"
        timing_file = Path(folder) / f"kernel-{pid}.json"
        try:
            name = by_digest.get(json.loads(timing_file.read_text())["cells"], name)
        except (OSError, ValueError, KeyError, TypeError):
            pass
        records = []
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        logs.setdefault(name, []).extend(records)
    return logs


def table(logs: dict[str, list[dict]], all_texts: bool = False) -> str:
    """The Markdown table of every notebook's verdicts, notebooks in the book's order (with
    ``all_texts``, every glued text too: see :func:`verdicts`)."""
    order = {str(p.relative_to(ROOT)): i for i, p in enumerate(toc_notebooks(ROOT))}
    lines = ["| notebook | held by | claim (glued text or asserted sentence) | numbers behind it |",
             "|---|---|---|---|"]
    totals = {"asserted": 0, "computed": 0, "glued text": 0, "plain": 0, "failed": 0}
    for name in sorted(logs, key=lambda n: (order.get(n, len(order)), n)):
        rows, plain = verdicts(logs[name], all_texts)
        totals["plain"] += plain
        for row in rows:
            totals[row.kind] += 1
            totals["failed"] += not row.held
            shown = ", ".join(f"{k} = {_number(v)}" for k, v in row.numbers.items())
            kind = row.kind if row.held else f"{row.kind} (FAILED)"
            lines.append(f"| {Path(name).stem} | {kind} | {_short(row.claim)} | {_short(shown, 200)} |")
    lines.append("")
    lines.append(f"{totals['computed']} computed and {totals['asserted']} asserted verdicts "
                 f"({totals['failed']} failed); " + (f"{totals['glued text']} other glued texts listed."
                                                     if all_texts else
                                                     f"{totals['plain']} glued texts chose no words from numbers."))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the folder the kernels logged to")
    parser.add_argument("-o", "--output", type=Path, default=None, help="write the table here")
    parser.add_argument("--all-texts", action="store_true",
                        help="list every glued text, also those whose words no lib.glue helper chose")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"no such folder: {args.folder}", file=sys.stderr)
        return 2
    text = table(read_logs(args.folder), args.all_texts)
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
