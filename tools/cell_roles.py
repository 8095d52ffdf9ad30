"""What each code cell of a chapter notebook is for, read from its code (``ast``), and the tag it needs.

The HTML shows the reader what is meant for the reader (issue 14, item 8):

``glue``      a cell whose statements only hand numbers to the prose or check a verdict:
              ``glue.number/text/require/...(...)``, ``glue(...)``, ``assert``, and the
              assignments (or helper functions, loops, ``if`` blocks) that only feed them.
              It is removed from the page: tag ``remove-cell``.
``figure``    a cell that only assembles a figure: every call in it draws
              (``figures.*``, ``plt.*``, ``glue.figure``, ``display``, methods of what those
              return) or is a plain helper (``len``, ``zip``, ``np.*``, ``str.join``, ...),
              next to glue statements at most.  Its figure shows, its code is folded:
              tag ``hide-input`` (``remove-input`` or ``remove-cell`` are accepted too).
``teaching``  anything else: a call to the method, a short loop the text explains.  It stays
              on the page (no ``remove-cell``/``remove-input``; ``hide-input`` is allowed, e.g. for
              a static explorer's chart); it may carry ``remove-output`` (its figure shows through
              ``{glue:figure}``).
``setup``     the first code cell, which installs ``lib`` where it is missing; removed
              (:mod:`tests.test_notebooks` checks it).
``imports``   the second: imports, the style and the section's settings under the budget,
              plumbing the reader can unfold: tag ``hide-input``.

A statement counts as feeding glue when the names it writes (binds, or changes in place with
``x.append(...)``) are read further down its cell only by glue statements, and by no later cell
that stays on the page.  A third rule keeps the page readable: a visible cell may not read a name
that only a removed cell defined, or the reader meets a name from nowhere.  A visible cell that
teaches but also carries many glue lines is "mixed"; ``--split`` moves those lines into a removed
cell of their own (a change of the notebook's code, so it is a separate, deliberate step).

    python -m tools.cell_roles chapters/*.ipynb          # every cell whose tags disagree with its role
    python -m tools.cell_roles --fix chapters/*.ipynb    # give those cells the tags they need (tags only)
    python -m tools.cell_roles --mixed chapters/*.ipynb  # visible cells that also carry many glue lines
    python -m tools.cell_roles --split chapters/NN.ipynb # move those lines into a removed cell after each
"""
from __future__ import annotations

import argparse
import ast
import json
import builtins
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tools.toc import ROOT

#: Tags that take a cell (or its code) off the page.
REMOVED = {"remove-cell"}
FOLDED_OR_REMOVED = {"hide-input", "remove-input", "remove-cell"}
#: Names whose attributes draw: the sections' ``figures`` modules (and ``figures_*``, ``*_figures``),
#: matplotlib, the book's style.
DRAWING_ROOTS = {"figures", "plt", "matplotlib", "mpl", "style"}
#: Calls that neither teach nor draw: builtins, NumPy array helpers, str/dict methods.
NEUTRAL_ROOTS = {"np", "numpy", "math"}
NEUTRAL_METHODS = {"format", "join", "replace", "items", "keys", "values", "get", "index", "split", "strip"}
#: In-place methods: ``x.append(...)`` writes ``x``.
MUTATING_METHODS = {"append", "extend", "insert", "update", "add", "setdefault", "pop", "remove", "clear", "sort"}
NEUTRAL_FUNCTIONS = set(dir(builtins)) - {"print", "exec", "eval", "open", "input", "__import__"}


def _root(node: ast.AST) -> str | None:
    """``a`` for ``a.b.c`` or ``a[0].b``; None for anything else."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_glue_call(call: ast.Call, *, figure: bool) -> bool:
    """``glue(...)`` or ``glue.<name>(...)``; ``glue.figure`` only when ``figure``."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id == "glue" and not figure
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "glue":
        return (func.attr == "figure") == figure
    return False


