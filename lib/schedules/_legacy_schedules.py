"""LEGACY: the rest of the old lib/schedules.py, to be split into lib/schedules/ modules (see the port task)."""
from __future__ import annotations

import functools
import html
import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from lib.schedules.policies import *  # noqa: F401,F403  (legacy: the policies moved to policies.py)
from lib.schedules.policies import POLICIES, Parameter, policy, schedule, rates, default_parameters, training_steps


# --------------------------------------------------------------------------- Robbins–Monro

@dataclass(frozen=True)
class Conditions:
    """Whether a policy's rates, continued for ever, meet the Robbins–Monro conditions.

    ``sum_infinite``: :math:`\\sum_t \\eta_t = \\infty`;  ``squares_finite``:
    :math:`\\sum_t \\eta_t^2 < \\infty`.  ``reason`` says why in one phrase.
    """

    sum_infinite: bool
    squares_finite: bool
    reason: str

    @property
    def met(self) -> bool:
        return self.sum_infinite and self.squares_finite


def robbins_monro_conditions(name: str, **params) -> Conditions:
    """Robbins & Monro's (1951) two conditions for policy ``name`` with ``params`` (rates continued for ever).

    A rate that settles at a positive value (fixed, multistep after its last
    milestone, warm-up after its ramp) or keeps returning to one (restarts,
    cycles) has both sums infinite.  A geometric decay (step, exp) has both
    finite.  ``inv`` is a p-series: the sum is infinite for :math:`p \\le 1`,
    the squares finite for :math:`p > 1/2`.  ``poly`` stays at 0 after ``T``
    updates; ``cosine`` (in torch, rising again after ``T_max``) is periodic;
    ``one_cycle`` has no rates after ``total_steps`` (torch raises an error).
    """
    checked = check_parameters(name, **params)
    decays = checked.get("gamma", 1.0) < 1.0
    if name in ("fixed", "warmup"):
        return Conditions(True, False, "settles at a constant rate")
    if name == "multistep":
        return Conditions(True, False, "constant after the last milestone")
    if name in ("step", "exp"):
        if not decays:
            return Conditions(True, False, "gamma = 1: a constant rate")
        return Conditions(False, True, "geometric decay: both sums are finite")
    if name == "inv":
        p = checked["power"]
        return Conditions(p <= 1.0, p > 0.5, f"a p-series with p = {p:g}: sum infinite iff p <= 1, "
                                              "squares finite iff p > 1/2")
    if name == "poly":
        return Conditions(False, True, "zero after total_iters updates: both sums finite")
    if name == "cosine":
        return Conditions(True, False, "torch's cosine rises again after T_max: periodic")
    if name in ("cosine_restarts", "triangular"):
        return Conditions(True, False, "keeps returning to the peak rate")
    return Conditions(False, True, "finite horizon: no rates after total_steps")


# --------------------------------------------------------------------------- figures

POLICY_STYLE = {  # Okabe–Ito colours (lib.plots.PALETTE) and line styles, one per policy; policies that share
    # a colour never share a panel of this section's figures, and none of these is a learning-rate colour
    "fixed": ("black", "-"), "step": ("blue", "-"), "multistep": ("sky blue", "--"),
    "exp": ("vermillion", "-"), "inv": ("purple", "-"), "poly": ("orange", "-."),
    "warmup": ("green", "-"), "cosine": ("purple", "-"), "cosine_restarts": ("sky blue", "--"),
    "one_cycle": ("orange", "-"), "triangular": ("blue", "-."),
}


def policy_style(name: str) -> dict:
    """Matplotlib keywords (colour, line style) that mark policy ``name`` on every figure of the section."""
    policy(name)
    colour, linestyle = POLICY_STYLE[name]
    return {"color": plots.PALETTE[colour], "linestyle": linestyle}


