"""What the HTML shows is for the reader (issue 14, item 8): each code cell's tags fit what its code does.

The roles come from :mod:`tools.cell_roles` (read with ``ast``): a cell that only hands numbers to the
prose or checks a verdict is removed (``remove-cell``); a cell that only assembles a figure is folded
(``hide-input``); a cell left on the page does not read a name that only a removed cell defines.
The classifier is tested here on small hand-made cells, both ways, before it judges the chapter.
"""
from __future__ import annotations

import nbformat
import pytest

from tools import cell_roles
from tools.cell_roles import classify_notebook, classify_source
from tools.toc import ROOT, toc_notebooks

NOTEBOOKS = toc_notebooks()


def _name(path) -> str:
    return path.relative_to(ROOT).as_posix()


# --- the classifier on hand-made cells -------------------------------------------------------------

@pytest.mark.parametrize("source", [
    'glue.number("n", 3)',
    'glue.text("word", "higher" if a > b else "lower")\nglue.require(a > b, "section 9, \\"a beats b\\"", a=a, b=b)',
    'assert run.loss[-1] < run.loss[0], "the text says it falls"\nglue.number("final", run.loss[-1])',
    'ratio = a.mean() / b.mean()\nglue.number("ratio", ratio)',                       # an assignment feeding glue
    'x, (y, z) = split(run)\nglue.number("x", x + y + z)',                            # tuple targets
    'for name, value in {"a": 1, "b": 2}.items():\n    key = name.upper()\n    glue.number(key, value)',
    'if ok:\n    words = "holds"\nelse:\n    words = "fails"\nglue.text("verdict", words)',
    'def gap(x):\n    return x.max() - x.min()\nglue.number("gap", gap(run.loss))',
    'found = []\nfor b in sizes:\n    found.append(b > 3)\nglue.text("found", glue.count(sum(found), len(found)))',
    'from lib.batch_size import scaling_fit\nglue.text("fit", str(scaling_fit.fit(sweep)))',
    'glue("raw", 1.0, display=False)',
])
def test_cells_that_only_feed_the_prose_are_glue(source):
    assert classify_source(source) == "glue"


@pytest.mark.parametrize("source", [
    'run = train(net, lr=0.1)',                                                        # no glue call at all
    'run = train(net, lr=0.1)\nplot(run)\nglue.number("final", run.loss[-1])',        # the run is also drawn
    'run = train(net, lr=0.1)\nglue.number("final", run.loss[-1])\nrun',              # and displayed
    'results = {}\nresults["a"] = train(net)\nshow(results)\nglue.number("n", 1)',
    'explorer = Explorer(data)\nglue.number("steps", explorer.steps)\nexplorer',
    'glue.number("n", 3)\nsummary = study.summarize(run)',      # `summary` is read further down the page
    '%timeit train(net)',                                       # IPython magics do not parse: left alone
    '',
])
def test_cells_that_do_more_than_feed_the_prose_are_not_glue(source):
    later = {"summary"}
    assert classify_source(source, later) != "glue"


def test_a_name_a_later_visible_cell_reads_keeps_its_assignment_on_the_page():
    source = 'smith = sweep.suggestions(runs)\nglue.number("smith", smith.valley)'
    assert classify_source(source) == "glue"
    assert classify_source(source, {"smith"}) == "teaching"


@pytest.mark.parametrize("source", [
    'glue.figure("fig", figures.loss_figure(run))',
    'glue.figure("fig", figures.loss_figure(run, rates=np.geomspace(0.01, 1, 5), size=len(seeds)))',
    'fig, ax = plt.subplots()\nax.plot(x, y)\nax.set_xlabel("step")\nglue.figure("fig", fig)',
    'fig = figures.loss_figure(run)\nfig',
    'glue.figure("fig", figures.loss_figure(run))\nglue.number("n_seeds", len(seeds))',
    'glue.figure("fig", figures_further.bridge_figure(result))',
    'for b in sizes:\n    plt.plot(x[b], y[b], label=f"B = {b}")\nplt.legend()',
])
def test_cells_that_only_assemble_a_figure_are_figures(source):
    assert classify_source(source) == "figure"