def _names_read(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _free_names(source: str) -> set[str]:
    """Names a cell reads but never binds itself: what it takes from the cells before it."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    stored |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
               if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    stored |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return _names_read(tree) - stored


def _is_compound(stmt: ast.stmt) -> bool:
    return isinstance(stmt, (ast.For, ast.If, ast.While, ast.With, ast.Try))


def _body(stmt: ast.stmt) -> list[ast.stmt]:
    """The statements inside a compound statement (loop, if, with, try), else []."""
    out = []
    for field in ("body", "orelse", "finalbody"):
        out.extend(getattr(stmt, field, []) or [])
    for handler in getattr(stmt, "handlers", []) or []:
        out.extend(handler.body)
    return out


def _glue_call(stmt: ast.stmt) -> bool:
    """``glue.<name>(...)`` (not ``glue.figure``) or ``glue(...)`` as a statement, or an ``assert``."""
    if isinstance(stmt, ast.Assert):
        return True
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and _is_glue_call(stmt.value, figure=False)


def _target_names(target: ast.AST) -> set[str]:
    """``a, (b, c[0]), *d = ...`` -> {a, b, c, d}."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_target_names(t) for t in target.elts))
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return {r for r in [_root(target)] if r}


def _writes(stmt: ast.stmt) -> set[str]:
    """Names a statement binds or changes in place: assignment targets (``x = ...``, ``x[k] = ...``,
    ``x.a = ...``), ``def x``, ``import x``, and ``x.append(...)``-like calls; for a loop or a block,
    what its statements write (its loop variable excepted)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in stmt.names}
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        return set().union(*(_target_names(t) for t in getattr(stmt, "targets", None) or [stmt.target]))
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        if isinstance(func, ast.Attribute) and func.attr in MUTATING_METHODS:
            return {r for r in [_root(func.value)] if r}
        return set()
    if _is_compound(stmt):
        return set().union(*(_writes(s) for s in _body(stmt)))
    return set()


def _only_feeds(stmt: ast.stmt) -> bool:
    """A statement that computes or hands on, nothing else: a glue call, an assert, ``pass``/``break``/
    ``continue``, an assignment, a ``def``, an ``import``, an in-place call on a name, or a block of those."""
    if _glue_call(stmt) or isinstance(stmt, (ast.Pass, ast.Break, ast.Continue)):
        return True
    if _is_compound(stmt):
        return all(_only_feeds(s) for s in _body(stmt))
    return bool(_writes(stmt))


def _glue_statements(body: list[ast.stmt], later_visible_reads: set[str]) -> list[bool]:
    """Which statements of a cell only hand numbers to the prose: glue calls and asserts, and what
    only feeds them (fixed point: assume all, drop what something else reads, until nothing changes)."""
    glue = [_only_feeds(s) for s in body]
    changed = True
    while changed:
        changed = False
        for i, stmt in enumerate(body):
            if not glue[i] or _glue_call(stmt):
                continue
            writes = _writes(stmt)
            readers = [j for j in range(i + 1, len(body)) if writes & _names_read(body[j])]
            ok = not writes & later_visible_reads and all(glue[j] for j in readers)
            if not ok:
                glue[i] = False
                changed = True
    return glue


def _drawing_statement(stmt: ast.stmt, drawn: set[str]) -> bool:
    """Every call in it draws or is neutral, and at least one draws; ``drawn``: names bound in the cell
    to what a drawing call returned (a figure, its axes), extended here."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Name) and stmt.value.id in drawn:
        return True                                         # `fig` as the last line: display it
    if _is_compound(stmt):
        body = _body(stmt)
        drawing = [_drawing_statement(s, drawn) for s in body]
        return bool(body) and any(drawing) and all(d or _glue_call(s) for s, d in zip(body, drawing))
    calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call)]
    if not isinstance(stmt, (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign)) or not calls:
        return False
    draws = False
    for call in calls:
        root = _root(call.func)
        name = call.func.id if isinstance(call.func, ast.Name) else None
        method = call.func.attr if isinstance(call.func, ast.Attribute) else None
        if (_is_glue_call(call, figure=True) or root in DRAWING_ROOTS or root in drawn or name == "display"
                or "figures" in (root or "").split("_")):                     # figures_further, ...
            draws = True
        elif not (_is_glue_call(call, figure=False) or name in NEUTRAL_FUNCTIONS or root in NEUTRAL_ROOTS
                  or method in NEUTRAL_METHODS or root is None):   # root None: "...".format(...)
            return False
    if draws and not isinstance(stmt, ast.Expr):
        drawn |= _writes(stmt)
    return draws


