"""A loss curve with a long plateau: a 2-2-1 sigmoid network learning XOR (section 1).

The textbook's Table 12-1 shows a training loss that stalls for thousands of
epochs and then drops.  The same happens to the smallest network that can
represent XOR, trained by full-batch gradient descent on the mean squared error

.. math:: L(\\theta) = \\frac{1}{2n} \\sum_{i=1}^{n} \\big(\\sigma(v^\\top \\sigma(W^\\top x_i + b) + c) - y_i\\big)^2,

with :math:`\\theta = (W, b, v, c)`, nine parameters.  Starting with small
weights puts the network near the symmetric point :math:`\\theta = 0`, where
every input gives the output 1/2 and the loss is 1/8.  There the gradient
vanishes and the Hessian has rank one (its single non-zero eigenvalue, 3/32, lies
along a mix of the output bias and the output weights): in eight directions the
loss is flat to second order, and nearby the Hessian
has negative eigenvalues, the signature of a saddle region (Dauphin et al., 2014).

Several seeds are trained at once: the parameters carry a leading seed axis and
the loss summed over seeds gives each seed its own gradient.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch

from lib.core import checks
from lib.core.device import seeded_generator

DTYPE = torch.float64
HIDDEN = 2
N_PARAMS = 2 * HIDDEN + HIDDEN + HIDDEN + 1  # W (2×2), b (2), v (2), c (1)
SYMMETRIC_LOSS = 0.125  # output 1/2 for all four inputs: (1/2)·mean((1/2)²)


def xor_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The four XOR inputs ``(4, 2)`` and targets ``(4,)``."""
    inputs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=DTYPE)
    return inputs, torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=DTYPE)


def xor_loss(params: torch.Tensor) -> torch.Tensor:
    """Loss of every network in ``params`` (shape ``(seeds, 9)`` or ``(9,)``); returns ``(seeds,)`` or ``()``.

    Layout of the nine parameters: ``W`` row-major (4), ``b`` (2), ``v`` (2), ``c`` (1).
    """
    if not isinstance(params, torch.Tensor):
        raise TypeError(f"params must be a torch.Tensor, got {type(params).__name__}")
    if params.shape[-1] != N_PARAMS or params.ndim not in (1, 2):
        raise ValueError(f"params must have shape (seeds, {N_PARAMS}) or ({N_PARAMS},), got {tuple(params.shape)}")
    single = params.ndim == 1
    p = params[None] if single else params
    inputs, targets = xor_data()
    W = p[:, : 2 * HIDDEN].reshape(-1, 2, HIDDEN)
    b = p[:, 2 * HIDDEN: 3 * HIDDEN]
    v = p[:, 3 * HIDDEN: 4 * HIDDEN]
    c = p[:, 4 * HIDDEN]
    hidden = torch.sigmoid(torch.einsum("nd,sdh->snh", inputs, W) + b[:, None, :])
    output = torch.sigmoid(torch.einsum("snh,sh->sn", hidden, v) + c[:, None])
    loss = 0.5 * ((output - targets) ** 2).mean(dim=1)
    return loss[0] if single else loss


@dataclass(frozen=True)
class XorRun:
    """Losses of ``seeds`` networks over ``steps`` steps, plus parameter snapshots."""

    lr: float
    init_scale: float
    seeds: tuple[int, ...]
    losses: np.ndarray  # (steps + 1, n_seeds)
    snapshot_steps: tuple[int, ...]
    snapshots: np.ndarray  # (len(snapshot_steps), n_seeds, 9)

    def params_at(self, step: int, seed_index: int = 0) -> torch.Tensor:
        """The parameters of seed number ``seed_index`` at a snapshot ``step``."""
        if step not in self.snapshot_steps:
            raise ValueError(f"step {step} was not recorded; recorded: {self.snapshot_steps}")
        if not 0 <= seed_index < len(self.seeds):
            raise ValueError(f"seed_index must be in [0, {len(self.seeds)}), got {seed_index}")
        return torch.as_tensor(self.snapshots[self.snapshot_steps.index(step), seed_index])

    def escape_steps(self, level: float = SYMMETRIC_LOSS / 2) -> np.ndarray:
        """First step at which each seed's loss falls below ``level`` (NaN if never)."""
        below = self.losses <= level
        return np.array([float(np.argmax(col)) if col.any() else math.nan for col in below.T])


@contextlib.contextmanager
def _one_thread():
    """Run torch on one CPU thread, then restore the previous setting.

    The network's tensors hold a few dozen numbers; waking a second thread for
    each einsum costs more than the arithmetic, and on a busy 2-core machine it
    made training about five times slower.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train_xor(seeds: int, steps: int, lr: float = 1.0, init_scale: float = 0.5,
              snapshot_steps: tuple[int, ...] = ()) -> XorRun:
    """Full-batch gradient descent (``torch.optim.SGD``) on XOR for seeds ``0 .. seeds-1``.

    Initial parameters are :math:`\\mathcal N(0, \\mathrm{init\\_scale}^2)`, drawn
    from a generator seeded with the seed number.
    """
    seeds, steps = checks.int_at_least(seeds, "seeds"), checks.int_at_least(steps, "steps")
    lr, init_scale = checks.positive(lr, "lr"), checks.positive(init_scale, "init_scale")
    snapshot_steps = tuple(int(s) for s in snapshot_steps)
    if any(not 0 <= s <= steps for s in snapshot_steps):
        raise ValueError(f"snapshot_steps must lie in [0, {steps}], got {snapshot_steps}")

    start = torch.stack([torch.randn(N_PARAMS, generator=seeded_generator(seed), dtype=DTYPE)
                         for seed in range(seeds)]) * init_scale
    params = torch.nn.Parameter(start)
    optimizer = torch.optim.SGD([params], lr=lr)
    losses = np.empty((steps + 1, seeds))
    snapshots = np.empty((len(snapshot_steps), seeds, N_PARAMS))
    with _one_thread():
        for step in range(steps + 1):
            loss = xor_loss(params)
            losses[step] = loss.detach().numpy()
            if step in snapshot_steps:
                snapshots[snapshot_steps.index(step)] = params.detach().numpy()
            if step == steps:
                break
            optimizer.zero_grad()
            loss.sum().backward()  # seeds are independent: each gets the gradient of its own loss
            optimizer.step()
    return XorRun(lr=lr, init_scale=init_scale, seeds=tuple(range(seeds)), losses=losses,
                  snapshot_steps=snapshot_steps, snapshots=snapshots)


def hessian_eigenvalues(params) -> np.ndarray:
    """Eigenvalues (ascending) of the Hessian of :func:`xor_loss` at one parameter vector ``(9,)``."""
    params = torch.as_tensor(np.asarray(params, dtype=np.float64), dtype=DTYPE)
    if params.shape != (N_PARAMS,):
        raise ValueError(f"params must have shape ({N_PARAMS},), got {tuple(params.shape)}")
    return np.linalg.eigvalsh(torch.func.hessian(xor_loss)(params).numpy())
