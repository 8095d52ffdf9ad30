"""The gradient noise scale of McCandlish et al. (2018): how noisy a mini-batch gradient is.

A mini-batch gradient is the mean of ``B`` per-example gradients :math:`g_i`.
With :math:`G = \\mathbb E[g_i]` the true gradient and
:math:`\\Sigma = \\operatorname{Cov}[g_i]` the per-example covariance, the
batch gradient :math:`G_B` satisfies

.. math:: \\mathbb E\\,|G_B|^2 = |G|^2 + \\operatorname{tr}(\\Sigma)/B ,

so noise and signal are equal at the batch size

.. math:: B_{\\rm simple} = \\operatorname{tr}(\\Sigma) / |G|^2 ,

McCandlish et al.'s *simple noise scale* (their :math:`B_{\\rm noise} =
\\operatorname{tr}(H\\Sigma)/G^\\top H G` with the Hessian :math:`H` replaced by
the identity).  Their model of one SGD step on a quadratic gives the best step
size at batch size :math:`B`,

.. math:: \\epsilon_{\\rm opt}(B) = \\frac{\\epsilon_{\\max}}{1 + B_{\\rm noise}/B},

(:func:`optimal_step`): linear in :math:`B` for :math:`B \\ll B_{\\rm noise}`,
flat at :math:`\\epsilon_{\\max}` for :math:`B \\gg B_{\\rm noise}`.

Two estimators of :math:`B_{\\rm simple}`:

* **two batch sizes** (their Appendix A.1): the squared norms of gradients
  measured at :math:`B_{\\rm small} < B_{\\rm big}` give unbiased estimates of
  :math:`|G|^2` and :math:`\\operatorname{tr}\\Sigma` (:func:`two_batch_estimates`);
  each is smoothed by its own bias-corrected moving average
  (:func:`lib.core.stats.ema`) before the ratio is taken
  (:func:`smoothed_b_simple`), because the ratio of two noisy estimates is
  biased and the |G|^2 estimate of a single pair can be negative;
* **per-example gradients** (:func:`per_example_statistics`): ``torch.func.vmap``
  over ``torch.func.grad`` of a one-example loss gives every :math:`g_i` of a
  sample at once; their mean and scatter give the two quantities directly.

:mod:`lib.batch_size.noise_tracker` runs both during training;
:mod:`lib.batch_size.synthetic` checks both against a closed form.

The losses are the registry's (:mod:`lib.core.losses`), the ones the grid engine trains with.
This :math:`B_{\\rm simple}` is a batch size; it is not the SGD noise scale
:math:`g = \\epsilon N/B` of Smith and Le, which section 5 uses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, grad_and_value, vmap

from lib.core import checks, losses, stats
from lib.core.batches import (Batches, check_source, checked_loss, device_of, examples_in, functional,
                              one_example, trainable)
from lib.core.batches import objective as make_objective
from lib.core.loop import restored
from lib.core.params import parameters
from lib.core.timing import timed



# --------------------------------------------------------------------------- gradients

def _weights(model: nn.Module, params: dict | None) -> dict[str, torch.Tensor]:
    """The weights to differentiate at: ``params``, or the model's own (detached)."""
    checks.module(model)
    return parameters(model) if params is None else parameters(params, "params")


@timed("measuring")
def batch_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "cross_entropy",
                   params: dict | None = None) -> torch.Tensor:
    """The gradient of the mean loss over the batch (x, y), flattened to one vector.

    Args:
        model (nn.Module): the architecture (and, without ``params``, the weights).
        x (Tensor, (B, ...)): inputs.  y (Tensor, (B,) or (B, C)): targets.
        loss (str): a name in :data:`lib.core.losses.LOSSES`. Default ``"cross_entropy"``.
        params (dict, optional): name -> tensor weights used instead of the model's own,
            via ``torch.func.functional_call``; the model itself is not modified.

    Returns:
        Tensor (P,): the gradient, parameters in ``named_parameters()`` order.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``x``/``y`` not tensors or of the
            wrong dtype, ``params`` not a dict of tensors.
        ValueError: an unknown loss; data the model cannot take
            (:func:`lib.core.checks.examples`: row counts, shapes, label ranges, NaN).
    """
    mean = losses.get(loss).mean
    params = _weights(model, params)
    checks.examples(x, y, loss=loss, model=model)
    return flat_gradient(model, params, x, y, mean)