@dataclass(frozen=True)
class Cell:
    """One code cell: its index in the notebook, its role, its tags, its first line, and the names it
    reads that a removed cell before it defined (``hidden``)."""

    index: int
    role: str
    tags: tuple[str, ...]
    first_line: str
    hidden: tuple[str, ...] = ()

    def problem(self) -> str | None:
        """Why the tags do not fit the role, or None."""
        tags = set(self.tags)
        if self.role == "glue" and not tags & REMOVED:
            return "only hands numbers to the prose or checks a verdict: tag it remove-cell"
        if self.role == "imports" and not tags & FOLDED_OR_REMOVED:
            return "imports and the budget's settings are plumbing: tag it hide-input"
        if self.role == "figure" and not tags & FOLDED_OR_REMOVED:
            return "only assembles a figure: tag it hide-input (the figure shows, its code one click away)"
        if self.role == "teaching" and tags & {"remove-cell", "remove-input"}:
            return ("does more than feed the prose or draw (it calls the method, or defines what a visible cell "
                    "uses): keep its code on the page, or fold it (hide-input)")
        if self.hidden:
            return (f"stays on the page but reads {', '.join(self.hidden)}, defined only in a cell removed from "
                    "the page: show that cell, or compute it here")
        return None


def classify_source(source: str, later_visible_reads: set[str] = frozenset()) -> str:
    """The role of one code cell's source: ``"glue"``, ``"figure"`` or ``"teaching"``.

    ``later_visible_reads``: names that later cells left on the page take from before them; a
    statement that writes one of them does not only feed glue.  A cell that does not parse (IPython
    magics) is teaching.
    """
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return "teaching"
    if not body:
        return "teaching"
    glue = _glue_statements(body, set(later_visible_reads))
    if all(glue) and any(_glue_call(s) for s in ast.walk(ast.Module(body=body, type_ignores=[]))
                         if isinstance(s, ast.stmt)):
        return "glue"
    drawn: set[str] = set()
    drawing = [False if g else _drawing_statement(s, drawn) for s, g in zip(body, glue)]
    if all(g or d for g, d in zip(glue, drawing)) and any(drawing):
        return "figure"
    return "teaching"