@pytest.mark.parametrize("source", [
    'paths = gd.gd_paths(surface, rates, steps)\nglue.figure("fig", figures.paths_figure(paths))',
    'glue.figure("fig", explorer.figure_for(lr=0.1))',          # runs the explorer's computation
    'fig = figures.loss_figure(train(net))',
])
def test_a_figure_cell_that_also_runs_the_method_is_teaching(source):
    assert classify_source(source) == "teaching"


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("# set-up", metadata={"tags": ["remove-cell"]}),
                nbformat.v4.new_code_cell("from lib import glue", metadata={"tags": ["hide-input"]})]
    for source, tags in cells:
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {}))
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("Some prose with {glue:text}`n`."))
    return nb


def test_the_tags_are_judged_against_the_roles_both_ways():
    nb = _notebook(('run = train(net)', []),
                   ('glue.number("n", run.steps)', []),                                   # glue left on the page
                   ('glue.figure("fig", figures.loss_figure(run))', ["remove-output"]),  # figure code shown
                   ('best = run.best()', []))
    cells = classify_notebook(nb)
    assert [c.role for c in cells] == ["setup", "imports", "teaching", "glue", "figure", "teaching"]
    assert [c.index for c in cells] == [0, 1, 2, 4, 5, 6]                                  # the markdown cell skipped
    problems = {c.index: c.problem() for c in cells if c.problem()}
    assert set(problems) == {4, 5}
    assert "remove-cell" in problems[4] and "hide-input" in problems[5]

    fixed = _notebook(('run = train(net)', []),
                      ('glue.number("n", run.steps)', ["remove-cell"]),
                      ('glue.figure("fig", figures.loss_figure(run))', ["remove-output", "hide-input"]),
                      ('best = run.best()', []))
    assert not [c.problem() for c in classify_notebook(fixed) if c.problem()]


def test_a_cell_that_calls_the_method_may_not_be_removed():
    nb = _notebook(('run = train(net)', ["remove-cell"]), ('glue.number("n", 3)', ["remove-cell"]))
    (cell,) = [c for c in classify_notebook(nb) if c.problem()]
    assert cell.index == 2 and cell.role == "teaching" and "keep its code on the page" in cell.problem()
    nb.cells[2].metadata["tags"] = ["hide-input"]
    assert not [c for c in classify_notebook(nb) if c.problem()]


def test_the_imports_and_settings_cell_is_folded():
    nb = _notebook(('run = train(net)', []))
    assert not [c for c in classify_notebook(nb) if c.problem()]
    nb.cells[1].metadata = {}
    (cell,) = [c for c in classify_notebook(nb) if c.problem()]
    assert cell.index == 1 and cell.role == "imports" and "hide-input" in cell.problem()


def test_retag_changes_only_the_tags_that_do_not_fit(tmp_path):
    path = tmp_path / "01_x.ipynb"
    nb = _notebook(('run = train(net)', []),
                   ('glue.number("n", run.steps)', ["hide-input"]),
                   ('glue.figure("fig", figures.loss_figure(run))', ["remove-output"]),
                   ('best = run.best()', []))
    nb.cells[1].metadata = {}
    nbformat.write(nb, path)
    before = nbformat.read(path, as_version=4)
    changes = cell_roles.retag(path)
    assert len(changes) == 3 and not cell_roles.problems(path)
    after = nbformat.read(path, as_version=4)
    assert [c.metadata.get("tags", []) for c in after.cells] == [
        ["remove-cell"], ["hide-input"], [], [], ["remove-cell"], ["remove-output", "hide-input"], []]
    assert [c.source for c in after.cells] == [c.source for c in before.cells]
    assert cell_roles.retag(path) == []


def test_a_visible_cell_may_not_read_what_only_a_removed_cell_defined():
    nb = _notebook(('run = train(net)', []),
                   ('ratio = run.loss[-1] / run.loss[0]\nglue.number("ratio", ratio)', ["remove-cell"]),
                   ('print(ratio)', []))
    cells = classify_notebook(nb)
    assert cells[-1].hidden == ("ratio",) and "ratio" in cells[-1].problem()
    # a visible cell that defines the name again in between lifts it
    nb = _notebook(('run = train(net)', []),
                   ('ratio = run.loss[-1] / run.loss[0]\nglue.number("ratio", ratio)', ["remove-cell"]),
                   ('ratio = 2.0', []),
                   ('print(ratio)', []))
    assert not [c.problem() for c in classify_notebook(nb) if c.problem()]


