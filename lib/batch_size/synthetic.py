"""The ground truth for the noise-scale estimators: a linear regression whose :math:`G` and :math:`\\Sigma` are known.

:func:`linear_regression_moments` derives the exact mean and covariance of the
per-example gradient of a linear regression with Gaussian inputs;
:func:`synthetic_check` runs both estimators of :mod:`.gradient_noise` on data
drawn from that model and returns them beside the truth (:class:`SyntheticCheck`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lib.core import checks, stats
from lib.core.device import seeded_generator

from .gradient_noise import GradientStatistics, per_example_gradients, per_example_statistics, two_batch_estimates


def linear_regression_moments(w, w_star, cov, noise_std: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean :math:`G` and covariance :math:`\\Sigma` of the per-example gradient of a linear regression.

    Model and data: :math:`x \\sim \\mathcal N(0, C)`, :math:`y = w_*^\\top x + \\varepsilon`
    with :math:`\\varepsilon \\sim \\mathcal N(0, \\sigma^2)` independent of :math:`x`;
    the loss of one example is the registry's ``mse``, :math:`\\ell = (w^\\top x - y)^2`.

    Derivation.  With :math:`\\delta = w - w_*` the residual is
    :math:`r = x^\\top\\delta - \\varepsilon` and the gradient
    :math:`g = 2 r x = 2(x x^\\top \\delta - \\varepsilon x)`.  Its mean is
    :math:`G = 2 C \\delta`.  For the second moment, Isserlis' theorem for a
    zero-mean Gaussian, :math:`\\mathbb E[x_i x_j x_k x_l] = C_{ij}C_{kl} + C_{ik}C_{jl} + C_{il}C_{jk}`,
    gives :math:`\\mathbb E[(x^\\top\\delta)^2 x x^\\top] = (\\delta^\\top C \\delta)\\, C + 2\\, C\\delta\\delta^\\top C`;
    the cross term has :math:`\\mathbb E\\varepsilon = 0`, and
    :math:`\\mathbb E[\\varepsilon^2 x x^\\top] = \\sigma^2 C`.  So

    .. math::
        \\mathbb E[g g^\\top] = 4\\big[(\\delta^\\top C\\delta + \\sigma^2)\\, C + 2\\, C\\delta\\delta^\\top C\\big],
        \\qquad
        \\Sigma = \\mathbb E[g g^\\top] - G G^\\top = 4\\big[(\\delta^\\top C\\delta + \\sigma^2)\\, C + C\\delta\\delta^\\top C\\big].

    Hence :math:`B_{\\rm simple} = \\operatorname{tr}\\Sigma / |G|^2 =
    \\big[(\\delta^\\top C\\delta + \\sigma^2)\\operatorname{tr} C + |C\\delta|^2\\big] / |C\\delta|^2`.

    Args:
        w, w_star (array-like, (d,)): the weights and the teacher's weights.
        cov (array-like, (d, d)): the input covariance C, symmetric positive definite.
        noise_std (float): the label noise :math:`\\sigma` >= 0.

    Returns:
        (G, Sigma): ndarrays (d,) and (d, d).

    Raises:
        ValueError: vectors of different lengths; ``cov`` of the wrong shape, not
            symmetric or not positive definite; ``noise_std`` negative or not finite.
    """
    w = np.asarray(w, dtype=np.float64)
    w_star = np.asarray(w_star, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    if w.ndim != 1 or w.shape != w_star.shape:
        raise ValueError(f"w and w_star must be vectors of the same length, got {w.shape} and {w_star.shape}")
    d = w.shape[0]
    if cov.shape != (d, d) or not np.allclose(cov, cov.T):
        raise ValueError(f"cov must be a symmetric ({d}, {d}) matrix, got shape {cov.shape}")
    if np.linalg.eigvalsh(cov)[0] <= 0:
        raise ValueError("cov must be positive definite")
    noise_std = checks.non_negative(noise_std, "noise_std")
    delta = w - w_star
    c_delta = cov @ delta
    gradient = 2.0 * c_delta
    sigma = 4.0 * ((delta @ c_delta + noise_std**2) * cov + np.outer(c_delta, c_delta))
    return gradient, sigma


@dataclass(frozen=True)
class SyntheticCheck:
    """Both estimators against the exact :math:`|G|^2`, :math:`\\operatorname{tr}\\Sigma` and :math:`B_{\\rm simple}`.

    Attributes:
        exact, per_example, two_batch (GradientStatistics): the truth and the two estimates.
        b_small, b_big (int): the two-batch estimator's batch sizes (examples).
        draws (int): pairs of batches of the two-batch estimate.
        examples (int): examples of the per-example estimate.
        dim (int): input dimension d.
        noise_std (float): label noise :math:`\\sigma`.
        cov_diagonal (tuple of d floats): the input variances.
    """

    exact: GradientStatistics
    per_example: GradientStatistics
    two_batch: GradientStatistics
    b_small: int
    b_big: int
    draws: int
    examples: int
    dim: int
    noise_std: float
    cov_diagonal: tuple[float, ...]

    def relative_errors(self) -> dict[str, dict[str, float]]:
        """``{"per_example"|"two_batch": {"g_squared"|"trace_sigma"|"b_simple": |estimate/exact - 1|}}``."""
        out = {}
        for name, estimate in (("per_example", self.per_example), ("two_batch", self.two_batch)):
            out[name] = {key: abs(getattr(estimate, key) / getattr(self.exact, key) - 1.0)
                         for key in ("g_squared", "trace_sigma", "b_simple")}
        return out

    @property
    def worst_error(self) -> float:
        """The largest of :meth:`relative_errors`."""
        return max(max(errors.values()) for errors in self.relative_errors().values())


def synthetic_check(*, dim: int = 8, examples: int = 100_000, b_small: int = 8, b_big: int = 256,
                    draws: int = 4000, decay: float = 0.9995, noise_std: float = 0.5, seed: int = 0) -> SyntheticCheck:
    """Estimate :math:`B_{\\rm simple}` of a synthetic linear regression both ways and return them beside the truth.

    Inputs :math:`x \\sim \\mathcal N(0, C)` with :math:`C` diagonal from 0.5 to 2,
    :math:`w_* = 0`, and the weights held at a fixed :math:`w \\ne w_*` (drawn
    from ``seed``).  The per-example estimate uses ``examples`` fresh examples;
    the two-batch estimate uses ``draws`` pairs of batches, each a fresh sample
    of ``b_big`` examples whose first ``b_small`` form the small batch, smoothed
    by :func:`lib.core.stats.ema` with ``decay`` (the last smoothed values are reported).

    Args:
        dim (int): input dimension. Default 8.
        examples (int): examples of the per-example estimate, >= 2. Default 100,000.
        b_small, b_big (int): the two batch sizes (examples). Default 8, 256.
        draws (int): pairs of batches. Default 4,000.
        decay (float): the moving average's factor in [0, 1). Default 0.9995.
        noise_std (float): label noise. Default 0.5.
        seed (int): seed of every draw. Default 0.

    Returns:
        SyntheticCheck.

    Raises:
        TypeError: a count or the seed is not an int.
        ValueError: a value out of range (see Args).
    """
    dim = checks.int_at_least(dim, "dim")
    examples = checks.int_at_least(examples, "examples", 2)
    draws = checks.int_at_least(draws, "draws")
    b_small, b_big = checks.two_batch_sizes(b_small, b_big)
    checks.fraction(decay, "decay")
    generator = seeded_generator(checks.seed(seed))
    cov = np.diag(np.linspace(0.5, 2.0, dim))
    w_star = np.zeros(dim)
    w = torch.randn(dim, generator=generator, dtype=torch.float64).numpy()
    gradient, sigma = linear_regression_moments(w, w_star, cov, noise_std)
    exact = GradientStatistics(float(gradient @ gradient), float(np.trace(sigma)))

    model = nn.Linear(dim, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.as_tensor(w).view(1, dim))
    scale = torch.as_tensor(np.sqrt(np.diag(cov)))

    def sample(n):
        x = torch.randn(n, dim, generator=generator, dtype=torch.float64) * scale          # (n, d)
        y = x @ torch.as_tensor(w_star) + noise_std * torch.randn(n, generator=generator, dtype=torch.float64)
        return x, y.view(n, 1)                                                              # (n, d), (n, 1)

    per_example = per_example_statistics(model, *sample(examples), loss="mse", chunk=8192)
    # All draws at once: a batch gradient is the mean of its examples' gradients.
    x, y = sample(draws * b_big)
    gradients = per_example_gradients(model, x, y, loss="mse").view(draws, b_big, dim)     # (draws, b_big, d)
    big = gradients.mean(1).pow(2).sum(1).numpy()
    small = gradients[:, :b_small].mean(1).pow(2).sum(1).numpy()
    g_squared, trace = two_batch_estimates(small, big, b_small, b_big)
    two_batch = GradientStatistics(float(stats.ema(g_squared, decay)[-1]), float(stats.ema(trace, decay)[-1]),
                                   examples=draws)
    return SyntheticCheck(exact, per_example, two_batch, b_small, b_big, draws, examples, dim, float(noise_std),
                          tuple(float(c) for c in np.diag(cov)))
