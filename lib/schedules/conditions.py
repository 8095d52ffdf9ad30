"""The Robbins–Monro conditions for each policy, and what they mean on a noisy quadratic (section 3).

Robbins and Monro (1951) proved that stochastic approximation converges when
the step sizes satisfy

.. math:: \\sum_t \\eta_t = \\infty \\qquad\\text{and}\\qquad \\sum_t \\eta_t^2 < \\infty .

* :func:`robbins_monro_conditions`: the two verdicts for a policy of
  :mod:`lib.schedules.policies`, with its rates continued for ever, and why
  (a :class:`Conditions`);
* :func:`noisy_quadratic`: SGD on :math:`L(w) = \\tfrac12 \\lambda w^2` with
  Gaussian gradient noise under several schedules at once, simulated and exact
  (a :class:`NoisyQuadratic`), on :mod:`lib.step_size.robbins_monro`'s model;
  :func:`inv_late_loss`, the loss that an ``inv`` schedule with :math:`p = 1`
  approaches there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from lib.core import checks
from lib.schedules.policies import check_parameters, rates, schedule
from lib.step_size.robbins_monro import expected_quadratic_loss, noise_floor, noisy_quadratic_sgd


# --------------------------------------------------------------------------- the verdicts

@dataclass(frozen=True)
class Conditions:
    """Whether a policy's rates, continued for ever, meet the Robbins–Monro conditions.

    Attributes:
        sum_infinite (bool): :math:`\\sum_t \\eta_t = \\infty`.
        squares_finite (bool): :math:`\\sum_t \\eta_t^2 < \\infty`.
        reason (str): why, in one phrase.
    """

    sum_infinite: bool
    squares_finite: bool
    reason: str

    @property
    def met(self) -> bool:
        """Both conditions hold."""
        return self.sum_infinite and self.squares_finite


def robbins_monro_conditions(name: str, **params) -> Conditions:
    """Robbins & Monro's (1951) two conditions for policy ``name`` with ``params`` (rates continued for ever).

    A rate that settles at a positive value (fixed, multistep after its last
    milestone, warm-up after its ramp) or keeps returning to one (restarts,
    cycles) has both sums infinite.  A geometric decay (step, exp) has both
    finite.  ``inv``, :math:`\\eta_0 (1 + \\gamma t)^{-p}`, is a p-series: the sum
    is infinite for :math:`p \\le 1`, the squares finite for :math:`p > 1/2`.
    ``poly`` stays at 0 after ``T`` updates; ``cosine`` (in torch, rising again
    after ``T_max``) is periodic; ``one_cycle`` has no rates after
    ``total_steps`` (torch raises an error).

    Args:
        name (str): a policy of :data:`lib.schedules.policies.POLICIES`.
        **params: its parameters, as for :func:`lib.schedules.policies.schedule`.

    Returns:
        Conditions: the two verdicts and the reason.

    Raises:
        ValueError, TypeError: as :func:`lib.schedules.policies.check_parameters`.
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


# --------------------------------------------------------------------------- the noisy quadratic

@dataclass(frozen=True)
class NoisyQuadratic:
    """SGD on a noisy quadratic under several schedules (:func:`noisy_quadratic`).

    Attributes:
        labels (tuple[str, ...]): the C schedules, in order.
        policies (tuple[str, ...]): each schedule's policy name.
        base_rates (ndarray, (C,)): each schedule's :math:`\\eta_0` (per update).
        rates (ndarray, (C, steps)): the rate of every update.
        simulated (ndarray, (C, steps + 1)): mean loss over the runs after
            :math:`t = 0 \\dots` steps updates.
        exact (ndarray, (C, steps + 1)): its exact expectation.
        floors (dict[float, float]): the noise floor :math:`\\eta\\sigma^2/(2(2 - \\eta\\lambda))`
            of each constant (``fixed``) rate :math:`\\eta`.
        curvature, noise, start (float): :math:`\\lambda`, :math:`\\sigma`, :math:`w_0`.
        runs (int): independent runs averaged.
    """

    labels: tuple[str, ...]
    policies: tuple[str, ...]
    base_rates: np.ndarray
    rates: np.ndarray
    simulated: np.ndarray
    exact: np.ndarray
    floors: dict
    curvature: float
    noise: float
    start: float
    runs: int


