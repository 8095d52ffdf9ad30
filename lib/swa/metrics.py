"""How good the final networks are: test and training loss and accuracy, over seeds (section 6).

Every run of :func:`lib.swa.training.compare` ends with up to four networks
(:data:`RESULT_MODELS`): the last SGD iterate, the SWA average (batch-norm
statistics recomputed), the same average with the statistics it inherited, and
the EMA.  :func:`run_metrics` measures each; :func:`metrics_table` gathers them
over seeds, one array per metric with one entry per seed; :func:`seed_summaries`
turns chosen rows of the table into :class:`lib.core.stats.SeedSummary` records
for the prose (mean and sample standard deviation over seeds), and
:func:`top_eigenvalues` reads each seed's largest Hessian eigenvalue.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch

from lib.core import checks
from lib.core.data import Splits
from lib.core.evaluate import evaluate
from lib.core.stats import SeedSummary, summarize_seeds
from lib.sharpness.hessian import top_hessian_eigenvalue

from .training import EVAL_CHUNK, SWARun

#: The final networks of a run, by attribute of :class:`lib.swa.training.SWARun`.
RESULT_MODELS = ("iterate", "average", "average_stale_bn", "ema")
#: Training metrics are read on the first 10,000 training images, as the grid engine does.
TRAIN_EVAL_SIZE = 10_000
#: The metrics the prose summarises over seeds, with their scale (accuracy in %).
SUMMARY_METRICS = (("test_acc", 100), ("test_loss", 1), ("train_loss", 1))

#: A table of :func:`metrics_table`: ``(plan name, network) -> {metric: (seeds,) array}``.
Table = Mapping[tuple[str, str], Mapping[str, np.ndarray]]


def run_metrics(run: SWARun, data: Splits) -> dict[str, dict[str, float]]:
    """Test loss and accuracy and training loss and accuracy of each final network of ``run``.

    Test metrics are read on all test images, training metrics on the first
    :data:`TRAIN_EVAL_SIZE` training images, in evaluation mode.

    Args:
        run (SWARun): from :func:`lib.swa.training.continue_run`.
        data (Splits): with a test split.

    Returns:
        dict: ``{network: {"test_loss", "test_acc", "train_loss", "train_acc": float}}`` for the
        networks of :data:`RESULT_MODELS` that exist; a diverged run gives NaN for
        ``iterate`` and ``average``.

    Raises:
        TypeError: ``run`` is not an ``SWARun``, ``data`` not a ``Splits``.
        ValueError: ``data`` has no test split.
    """
    if not isinstance(run, SWARun):
        raise TypeError(f"run must be a lib.swa.training.SWARun, got {type(run).__name__}")
    data = checks.splits(data, classification=True)
    if data.x_test is None:
        raise ValueError("data has no test split")
    out = {}
    x_train, y_train = data.x_train[:TRAIN_EVAL_SIZE], data.y_train[:TRAIN_EVAL_SIZE]
    for name in RESULT_MODELS:
        network = getattr(run, name)
        if run.diverged and name in ("iterate", "average"):
            out[name] = dict.fromkeys(("test_loss", "test_acc", "train_loss", "train_acc"), math.nan)
            continue
        if network is None:
            continue
        test_loss, test_acc = evaluate(network, data.x_test, data.y_test, chunk=EVAL_CHUNK)
        train_loss, train_acc = evaluate(network, x_train, y_train, chunk=EVAL_CHUNK)
        out[name] = {"test_loss": test_loss, "test_acc": test_acc, "train_loss": train_loss, "train_acc": train_acc}
    return out


def metrics_table(runs: Mapping[str, Sequence[SWARun]], data: Splits) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """:func:`run_metrics` for every run of ``runs`` (:attr:`lib.swa.training.Comparison.runs`), over seeds.

    Returns:
        dict: keys ``(plan name, network)``, e.g. ``("SWA, constant rate 0.5", "average")``;
        values map each metric to a float64 array with one entry per seed.

    Raises:
        TypeError: ``runs`` is not a non-empty dict of runs by plan name.
    """
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError("runs must be a dict of runs by plan name, such as compare(...).runs")
    table: dict[tuple[str, str], dict[str, list[float]]] = {}
    for name, seed_runs in runs.items():
        for run in seed_runs:
            for network, values in run_metrics(run, data).items():
                row = table.setdefault((name, network), {})
                for metric, value in values.items():
                    row.setdefault(metric, []).append(value)
    return {key: {m: np.array(v) for m, v in row.items()} for key, row in table.items()}


def seed_summaries(table: Table, rows: Mapping[str, tuple[str, str]]) -> list[SeedSummary]:
    """One :class:`~lib.core.stats.SeedSummary` per metric of :data:`SUMMARY_METRICS`, over chosen rows.

    The values are scaled before they are summarised (test accuracy in %), and
    labelled ``f"{name}_{metric}"``, so that ``lib.glue.seed_summary(prefix, summary)``
    glues ``{prefix}_{name}_{metric}`` (the mean over seeds) and ``..._std``
    (the sample standard deviation).

    Args:
        table (dict): from :func:`metrics_table`.
        rows (dict[str, tuple[str, str]]): a glue name -> a key of ``table``.

    Returns:
        list[SeedSummary]: test accuracy (%), test loss, training loss.

    Raises:
        TypeError: ``rows`` is not a non-empty dict.
        ValueError: a key not in the table; fewer than 2 seeds or a diverged run.
    """
    if not isinstance(rows, Mapping) or not rows:
        raise TypeError("rows must be a non-empty dict: name -> (plan name, network), a key of the table")
    for name, key in rows.items():
        if key not in table:
            raise ValueError(f"row {name!r}: {key!r} is not in the table; available: {sorted(table)}")
    return [summarize_seeds([scale * table[key][metric] for key in rows.values()],
                            [f"{name}_{metric}" for name in rows])
            for metric, scale in SUMMARY_METRICS]


def top_eigenvalues(runs: Sequence[SWARun], network: str, x: torch.Tensor, y: torch.Tensor, *,
                    iterations: int) -> np.ndarray:
    """The largest Hessian eigenvalue of the training loss at one final network of each run.

    Power iteration on Hessian-vector products
    (:func:`lib.sharpness.hessian.top_hessian_eigenvalue`), on the examples ``(x, y)``.

    Args:
        runs (list[SWARun]): e.g. one plan's runs, one per seed.
        network (str): which network of each run, a name in :data:`RESULT_MODELS`.
        x, y (Tensor): inputs (n, ...) and labels (n,).
        iterations (int): power iterations, >= 1.

    Returns:
        ndarray (len(runs),): float64 eigenvalues.

    Raises:
        TypeError: ``runs`` is not a non-empty list of ``SWARun``.
        ValueError: an unknown ``network``, or a run without it (diverged, or no average).
    """
    runs = list(runs) if isinstance(runs, Sequence) else runs
    if not isinstance(runs, list) or not runs or not all(isinstance(r, SWARun) for r in runs):
        raise TypeError("runs must be a non-empty list of lib.swa.training.SWARun")
    checks.choice(network, "network", RESULT_MODELS)
    models = [getattr(run, network) for run in runs]
    if any(model is None for model in models):
        raise ValueError(f"every run must have a final {network} network (none for a diverged run, "
                         "or a plan that does not keep it)")
    return np.array([top_hessian_eigenvalue(model, x, y, iterations=iterations) for model in models])
