"""Slices through solutions along random filter-normalised directions (section 6).

A plane through three snapshots cannot hold the SGD solution as well, so the
section compares the solutions the way section 5 does (Li et al. 2018): the
training loss and test error at :math:`\\theta + \\alpha d` for random directions
:math:`d`, each rescaled filter by filter to the weights it perturbs
(:func:`lib.sharpness.weight_space.filter_normalized_direction`), read with
:func:`lib.sharpness.weight_space.losses_along_line`.  A wider valley rises
less between :math:`\\alpha = 0` and :math:`|\\alpha| = 0.5`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from torch import nn

from lib.core import checks
from lib.core.data import Splits
from lib.sharpness.weight_space import filter_normalized_direction, losses_along_line



@dataclass(frozen=True)
class Slices:
    """What :func:`slice_curves` read.

    Attributes:
        alphas (ndarray, (A,)): the steps along each direction (filter-normalised units).
        train_loss (dict[str, ndarray]): label -> (directions, A) training losses.
        test_error (dict[str, ndarray]): label -> (directions, A) test errors (%).
    """

    alphas: np.ndarray
    train_loss: dict[str, np.ndarray]
    test_error: dict[str, np.ndarray]

    @property
    def labels(self) -> tuple[str, ...]:
        """The solutions, in the order they were given."""
        return tuple(self.train_loss)

    def _index(self, alpha: float) -> int:
        return int(np.argmin(np.abs(self.alphas - alpha)))

    def centre_loss(self, label: str) -> float:
        """The training loss at the solution (the alpha closest to 0), averaged over directions."""
        return float(self.train_loss[label][:, self._index(0.0)].mean())

    def half_loss(self, label: str) -> float:
        """The training loss at the alphas closest to +0.5 and -0.5, averaged over both and the directions."""
        return float(self.train_loss[label][:, [self._index(0.5), self._index(-0.5)]].mean())

    def rise(self, label: str) -> float:
        """:meth:`half_loss` minus :meth:`centre_loss`: how steeply the valley's walls rise."""
        return self.half_loss(label) - self.centre_loss(label)

    @property
    def lowest(self) -> str:
        """The label with the lowest :meth:`centre_loss` (the first, on a tie)."""
        return min(self.labels, key=self.centre_loss)


def slice_curves(solutions: Mapping[str, nn.Module], alphas, data: Splits, *, directions: int,
                 examples: int) -> Slices:
    """Training loss and test error (%) of each solution along ``directions`` random filter-normalised
    directions (Li et al. 2018), on the first ``examples`` training and test images.

    Direction ``k`` of every solution comes from the same seeded Gaussian draw
    (:func:`~lib.sharpness.weight_space.filter_normalized_direction` with seed ``k``),
    rescaled to that solution's filters.

    Args:
        solutions (dict[str, nn.Module]): label -> network.
        alphas (array-like, (A,)): steps along each direction.
        data (Splits): with a test split.
        directions (int): directions per solution, >= 1.
        examples (int): training and test examples per point, >= 1.

    Returns:
        Slices: the curves, (directions, A) per solution.

    Raises:
        TypeError: ``solutions`` is not a non-empty dict, ``data`` not a ``Splits``.
        ValueError: ``directions`` or ``examples`` < 1; what ``losses_along_line`` raises.
    """
    data = checks.splits(data, classification=True)
    if not isinstance(solutions, Mapping) or not solutions:
        raise TypeError("solutions must be a non-empty dict: label -> nn.Module")
    directions = checks.integer(directions, "directions", minimum=1)
    examples = checks.integer(examples, "examples", minimum=1)
    x_train, y_train = data.x_train[:examples], data.y_train[:examples]
    x_test, y_test = data.x_test[:examples], data.y_test[:examples]
    train_loss, test_error = {}, {}
    for label, network in solutions.items():
        losses, errors = [], []
        for seed in range(directions):
            direction = filter_normalized_direction(network, seed)
            losses.append(losses_along_line(network, direction, alphas, x_train, y_train)[0])
            errors.append(100 * (1 - losses_along_line(network, direction, alphas, x_test, y_test)[1]))
        train_loss[label], test_error[label] = np.array(losses), np.array(errors)
    return Slices(np.asarray(alphas, dtype=np.float64), train_loss, test_error)
