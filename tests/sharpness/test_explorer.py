"""The section's figures and its explorer run headless on small records; the explorer rejects equal sizes,
and on-demand training shows its progress bar in the explorer."""
from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lib.core.models import mlp  # noqa: E402
from lib.explorer import CONTROLS_WIDTH_PX  # noqa: E402
from lib.sharpness import batch_growth, figures, generalization_gap as GG, sgd_noise  # noqa: E402
from lib.sharpness.explorer import BatchSizeExplorer  # noqa: E402
from lib.sharpness.weight_space import parametric_curves  # noqa: E402
from tests.fakes import FakeKernel  # noqa: E402


def test_parametric_figure_and_explorer_run_headless_and_reject_a_pair_of_equal_sizes():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(30, 5, generator=g), torch.randint(0, 3, (30,), generator=g)
    trained = []
    bank = GG.SolutionBank(train=lambda b: trained.append(b) or mlp((5, 4, 3), ("tanh",), init_seed=b),
                           measure=lambda m: {"top_eigenvalue": 1.0, "trace": 2.0, "keskar_full_1e-03": 3.0})
    bank.add(8, mlp((5, 4, 3), ("tanh",), init_seed=8))
    explorer = BatchSizeExplorer(bank, [8, 64], {"train": (x, y)}, alphas=[0.0, 0.5, 1.0])
    assert trained == [64]  # the cached network is reused, the missing one trained once
    assert "batch 8" in explorer.table.value and "3" in explorer.table.value
    assert "batch 64" in explorer.message.value
    explorer.large.value = 8
    assert "two different batch sizes" in explorer.message.value
    curves = parametric_curves(bank.model(8), bank.model(64), [0.0, 1.0], {"train": (x, y)})
    fig = figures.parametric_figure([0.0, 1.0], curves)
    assert len(fig.axes) == 2


def test_on_demand_training_shows_its_progress_bar_in_the_explorer(toy, tiny_model, monkeypatch):
    """The tester's case: the bar of a batch size trained on demand went to JupyterLab's log console.
    An Output widget captures what is displayed while its msg_id is set (ipywidgets' ``with output:``);
    the bar that train_grid opens must be created while the explorer's own output captures."""
    import ipywidgets.widgets.widget_output as widget_output
    import tqdm.auto

    monkeypatch.setattr(widget_output, "get_ipython", lambda: FakeKernel())   # a kernel from the start, as in Jupyter
    recipe = GG.Recipe(lr=0.2, momentum=0.5, min_epochs=1, min_updates=6, model=tiny_model)
    measure = lambda net: {"top_eigenvalue": 1.0, "trace": 2.0, "keskar_full_1e-03": 3.0}  # noqa: E731
    bank = GG.SolutionBank(train=functools.partial(recipe.solution, toy), measure=measure)   # as the notebook
    bank.add(8, tiny_model(8))
    bank.add(64, tiny_model(64))
    explorer = BatchSizeExplorer(bank, [8, 16, 64], {"train": (toy.x_train, toy.y_train)}, alphas=[0.0, 1.0])
    bars = []

    class Bar:                                          # stands in for tqdm.auto's bar: where would it show?
        def __init__(self, *args, **kwargs):
            bars.append({"explorer": explorer.progress.msg_id, "figure": explorer.output.msg_id})

        def update(self, n=1):
            pass

        def close(self):
            pass

    monkeypatch.setenv("LR_BOOK_PROGRESS", "1")         # train_grid's default: a bar
    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    explorer.large.value = 16                           # not trained yet: trains now
    assert 16 in bank.cached and "batch 16" in explorer.message.value
    assert bars == [{"explorer": "widget-callback", "figure": ""}]  # in the explorer's progress output
    assert explorer.progress.msg_id == ""               # which captures only while training runs
    assert explorer.progress in explorer.widget.children
    assert explorer.widest_line() <= CONTROLS_WIDTH_PX