def flat_gradient(model: nn.Module, params: dict, x: torch.Tensor, y: torch.Tensor, mean) -> torch.Tensor:
    """:func:`batch_gradient` without its checks, for a caller that checked its data once
    (the noise-scale tracker, which takes hundreds of gradients on one data set);
    ``mean`` is the loss's :meth:`lib.core.losses.Loss.mean`."""
    def mean_loss(p):
        return mean(functional_call(model, p, (x,)), y)

    gradients = grad(mean_loss)(params)
    return torch.cat([g.reshape(-1) for g in gradients.values()])


def _per_example(model, params, x, y, mean):
    """(gradients {name: (n, ...)}, losses (n,)) of the n examples of (x, y): :func:`_example_gradients`
    with the objective ``mean(model(x), y)``."""
    return _example_gradients(model, params, {}, lambda m, batch: mean(m(batch[0]), batch[1]), (x, y))


def per_example_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "cross_entropy",
                          params: dict | None = None) -> torch.Tensor:
    """Every example's gradient.

    ``torch.func.grad`` differentiates the loss of *one* example with respect to
    the parameters and ``torch.func.vmap`` maps that over the batch axis, so the
    n gradients come out of one batched computation instead of n backward passes.
    Arguments as :func:`batch_gradient`.

    Returns:
        Tensor (n, P): row i is example i's gradient.

    Raises:
        As :func:`batch_gradient`.
    """
    mean = losses.get(loss).mean
    params = _weights(model, params)
    checks.examples(x, y, loss=loss, model=model)
    gradients, _ = _per_example(model, params, x, y, mean)
    return torch.cat([g.reshape(x.shape[0], -1) for g in gradients.values()], dim=1)


@dataclass(frozen=True)
class GradientStatistics:
    """Estimates of :math:`|G|^2` and :math:`\\operatorname{tr}\\Sigma`, and their ratio :math:`B_{\\rm simple}`.

    Attributes:
        g_squared (float): :math:`|G|^2`.
        trace_sigma (float): :math:`\\operatorname{tr}\\Sigma`.
        examples (int): examples (or draws) the estimate used; 0 for an exact value.
        loss (float): mean loss over the examples used, where known (else NaN).
    """

    g_squared: float
    trace_sigma: float
    examples: int = 0
    loss: float = float("nan")

    @property
    def b_simple(self) -> float:
        """:math:`\\operatorname{tr}\\Sigma / |G|^2`; NaN when it is not measurable (:attr:`not_measurable`)."""
        return float("nan") if self.not_measurable else self.trace_sigma / self.g_squared

    @property
    def not_measurable(self) -> str:
        """Why :attr:`b_simple` is not a number, or ``""``.  Both quantities are non-negative by
        definition, but their unbiased estimates are differences and can come out negative by
        sampling noise (early in training, say); a ratio of such estimates is not a noise scale."""
        if not self.g_squared > 0:
            return f"the |G|^2 estimate is not positive ({self.g_squared:.3g})"
        if not self.trace_sigma >= 0:
            return f"the tr(Sigma) estimate is negative ({self.trace_sigma:.3g})"
        return ""


