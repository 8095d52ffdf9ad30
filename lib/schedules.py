"""Learning-rate schedules: one factory for every policy, built on ``torch.optim.lr_scheduler`` (section 3).

The textbook's six policies (its section 12.3.3, equations 4 to 7) are six of
the learning-rate policies of the Caffe framework (Jia et al., 2014); the modern
ones come from Goyal et al. (2017, warm-up), Loshchilov & Hutter (2017, cosine
annealing and warm restarts) and Smith (2017, triangular cycles; Smith & Topin
2018, one-cycle).  With :math:`\\eta_0` the base rate (a :class:`lib.train.Member`'s
``lr``) and :math:`t = 0, 1, \\dots` the update:

==================  ==========================================================================  ==========================
name                rate at update :math:`t`                                                    built on
==================  ==========================================================================  ==========================
fixed               :math:`\\eta_0`                                                              ``ConstantLR`` (factor 1)
step                :math:`\\eta_0\\,\\gamma^{\\lfloor t/s \\rfloor}` (textbook eq. 4)              ``StepLR``
multistep           :math:`\\eta_0\\,\\gamma^{\\#\\{i:\\, m_i \\le t\\}}`                               ``MultiStepLR``
exp                 :math:`\\eta_0\\,\\gamma^{t}` (eq. 5)                                          ``ExponentialLR``
inv                 :math:`\\eta_0\\,(1 + \\gamma t)^{-p}` (eq. 6)                                 ``LambdaLR`` (torch has none)
poly                :math:`\\eta_0\\,(1 - \\min(t, T)/T)^{p}` (eq. 7)                              ``PolynomialLR``
warmup              :math:`\\eta_0\\,(f + (1 - f)\\min(t, T)/T)`                                    ``LinearLR``
cosine              :math:`\\eta_{\\min} + (\\eta_0 - \\eta_{\\min})(1 + \\cos(\\pi t/T))/2`            ``CosineAnnealingLR``
cosine_restarts     the same within each cycle of :math:`T_0, T_0 T_{\\rm mult}, \\dots` updates    ``CosineAnnealingWarmRestarts``
one_cycle           up from :math:`\\eta_0/d` to :math:`\\eta_0`, then down to :math:`\\eta_0/(d d_f)`  ``OneCycleLR``
triangular          :math:`\\eta_b + (\\eta_0 - \\eta_b)\\max(0, 1 - |t/s - 2c + 1|)`                ``CyclicLR``
==================  ==========================================================================  ==========================

:func:`schedule` checks a policy's parameters and returns a
``functools.partial`` of the scheduler class: the trainer
(``Member(lr=..., schedule=...)``) builds a fresh scheduler from it for every
member, and :func:`rates` builds another fresh one to draw the curve, so drawing
a schedule never uses up the one that trains (the bug of d2l's scheduling
chapter).  Parameters are counted in updates, as the textbook's "iteration".

The rest of the module puts the schedules to work: which of them meet the
Robbins–Monro conditions (:func:`robbins_monro_conditions`), the section's
figures, a summary of final accuracies over seeds, and the schedule explorer
widget (:class:`ScheduleExplorer`).
"""
from __future__ import annotations

import functools
import html
import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch.optim.lr_scheduler import (ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR,
                                      ExponentialLR, LambdaLR, LinearLR, LRScheduler, MultiStepLR,
                                      OneCycleLR, PolynomialLR, StepLR)

from lib import plots, widgets
from lib.data import Splits
from lib.train import GridRun, History, Member, evaluate_stacked, learning_rates, train_grid


# --------------------------------------------------------------------------- torch adapters

def inverse_decay_factor(step: int, *, gamma: float, power: float) -> float:
    """The multiplier :math:`(1 + \\gamma t)^{-p}` of the textbook's ``inv`` policy (its eq. 6) at update ``step``."""
    return (1.0 + gamma * step) ** (-power)