def noisy_quadratic(schedules: Mapping[str, tuple[str, dict, float]], *, steps: int, runs: int,
                    curvature: float = 1.0, noise: float = 1.0, start: float = 1.0,
                    seed: int = 0) -> NoisyQuadratic:
    """SGD on :math:`L(w) = \\tfrac12\\lambda w^2` with gradient noise :math:`\\sigma\\xi_t` under several schedules.

    For each schedule, the mean loss of ``runs`` simulated runs
    (:func:`lib.step_size.robbins_monro.noisy_quadratic_sgd`, each schedule with
    the generator seeded by ``seed``) and its exact expectation from the recursion
    :math:`m_{t+1} = (1 - \\eta_t\\lambda)^2 m_t + \\eta_t^2\\sigma^2`
    (:func:`~lib.step_size.robbins_monro.expected_quadratic_loss`); for each
    constant rate, its noise floor (:func:`~lib.step_size.robbins_monro.noise_floor`).

    Args:
        schedules (mapping): ``{label: (policy, parameters, base rate)}``, e.g.
            ``{"exp": ("exp", {"gamma": 0.99}, 0.5)}``.
        steps (int): updates, >= 1.
        runs (int): independent runs to average, >= 1.
        curvature (float): :math:`\\lambda` > 0. Default 1.
        noise (float): :math:`\\sigma` > 0. Default 1.
        start (float): :math:`w_0`. Default 1.
        seed (int): seed of the noise, >= 0. Default 0.

    Returns:
        NoisyQuadratic: rates, simulated and exact losses (C, ...) and the floors.

    Raises:
        ValueError: an empty ``schedules``, a bad policy or parameter, an argument out of range.
        TypeError: an entry that is not a (policy, parameters, rate) triple; arguments of the wrong type.
    """
    if not isinstance(schedules, Mapping) or not schedules:
        raise ValueError("schedules must be a non-empty {label: (policy, parameters, base rate)} mapping")
    steps = checks.integer(steps, "steps", minimum=1)
    for label, entry in schedules.items():
        if not isinstance(entry, tuple) or len(entry) != 3:
            raise TypeError(f"schedule {label!r} must be a (policy, parameters, base rate) triple, got {entry!r}")
    curves = {label: rates(schedule(name, **params), lr, steps) for label, (name, params, lr) in schedules.items()}
    simulated = [noisy_quadratic_sgd(curve, curvature=curvature, noise=noise, start=start, runs=runs, seed=seed)
                 for curve in curves.values()]
    exact = [expected_quadratic_loss(curve, curvature=curvature, noise=noise, start=start)
             for curve in curves.values()]
    floors = {lr: noise_floor(lr, curvature=curvature, noise=noise)
              for name, _, lr in schedules.values() if name == "fixed"}
    return NoisyQuadratic(labels=tuple(schedules), policies=tuple(name for name, _, _ in schedules.values()),
                          base_rates=np.array([lr for _, _, lr in schedules.values()], dtype=np.float64),
                          rates=np.stack(list(curves.values())), simulated=np.stack(simulated),
                          exact=np.stack(exact), floors=floors, curvature=float(curvature), noise=float(noise),
                          start=float(start), runs=int(runs))


def inv_late_loss(lr: float, gamma: float, steps: int, *, curvature: float = 1.0, noise: float = 1.0) -> float:
    """The mean loss that ``inv`` with :math:`p = 1` approaches on the noisy quadratic after ``steps`` updates.

    For :math:`\\eta_t = \\eta_0 / (1 + \\gamma t) \\approx c / t` with :math:`c = \\eta_0/\\gamma`
    and :math:`c\\lambda > 1/2`, the recursion of :func:`noisy_quadratic` gives, for large :math:`t`,

    .. math:: \\mathbb E[L(w_t)] \\approx \\frac{\\lambda c^2 \\sigma^2}{2 (2 c \\lambda - 1)\\, t}

    (the classical :math:`O(1/t)` rate of stochastic approximation).  Derivation:
    with :math:`m_t = \\mathbb E[w_t^2]`, :math:`m_{t+1} \\approx (1 - 2c\\lambda/t)\\, m_t + c^2\\sigma^2/t^2`
    is solved to first order by :math:`m_t = a/t`, :math:`a = c^2\\sigma^2 / (2c\\lambda - 1)`,
    and :math:`\\mathbb E[L] = \\lambda m_t / 2`.

    Args:
        lr (float): :math:`\\eta_0` > 0.
        gamma (float): :math:`\\gamma` > 0.
        steps (int): :math:`t` >= 1.
        curvature (float): :math:`\\lambda` > 0. Default 1.
        noise (float): :math:`\\sigma` > 0. Default 1.

    Returns:
        float: the predicted mean loss.

    Raises:
        ValueError: an argument out of range, or :math:`c\\lambda \\le 1/2` (the loss then decays
            more slowly than :math:`1/t`).
        TypeError: an argument of the wrong type.
    """
    lr, gamma = checks.positive(lr, "lr"), checks.positive(gamma, "gamma")
    steps = checks.integer(steps, "steps", minimum=1)
    curvature, noise = checks.positive(curvature, "curvature"), checks.positive(noise, "noise")
    c = lr / gamma
    if 2 * c * curvature <= 1:
        raise ValueError(f"the 1/t law needs (lr / gamma) * curvature > 1/2, got {c * curvature:g}")
    return curvature * c**2 * noise**2 / (2 * (2 * c * curvature - 1) * steps)