@timed("measuring")
def per_example_statistics(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "cross_entropy",
                           params: dict | None = None, mean_gradient: torch.Tensor | None = None,
                           chunk: int = 512) -> GradientStatistics:
    """:math:`|G|^2` and :math:`\\operatorname{tr}\\Sigma` from the n per-example gradients of (x, y).

    Without ``mean_gradient`` both come from the sample alone, unbiased for
    examples drawn independently.  With :math:`\\bar g` the mean of
    :math:`g_1, \\dots, g_n`:

    .. math::
        \\widehat{\\operatorname{tr}\\Sigma} = \\frac{1}{n-1}\\sum_i |g_i - \\bar g|^2
        = \\frac{\\sum_i |g_i|^2 - n|\\bar g|^2}{n-1}, \\qquad
        \\widehat{|G|^2} = |\\bar g|^2 - \\widehat{\\operatorname{tr}\\Sigma}/n

    (the second because :math:`\\mathbb E|\\bar g|^2 = |G|^2 + \\operatorname{tr}\\Sigma/n`).
    When the true mean gradient :math:`G` is known (for a finite training set:
    the gradient of the loss over all of it, ``mean_gradient``), it is used
    as is, and :math:`\\operatorname{tr}\\Sigma = \\mathbb E|g|^2 - |G|^2` with
    :math:`\\mathbb E|g|^2` estimated by the sample mean of :math:`|g_i|^2`.

    Args:
        model, x, y, loss, params: as :func:`batch_gradient`; n = len(x) >= 2.
        mean_gradient (Tensor (P,), optional): the exact :math:`G` (from :func:`batch_gradient`
            over the whole training set).
        chunk (int): examples whose gradients are held at once (memory, not the result). Default 512.

    Returns:
        GradientStatistics: with ``examples`` = n and ``loss`` the mean loss of the sample.

    Raises:
        TypeError: as :func:`batch_gradient`; ``chunk`` not an int.
        ValueError: fewer than 2 examples; ``chunk`` < 1; a ``mean_gradient`` that is
            not a flat tensor of the P parameters.
    """
    mean = losses.get(loss).mean
    checks.tensors(x, y, minimum=2)
    chunk = checks.int_at_least(chunk, "chunk")
    n = x.shape[0]
    params = _weights(model, params)
    checks.examples(x, y, loss=loss, model=model)
    size = sum(p.numel() for p in params.values())
    if mean_gradient is not None:
        if not isinstance(mean_gradient, torch.Tensor) or mean_gradient.shape != (size,):
            raise ValueError(f"mean_gradient must be a flat tensor of the {size} parameters "
                             f"(from batch_gradient), got {getattr(mean_gradient, 'shape', mean_gradient)!r}")
    total = {name: torch.zeros_like(p, dtype=torch.float64) for name, p in params.items()}
    squared_norms = 0.0
    loss_sum = 0.0
    with torch.no_grad():
        for start in range(0, n, chunk):
            gradients, example_losses = _per_example(model, params, x[start:start + chunk],
                                                     y[start:start + chunk], mean)
            squared, losses_here = _sums(gradients, example_losses, total)
            squared_norms += squared
            loss_sum += losses_here
    if mean_gradient is not None:
        g_squared = float(mean_gradient.double().pow(2).sum())
        return GradientStatistics(g_squared=g_squared, trace_sigma=squared_norms / n - g_squared,
                                  examples=n, loss=loss_sum / n)
    mean_sq = sum(float((t / n).pow(2).sum()) for t in total.values())
    trace = (squared_norms - n * mean_sq) / (n - 1)
    return GradientStatistics(g_squared=mean_sq - trace / n, trace_sigma=trace, examples=n, loss=loss_sum / n)


# --------------------------------------------------------------------------- any model, any batches

def _example_gradients(model: nn.Module, params: dict, buffers: dict, fn, batch):
    """(gradients {name: (n, ...)}, losses (n,)) of the n examples of ``batch``: ``torch.func.vmap`` of
    ``grad_and_value`` of the objective on one example, every tensor of the batch split along dim 0."""
    def one(p, example):
        return fn(functional(model, p, buffers), one_example(example))

    return vmap(grad_and_value(one), in_dims=(None, 0))(params, batch)


