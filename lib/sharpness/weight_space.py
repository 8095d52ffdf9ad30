"""Looking at the loss along lines through weight space.

A network's loss lives in tens of thousands of dimensions; a line through two
weight vectors, or through one weight vector along a chosen direction, is a view
a reader can plot:

* :func:`interpolate`: Goodfellow et al.'s (2015) linear path, used by Keskar
  et al. (2017, their figure 3) between a small-batch and a large-batch
  solution, :math:`\\theta(\\alpha) = \\alpha\\,\\theta_b + (1 - \\alpha)\\,\\theta_a`;
* :func:`filter_normalized_direction` and :func:`losses_along_line`: Li et al.'s
  (2018) random direction, rescaled filter by filter to the size of the
  weights it perturbs, so that valleys of networks with different weight
  scales can be compared; the loss at :math:`\\theta + \\alpha d`;
* :func:`weight_distance`: how far training moved the weights,
  :math:`\\|\\theta - \\theta_0\\|_2`.
* :func:`parametric_figure` draws Keskar's plot; :class:`BatchSizeExplorer`
  (over a :class:`SolutionBank` of trained networks) lets a reader pick the two
  batch sizes.

Every point of a line is one set of weights; all of them are evaluated in one
stacked pass with :func:`lib.train.evaluate_stacked` (one forward computation
for the whole line, in evaluation mode).
"""
from __future__ import annotations

import html
import math
from numbers import Integral

import numpy as np
import torch
from torch import nn

from lib.core.device import seeded_generator
from lib.core.evaluate import evaluate_stacked
from lib.core.losses import LOSSES


def _parameters(model, what: str = "model") -> dict[str, torch.Tensor]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{what} must be a torch.nn.Module, got {type(model).__name__}")
    params = {name: p.detach() for name, p in model.named_parameters()}
    if not params:
        raise ValueError(f"{what} has no parameters; pass a network with at least one parameter")
    return params


def _check_same_shape(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], what: str) -> None:
    if list(a) != list(b) or any(a[k].shape != b[k].shape for k in a):
        raise ValueError(f"{what} must have the same parameter names and shapes as model_a "
                         "(the same architecture)")


def _check_alphas(alphas) -> torch.Tensor:
    try:
        values = np.asarray(alphas, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"alphas must be a sequence of numbers, got {alphas!r}") from None
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("alphas must be a non-empty sequence of finite numbers")
    return torch.as_tensor(values)


def _check_loss(loss) -> None:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")


def _check_batch(x, y) -> None:
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"x and y must be torch.Tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.shape[0] == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must hold the same number (>= 1) of examples, "
                         f"got {x.shape[0]} and {y.shape[0]}")


def _stacked_buffers(model: nn.Module, count: int) -> dict[str, torch.Tensor]:
    return {n: b.detach().unsqueeze(0).expand(count, *b.shape) for n, b in model.named_buffers()}


def _evaluate_points(model, stacked, buffers, x, y, loss, chunk) -> tuple[np.ndarray, np.ndarray]:
    count = next(iter(stacked.values())).shape[0]
    losses, accuracies = [], []
    for start in range(0, count, chunk):
        part = {k: v[start:start + chunk] for k, v in stacked.items()}
        part_buffers = {k: v[start:start + chunk] for k, v in buffers.items()}
        l, a = evaluate_stacked(model, part, part_buffers, x, y, loss=loss)
        losses.append(l.double().cpu().numpy())
        accuracies.append(a.double().cpu().numpy())
    return np.concatenate(losses), np.concatenate(accuracies)


def _check_chunk(chunk) -> int:
    if isinstance(chunk, bool) or not isinstance(chunk, Integral) or chunk < 1:
        raise ValueError(f"chunk must be an int >= 1, got {chunk!r}")
    return int(chunk)