def _binds(source: str) -> set[str]:
    """Names a cell (re)binds at its top level: assignment to a plain name, ``for``/``with`` targets,
    ``def``, ``class``, ``import``; not ``x[k] = ...`` or ``x.append(...)``, which change ``x`` in place,
    and not names local to a function or a comprehension."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found, todo = set(), list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found |= {(a.asname or a.name).split(".")[0] for a in node.names}
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        if isinstance(node, (ast.Subscript, ast.Attribute)):
            continue                                    # x[k] = ... and x.a = ... do not rebind x
        todo.extend(ast.iter_child_nodes(node))
    return found


def _reads_before(cell, reads_after: set[str]) -> set[str]:
    """The names that cells left on the page, from ``cell`` on, take from before ``cell``: those the
    later ones take, less what ``cell`` binds, plus what ``cell`` reads without binding if it is visible."""
    reads = reads_after - _binds(cell.source)
    if not set(cell.metadata.get("tags", [])) & REMOVED:
        reads |= _free_names(cell.source)
    return reads


def classify_notebook(nb: nbformat.NotebookNode) -> list[Cell]:
    """Every code cell of ``nb`` with its role; the first two code cells are ``setup`` and ``imports``.

    Roles are read from the last cell to the first, so that a cell knows which names the cells
    after it that stay on the page take from before them; then, from the first to the last, which
    names a visible cell takes from a removed one."""
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    roles: dict[int, str] = {}
    visible_reads: set[str] = set()
    for n, (i, cell) in reversed(list(enumerate(code))):
        roles[i] = ("setup", "imports")[n] if n < 2 else classify_source(cell.source, visible_reads)
        visible_reads = _reads_before(cell, visible_reads)
    cells, hidden = [], set()
    for n, (i, cell) in enumerate(code):
        tags = tuple(cell.metadata.get("tags", []))
        removed = bool(set(tags) & REMOVED)
        reads = set() if removed or n == 0 else _free_names(cell.source) & hidden
        if n > 0:
            hidden = (hidden | _binds(cell.source)) if removed else (hidden - _binds(cell.source))
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        cells.append(Cell(i, roles[i], tags, first, tuple(sorted(reads))))
    return cells


def problems(path) -> list[str]:
    """``path: cell N (role): why; first line: ...`` for every cell whose tags do not fit its role."""
    nb = nbformat.read(path, as_version=4)
    path = Path(path)
    shown = path.resolve().relative_to(ROOT).as_posix() if path.resolve().is_relative_to(ROOT) else path
    return [f"{shown}: cell {c.index} ({c.role}): {c.problem()}; first line: {c.first_line!r}"
            for c in classify_notebook(nb) if c.problem()]


def retag(path) -> list[str]:
    """Give every code cell of the notebook at ``path`` the tag its role asks for, changing tags only:
    ``remove-cell`` for glue (dropping ``hide-input``/``remove-input``/``remove-output``), ``hide-input``
    added for a figure or the imports cell.  Removing a cell can change what the cells before it
    feed, so this repeats until nothing changes.  The file is read, changed and written at once,
    in its own JSON layout; returns one line per change."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    raw = json.loads(text)
    changes = []
    for _ in range(len(raw["cells"]) + 1):
        changed = False
        for cell in classify_notebook(nbformat.reads(json.dumps(raw), as_version=4)):
            meta = raw["cells"][cell.index].setdefault("metadata", {})
            tags = list(meta.get("tags", []))
            new = tags
            if cell.role == "glue" and not set(tags) & REMOVED:
                new = [t for t in tags if t not in ("hide-input", "remove-input", "remove-output")] + ["remove-cell"]
            elif cell.role in ("figure", "imports") and not set(tags) & FOLDED_OR_REMOVED:
                new = tags + ["hide-input"]
            if new != tags:
                meta["tags"] = new
                changes.append(f"{path}: cell {cell.index} ({cell.role}): {tags} -> {new}")
                changed = True
        if not changed:
            break
    if changes:
        assert path.read_text(encoding="utf-8") == text, f"{path} changed while being retagged: run again"
        path.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changes


#: A visible cell with at least this many glue statements besides its teaching code is "mixed".
MIXED_MIN = 3


