"""lib.core.timing: seconds per category, nested calls counted once, and a kernel's totals found by the build."""
from __future__ import annotations

import json
import sys

import nbformat
import pytest

from lib.core import timing
from tools import build_book


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(timing, "time", fake)
    saved = timing.totals(), timing.calls()
    timing.reset()
    yield fake
    for category in timing.CATEGORIES:         # leave the process's totals as they were
        timing._totals[category] = saved[0][category]
        timing._calls[category] = saved[1][category]


def test_nested_calls_count_for_the_innermost_category_only(clock):
    with timing.timed("training"):
        clock.now = 2.0
        with timing.timed("evaluating"):     # an evaluation inside a training run
            clock.now = 5.0
        clock.now = 6.0
        with timing.timed("measuring"):
            clock.now = 6.5
            with timing.timed("measuring"):  # the same category nested: still counted once
                clock.now = 7.5
        clock.now = 10.0
    assert timing.totals() == {"training": 2.0 + 1.0 + 2.5, "evaluating": 3.0, "measuring": 1.5, "drawing": 0.0}
    assert sum(timing.totals().values()) == 10.0          # the wall time, no second counted twice
    assert timing.calls()["measuring"] == 2
    assert timing.summary(12.0).endswith("other 2.0 s")


def test_as_a_decorator_and_through_an_exception(clock):
    @timing.timed("drawing")
    def draw(seconds):
        clock.now += seconds
        if seconds > 1:
            raise RuntimeError("boom")
        return "drawn"

    assert draw(0.5) == "drawn" and draw.__name__ == "draw"
    with pytest.raises(RuntimeError):
        draw(2.0)
    assert timing.totals()["drawing"] == 2.5
    assert not timing._stack                                 # the failed call closed its interval


def test_an_unknown_category_is_refused():
    with pytest.raises(ValueError, match="category must be one of training, evaluating, measuring, drawing"):
        timing.timed("plotting")


def test_the_digest_skips_empty_cells_and_trailing_whitespace():
    assert timing.cells_digest(["a = 1\n", "", "  \n", "b = 2"]) == timing.cells_digest(["a = 1", "b = 2\n\n"])
    assert timing.cells_digest(["a = 1", "b = 2"]) != timing.cells_digest(["b = 2", "a = 1"])


def test_a_kernel_writes_its_totals_and_the_build_finds_its_notebook(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import time\nfrom lib.core.timing import timed"),
        nbformat.v4.new_markdown_cell("prose"),
        nbformat.v4.new_code_cell(""),
        nbformat.v4.new_code_cell('with timed("drawing"):\n    time.sleep(0.3)\n'),
    ])
    path = tmp_path / "section.ipynb"
    nbformat.write(notebook, path)
    runs = tmp_path / "runs"
    monkeypatch.setenv(timing.TIMING_DIR_ENV, str(runs))
    NotebookClient(nbformat.read(path, as_version=4), timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    (record_path,) = runs.glob("kernel-*.json")
    record = json.loads(record_path.read_text())
    assert record["cells"] == build_book.notebook_digest(path)
    assert 0.3 <= record["seconds"]["drawing"] < record["wall_seconds"]
    cache = tmp_path / "cache"
    cache.mkdir()
    store = build_book.collect_splits(runs, cache)
    assert store[record["cells"]]["drawing"] == record["seconds"]["drawing"]
    assert json.loads((cache / build_book.TIMING_STORE).read_text()) == store   # kept for cached runs


def test_the_report_splits_each_notebook_and_sums_them(tmp_path):
    runs = [build_book.NotebookRun(tmp_path / "a.ipynb", 10.0, True,
                                   {"training": 6.0, "evaluating": 1.0, "measuring": 0.5, "drawing": 2.0}),
            build_book.NotebookRun(tmp_path / "b.ipynb", 4.0, False, None),
            build_book.NotebookRun(tmp_path / "c.ipynb", None, False)]
    text = build_book.report(runs, tmp_path, "quick")
    lines = text.splitlines()
    assert lines[1].split()[:7] == ["a.ipynb", "10.0", "6.0", "1.0", "0.5", "2.0", "0.5"]
    assert lines[2].split()[:7] == ["b.ipynb", "4.0", "?", "?", "?", "?", "?"]
    assert "NOT EXECUTED" in lines[3]
    assert lines[4].split()[:8] == ["all", "notebooks", "14.0", "6.0", "1.0", "0.5", "2.0", "0.5"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
