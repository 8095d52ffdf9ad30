"""The sub-page's figures draw from finished records, with labelled axes."""
from __future__ import annotations

import numpy as np

from lib.batch_size import figures_further, loss_per_step
from lib.batch_size.noise_scale_variants import MeasuredNoise


def toy_result() -> loss_per_step.LossPerStep:
    """A LossPerStep of exact parabolas E dL = eps |G|^2 - eps^2/2 (c + s/B), with a little scatter over draws."""
    rng = np.random.default_rng(0)
    sizes = np.array([8.0, 32, 128, 512])
    rates = np.geomspace(0.01, 2, 20)
    curves = rates * 1.0 - rates ** 2 / 2 * (2.0 + 200.0 / sizes[:, None])
    decrease = curves[:, None, :] + 0.001 * rng.standard_normal((4, 6, 20))
    measured = loss_per_step.StepDecreases(sizes, rates, decrease, 2.0, 1000, 1.0)
    return loss_per_step.analyse(measured, resamples=20)


def record(label, n, values) -> MeasuredNoise:
    k = len(values)
    return MeasuredNoise(label, n, tuple(range(k)), np.full(k, 50), np.full(k, 0.5), np.ones(k, bool),
                         np.array(values, dtype=float), np.ones(k), np.ones(k))


def test_every_figure_draws_with_labelled_axes():
    import matplotlib.pyplot as plt

    result = toy_result()
    tasks = [record(v, 1000, [50, 60, 70]) for v in ("easier", "standard", "harder")]
    sizes = [record(f"N={n}", n, [40, 55, 60]) for n in (1000, 5000)]
    drawn = [figures_further.loss_per_step_figure(result), figures_further.variants_figure(tasks, sizes),
             figures_further.bridge_figure([8, 32, 128, 512], 0.5, 100.0, 55_000, (80.0, 120.0))]
    for fig in drawn:
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel()
        plt.close(fig)
