"""The build's verdict log (lib.glue) and the table made from it (tools.verdict_table)."""
import json
import os

import numpy as np
import pytest

from lib import glue
from tools import verdict_table
from tools.build_book import notebook_digest
from tools.toc import ROOT, toc_notebooks


@pytest.fixture
def log_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(glue.VERDICT_DIR_ENV, str(tmp_path))
    return tmp_path


def records(folder):
    path = folder / f"verdicts-{os.getpid()}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_nothing_is_logged_outside_a_build(tmp_path, monkeypatch):
    monkeypatch.delenv(glue.VERDICT_DIR_ENV, raising=False)
    glue.require(True, "section 9, a claim")
    glue.compare(2.0, 1.0)
    assert not list(tmp_path.iterdir())


def test_words_chosen_from_numbers_make_a_computed_verdict_with_those_numbers(log_dir):
    word = glue.compare(np.float32(0.25), 0.5, more="above", less="below")      # NumPy numbers are numbers
    glue.text("where", f"the turns lie {word} the edge")
    glue.text("name_only", "Smith's rule")                                       # no word from numbers
    rows, plain = verdict_table.verdicts(records(log_dir))
    assert plain == 1
    assert [(r.kind, r.claim) for r in rows] == [("computed", "where: the turns lie below the edge")]
    assert rows[0].numbers == {"compare.a": 0.25, "compare.b": 0.5}


def test_asserted_claims_keep_their_numbers_and_a_failure_is_marked(log_dir):
    glue.require(3.98 / 4.0 > 0.8, 'section 1, "close to the bound"', largest=3.98, bound=4.0)
    with pytest.raises(glue.VerdictError):
        glue.require(False, 'section 3, "0.8 ends lowest"', final=0.31)
    rows, _ = verdict_table.verdicts(records(log_dir))
    assert [(r.kind, r.held) for r in rows] == [("asserted", True), ("asserted", False)]
    assert rows[0].numbers == {"largest": 3.98, "bound": 4.0}
    text = verdict_table.table({"chapters/01_why_lr_is_hard.ipynb": records(log_dir)})
    assert "| 01_why_lr_is_hard | asserted | section 1, \"close to the bound\" | largest = 3.98, bound = 4 |" in text
    assert "asserted (FAILED)" in text and "0 computed and 2 asserted verdicts (1 failed)" in text


def test_choose_change_position_and_count_are_recorded(log_dir):
    glue.choose("holds", 0.7 < 1.0, "holds", "does not hold")
    moved = glue.change(0.25)
    where = glue.position(5.0, 1.0, 3.0)
    how_many = glue.count(2, 2)
    glue.text("story", f"{how_many} runs: the loss {moved}, the rate lies {where} the grid")
    rows, plain = verdict_table.verdicts(records(log_dir))
    # choose glues its own text: one verdict for it, one for the sentence that used three helpers
    assert [r.claim for r in rows] == ["holds: holds",
                                       "story: both runs: the loss falls by a factor of 4.0, the rate lies above the grid"]
    assert rows[0].numbers == {"holds: condition": True}
    assert rows[1].numbers == {"change.ratio": 0.25, "change.tolerance": 0.1, "position.x": 5.0,
                               "position.low": 1.0, "position.high": 3.0, "count.n": 2, "count.total": 2}
    assert plain == 0


def test_logs_are_matched_to_their_notebook_by_the_kernels_cells_digest(tmp_path):
    notebook = toc_notebooks()[0]
    (tmp_path / "kernel-4242.json").write_text(json.dumps({"cells": notebook_digest(notebook)}))
    (tmp_path / "verdicts-4242.jsonl").write_text(json.dumps({"kind": "asserted", "sentence": "s", "held": True,
                                                              "numbers": {}}) + "\nnot json\n")
    (tmp_path / "verdicts-7.jsonl").write_text("")
    logs = verdict_table.read_logs(tmp_path)
    assert logs == {str(notebook.relative_to(ROOT)): [{"kind": "asserted", "sentence": "s", "held": True,
                                                       "numbers": {}}],
                    "kernel 7": []}
    out = tmp_path / "table.md"
    assert verdict_table.main([str(tmp_path), "-o", str(out)]) == 0
    assert f"| {notebook.stem} | asserted | s |  |" in out.read_text()
    assert verdict_table.main([str(tmp_path / "missing")]) == 2


def test_all_texts_lists_the_glued_texts_that_no_helper_chose(log_dir):
    glue.text("rule", "Smith's rule")
    rows, plain = verdict_table.verdicts(records(log_dir), all_texts=True)
    assert (plain, [(r.kind, r.claim) for r in rows]) == (0, [("glued text", "rule: Smith's rule")])
    text = verdict_table.table({"chapters/01_why_lr_is_hard.ipynb": records(log_dir)}, all_texts=True)
    assert "| 01_why_lr_is_hard | glued text | rule: Smith's rule |  |" in text
    assert "1 other glued texts listed" in text