def filter_normalized_direction(model: nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random direction rescaled filter by filter (Li et al. 2018, their eq. 1).

    Draw :math:`d` with the shape of the weights from a standard normal (seeded),
    then for every filter :math:`j` of every layer set
    :math:`d_j \\leftarrow d_j \\, \\|\\theta_j\\| / \\|d_j\\|`.  A filter is an
    output unit: a row of a linear layer's weight, an output channel of a
    convolution.  Biases and batch-norm parameters (one-dimensional tensors)
    get a zero direction, as Li et al. recommend.  Returns a dict keyed like
    ``model.named_parameters()``.
    """
    params = _parameters(model)
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    generator = seeded_generator(int(seed))
    direction = {}
    for name, p in params.items():
        d = torch.randn(p.shape, generator=generator, dtype=torch.float64)
        if p.dim() <= 1:
            d = torch.zeros_like(d)
        else:
            w = p.double().cpu()
            filter_norm = w.reshape(w.shape[0], -1).norm(dim=1)
            d_norm = d.reshape(d.shape[0], -1).norm(dim=1)
            scale = filter_norm / d_norm.clamp_min(1e-30)
            d = d * scale.view(-1, *([1] * (d.dim() - 1)))
        direction[name] = d.to(dtype=p.dtype).to(p.device)
    return direction


def losses_along_line(model: nn.Module, direction: dict[str, torch.Tensor], alphas, x: torch.Tensor,
                      y: torch.Tensor, *, loss: str = "cross_entropy",
                      chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Mean loss and accuracy on ``(x, y)`` at :math:`\\theta + \\alpha d` for each ``alpha``.

    All the points are stacked and evaluated together (``chunk`` at a time); the
    model's buffers (batch-norm statistics) are kept as they are.  Returns two
    float64 arrays of ``len(alphas)``; accuracy is NaN for ``loss='mse'``.
    """
    params = _parameters(model)
    if not isinstance(direction, dict):
        raise TypeError("direction must be a dict of tensors keyed like model.named_parameters()")
    if set(direction) != set(params) or any(
            not isinstance(direction[k], torch.Tensor) or direction[k].shape != params[k].shape for k in params):
        raise ValueError("direction must have exactly the model's parameter names and shapes "
                         "(e.g. from filter_normalized_direction(model, seed))")
    a = _check_alphas(alphas)
    _check_loss(loss)
    _check_batch(x, y)
    chunk = _check_chunk(chunk)
    stacked = {}
    for name, p in params.items():
        d = direction[name].detach().to(dtype=p.dtype).to(p.device)
        shape = (-1,) + (1,) * p.dim()
        stacked[name] = p.unsqueeze(0) + a.to(dtype=p.dtype).to(p.device).view(shape) * d.unsqueeze(0)
    return _evaluate_points(model, stacked, _stacked_buffers(model, len(a)), x, y, loss, chunk)


def interpolate(model_a: nn.Module, model_b: nn.Module, alphas, x: torch.Tensor, y: torch.Tensor, *,
                loss: str = "cross_entropy", chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Mean loss and accuracy on ``(x, y)`` along :math:`\\alpha\\,\\theta_b + (1 - \\alpha)\\,\\theta_a`.

    :math:`\\alpha = 0` is ``model_a``, :math:`\\alpha = 1` is ``model_b``; values
    outside [0, 1] extrapolate (Keskar et al. 2017 plot :math:`\\alpha \\in [-1, 2]`).
    Floating-point buffers (batch-norm running statistics) are interpolated
    the same way; integer buffers are taken from ``model_a``.  Returns two
    float64 arrays of ``len(alphas)``.
    """
    params_a = _parameters(model_a, "model_a")
    params_b = _parameters(model_b, "model_b")
    _check_same_shape(params_a, params_b, "model_b")
    a = _check_alphas(alphas)
    _check_loss(loss)
    _check_batch(x, y)
    chunk = _check_chunk(chunk)

    def mix(ta: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * ta.dim()
        alpha = a.to(dtype=ta.dtype).to(ta.device).view(shape)
        return (1 - alpha) * ta.unsqueeze(0) + alpha * tb.to(ta.device).unsqueeze(0)

    stacked = {k: mix(params_a[k], params_b[k]) for k in params_a}
    buffers_b = dict(model_b.named_buffers())
    buffers = {}
    for name, buf in model_a.named_buffers():
        if buf.is_floating_point() and name in buffers_b:
            buffers[name] = mix(buf.detach(), buffers_b[name].detach())
        else:
            buffers[name] = buf.detach().unsqueeze(0).expand(len(a), *buf.shape)
    return _evaluate_points(model_a, stacked, buffers, x, y, loss, chunk)


def weight_distance(model_a: nn.Module, model_b: nn.Module) -> float:
    """Euclidean distance :math:`\\|\\theta_a - \\theta_b\\|_2` between two networks' weights."""
    params_a = _parameters(model_a, "model_a")
    params_b = _parameters(model_b, "model_b")
    _check_same_shape(params_a, params_b, "model_b")
    return math.sqrt(sum(float((params_a[k].cpu().double() - params_b[k].cpu().double()).pow(2).sum())
                         for k in params_a))


# --------------------------------------------------------------------------- Keskar's parametric plot, as a figure and an explorer

def parametric_curves(model_a: nn.Module, model_b: nn.Module, alphas, splits: dict, *,
                      loss: str = "cross_entropy") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`interpolate` on several data sets at once: ``{name: (losses, accuracies)}``.

    ``splits`` maps a name (``"train"``, ``"test"``) to its ``(x, y)``.
    """
    if not isinstance(splits, dict) or not splits:
        raise ValueError("splits must be a non-empty dict name -> (x, y)")
    return {name: interpolate(model_a, model_b, alphas, x, y, loss=loss) for name, (x, y) in splits.items()}


def parametric_figure(alphas, curves: dict, labels: tuple[str, str] = ("small batch", "large batch")):
    """Keskar et al.'s (2017) figure 3: loss and accuracy along the line from solution a to b.

    ``curves`` is :func:`parametric_curves`' result; :math:`\\alpha = 0` is ``labels[0]``'s
    solution, :math:`\\alpha = 1` is ``labels[1]``'s.
    """
    from . import plots
    alphas = np.asarray(alphas, dtype=float)
    fig, (left, right) = plots.new_figure(2, width=7.4, height=3.2)
    styles = {"train": "-", "test": "--", "val": ":"}
    for i, (name, (losses, accuracies)) in enumerate(curves.items()):
        style = styles.get(name, "-.")
        left.plot(alphas, losses, color=plots.series_color(0), linestyle=style, label=f"{name} loss")
        right.plot(alphas, 100 * accuracies, color=plots.series_color(1), linestyle=style,
                   label=f"{name} accuracy")
    for ax in (left, right):
        for x in (0.0, 1.0):
            ax.axvline(x, color="0.6", linewidth=0.8)
        ax.set_xlabel(f"$\\alpha$  (0: {labels[0]}, 1: {labels[1]})")
        ax.legend(loc="best")
    left.set_yscale("log")
    left.set_ylabel("cross-entropy loss (log scale)")
    right.set_ylabel("accuracy (%)")
    return fig


class SolutionBank:
    """Trained networks by batch size, with their sharpness, computed once each.

    ``train(batch_size) -> nn.Module`` trains a missing network (live), and
    ``measure(model) -> dict`` gives its sharpness numbers
    (e.g. :func:`lib.sharpness.sharpness_report` on a fixed batch).  Networks
    trained elsewhere (the notebook's full-budget runs) go in with :meth:`add`,
    so the explorer shows cached results instead of training again.
    """

    def __init__(self, train=None, measure=None):
        if train is not None and not callable(train):
            raise TypeError("train must be callable(batch_size) -> nn.Module, or None")
        if measure is not None and not callable(measure):
            raise TypeError("measure must be callable(model) -> dict, or None")
        self._train, self._measure = train, measure
        self._models: dict[int, nn.Module] = {}
        self._reports: dict[int, dict] = {}

    @staticmethod
    def _check_size(batch_size) -> int:
        if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
            raise ValueError(f"batch size must be an int >= 1, got {batch_size!r}")
        return int(batch_size)

    def add(self, batch_size: int, model: nn.Module, report: dict | None = None) -> None:
        batch_size = self._check_size(batch_size)
        _parameters(model)
        self._models[batch_size] = model
        if report is not None:
            self._reports[batch_size] = dict(report)

    @property
    def cached(self) -> list[int]:
        return sorted(self._models)

    def model(self, batch_size: int) -> nn.Module:
        batch_size = self._check_size(batch_size)
        if batch_size not in self._models:
            if self._train is None:
                raise ValueError(f"no network was trained with batch size {batch_size}; "
                                 f"available: {', '.join(map(str, self.cached)) or 'none'}")
            self._models[batch_size] = self._train(batch_size)
        return self._models[batch_size]

    def report(self, batch_size: int) -> dict:
        batch_size = self._check_size(batch_size)
        if batch_size not in self._reports:
            if self._measure is None:
                raise ValueError(f"no sharpness numbers for batch size {batch_size} and nothing to measure them with")
            self._reports[batch_size] = dict(self._measure(self.model(batch_size)))
        return self._reports[batch_size]


class BatchSizeExplorer:
    """Pick two batch sizes: Keskar's interpolation between their solutions and their sharpness.

    The computation is :func:`parametric_curves` and :func:`parametric_figure` on the
    networks of a :class:`SolutionBank`; the three sharpness numbers come from
    its reports (``top_eigenvalue``, ``trace`` and ``sharpness_key``).  Choosing the
    same batch size twice, or one the bank cannot provide, shows a message.
    """

    def __init__(self, bank: SolutionBank, batch_sizes, splits: dict, *, alphas=None,
                 small: int | None = None, large: int | None = None,
                 sharpness_key: str = "keskar_full_1e-03"):
        import ipywidgets as W
        if not isinstance(bank, SolutionBank):
            raise TypeError("bank must be a SolutionBank")
        sizes = sorted({SolutionBank._check_size(b) for b in batch_sizes})
        if len(sizes) < 2:
            raise ValueError("the explorer needs at least two batch sizes to choose from")
        self.bank, self.splits, self.sharpness_key = bank, splits, sharpness_key
        self.alphas = np.linspace(-1.0, 2.0, 31) if alphas is None else np.asarray(alphas, dtype=float)
        self.small = W.Dropdown(options=sizes, value=sizes[0] if small is None else small, description="batch a")
        self.large = W.Dropdown(options=sizes, value=sizes[-1] if large is None else large, description="batch b")
        self.message = W.HTML()
        self.table = W.HTML()
        self.output = W.Output()
        for control in (self.small, self.large):
            control.observe(self.redraw, names="value")
        self.widget = W.VBox([W.HBox([self.small, self.large]), self.message, self.table, self.output])
        self.redraw()

    def sharpness_table(self, a: int, b: int) -> str:
        """An HTML table of the three sharpness numbers for batch sizes ``a`` and ``b``."""
        rows = [("top Hessian eigenvalue λ_max", "top_eigenvalue", ".3g"), ("Hessian trace", "trace", ".3g"),
                (f"Keskar sharpness ({self.sharpness_key})", self.sharpness_key, ".3g")]
        reports = {size: self.bank.report(size) for size in (a, b)}
        cells = "".join(f"<tr><td>{html.escape(title)}</td>"
                        + "".join(f"<td>{reports[size][key]:{fmt}}</td>" for size in (a, b)) + "</tr>"
                        for title, key, fmt in rows)
        return (f"<table><tr><th></th><th>batch {a}</th><th>batch {b}</th></tr>{cells}</table>")

    def redraw(self, _change=None) -> bool:
        from . import widgets  # ipywidgets only when an explorer is made
        a, b = self.small.value, self.large.value
        try:
            if a == b:
                raise ValueError("pick two different batch sizes")
            curves = parametric_curves(self.bank.model(a), self.bank.model(b), self.alphas, self.splits)
            table = self.sharpness_table(a, b)
        except (ValueError, TypeError) as error:
            widgets.show_error(self.message, error)
            return False
        self.message.value = f"α = 0 is the network trained with batch {a}, α = 1 the one with batch {b}."
        self.table.value = table
        fig = parametric_figure(self.alphas, curves, labels=(f"batch {a}", f"batch {b}"))
        widgets.show_figure(self.output, fig)
        return True

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