class PeakedOneCycleLR(OneCycleLR):
    """``torch.optim.lr_scheduler.OneCycleLR`` whose peak ``max_lr`` is the optimiser's learning rate.

    torch's class ignores the optimiser's rate and takes ``max_lr`` as an
    argument.  Reading the peak from the optimiser makes ``Member(lr=0.8, ...)``
    mean the same thing for one-cycle as for every other policy here: the
    schedule's largest rate.  Momentum is not cycled (``cycle_momentum=False``):
    the trainer keeps each member's momentum fixed.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, **kwargs):
        super().__init__(optimizer, max_lr=float(optimizer.param_groups[0]["lr"]), cycle_momentum=False,
                         **kwargs)


class PeakedCyclicLR(CyclicLR):
    """``torch.optim.lr_scheduler.CyclicLR`` (Smith's triangular policy) peaking at the optimiser's learning rate.

    ``base_lr`` is the low end of the cycle, as in torch; the high end
    ``max_lr`` is read from the optimiser, so that a member's ``lr`` is the
    peak.  Momentum is not cycled.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, *, base_lr: float, **kwargs):
        peak = float(optimizer.param_groups[0]["lr"])
        if not base_lr < peak:
            raise ValueError(f"triangular: base_lr={base_lr:g} must be below the peak learning rate {peak:g}")
        super().__init__(optimizer, base_lr=base_lr, max_lr=peak, mode="triangular", cycle_momentum=False,
                         **kwargs)


# --------------------------------------------------------------------------- parameters

@dataclass(frozen=True)
class Parameter:
    """One parameter of a policy: its kind and allowed range.

    ``kind`` is ``"int"``, ``"float"``, ``"ints"`` (a strictly increasing list of
    positive ints) or ``"choice"``.  ``low``/``high`` bound ints and floats; the
    bounds are excluded where ``open_low``/``open_high`` say so.
    """

    name: str
    kind: str
    meaning: str
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    choices: tuple[str, ...] = ()

    def allowed(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(map(repr, self.choices))
        if self.kind == "ints":
            return "a strictly increasing list of ints >= 1"
        low = "" if self.low is None else f"{self.low:g} {'<' if self.open_low else '<='} "
        high = "" if self.high is None else f" {'<' if self.open_high else '<='} {self.high:g}"
        what = "an int" if self.kind == "int" else "a number"
        return f"{what} with {low}{self.name}{high}" if (low or high) else what

    def check(self, policy: str, value: Any) -> Any:
        """Return ``value`` converted to its kind, or raise TypeError/ValueError saying what is allowed."""
        where = f"{policy}: {self.name}"
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"{where} must be {self.allowed()}, got {value!r}")
            return value
        if self.kind == "ints":
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) == 0:
                raise TypeError(f"{where} must be {self.allowed()}, got {value!r}")
            if any(isinstance(v, bool) or not isinstance(v, Integral) for v in value):
                raise TypeError(f"{where} must be {self.allowed()}, got {value!r}")
            items = [int(v) for v in value]
            if items[0] < 1 or any(b <= a for a, b in zip(items, items[1:])):
                raise ValueError(f"{where} must be {self.allowed()}, got {value!r}")
            return items
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, Integral):
                raise TypeError(f"{where} must be {self.allowed()}, got {value!r}")
            value = int(value)
        else:
            if isinstance(value, bool) or not isinstance(value, Real):
                raise TypeError(f"{where} must be {self.allowed()}, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{where} must be {self.allowed()}, got {value!r}")
        too_low = self.low is not None and (value < self.low or (self.open_low and value == self.low))
        too_high = self.high is not None and (value > self.high or (self.open_high and value == self.high))
        if too_low or too_high:
            raise ValueError(f"{where} must be {self.allowed()}, got {value!r}")
        return value


def _int(name, meaning, low=1):
    return Parameter(name, "int", meaning, low=low)


def _decay(name="gamma", meaning="decay factor"):
    return Parameter(name, "float", meaning, low=0.0, high=1.0, open_low=True)


def _positive(name, meaning):
    return Parameter(name, "float", meaning, low=0.0, open_low=True)


def _floor(name="eta_min", meaning="lowest rate (absolute)"):
    return Parameter(name, "float", meaning, low=0.0)


@dataclass(frozen=True)
class Policy:
    """A learning-rate policy: the torch scheduler behind it, its parameters, its formula and source."""

    name: str
    scheduler: type
    parameters: tuple[Parameter, ...]
    formula: str                      # LaTeX for the rate at update t, base rate eta_0
    source: str                       # where the formula comes from (a citation key)
    to_kwargs: Callable[[dict], dict] = dict   # checked parameters -> the scheduler's keyword arguments

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)


def _inv_kwargs(params: dict) -> dict:
    return {"lr_lambda": functools.partial(inverse_decay_factor, gamma=params["gamma"], power=params["power"])}


