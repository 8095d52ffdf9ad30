"""Section 5's explorer: pick two batch sizes, see Keskar's parametric plot between their solutions.

:class:`BatchSizeExplorer` (an :class:`lib.explorer.Explorer`) reads the networks
and sharpness numbers from a :class:`~lib.sharpness.generalization_gap.SolutionBank`
(training a missing one on demand), computes
:func:`~lib.sharpness.weight_space.parametric_curves` between them, draws
:func:`~lib.sharpness.figures.parametric_figure` and shows the two solutions'
sharpness numbers in a table under the controls.  A batch size not trained yet
trains when it is picked, its progress bar in the explorer's own output
(:meth:`lib.explorer.Explorer.capturing`).
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as W
import numpy as np

from lib.core import checks
from lib.explorer import Explorer, sized

from .figures import parametric_figure
from .generalization_gap import SolutionBank
from .weight_space import parametric_curves


@dataclass(frozen=True)
class Comparison:
    """What the explorer shows for batch sizes ``a`` and ``b``: the curves between their solutions
    (``{split: (losses, accuracies)}``, each (len(alphas),)) and their sharpness reports."""

    a: int
    b: int
    alphas: np.ndarray
    curves: dict
    reports: dict


def sharpness_table(reports: dict, sharpness_key: str) -> str:
    """An HTML table of the top eigenvalue, the trace and ``sharpness_key`` for each batch size of ``reports``."""
    rows = [("top Hessian eigenvalue λ_max", "top_eigenvalue"), ("Hessian trace", "trace"),
            (f"Keskar sharpness ({sharpness_key})", sharpness_key)]
    sizes = list(reports)
    header = "".join(f"<th>batch {size}</th>" for size in sizes)
    cells = "".join(f"<tr><td>{html.escape(title)}</td>"
                    + "".join(f"<td>{reports[size][key]:.3g}</td>" for size in sizes) + "</tr>"
                    for title, key in rows)
    return f"<table><tr><th></th>{header}</tr>{cells}</table>"


class BatchSizeExplorer(Explorer):
    """Pick two batch sizes: Keskar's interpolation between their solutions and their sharpness.

    Args:
        bank (SolutionBank): the networks and their sharpness numbers (``top_eigenvalue``,
            ``trace`` and ``sharpness_key``).
        batch_sizes (sequence of int): the choices, at least two distinct.
        splits (dict): name -> (x, y), the data sets of the curves.
        alphas (sequence of float, optional): the points of the line. Default 31 points in [-1, 2].
        small, large (int, optional): the first choices. Default the smallest and the largest.
        sharpness_key (str): the Keskar number in the table. Default ``"keskar_full_1e-03"``.

    Choosing the same batch size twice, or one the bank cannot provide, shows a message.  A
    batch size the bank has not trained yet trains when it is picked; its progress bar shows
    in the explorer, above the figure.

    Raises:
        TypeError: ``bank`` is not a :class:`SolutionBank`; batch sizes that are not ints.
        ValueError: fewer than two distinct batch sizes; ``small`` or ``large`` not among them.
    """

    def __init__(self, bank: SolutionBank, batch_sizes, splits: dict, *, alphas=None,
                 small: int | None = None, large: int | None = None,
                 sharpness_key: str = "keskar_full_1e-03"):
        if not isinstance(bank, SolutionBank):
            raise TypeError(f"bank must be a SolutionBank, got {type(bank).__name__}")
        sizes = sorted(set(checks.integers(batch_sizes, "batch_sizes", minimum=1)))
        if len(sizes) < 2:
            raise ValueError(f"batch_sizes must hold at least two different sizes to choose from, got {sizes}")
        self.bank, self.splits, self.sharpness_key = bank, splits, sharpness_key
        self.alphas = np.linspace(-1.0, 2.0, 31) if alphas is None else np.asarray(alphas, dtype=float)
        small, large = sizes[0] if small is None else small, sizes[-1] if large is None else large
        for name, value in (("small", small), ("large", large)):
            if value not in sizes:
                raise ValueError(f"{name} must be one of batch_sizes {sizes}, got {value!r}")
        self.small = sized(W.Dropdown(options=sizes, value=small, description="batch a"), 200)
        self.large = sized(W.Dropdown(options=sizes, value=large, description="batch b"), 200)
        self.table = W.HTML()
        super().__init__()

    def controls(self):
        return [{"a": self.small, "b": self.large}]

    def extra_rows(self):
        return [self.table]

    def compute(self, a: int, b: int) -> Comparison:
        if a == b:
            raise ValueError("pick two different batch sizes")
        curves = parametric_curves(self.bank.model(a), self.bank.model(b), self.alphas, self.splits)
        return Comparison(a, b, self.alphas, curves, {size: self.bank.report(size) for size in (a, b)})

    def draw(self, result: Comparison):
        return parametric_figure(result.alphas, result.curves, labels=(f"batch {result.a}", f"batch {result.b}"))

    def describe(self, result: Comparison) -> str:
        return f"α = 0 is the network trained with batch {result.a}, α = 1 the one with batch {result.b}."

    def redraw(self, _change=None) -> bool:
        drawn = super().redraw(_change)
        if drawn:
            self.table.value = sharpness_table(self.result.reports, self.sharpness_key)
        return drawn