KERNEL_CELLS = [
    """import functools, os, sys
os.environ["LR_BOOK_PROGRESS"] = "1"
sys.path.insert(0, {root!r})
import torch
from lib.core.data import Splits
from lib.core.models import mlp
from lib.sharpness import generalization_gap as GG
from lib.sharpness.explorer import BatchSizeExplorer
g = torch.Generator().manual_seed(3)
x = torch.randn(128, 6, generator=g)
y = (x @ torch.randn(6, 3, generator=g)).argmax(1)
toy = Splits(x[:96], y[:96], x[96:], y[96:])
model = lambda seed: mlp((6, 8, 3), ("tanh",), init_seed=seed)
recipe = GG.Recipe(lr=0.2, momentum=0.5, min_epochs=1, min_updates=6, model=model)
measure = lambda net: {{"top_eigenvalue": 1.0, "trace": 2.0, "keskar_full_1e-03": 3.0}}
bank = GG.SolutionBank(train=functools.partial(recipe.solution, toy), measure=measure)
bank.add(8, model(8))
bank.add(64, model(64))
explorer = BatchSizeExplorer(bank, [8, 16, 64], {{"train": (toy.x_train, toy.y_train)}}, alphas=[0.0, 1.0])
explorer""",
    "explorer.large.value = 16          # trains batch 16 now\nprint(explorer.progress.model_id)",
]


def test_in_a_real_kernel_the_bar_is_drawn_inside_the_explorer():
    """End to end, in an IPython kernel (nbclient keeps what each output widget captured): the tqdm
    widget of on-demand training is among the explorer's progress outputs, not the cell's outputs."""
    import json
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient

    root = str(Path(__file__).resolve().parents[2])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.format(root=root) if i == 0 else c)
                                         for i, c in enumerate(KERNEL_CELLS)])
    NotebookClient(nb, timeout=240, startup_timeout=60, kernel_name="python3", store_widget_state=True).execute()
    cell = nb.cells[1].outputs
    assert [output.output_type for output in cell] == ["stream"], cell          # only the print: no bar here
    progress_id = cell[0].text.split()[-1]
    state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    captured = json.dumps(state[progress_id]["state"]["outputs"])
    assert "training 1 run(s)" in captured and "application/vnd.jupyter.widget-view+json" in captured


def test_an_explorer_needs_two_sizes_and_a_bank():
    with pytest.raises(ValueError, match="at least two different sizes"):
        BatchSizeExplorer(GG.SolutionBank(), [8, 8], {})
    with pytest.raises(ValueError, match=r"large must be one of batch_sizes \[8, 16\], got 32"):
        BatchSizeExplorer(GG.SolutionBank(), [8, 16], {}, large=32)
    with pytest.raises(TypeError, match="bank must be a SolutionBank"):
        BatchSizeExplorer({}, [8, 16], {})


def test_every_figure_draws_its_record(toy, tiny_model):
    recipe = GG.Recipe(lr=0.2, momentum=0.5, min_epochs=1, min_updates=6, model=tiny_model)
    measure = lambda net: {"top_eigenvalue": 1.0, "trace": 2.0, "keskar_full_1e-03": 3.0}  # noqa: E731
    study = GG.small_vs_large_batch(toy, recipe, small=16, large=48, seeds=[0, 1], measure=measure)
    pairs = sgd_noise.NoisePairs(batch_sizes=(8, 16), base_rates=np.array([0.1, 0.2]), reference_batch=8, seeds=(0,),
                                 epochs=1, rates=np.array([[0.1, 0.2], [0.2, 0.4]]),
                                 noise_scale=np.array([[1.0, 2.0], [1.0, 2.0]]),
                                 test_acc=np.array([[[90.0, 80.0]], [[85.0, np.nan]]], dtype=np.float32))
    best = sgd_noise.BestBatchStudy(train_sizes=(100, 200), rates=np.array([0.25, 0.5]), batch_sizes=(8, 16, 32),
                                    seeds=(0,), epochs=1, momentum=0.9, test_acc=np.full((2, 3, 1, 2), 90.0),
                                    mean_test_acc=np.full((2, 2, 3), 90.0), best_batch=np.array([[8.0, 16.0],
                                                                                                 [16.0, 32.0]]),
                                    noise_scale=np.ones((2, 2)), equal_updates=(10, 20),
                                    test_acc_equal_updates=np.full((2, 3, 1, 2), 80.0),
                                    mean_test_acc_equal_updates=np.full((2, 2, 3), 80.0),
                                    best_batch_equal_updates=np.array([[32.0, 32.0], [32.0, 32.0]]))
    growth = batch_growth.batch_growth_study(toy, lr=0.2, batch_size=16, factor=2, milestones=[1], epochs=2,
                                             seeds=[0, 1], model=tiny_model)
    drawn = [figures.keskar_curves_figure(study, 90), figures.random_directions_figure([0.0, 1.0], {16: np.ones((2, 2))}),
             figures.noise_pairs_figure(pairs), figures.best_batch_figure(best), figures.growth_figure(growth, 90),
             figures.sharpness_vs_batch_figure({16: measure(None), 48: measure(None)})]
    assert [len(fig.axes) for fig in drawn] == [2, 1, 2, 3, 3, 1]