def split_source(source: str, later_visible_reads: set[str] = frozenset()) -> tuple[str, str] | None:
    """``(teaching part, glue part)`` of a mixed cell, or None when it has no glue statement, nothing
    else, or cannot be split without changing what it computes or shows.

    Lines move whole (a statement takes the comment lines above it), in their order; the glue part
    goes after the teaching part.  That is the same program when no teaching statement after a glue
    statement rebinds what the glue statement reads, and when the teaching part does not end in a new
    expression that Jupyter would now display.
    """
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return None
    if not body:
        return None
    glue = _glue_statements(body, set(later_visible_reads))
    if all(glue) or not any(glue):
        return None
    for i, stmt in enumerate(body):
        later_teaching = set().union(*(_writes(s) for s, g in zip(body[i + 1:], glue[i + 1:]) if not g))
        if glue[i] and _names_read(stmt) & later_teaching:
            return None
    last_teaching = max(i for i, g in enumerate(glue) if not g)
    stmt = body[last_teaching]
    if last_teaching != len(body) - 1 and isinstance(stmt, ast.Expr) and not (
            isinstance(stmt.value, ast.Call) and _is_glue_call(stmt.value, figure=True)):
        return None
    lines = source.splitlines()
    starts = [0] + [s.end_lineno for s in body[:-1]]              # a statement owns the lines above it
    ends = [s.end_lineno for s in body[:-1]] + [len(lines)]
    parts = {True: [], False: []}
    for g, start, end in zip(glue, starts, ends):
        parts[g].extend(lines[start:end])
    teaching, glued = ("\n".join(parts[k]).strip("\n") for k in (False, True))
    return teaching, glued


def mixed_cells(nb: nbformat.NotebookNode) -> list[tuple[int, tuple[str, str]]]:
    """``(index, (teaching part, glue part))`` of every visible teaching cell that also holds at
    least :data:`MIXED_MIN` glue statements and can be split (:func:`split_source`)."""
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    found, visible_reads = [], set()
    for n, (i, cell) in reversed(list(enumerate(code))):
        removed = bool(set(cell.metadata.get("tags", [])) & REMOVED)
        if n >= 2 and not removed and classify_source(cell.source, visible_reads) == "teaching":
            body = ast.parse(cell.source).body if split_source(cell.source, visible_reads) else []
            if body and sum(_glue_statements(body, visible_reads)) >= MIXED_MIN:
                found.append((i, split_source(cell.source, visible_reads)))
        visible_reads = _reads_before(cell, visible_reads)
    return found[::-1]


def split_notebook(path) -> list[int]:
    """Split every mixed cell of the notebook at ``path``: its teaching part stays, its glue part
    moves to a new cell right after it, tagged ``remove-cell``.  Read, change and write at once;
    returns the indices (before the split) of the cells split."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    mixed = mixed_cells(nb)
    for i, (teaching, glued) in reversed(mixed):
        cell = nb.cells[i]
        cell.source = teaching
        new = nbformat.v4.new_code_cell(glued, metadata={"tags": ["remove-cell"]})
        if "id" in cell:
            new["id"] = f"{cell['id']}-glue"[:64]
        nb.cells.insert(i + 1, new)
    if mixed:
        assert path.read_text(encoding="utf-8") == text, f"{path} changed while being split: run again"
        nbformat.write(nb, path)
    return [i for i, _ in mixed]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--all", action="store_true", help="list every code cell with its role and tags")
    parser.add_argument("--fix", action="store_true", help="retag the cells whose tags do not fit (tags only)")
    parser.add_argument("--mixed", action="store_true",
                        help=f"list visible cells that also hold {MIXED_MIN} or more glue statements")
    parser.add_argument("--split", action="store_true",
                        help="move the glue statements of those cells into a new remove-cell cell after each")
    args = parser.parse_args(argv)
    found = []
    for path in args.notebooks:
        if args.all:
            for c in classify_notebook(nbformat.read(path, as_version=4)):
                print(f"{path.name} [{c.index:2d}] {c.role:9s} {','.join(c.tags) or '-':28s} {c.first_line[:70]}")
        if args.fix:
            print("\n".join(retag(path)) or f"{path}: no tag to change")
        if args.mixed:
            for i, (teaching, glued) in mixed_cells(nbformat.read(path, as_version=4)):
                print(f"{path}: cell {i} is mixed: {len(teaching.splitlines())} lines teach, "
                      f"{len(glued.splitlines())} only feed the prose")
        if args.split:
            print(f"{path}: split cells {split_notebook(path)}")
        found += problems(path)
    print("\n".join(found) or "every cell's tags fit its role")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
