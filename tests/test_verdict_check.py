"""The verdict check (issue 14): other data seeds reach load_mnist, and tools.verdict_check reports a
guarded sentence that a seed contradicts, a factor printed as 0, and a glue role without a value."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from lib.core import data as mnist_data
from tools import verdict_check

REAL_DIR = Path(os.environ.get("LR_BOOK_DATA", Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"))


@pytest.mark.parametrize("raw, seed", [(None, 0), ("", 0), ("  ", 0), ("0", 0), ("7", 7), (" 12 ", 12)])
def test_the_data_seed_comes_from_the_environment(monkeypatch, raw, seed):
    if raw is None:
        monkeypatch.delenv(mnist_data.DATA_SEED_ENV, raising=False)
    else:
        monkeypatch.setenv(mnist_data.DATA_SEED_ENV, raw)
    assert mnist_data.default_split_seed() == seed


@pytest.mark.parametrize("raw", ["-1", "1.5", "one", "0x3"])
def test_a_bad_data_seed_is_refused_with_the_variable_named(monkeypatch, raw):
    monkeypatch.setenv(mnist_data.DATA_SEED_ENV, raw)
    with pytest.raises(ValueError, match="LR_BOOK_DATA_SEED"):
        mnist_data.default_split_seed()


def test_load_mnist_splits_with_the_seed_of_the_environment(monkeypatch):
    # the same validation labels as an explicit split_seed=3, and other ones than seed 0
    if not (REAL_DIR / "train-labels-idx1-ubyte.gz").is_file():
        pytest.fail(f"MNIST is needed at {REAL_DIR} (set LR_BOOK_DATA)")
    monkeypatch.setenv(mnist_data.DATA_SEED_ENV, "3")
    from_env = mnist_data.load_mnist("cpu", data_dir=REAL_DIR, download=False)
    explicit = mnist_data.load_mnist("cpu", data_dir=REAL_DIR, download=False, split_seed=3)
    seed0 = mnist_data.load_mnist("cpu", data_dir=REAL_DIR, download=False, split_seed=0)
    assert (from_env.y_val == explicit.y_val).all() and not (from_env.y_val == seed0.y_val).all()
    with pytest.raises(ValueError, match="split_seed"):
        mnist_data.load_mnist("cpu", data_dir=REAL_DIR, download=False, split_seed=-1)


def _notebook(path: Path, cells) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) if kind == "code" else nbformat.v4.new_markdown_cell(src)
                for kind, src in cells]
    nbformat.write(nb, path)
    return path


def test_the_check_reports_the_sentence_a_data_seed_contradicts(tmp_path):
    # a claim that holds under data seed 0 and not under seed 1, guarded the way the chapters guard theirs
    path = _notebook(tmp_path / "claims.ipynb", [
        ("code", "from lib import glue\nfrom lib.core.data import default_split_seed\n"
                 "glue.require(default_split_seed() != 1, 'section 9, \"the seed is never one\"', seed=default_split_seed())\n"
                 "glue.number('ratio', 0.25 + default_split_seed())"),
        ("markdown", "The loss falls by a factor of {glue:text}`ratio:.0f`, and {glue:text}`missing`."),
    ])
    findings = verdict_check.check([path], seeds=[0, 1], log=lambda line: None)
    by_seed = {seed: [f for f in findings if f.seed == seed] for seed in (0, 1)}
    # seed 0: the guard holds, but the rendered prose says "a factor of 0" and glues a name the run lacks
    kinds = sorted(f.kind for f in by_seed[0])
    assert kinds == ["prose", "prose"]
    assert any("factor printed as 0" in f.message and "factor of 0, and" in f.message for f in by_seed[0])
    assert any("'missing'" in f.message for f in by_seed[0])
    # seed 1: the guard stops the notebook, and the finding names the sentence
    assert [f.kind for f in by_seed[1]] == ["contradiction"]
    assert "VerdictError" in by_seed[1][0].message and 'the seed is never one' in by_seed[1][0].message


def test_a_clean_notebook_has_no_findings_and_factors_above_zero_pass(tmp_path):
    path = _notebook(tmp_path / "clean.ipynb", [
        ("code", "from lib import glue\nglue.number('ratio', 0.43)\nglue.text('words', glue.change(0.43))"),
        ("markdown", "A factor of {glue:text}`ratio:.2f`; the loss {glue:text}`words`; information, $\\infty$; "
                     "a typed sentence may say that a loss is NaN or inf, and that a factor of 0 is impossible."),
    ])
    assert verdict_check.check([path], seeds=[2], log=lambda line: None) == []
    assert verdict_check.main([str(path), "--seeds", "2"]) == 0


def test_the_check_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="notebooks"):
        verdict_check.check([], seeds=[1])
    with pytest.raises(ValueError, match="seeds"):
        verdict_check.check([tmp_path / "x.ipynb"], seeds=[-1])
    with pytest.raises(SystemExit):
        verdict_check.main([str(tmp_path / "absent.ipynb")])