def policies_figure(panels: Mapping[str, Mapping[str, dict]], lr: float, steps: int, *,
                    epoch_steps: int | None = None):
    """Rates against the update, one panel per entry of ``panels``: ``{title: {policy: parameters}}``.

    Every curve comes from :func:`rates`, that is from the torch scheduler that
    would train.  With ``epoch_steps`` the x axis is in epochs.
    """
    if not isinstance(panels, Mapping) or not panels:
        raise ValueError("panels must be a non-empty {title: {policy: parameters}} mapping")
    fig, axes = plots.new_figure(len(panels), width=3.7 * len(panels), height=3.2, sharey=True)
    axes = np.atleast_1d(axes)
    scale = 1.0 if epoch_steps is None else float(epoch_steps)
    for ax, (title, entries) in zip(axes, panels.items()):
        for name, params in entries.items():
            curve = rates(schedule(name, **params), lr, steps)
            ax.plot(np.arange(steps) / scale, curve, label=name, **policy_style(name))
        ax.set_title(title)
        ax.set_xlabel("update $t$" if epoch_steps is None else "epoch")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    axes[0].set_ylabel("learning rate $\\eta_t$")
    return fig


def partial_sums_figure(curves: Mapping[str, np.ndarray], styles: Mapping[str, dict] | None = None):
    """:math:`S_1(K) = \\sum_{t<K}\\eta_t` and :math:`S_2(K) = \\sum_{t<K}\\eta_t^2` of each rate curve, log-log."""
    from lib.robbins_monro import partial_sums

    fig, (left, right) = plots.new_figure(2, width=7.6, height=3.2)
    for index, (label, curve) in enumerate(curves.items()):
        style = (styles or {}).get(label, {"color": plots.series_color(index)})
        first, second = partial_sums(curve)
        k = np.arange(1, len(curve) + 1)
        left.plot(k, first, label=label, **style)
        right.plot(k, second, label=label, **style)
    for ax, what in ((left, "$S_1(K) = \\sum_{t<K} \\eta_t$"), (right, "$S_2(K) = \\sum_{t<K} \\eta_t^2$")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of updates $K$ (log scale)")
        ax.set_ylabel(what + " (log scale)")
    right.legend(loc="lower right")
    return fig


# --------------------------------------------------------------------------- comparing over seeds

@dataclass(frozen=True)
class SeedSummary:
    """Final accuracies of several configurations, each over the same seeds."""

    labels: tuple[str, ...]
    values: np.ndarray          # (configurations, seeds)

    @property
    def mean(self) -> np.ndarray:
        return self.values.mean(axis=1)

    @property
    def std(self) -> np.ndarray:
        """Sample standard deviation over seeds (``ddof=1``)."""
        return self.values.std(axis=1, ddof=1)

    @property
    def spread(self) -> np.ndarray:
        """Largest minus smallest value over seeds."""
        return self.values.max(axis=1) - self.values.min(axis=1)

    @property
    def best(self) -> str:
        return self.labels[int(np.argmax(self.mean))]

    @property
    def wins_per_seed(self) -> np.ndarray:
        """How many seeds each configuration is the best on."""
        return np.bincount(np.argmax(self.values, axis=0), minlength=len(self.labels))

    def value(self, label: str, what: str = "mean") -> float:
        if label not in self.labels:
            raise ValueError(f"unknown label {label!r}; labels: {', '.join(self.labels)}")
        if what not in ("mean", "std", "spread"):
            raise ValueError(f"what must be 'mean', 'std' or 'spread', got {what!r}")
        return float(getattr(self, what)[self.labels.index(label)])


def summarize_seeds(values: np.ndarray, labels: Sequence[str]) -> SeedSummary:
    """``values[c, s]`` for configuration ``c`` (named ``labels[c]``) and seed ``s``; needs >= 2 seeds."""
    values = np.asarray(values, dtype=np.float64)
    labels = tuple(labels)
    if values.ndim != 2 or values.shape[0] != len(labels) or values.shape[0] < 1:
        raise ValueError(f"values must have shape ({len(labels)}, seeds), got {values.shape}")
    if values.shape[1] < 2:
        raise ValueError("a spread over seeds needs at least 2 seeds")
    if not np.isfinite(values).all():
        raise ValueError("values must be finite (a diverged run has no final accuracy: report it separately)")
    if len(set(labels)) != len(labels):
        raise ValueError("labels must be distinct")
    return SeedSummary(labels, values)


def seed_members(configurations: Mapping[str, Mapping[str, Any]], seeds: Sequence[int]) -> list[Member]:
    """One :class:`lib.train.Member` per configuration and seed, labelled with the configuration's name.

    ``configurations`` maps a name to Member fields (``lr``, ``schedule``, ...).
    Seed ``s`` sets both the initial weights and the data order
    (``init_seed = data_seed = s``), so that within a seed every configuration
    starts from the same weights and sees the same batches.
    """
    if not isinstance(configurations, Mapping) or not configurations:
        raise ValueError("configurations must be a non-empty {name: {Member field: value}} mapping")
    seeds = list(seeds)
    if len(seeds) < 1 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct ints, got {seeds!r}")
    members = []
    for name, fields in configurations.items():
        if not isinstance(fields, Mapping) or {"label", "init_seed", "data_seed"} & set(fields):
            raise ValueError(f"configuration {name!r} must be a mapping of Member fields other than "
                             "label, init_seed and data_seed")
        members += [Member(**fields, init_seed=seed, data_seed=seed, label=name) for seed in seeds]
    return members


def rows_by_label(history: History, values: np.ndarray) -> dict[str, np.ndarray]:
    """Split a per-member array (``history.val_acc``, a test accuracy, ...) by member label, in order.

    Returns ``{label: values of the members with that label}``, each of shape (seeds, ...).
    """
    values = np.asarray(values)
    labels = history.labels
    if values.shape[:1] != (len(labels),):
        raise ValueError(f"values must have one row per member ({len(labels)}), got shape {values.shape}")
    grouped: dict[str, list] = {}
    for label, row in zip(labels, values):
        grouped.setdefault(label, []).append(row)
    return {label: np.stack(rows) for label, rows in grouped.items()}


def final_test_accuracy(run: GridRun, x: torch.Tensor, y: torch.Tensor) -> SeedSummary:
    """Each member's accuracy on (x, y) with its final weights, grouped by label into a :class:`SeedSummary`.

    A member that diverged has no final accuracy: that is an error here (report it from
    ``history.diverged`` instead).
    """
    if run.history.diverged.any():
        names = [m.name for m, d in zip(run.history.members, run.history.diverged) if d]
        raise ValueError(f"diverged members have no final accuracy: {', '.join(names)}")
    _, accuracy = evaluate_stacked(run.template, run.params, run.buffers, x, y)
    grouped = rows_by_label(run.history, accuracy.cpu().numpy())
    counts = {len(rows) for rows in grouped.values()}
    if len(counts) != 1:
        raise ValueError("every label needs the same number of seeds")
    return summarize_seeds(np.stack(list(grouped.values())), list(grouped))


def seed_band(ax, x: np.ndarray, curves: np.ndarray, *, label: str, line: str | int = "mean", **style) -> None:
    """Curves over seeds (rows of ``curves``): a line, and their min-to-max range as a light band.

    The line is the mean over seeds (``line="mean"``) or one seed's curve
    (``line=k``, row k), e.g. the seed that shares initial weights with a textbook figure.
    """
    curves = np.asarray(curves, dtype=np.float64)
    x = np.asarray(x)
    if curves.ndim != 2 or curves.shape[1] != x.shape[0]:
        raise ValueError(f"curves must have shape (seeds, {x.shape[0]}), got {curves.shape}")
    if line == "mean":
        centre = np.nanmean(curves, axis=0)
    elif isinstance(line, (int, np.integer)) and not isinstance(line, bool) and 0 <= line < curves.shape[0]:
        centre = curves[int(line)]
    else:
        raise ValueError(f"line must be 'mean' or a seed row in [0, {curves.shape[0]}), got {line!r}")
    ax.fill_between(x, np.nanmin(curves, axis=0), np.nanmax(curves, axis=0), alpha=0.18, linewidth=0,
                    color=style.get("color"))
    ax.plot(x, centre, label=label, **style)


# --------------------------------------------------------------------------- the explorer widget

EXPLORER_LR_LIMITS = (1e-3, 3.0)
DIVERGED_LOSS = 4 * math.log(10)


def explorer_figure(name: str, params: dict, lr: float, steps: int, runs: Sequence[tuple[str, History]] = ()):
    """The explorer's figure: the policy's rate over ``steps`` updates, and the loss curves of ``runs``.

    ``runs`` holds (label, history) pairs from :func:`quick_training`.  Invalid
    parameters raise ValueError/TypeError with the message the widget shows.
    """
    if isinstance(lr, bool) or not isinstance(lr, Real) or not EXPLORER_LR_LIMITS[0] <= lr <= EXPLORER_LR_LIMITS[1]:
        raise ValueError(f"lr must be a number in [{EXPLORER_LR_LIMITS[0]:g}, {EXPLORER_LR_LIMITS[1]:g}], got {lr!r}")
    curve = rates(schedule(name, **params), float(lr), steps)
    fig, (left, right) = plots.new_figure(2, width=7.6, height=3.0)
    left.plot(np.arange(steps), curve, **policy_style(name))
    left.set_title(f"{name}, $\\eta_0$ = {lr:.3g}")
    left.set_xlabel("update $t$")
    left.set_ylabel("learning rate $\\eta_t$")
    for index, (label, history) in enumerate(runs):
        right.plot(history.eval_step, history.train_loss[0], marker="o", markersize=2.5,
                   color=plots.series_color(index), label=label)
    right.set_xlabel("update $t$")
    right.set_ylabel("training loss (cross-entropy)")
    if runs:
        right.set_yscale("log")
        right.legend(loc="upper right")
    else:
        right.set_title("press 'train' to add a loss curve")
    return fig


def quick_training(name: str, params: dict, lr: float, data: Splits, *, epochs: int, batch_size: int = 128,
                   init_seed: int = 0) -> History:
    """Train the textbook network with policy ``name`` for ``epochs`` epochs of ``data``; returns its history.

    A run whose mini-batch loss turns non-finite or exceeds :data:`DIVERGED_LOSS`
    (four times the loss of a uniform guess over ten classes) is recorded as
    diverged and frozen (NaN from then on), not an error.
    """
    member = Member(lr=lr, schedule=schedule(name, **params), init_seed=init_seed,
                    label=f"{name}, η0={lr:.3g}")
    return train_grid([member], data, batch_size=batch_size, epochs=epochs, eval_every=0.25,
                      train_eval_size=min(2000, data.x_train.shape[0]), divergence_loss=DIVERGED_LOSS,
                      progress=False).history


def parse_parameter(parameter: Parameter, text: str):
    """A widget's text for ``parameter`` as a Python value (``"100, 150"`` for a list of ints)."""
    if not isinstance(text, str):
        raise TypeError(f"{parameter.name}: expected text, got {type(text).__name__}")
    text = text.strip()
    try:
        if parameter.kind == "ints":
            return [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
        if parameter.kind == "int":
            return int(text)
        if parameter.kind == "float":
            return float(text)
    except ValueError:
        raise ValueError(f"{parameter.name}: {text!r} is not {parameter.allowed()}") from None
    return text


class ScheduleExplorer:
    """Pick a policy and its parameters to see the rate live; 'train' adds that run's loss curve.

    ``data`` is a small :class:`lib.data.Splits` (a subset of MNIST); a run is
    ``epochs`` epochs at ``batch_size``, and the schedule is drawn over exactly
    those updates.  Invalid parameters show a message under the controls.
    """

    def __init__(self, data: Splits, *, epochs: int = 3, batch_size: int = 128, name: str = "step",
                 lr: float = 0.5):
        import ipywidgets as W

        if not isinstance(data, Splits):
            raise TypeError(f"data must be lib.data.Splits, got {type(data).__name__}")
        policy(name)
        self.data, self.epochs, self.batch_size = data, epochs, batch_size
        self.steps = training_steps(data.x_train.shape[0], batch_size, epochs)
        if self.steps < 16:
            raise ValueError(f"the explorer's run needs at least 16 updates, got {self.steps} "
                             f"({epochs} epoch(s) of {data.x_train.shape[0]} examples at batch size {batch_size})")
        self.runs: list[tuple[str, History]] = []
        self.policy = W.Dropdown(options=list(POLICIES), value=name, description="policy")
        self.lr = W.FloatLogSlider(value=lr, base=10, min=math.log10(EXPLORER_LR_LIMITS[0]),
                                   max=math.log10(EXPLORER_LR_LIMITS[1]), step=0.01, description="η0",
                                   readout_format=".3g", continuous_update=False)
        self.train_button = W.Button(description="train", tooltip=f"{epochs} epochs of {self.steps} updates")
        self.clear_button = W.Button(description="clear runs")
        self.fields = W.HBox()
        self.message = W.HTML()
        self.output = W.Output()
        self.policy.observe(self._new_policy, names="value")
        self.lr.observe(self.redraw, names="value")
        self.train_button.on_click(self.train)
        self.clear_button.on_click(self.clear)
        self.widget = W.VBox([W.HBox([self.policy, self.lr, self.train_button, self.clear_button]),
                              self.fields, self.message, self.output])
        self._new_policy()

    def _new_policy(self, _change=None) -> None:
        import ipywidgets as W

        spec = policy(self.policy.value)
        defaults = default_parameters(spec.name, self.steps, self.lr.value)
        controls = []
        for parameter in spec.parameters:
            value = defaults[parameter.name]
            if parameter.kind == "choice":
                control = W.Dropdown(options=list(parameter.choices), value=value, description=parameter.name)
            else:
                text = ", ".join(map(str, value)) if parameter.kind == "ints" else f"{value:.6g}"
                control = W.Text(value=text, description=parameter.name, continuous_update=False,
                                 tooltip=parameter.meaning)
            control.observe(self.redraw, names="value")
            controls.append(control)
        self.fields.children = tuple(controls)
        self.redraw()

    def parameters(self) -> dict:
        """The current controls' values, parsed (checking happens in :func:`schedule`)."""
        spec = policy(self.policy.value)
        return {p.name: (c.value if p.kind == "choice" else parse_parameter(p, c.value))
                for p, c in zip(spec.parameters, self.fields.children)}

    def _show_error(self, error: Exception) -> None:
        widgets.show_error(self.message, error)

    def redraw(self, _change=None) -> bool:
        """Redraw; on invalid input show the message and keep the last figure."""

        try:
            fig = explorer_figure(self.policy.value, self.parameters(), self.lr.value, self.steps, self.runs)
        except (ValueError, TypeError) as error:
            self._show_error(error)
            return False
        self.message.value = html.escape(f"{self.policy.value}: {self.steps} updates "
                                         f"({self.epochs} epochs of {self.data.x_train.shape[0]} examples)")
        widgets.show_figure(self.output, fig)
        return True

    def train(self, _button=None) -> bool:
        """Train with the current policy and add its loss curve; invalid input shows a message."""
        try:
            params = self.parameters()
            history = quick_training(self.policy.value, params, self.lr.value, self.data, epochs=self.epochs,
                                     batch_size=self.batch_size)
        except (ValueError, TypeError) as error:
            self._show_error(error)
            return False
        label = f"{self.policy.value}, η0={self.lr.value:.3g}"
        if history.diverged[0]:
            label += " (diverged)"
        self.runs.append((label, history))
        return self.redraw()

    def clear(self, _button=None) -> None:
        self.runs.clear()
        self.redraw()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