def _sums(gradients: dict, example_losses: torch.Tensor, total: dict) -> tuple[float, float]:
    """Add the examples' gradients into ``total`` (float64); return (sum of |g_i|^2, sum of losses)."""
    squared = 0.0
    for name, g in gradients.items():                       # g: (n, *shape of the parameter)
        total[name] += g.sum(0, dtype=torch.float64)
        squared += float((g * g).sum(dtype=torch.float64))
    return squared, float(example_losses.sum(dtype=torch.float64))


def _pooled(sums: list[torch.Tensor], squares: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """(|G|^2, tr Sigma) of the pooled examples of the given batches (the unbiased pair of
    :func:`per_example_statistics`)."""
    n = float(counts.sum())
    mean_sq = float((torch.stack(sums).sum(0) / n).pow(2).sum())
    trace = (float(squares.sum()) - n * mean_sq) / (n - 1)
    return mean_sq - trace / n, trace


@dataclass(frozen=True)
class NoiseScale:
    """The gradient noise scale of a model on its batches (:func:`noise_scale`).

    Attributes:
        b_simple (float): :math:`\\operatorname{tr}\\Sigma/|G|^2`, examples; NaN if not measurable.
        standard_error (float): its delete-one-batch jackknife standard error, examples; infinite
            when leaving out some batch makes the estimate not measurable (too few batches).
        g_squared (float): the :math:`|G|^2` estimate.  trace_sigma (float): the
            :math:`\\operatorname{tr}\\Sigma` estimate.
        per_batch (ndarray, (N,)): the estimate left out one batch at a time (the jackknife's replicates).
        method (str): ``"per_example"`` or ``"two_batch"``.
        batches (int): batches used, N.  examples (int): examples used.
        loss (float): the mean loss over them.
    """

    b_simple: float
    standard_error: float
    g_squared: float
    trace_sigma: float
    per_batch: np.ndarray
    method: str
    batches: int
    examples: int
    loss: float

    @property
    def not_measurable(self) -> str:
        """Why :attr:`b_simple` is NaN (an estimate of |G|^2 that is not positive, or of tr Sigma that is
        negative, by sampling noise), or ``""`` (:attr:`GradientStatistics.not_measurable`)."""
        return GradientStatistics(self.g_squared, self.trace_sigma).not_measurable

    def batch_range(self, overhead: float = 2.0) -> tuple[float, float]:
        """The batch sizes at which training needs at most ``1 + overhead`` times the fewest
        steps and at most ``1 + overhead`` times the fewest examples.

        McCandlish et al.'s model (their eq. 2.11) gives, at batch size B,
        :math:`S/S_{\\min} = 1 + B_{\\rm noise}/B` steps and
        :math:`E/E_{\\min} = 1 + B/B_{\\rm noise}` examples; both overheads stay within
        ``overhead`` for :math:`B_{\\rm noise}/\\text{overhead} \\le B \\le \\text{overhead}\\,B_{\\rm noise}`.
        :math:`B_{\\rm simple}` stands in for :math:`B_{\\rm noise}` (equal when the
        Hessian is a multiple of the identity; McCandlish et al. find the two close in practice).

        Args:
            overhead (float): > 0 (1: exactly B_simple). Default 2 (at most 3 times the fewest).

        Returns:
            (low, high): batch sizes in examples; NaN when B_simple is not measurable.
        """
        overhead = checks.positive(overhead, "overhead")
        return self.b_simple / overhead, self.b_simple * overhead


NOISE_METHODS = ("per_example", "two_batch")


@timed("measuring")
def noise_scale(model: nn.Module, batches, *, loss=None, objective=None, inputs=None, target=None,
                n_batches: int = 10, method: str = "per_example", b_small: int | None = None) -> NoiseScale:
    """The simple noise scale :math:`B_{\\rm simple} = \\operatorname{tr}\\Sigma/|G|^2` of any model on
    its batches (McCandlish et al. 2018), with a jackknife standard error.

    The gradients are those of the objective with the model in evaluation mode (dropout
    off, batch norm on its running statistics, which are not touched): a per-example
    gradient needs a loss of one example alone.  For a model without dropout or batch
    norm that is the training gradient.

    * ``"per_example"``: every example's gradient by ``torch.func`` (``vmap`` over
      ``grad`` of the objective on one example); over the n examples of the
      ``n_batches`` batches, :math:`\\widehat{\\operatorname{tr}\\Sigma} =
      (\\sum_i |g_i|^2 - n|\\bar g|^2)/(n-1)` and :math:`\\widehat{|G|^2} = |\\bar g|^2 -
      \\widehat{\\operatorname{tr}\\Sigma}/n`, both unbiased (:func:`per_example_statistics`).
      Every tensor of a batch must hold the examples along dim 0, and the objective
      must call the model as ``model(...)``.
    * ``"two_batch"``: per batch, the gradient of the whole batch (:math:`B_{\\rm big}`
      examples) and of its first ``b_small`` examples give McCandlish et al.'s unbiased pair
      (their Appendix A.1, :func:`two_batch_estimates`); the pairs are averaged over batches.

    :math:`B_{\\rm simple}` is the ratio of the two averages; its standard error is the
    delete-one-batch jackknife's, :math:`\\sqrt{\\tfrac{N-1}{N}\\sum_j (B_{(-j)} - \\bar B_{(\\cdot)})^2}`.

    Args:
        model (nn.Module): the network (its trainable parameters are differentiated).
        batches (iterable): batches as :func:`lib.core.batches.objective` takes them; the first
            ``n_batches`` are used (started again if it runs out).
        loss, objective, inputs, target: the objective (:func:`lib.core.batches.objective`).
        n_batches (int): batches, >= 2. Default 10.
        method (str): ``"per_example"`` or ``"two_batch"``. Default ``"per_example"``.
        b_small (int, optional): the small batch of ``"two_batch"``, >= 1 and below every batch's
            size. Default: an eighth of the first batch (the estimate is far noisier than the
            per-example one, which uses every example's gradient, and noisier still as
            ``b_small`` approaches the batch).

    Returns:
        NoiseScale: B_simple, its standard error, |G|^2 and tr Sigma, and a suggested batch range.

    Raises:
        TypeError: as :func:`lib.core.batches.objective`; ``model`` not a module.
        ValueError: no trainable parameter, empty batches, a batch the objective cannot take,
            ``n_batches`` < 2, an unknown method, a batch of one example (per-example: with
            fewer than 2 examples in all), ``b_small`` not below a batch's size.
    """
    trainable(model)
    n_batches = checks.integer(n_batches, "n_batches", minimum=2)
    checks.choice(method, "method", NOISE_METHODS)
    fn = make_objective(loss, objective, inputs=inputs, target=target)
    check_source(batches)
    params = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    buffers = {name: b.detach() for name, b in model.named_buffers()}
    stream = Batches(batches, device_of(model))
    modes = [m.training for m in model.modules()]
    model.eval()
    sums, squares, counts, losses, small_sq, big_sq = [], [], [], [], [], []
    try:
        with restored(model):
            for j in range(n_batches):
                batch = stream.next()
                n = examples_in(batch)
                if j == 0:
                    with torch.no_grad():
                        checked_loss(fn, model, batch)
                    if method == "two_batch":
                        b_small = max(1, n // 8) if b_small is None else b_small
                if method == "per_example":
                    total = {name: torch.zeros_like(p, dtype=torch.float64) for name, p in params.items()}
                    gradients, example_losses = _example_gradients(model, params, buffers, fn, batch)
                    squared, loss_sum = _sums(gradients, example_losses, total)
                    sums.append(torch.cat([t.reshape(-1) for t in total.values()]))
                    squares.append(squared)
                    losses.append(loss_sum)
                else:
                    b_small, b_big = checks.two_batch_sizes(b_small, n)
                    small = torch.utils._pytree.tree_map(
                        lambda t: t[:b_small] if isinstance(t, torch.Tensor) and t.dim() else t, batch)

                    def mean_loss(p, part):
                        return fn(functional(model, p, buffers), part)

                    g_big, value = grad_and_value(mean_loss)(params, batch)
                    g_small = grad(mean_loss)(params, small)
                    big_sq.append(sum(float(g.double().pow(2).sum()) for g in g_big.values()))
                    small_sq.append(sum(float(g.double().pow(2).sum()) for g in g_small.values()))
                    losses.append(float(value) * n)
                counts.append(n)
    finally:
        for m, mode in zip(model.modules(), modes):
            m.training = mode
    counts_arr = np.array(counts, dtype=np.float64)
    if method == "per_example":
        if counts_arr.sum() < 2:
            raise ValueError("the per-example noise scale needs at least 2 examples in all")
        squares_arr = np.array(squares)

        def estimate(keep):
            return _pooled([sums[j] for j in keep], squares_arr[keep], counts_arr[keep])
    else:
        pairs = [two_batch_estimates([s], [b], b_small, n) for s, b, n in zip(small_sq, big_sq, counts)]
        g2 = np.array([pair[0][0] for pair in pairs])        # each batch with its own B_big
        tr = np.array([pair[1][0] for pair in pairs])

        def estimate(keep):
            return float(np.mean(g2[keep])), float(np.mean(tr[keep]))
    everything = np.arange(len(counts))
    g_squared, trace = estimate(everything)
    point = GradientStatistics(g_squared, trace).b_simple
    replicates = np.array([GradientStatistics(*estimate(np.delete(everything, j))).b_simple
                           for j in everything])
    N = len(counts)
    if np.isfinite(replicates).all():
        standard_error = float(np.sqrt((N - 1) / N * np.sum((replicates - replicates.mean()) ** 2)))
    else:   # leaving out some batch leaves no measurable estimate: too unstable to put a bound on
        standard_error = math.inf
    return NoiseScale(b_simple=point, standard_error=standard_error, g_squared=g_squared, trace_sigma=trace,
                      per_batch=replicates, method=method, batches=N, examples=int(counts_arr.sum()),
                      loss=float(np.sum(losses) / counts_arr.sum()))


# --------------------------------------------------------------------------- two batch sizes

def two_batch_estimates(small_sq_norm, big_sq_norm, b_small: int, b_big: int) -> tuple[np.ndarray, np.ndarray]:
    """McCandlish et al.'s unbiased estimates from gradient norms at two batch sizes (their Appendix A.1).

    From :math:`\\mathbb E|G_B|^2 = |G|^2 + \\operatorname{tr}\\Sigma/B` at
    :math:`B_{\\rm small}` and :math:`B_{\\rm big}`:

    .. math::
        |\\mathcal G|^2 = \\frac{B_{\\rm big}|G_{B_{\\rm big}}|^2 - B_{\\rm small}|G_{B_{\\rm small}}|^2}
                              {B_{\\rm big} - B_{\\rm small}}, \\qquad
        \\mathcal S = \\frac{|G_{B_{\\rm small}}|^2 - |G_{B_{\\rm big}}|^2}{1/B_{\\rm small} - 1/B_{\\rm big}} .

    Args:
        small_sq_norm, big_sq_norm (array-like, (T,)): squared gradient norms at the two batch sizes.
        b_small, b_big (int): the batch sizes (examples), ``b_small < b_big``.

    Returns:
        (g_squared, trace_sigma): two float64 arrays (T,), one estimate per pair of norms.

    Raises:
        TypeError: a batch size that is not an int.
        ValueError: batch sizes < 1 or not increasing; norms of different or zero
            length, negative or not finite.
    """
    b_small, b_big = checks.two_batch_sizes(b_small, b_big)
    small = np.atleast_1d(np.asarray(small_sq_norm, dtype=np.float64))
    big = np.atleast_1d(np.asarray(big_sq_norm, dtype=np.float64))
    if small.shape != big.shape or small.ndim != 1 or small.size == 0:
        raise ValueError(f"small_sq_norm and big_sq_norm must be equally long non-empty sequences, "
                         f"got shapes {small.shape} and {big.shape}")
    if not (np.isfinite(small).all() and np.isfinite(big).all()) or (small < 0).any() or (big < 0).any():
        raise ValueError("squared norms must be finite and >= 0")
    g_squared = (b_big * big - b_small * small) / (b_big - b_small)
    trace = (small - big) / (1.0 / b_small - 1.0 / b_big)
    return g_squared, trace


def smoothed_b_simple(g_squared, trace_sigma, decay: float) -> np.ndarray:
    """:math:`B_{\\rm simple}` as the ratio of the two separately smoothed estimates.

    Each series goes through the bias-corrected moving average
    :func:`lib.core.stats.ema` with factor ``decay`` (0: no smoothing), then
    :math:`\\overline{\\mathcal S}_t / \\overline{|\\mathcal G|^2}_t` is taken
    (McCandlish et al., Appendix A.1).

    Args:
        g_squared, trace_sigma (array-like, (T,)): per-measurement estimates
            (from :func:`two_batch_estimates`).
        decay (float): the moving average's factor in [0, 1).

    Returns:
        ndarray (T,): the smoothed ratio; NaN (not measurable) where the smoothed
        :math:`|G|^2` is not positive or the smoothed :math:`\\operatorname{tr}\\Sigma` is negative.

    Raises:
        TypeError: ``decay`` is not a number.
        ValueError: ``decay`` outside [0, 1); series of different or zero length, or not finite.
    """
    decay = checks.fraction(decay, "decay")
    g_squared = np.asarray(g_squared, dtype=np.float64)
    trace_sigma = np.asarray(trace_sigma, dtype=np.float64)
    if g_squared.shape != trace_sigma.shape or g_squared.ndim != 1 or g_squared.size == 0:
        raise ValueError(f"g_squared and trace_sigma must be equally long non-empty 1-D sequences, "
                         f"got shapes {g_squared.shape} and {trace_sigma.shape}")
    g_smooth = stats.ema(g_squared, decay)
    trace_smooth = stats.ema(trace_sigma, decay)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((g_smooth > 0) & (trace_smooth >= 0), trace_smooth / g_smooth, np.nan)


# --------------------------------------------------------------------------- the best step

def optimal_step(batch_size, eps_max: float, b_noise: float):
    """McCandlish et al.'s best step of SGD at batch size B: :math:`\\epsilon_{\\max} / (1 + B_{\\rm noise}/B)`.

    On a quadratic loss with Hessian :math:`H`, one step of size :math:`\\epsilon`
    along the noisy gradient :math:`G_B` lowers the loss in expectation the most at
    :math:`\\epsilon_{\\rm opt}(B) = \\epsilon_{\\max}/(1 + B_{\\rm noise}/B)`, with
    :math:`\\epsilon_{\\max} = |G|^2/G^\\top H G` and
    :math:`B_{\\rm noise} = \\operatorname{tr}(H\\Sigma)/G^\\top H G`
    (McCandlish et al. 2018, section 2).

    Args:
        batch_size (float or array-like): batch sizes B (examples) > 0.
        eps_max (float): the best step without noise (per update), > 0.
        b_noise (float): the noise scale (examples), > 0.

    Returns:
        float, or ndarray of ``batch_size``'s shape: the best step at each B.

    Raises:
        TypeError: ``eps_max`` or ``b_noise`` is not a number.
        ValueError: any of them is not finite and > 0.
    """
    eps_max = checks.positive(eps_max, "eps_max")
    b_noise = checks.positive(b_noise, "b_noise")
    b = checks.positive_values(batch_size, "batch_size")
    result = eps_max / (1.0 + b_noise / b)
    return float(result) if result.ndim == 0 else result
