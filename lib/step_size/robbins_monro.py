"""The Robbins–Monro conditions on a step-size sequence, checked numerically (section 1).

Robbins and Monro (1951) showed that stochastic approximation converges when
the step sizes :math:`\\eta_k` satisfy

.. math:: \\sum_{k=1}^\\infty \\eta_k = \\infty \\qquad\\text{and}\\qquad \\sum_{k=1}^\\infty \\eta_k^2 < \\infty .

The first lets the steps travel any distance; the second makes the noise they
inject add up to something finite.  Both are statements about *sums*: they say
nothing about how large any single :math:`\\eta_k` may be.

:func:`sequence` builds the families :math:`\\eta_k = c`, :math:`c/k`,
:math:`c/\\sqrt k` and :math:`c/k^2`; :func:`partial_sums` returns
:math:`S_1(K) = \\sum_{k \\le K} \\eta_k` and :math:`S_2(K) = \\sum_{k \\le K} \\eta_k^2`.
"""
from __future__ import annotations

import numpy as np

from lib.core import checks

SEQUENCES = {
    "constant": lambda k: np.ones_like(k),
    "1/k": lambda k: 1.0 / k,
    "1/sqrt(k)": lambda k: 1.0 / np.sqrt(k),
    "1/k^2": lambda k: 1.0 / k**2,
}
LATEX = {"constant": "c", "1/k": "c/k", "1/sqrt(k)": "c/\\sqrt{k}", "1/k^2": "c/k^2"}


def sequence(name: str, length: int, scale: float = 1.0) -> np.ndarray:
    """:math:`\\eta_1, \\dots, \\eta_K` for one of :data:`SEQUENCES`, times ``scale`` (:math:`c`)."""
    checks.choice(name, "sequence", SEQUENCES)
    length = checks.integer(length, "length", minimum=1)
    scale = checks.positive(scale, "scale")
    k = np.arange(1, length + 1, dtype=np.float64)
    return scale * SEQUENCES[name](k)


def partial_sums(etas) -> tuple[np.ndarray, np.ndarray]:
    """:math:`(S_1(K), S_2(K))` for every :math:`K = 1 \\dots` ``len(etas)`` (cumulative sums in float64)."""
    etas = np.asarray(etas, dtype=np.float64)
    if etas.ndim != 1 or etas.size == 0:
        raise ValueError(f"etas must be a non-empty 1-D sequence, got shape {etas.shape}")
    if not np.isfinite(etas).all() or (etas <= 0).any():
        raise ValueError("etas must be finite and > 0")
    return np.cumsum(etas), np.cumsum(etas**2)


def sequence_sums(length: int, scale: float = 1.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`partial_sums` of every sequence of :data:`SEQUENCES` up to ``length`` terms: ``{name: (S_1, S_2)}``."""
    return {name: partial_sums(sequence(name, length, scale)) for name in SEQUENCES}


def growth(sums: np.ndarray, start: int, stop: int) -> float:
    """How much a partial sum still grows between ``K = start`` and ``K = stop``: :math:`S(stop) - S(start)`.

    A convergent series' growth over a late stretch tends to zero; a divergent
    series keeps growing by a fixed amount or more per decade of :math:`K`.
    """
    sums = np.asarray(sums, dtype=np.float64)
    if sums.ndim != 1:
        raise ValueError("sums must be 1-D")
    start, stop = checks.integer(start, "start"), checks.integer(stop, "stop")
    if not 1 <= start < stop <= len(sums):
        raise ValueError(f"need 1 <= start < stop <= {len(sums)}, got start={start}, stop={stop}")
    return float(sums[stop - 1] - sums[start - 1])


# --------------------------------------------------------------------------- the conditions in practice (section 3)

def noisy_quadratic_sgd(rates, *, curvature: float = 1.0, noise: float = 1.0, start: float = 1.0,
                        runs: int = 1000, seed: int = 0) -> np.ndarray:
    """Mean loss of ``runs`` independent SGD runs on a quadratic with noisy gradients.

    The loss is :math:`L(w) = \\tfrac12 \\lambda w^2` (``curvature`` :math:`\\lambda`) and the
    gradient that SGD sees is :math:`\\lambda w_k + \\sigma \\xi_k` with independent
    :math:`\\xi_k \\sim \\mathcal N(0, 1)` (``noise`` :math:`\\sigma`), the simplest model of
    mini-batch noise.  Step :math:`k` uses ``rates[k]``.  Returns the average of
    :math:`L(w_k)` over the runs for :math:`k = 0, \\dots, K` (``len(rates) + 1`` values),
    all runs starting at ``start``.
    """
    rates = checks.rates(rates, "rates", allow_zero=True)
    curvature = checks.positive(curvature, "curvature")
    noise = checks.positive(noise, "noise")
    start = checks.number(start, "start")
    runs, seed = checks.integer(runs, "runs", minimum=1), checks.seed(seed)
    generator = np.random.default_rng(seed)
    w = np.full(runs, start)
    losses = np.empty(len(rates) + 1)
    losses[0] = 0.5 * curvature * start ** 2
    chunk = 1024
    for begin in range(0, len(rates), chunk):
        xi = generator.standard_normal((min(chunk, len(rates) - begin), runs))
        for offset, eta in enumerate(rates[begin:begin + chunk]):
            w -= eta * (curvature * w + noise * xi[offset])
            losses[begin + offset + 1] = 0.5 * curvature * np.mean(w * w)
    return losses


def expected_quadratic_loss(rates, *, curvature: float = 1.0, noise: float = 1.0,
                            start: float = 1.0) -> np.ndarray:
    """The exact expectation of what :func:`noisy_quadratic_sgd` averages, :math:`k = 0, \\dots, K`.

    The second moment :math:`m_k = \\mathbb E[w_k^2]` obeys
    :math:`m_{k+1} = (1 - \\eta_k\\lambda)^2 m_k + \\eta_k^2\\sigma^2`, and
    :math:`\\mathbb E[L(w_k)] = \\tfrac12 \\lambda m_k`.
    """
    rates = checks.rates(rates, "rates", allow_zero=True)
    curvature = checks.positive(curvature, "curvature")
    noise = checks.positive(noise, "noise")
    start = checks.number(start, "start")
    moments = np.empty(len(rates) + 1)
    moments[0] = start ** 2
    for k, eta in enumerate(rates):
        moments[k + 1] = (1.0 - eta * curvature) ** 2 * moments[k] + (eta * noise) ** 2
    return 0.5 * curvature * moments


def noise_floor(lr: float, *, curvature: float = 1.0, noise: float = 1.0) -> float:
    """Where a constant rate stalls: the fixed point of :func:`expected_quadratic_loss`.

    :math:`m^* = (1 - \\eta\\lambda)^2 m^* + \\eta^2\\sigma^2` gives
    :math:`\\mathbb E[L] = \\tfrac12\\lambda m^* = \\eta\\sigma^2 / (2(2 - \\eta\\lambda))`, which exists
    for :math:`0 < \\eta\\lambda < 2` and shrinks in proportion to :math:`\\eta` when :math:`\\eta` is small.
    """
    lr = checks.positive(lr, "lr")
    curvature = checks.positive(curvature, "curvature")
    noise = checks.positive(noise, "noise")
    if lr * curvature >= 2:
        raise ValueError(f"a constant rate has a noise floor only for lr * curvature < 2, "
                         f"got {lr:g} * {curvature:g} = {lr * curvature:g}")
    return lr * noise**2 / (2.0 * (2.0 - lr * curvature))