POLICIES: dict[str, Policy] = {p.name: p for p in (
    Policy("fixed", ConstantLR, (), r"\eta_t = \eta_0", "aiedu2020lr",
           to_kwargs=lambda params: {"factor": 1.0, "total_iters": 0}),
    Policy("step", StepLR, (_int("step_size", "updates between decays"), _decay()),
           r"\eta_t = \eta_0\,\gamma^{\lfloor t/s \rfloor}", "aiedu2020lr"),
    Policy("multistep", MultiStepLR, (Parameter("milestones", "ints", "updates at which to decay"), _decay()),
           r"\eta_t = \eta_0\,\gamma^{\#\{i \,:\, m_i \le t\}}", "aiedu2020lr"),
    Policy("exp", ExponentialLR, (_decay(meaning="decay factor per update"),),
           r"\eta_t = \eta_0\,\gamma^{t}", "aiedu2020lr"),
    Policy("inv", LambdaLR, (_positive("gamma", "decay speed"), _positive("power", "exponent p")),
           r"\eta_t = \eta_0\,(1 + \gamma t)^{-p}", "aiedu2020lr", to_kwargs=_inv_kwargs),
    Policy("poly", PolynomialLR, (_int("total_iters", "updates until the rate reaches 0"),
                                  _positive("power", "exponent p")),
           r"\eta_t = \eta_0\,\bigl(1 - \min(t, T)/T\bigr)^{p}", "aiedu2020lr"),
    Policy("warmup", LinearLR, (Parameter("start_factor", "float", "first rate / base rate", low=0.0, high=1.0,
                                          open_low=True),
                                _int("total_iters", "updates of warm-up")),
           r"\eta_t = \eta_0\,\bigl(f + (1 - f)\min(t, T)/T\bigr)", "goyal2017accurate"),
    Policy("cosine", CosineAnnealingLR, (_int("T_max", "updates of the half cosine"), _floor()),
           r"\eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi t/T)\bigr)",
           "loshchilov2017sgdr"),
    Policy("cosine_restarts", CosineAnnealingWarmRestarts,
           (_int("T_0", "updates of the first cycle"), _int("T_mult", "growth factor of the cycles"), _floor()),
           r"\eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi t_{\rm cur}/T_i)\bigr)",
           "loshchilov2017sgdr"),
    Policy("one_cycle", PeakedOneCycleLR,
           (_int("total_steps", "updates of the whole cycle", low=2),
            Parameter("pct_start", "float", "fraction of the cycle spent rising", low=0.0, high=1.0,
                      open_low=True, open_high=True),
            Parameter("div_factor", "float", "peak / first rate", low=1.0),
            Parameter("final_div_factor", "float", "first rate / last rate", low=1.0),
            Parameter("anneal_strategy", "choice", "shape of both halves", choices=("cos", "linear"))),
           r"\eta_0/d \nearrow \eta_0 \searrow \eta_0/(d\,d_f)", "smith2018superconvergence"),
    Policy("triangular", PeakedCyclicLR,
           (_int("step_size_up", "updates of each half cycle"), _positive("base_lr", "low end of the cycle")),
           r"\eta_t = \eta_b + (\eta_0 - \eta_b)\max\bigl(0,\, 1 - |t/s - 2c + 1|\bigr),\ "
           r"c = \lfloor 1 + t/(2s) \rfloor", "smith2017cyclical"),
)}

#: The textbook's six policies (its Figure 12-11), then the modern ones.
TEXTBOOK_POLICIES = ("fixed", "step", "multistep", "exp", "inv", "poly")
MODERN_POLICIES = ("warmup", "cosine", "cosine_restarts", "one_cycle", "triangular")


def policy(name: str) -> Policy:
    """The :class:`Policy` called ``name``; an unknown name is an error listing the valid ones."""
    if not isinstance(name, str) or name not in POLICIES:
        raise ValueError(f"unknown schedule {name!r}; valid names: {', '.join(POLICIES)}")
    return POLICIES[name]


def check_parameters(name: str, **params) -> dict:
    """``params`` checked against the policy's :class:`Parameter` list (all required, nothing extra)."""
    spec = policy(name)
    allowed = spec.parameter_names
    unknown = sorted(set(params) - set(allowed))
    missing = [p for p in allowed if p not in params]
    listing = ", ".join(allowed) if allowed else "none"
    if unknown:
        raise TypeError(f"{name}: unknown parameter(s) {', '.join(unknown)}; {name} takes: {listing}")
    if missing:
        raise TypeError(f"{name}: missing parameter(s) {', '.join(missing)}; {name} takes: {listing}")
    checked = {p.name: p.check(name, params[p.name]) for p in spec.parameters}
    if name == "one_cycle":
        rise = checked["pct_start"] * checked["total_steps"]
        if rise < 2 or checked["total_steps"] - rise < 1:
            raise ValueError(f"one_cycle: pct_start * total_steps = {rise:g} must be >= 2 and leave >= 1 "
                             f"update for the descent (total_steps={checked['total_steps']})")
    return checked