def test_the_command_line_names_the_notebook_cell_and_first_line(tmp_path, capsys):
    path = tmp_path / "01_x.ipynb"
    nbformat.write(_notebook(('run = train(net)', []), ('glue.number("n", run.steps)', [])), path)
    assert cell_roles.main([str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}: cell 4 (glue)" in out and "remove-cell" in out and "glue.number(\"n\", run.steps)" in out


def _run(source: str) -> dict:
    """Execute a cell's source with a recording glue; returns what it glued and the names it left."""
    glued = {}

    class Glue:
        def __call__(self, name, value, display=False):
            glued[name] = value

        def __getattr__(self, kind):
            return lambda name, value, *args, **kwargs: glued.__setitem__(name, value)

    names = {"glue": Glue(), "train": lambda lr: [1.0, 0.5 * lr, 0.25 * lr]}
    exec(compile(source, "<cell>", "exec"), names)
    return {"glued": glued, **{k: v for k, v in names.items() if k not in ("glue", "train", "__builtins__")}}


def test_a_mixed_cell_splits_into_its_teaching_part_and_a_glue_part_that_computes_the_same():
    source = ('run = train(0.1)                 # the method\n'
              'glue.number("start", run[0])\n'
              '# the ratio the prose quotes\n'
              'ratio = run[-1] / run[0]\n'
              'glue.number("ratio", ratio)\n'
              'best = min(run)\n'
              'glue.text("best", f"{best:.3f}")')
    assert cell_roles.split_source(source) is None          # nothing visible reads `run`: all of it feeds glue
    teaching, glued = cell_roles.split_source(source, {"run", "best"})
    assert teaching == 'run = train(0.1)                 # the method\nbest = min(run)'
    assert glued.splitlines()[1] == "# the ratio the prose quotes"                 # comments move with their line
    assert _run(teaching + "\n" + glued) == _run(source)
    assert classify_source(teaching, {"run", "best"}) == "teaching" and classify_source(glued) == "glue"


@pytest.mark.parametrize("source", [
    'glue.number("a", 1)\nglue.number("b", 2)',                              # nothing teaches
    'run = train(0.1)\nplot(run)',                                          # nothing glues
    'run = train(0.1)\nglue.number("first", run[0])\nrun = train(0.2)',       # the glue reads what is rebound
    'run = train(0.1)\nglue.number("first", run[0])\nrun\nglue.number("n", 3)',   # `run` would become the last line
])
def test_a_cell_that_cannot_be_split_without_changing_it_is_left_alone(source):
    assert cell_roles.split_source(source, {"run"}) is None


def test_split_notebook_moves_glue_into_a_removed_cell(tmp_path):
    path = tmp_path / "01_x.ipynb"
    nbformat.write(_notebook(('run = train(net)\nglue.number("a", run.a)\nglue.number("b", run.b)\n'
                              'glue.number("c", run.c)', []),
                             ('print(run)', [])), path)
    assert cell_roles.split_notebook(path) == [2]
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[2].source == "run = train(net)" and nb.cells[3].metadata["tags"] == ["remove-cell"]
    assert nb.cells[3].source.count("glue.number") == 3
    assert not cell_roles.problems(path) and cell_roles.split_notebook(path) == []


# --- the chapter ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_what_the_page_shows_is_for_the_reader(path):
    problems = cell_roles.problems(path)
    assert not problems, "\n" + "\n".join(problems) + "\n(list them all: python -m tools.cell_roles chapters/*.ipynb)"


def test_every_chapter_notebook_has_cells_of_each_kind_judged():
    """Guard against a classifier that calls everything 'teaching' (and so can never fail)."""
    roles = [c.role for path in NOTEBOOKS for c in classify_notebook(nbformat.read(path, as_version=4))]
    assert roles.count("glue") >= len(NOTEBOOKS) and roles.count("figure") >= len(NOTEBOOKS)
