"""Learning-rate schedules: one factory for every policy, built on ``torch.optim.lr_scheduler`` (section 3).

The textbook's six policies (its section 12.3.3, equations 4 to 7) are six of
the learning-rate policies of the Caffe framework (Jia et al., 2014); the modern
ones come from Goyal et al. (2017, warm-up), Loshchilov & Hutter (2017, cosine
annealing and warm restarts) and Smith (2017, triangular cycles; Smith & Topin
2018, one-cycle).  With :math:`\\eta_0` the base rate (a :class:`lib.core.members.Member`'s
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

"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch.optim.lr_scheduler import (ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR,
                                      ExponentialLR, LambdaLR, LinearLR, LRScheduler, MultiStepLR,
                                      OneCycleLR, PolynomialLR, StepLR)

from lib.core import checks
from lib.core.members import Member, learning_rates
from lib.core.order import steps_per_epoch


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


def _below_base(policy: str, optimizer: torch.optim.Optimizer, eta_min: float) -> None:
    base = float(optimizer.param_groups[0]["lr"])
    if eta_min > base:
        raise ValueError(f"{policy}: eta_min={eta_min:g} is above the base learning rate {base:g}; the cosine "
                         "anneals from the base rate down to eta_min, so eta_min must be <= the rate")


class FlooredCosineAnnealingLR(CosineAnnealingLR):
    """``torch.optim.lr_scheduler.CosineAnnealingLR`` that refuses a floor ``eta_min`` above the base rate.

    torch accepts it and then anneals *upwards*, from the base rate to ``eta_min``;
    a reader who set the two the wrong way round gets a schedule that is not the
    one they meant, silently.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, T_max: int, eta_min: float = 0.0, **kwargs):
        _below_base("cosine", optimizer, eta_min)
        super().__init__(optimizer, T_max=T_max, eta_min=eta_min, **kwargs)


class FlooredCosineAnnealingWarmRestarts(CosineAnnealingWarmRestarts):
    """``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` that refuses ``eta_min`` above the base rate."""

    def __init__(self, optimizer: torch.optim.Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 **kwargs):
        _below_base("cosine_restarts", optimizer, eta_min)
        super().__init__(optimizer, T_0=T_0, T_mult=T_mult, eta_min=eta_min, **kwargs)


# --------------------------------------------------------------------------- parameters

@dataclass(frozen=True)
class Parameter:
    """One parameter of a policy: its kind and allowed range.

    ``kind`` is ``"int"``, ``"float"``, ``"ints"`` (a strictly increasing list of
    ints >= 1) or ``"choice"``.  ``low``/``high`` bound ints and floats; the
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

    def check(self, policy: str, value: Any) -> Any:
        """``value`` converted to its kind (int, float, list of ints or the choice), through :mod:`lib.core.checks`.

        Raises:
            TypeError: ``value`` is not of the parameter's kind; the message starts with the policy's name.
            ValueError: ``value`` is outside the allowed range; the message starts with the policy's name.
        """
        try:
            if self.kind == "choice":
                return checks.choice(value, self.name, self.choices)
            if self.kind == "ints":
                items = list(checks.integers(value, self.name, minimum=1))
                if any(b <= a for a, b in zip(items, items[1:])):
                    raise ValueError(f"{self.name} must be strictly increasing, got {items}")
                return items
            if self.kind == "int":
                return checks.integer(value, self.name, minimum=self.low)
            return checks.number(value, self.name, low=-math.inf if self.low is None else self.low,
                                 high=math.inf if self.high is None else self.high,
                                 low_open=self.open_low, high_open=self.open_high)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{policy}: {error}") from None


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
    Policy("cosine", FlooredCosineAnnealingLR, (_int("T_max", "updates of the half cosine"), _floor()),
           r"\eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi t/T)\bigr)",
           "loshchilov2017sgdr"),
    Policy("cosine_restarts", FlooredCosineAnnealingWarmRestarts,
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
    """The :class:`Policy` called ``name``.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
    """
    if not isinstance(name, str) or name not in POLICIES:
        raise ValueError(f"unknown schedule {name!r}; valid names: {', '.join(POLICIES)}")
    return POLICIES[name]


def check_parameters(name: str, **params) -> dict:
    """``params`` checked against the policy's :class:`Parameter` list (all required, nothing extra).

    Returns:
        dict: the parameters converted to their kinds (int, float, list of ints, choice).

    Raises:
        ValueError: an unknown policy; a value out of its range; one_cycle's rise
            ``pct_start * total_steps`` shorter than 2 updates or leaving no update for the descent.
        TypeError: a missing or unknown parameter, or a value of the wrong kind.
    """
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
    partial (a training run, a plot) builds its own fresh scheduler.  The rate
    formulas are in the module docstring (and :data:`POLICIES`' ``formula``).

    Args:
        name (str): a policy of :data:`POLICIES`.
        **params: the policy's parameters, all of them (counted in updates where they count).

    Returns:
        functools.partial: of the scheduler class, with the attributes ``policy``
        (the name) and ``parameters`` (the checked parameters).

    Raises:
        ValueError, TypeError: as :func:`check_parameters`.
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
    (:func:`lib.core.members.learning_rates`), so the curve drawn is the one trained.

    Args:
        schedule (functools.partial): from :func:`schedule`.
        lr (float): the base rate :math:`\\eta_0` (per update), > 0.
        steps (int): updates, >= 1.

    Returns:
        ndarray (steps,): float64 rates.

    Raises:
        TypeError: ``schedule`` is not a partial of a scheduler class.
        ValueError: ``lr`` or ``steps`` out of range; a scheduler that cannot give
            ``steps`` rates (one_cycle past ``total_steps``; triangular with
            ``base_lr`` not below ``lr``).
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

    Args:
        name (str): a policy of :data:`POLICIES`.
        steps (int): updates of the run, >= 16.
        lr (float): the base rate (per update). Default 0.1.

    Returns:
        dict: keyword arguments for :func:`schedule`.

    Raises:
        ValueError: an unknown policy, ``steps`` < 16, ``lr`` <= 0.
        TypeError: ``steps`` not an int, ``lr`` not a number.
    """
    policy(name)
    steps = checks.integer(steps, "steps", minimum=16)
    checks.positive(lr, "lr")
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
    """Parameters as a short phrase for captions, e.g. ``s = 500; γ = 0.9``; ``none`` when empty.

    Raises:
        TypeError: ``params`` is not a mapping.
        ValueError: a name without a symbol in :data:`SYMBOLS`.
    """
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
    """Updates in ``epochs`` epochs of ``n_examples`` at ``batch_size`` (a smaller last batch counts):
    ``epochs * steps_per_epoch(n_examples, batch_size)`` (:func:`lib.core.order.steps_per_epoch`).

    Raises:
        TypeError: an argument is not an int.
        ValueError: ``epochs`` or ``n_examples`` < 1, ``batch_size`` outside [1, ``n_examples``].
    """
    epochs = checks.integer(epochs, "epochs", minimum=1)
    return epochs * steps_per_epoch(n_examples, batch_size)