def schedule(name: str, **params) -> functools.partial:
    """A checked policy as ``functools.partial(SchedulerClass, ...)``: what ``Member(schedule=...)`` takes.

    For example ``schedule("step", step_size=50, gamma=0.9)`` is the textbook's
    Table 12-5 and ``schedule("fixed")`` a constant rate.  Every use of the
    partial (a training run, a plot) builds its own fresh scheduler.
    """
    spec = policy(name)
    checked = check_parameters(name, **params)
    built = functools.partial(spec.scheduler, **spec.to_kwargs(checked))
    built.policy = name                     # a partial carries attributes: say which policy it is
    built.parameters = dict(checked)
    return built


def rates(schedule: functools.partial, lr: float, steps: int) -> np.ndarray:
    """The rate that ``schedule`` applies at updates ``0 .. steps-1`` with base rate ``lr``.

    Reads a freshly built scheduler, through the same code the trainer uses
    (:func:`lib.train.learning_rates`), so the curve drawn is the one trained.
    """
    if not isinstance(schedule, functools.partial) or not isinstance(schedule.func, type) \
            or not issubclass(schedule.func, LRScheduler):
        raise TypeError(f"schedule must be a partial of a scheduler class (from lib.schedules.schedule), "
                        f"got {type(schedule).__name__}")
    return learning_rates(Member(lr=lr, schedule=schedule), steps)


def default_parameters(name: str, steps: int, lr: float = 0.1) -> dict:
    """Sensible parameters of policy ``name`` for a run of ``steps`` updates at base rate ``lr``.

    ``exp``, ``inv`` and ``multistep`` end at 1% of ``lr``, cycles fit the run, and
    ``poly``'s power is the textbook's suggested 0.9.
    """
    policy(name)
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 16:
        raise ValueError(f"steps must be an int >= 16, got {steps!r}")
    steps = int(steps)
    Member(lr=lr)  # checks lr
    defaults = {
        "fixed": {},
        "step": {"step_size": steps // 5, "gamma": 0.5},
        "multistep": {"milestones": [steps // 2, (3 * steps) // 4], "gamma": 0.1},
        "exp": {"gamma": 0.01 ** (1.0 / (steps - 1))},
        "inv": {"gamma": 99.0 / (steps - 1), "power": 1.0},
        "poly": {"total_iters": steps, "power": 0.9},
        "warmup": {"start_factor": 0.1, "total_iters": steps // 10},
        "cosine": {"T_max": steps, "eta_min": 0.0},
        "cosine_restarts": {"T_0": steps // 7, "T_mult": 2, "eta_min": 0.0},
        "one_cycle": {"total_steps": steps, "pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4,
                      "anneal_strategy": "cos"},
        "triangular": {"step_size_up": steps // 8, "base_lr": lr / 10},
    }
    return defaults[name]


SYMBOLS = {"step_size": "s", "gamma": "γ", "milestones": "milestones", "power": "p", "total_iters": "T",
           "start_factor": "f", "T_max": "T", "eta_min": "η_min", "T_0": "T_0", "T_mult": "T_mult",
           "total_steps": "T", "pct_start": "rise", "div_factor": "d", "final_div_factor": "d_f",
           "anneal_strategy": "shape", "step_size_up": "s", "base_lr": "η_b"}


def parameter_text(params: Mapping[str, Any]) -> str:
    """Parameters as a short phrase for captions, e.g. ``s = 500, γ = 0.9``; ``none`` when empty."""
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping, got {type(params).__name__}")
    unknown = sorted(set(params) - set(SYMBOLS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(SYMBOLS)}")

    def show(value):
        if isinstance(value, str):
            return value
        if isinstance(value, Sequence):
            return ", ".join(f"{v:g}" for v in value)
        return f"{value:g}"

    return "; ".join(f"{SYMBOLS[k]} = {show(v)}" for k, v in params.items()) or "none"


def training_steps(n_examples: int, batch_size: int, epochs: int) -> int:
    """Updates in ``epochs`` epochs of ``n_examples`` at ``batch_size`` (a smaller last batch counts)."""
    for what, value in (("n_examples", n_examples), ("batch_size", batch_size), ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(f"{what} must be an int >= 1, got {value!r}")
    if batch_size > n_examples:
        raise ValueError(f"batch_size {batch_size} exceeds the {n_examples} examples")
    return int(epochs) * -(-int(n_examples) // int(batch_size))


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
