"""The schedule explorer: pick a policy and its parameters, see its rates; *train* adds that run's loss curve.

:class:`ScheduleExplorer` is a :class:`lib.explorer.Explorer`: its controls
(policy, :math:`\\eta_0`, one field per parameter of the policy, in rows that
wrap to fit the notebook) go to one compute call, :func:`schedule_view`, whose
record :func:`lib.schedules.figures.schedule_explorer_figure` draws; the
sentence (:func:`describe_view`) reads the drawn rates.  The *train* button runs
:func:`lib.schedules.comparison.quick_training` with the current schedule;
invalid values (a parameter out of range, text that is not a number, a
one_cycle shorter than the run) show their message instead of a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import ipywidgets as W
import numpy as np

from lib.core import checks
from lib.core.data import Splits
from lib.core.engine import History
from lib.explorer import Explorer, NumberBox, show_error, sized, wrapping_row
from lib.schedules.comparison import quick_training
from lib.schedules.figures import schedule_explorer_figure
from lib.schedules.policies import (POLICIES, Parameter, default_parameters, parameter_text, policy, rates, schedule,
                                    training_steps)

#: The range of the explorer's base rate (per update).
LR_LIMITS = (1e-3, 3.0)
KIND_TEXT = {"int": "an int", "float": "a number", "ints": "a list of ints separated by commas"}
#: px per character of a field's label, and px of its input, in JupyterLab's 13 px interface font.
LABEL_PX_PER_CHAR, INPUT_PX = 7, 85


@dataclass(frozen=True)
class ScheduleView:
    """What the explorer shows (:func:`schedule_view`).

    Attributes:
        name (str): the policy.
        lr (float): the base rate :math:`\\eta_0` (per update).
        parameters (dict): the policy's checked parameters.
        rates (ndarray, (steps,)): the rate of every update of the run.
        runs (tuple[tuple[str, History], ...]): trained runs, (label, history).
    """

    name: str
    lr: float
    parameters: dict
    rates: np.ndarray
    runs: tuple


def schedule_view(name: str, params: dict, lr: float, steps: int,
                  runs: Sequence[tuple[str, History]] = ()) -> ScheduleView:
    """The explorer's record: policy ``name``'s rates over ``steps`` updates at base rate ``lr``, and ``runs``.

    Args:
        name (str), params (dict): the policy and its parameters (:func:`lib.schedules.policies.schedule`).
        lr (float): the base rate, in :data:`LR_LIMITS`.
        steps (int): updates of a run, >= 1.
        runs (list): (label, history) pairs to draw beside it. Default none.

    Raises:
        ValueError, TypeError: ``lr`` outside :data:`LR_LIMITS`; a bad policy, parameter or ``steps``.
    """
    lr = checks.number(lr, "lr", low=LR_LIMITS[0], high=LR_LIMITS[1])
    built = schedule(name, **params)
    return ScheduleView(name, lr, built.parameters, rates(built, lr, steps), tuple(runs))


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def describe_view(view: ScheduleView, epochs: int, examples: int) -> str:
    """One sentence about the drawn schedule, read off its rates: where it starts and ends, and its range."""
    curve = view.rates
    first, last, low, high = float(curve[0]), float(curve[-1]), float(curve.min()), float(curve.max())
    if low == high:
        shape = f"the rate stays at {first:.3g} for the whole run"
    else:
        shape = f"the rate goes from {first:.3g} to {last:.3g}"
        if low < min(first, last) or high > max(first, last):
            shape += f", between {low:.3g} and {high:.3g}"
    runs = f"; {_plural(len(view.runs), 'trained run')} on the right" if view.runs else ""
    return (f"{view.name}: {_plural(len(curve), 'update')} ({_plural(epochs, 'epoch')} of "
            f"{examples:,} examples); {shape}{runs}.")


def parse_parameter(parameter: Parameter, text: str):
    """A widget's text for ``parameter`` as a Python value (``"100, 150"`` for a list of ints).

    Its range is checked later, by :func:`lib.schedules.policies.schedule`.

    Raises:
        TypeError: ``text`` is not a string.
        ValueError: ``text`` does not read as the parameter's kind.
    """
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
        raise ValueError(f"{parameter.name}: {text!r} is not {KIND_TEXT[parameter.kind]}") from None
    return text


class ScheduleExplorer(Explorer):
    """Pick a policy and its parameters to see the rate live; 'train' adds that run's loss curve.

    Args:
        data (Splits): a small data set (a subset of MNIST); a run is ``epochs``
            epochs of its training split at ``batch_size``, and the schedule is drawn
            over exactly those updates.
        epochs (int): epochs of a run. Default 3.
        batch_size (int): examples per update. Default 128.
        name (str): the first policy shown. Default ``"step"``.
        lr (float): the first base rate, in :data:`LR_LIMITS`. Default 0.5.

    Attributes:
        steps (int): updates of a run.
        runs (list[tuple[str, History]]): the runs trained so far.
        policy, lr, fields, train_button, clear_button: the controls.

    Raises:
        TypeError: ``data`` is not a ``Splits``.
        ValueError: an unknown policy; a run of fewer than 16 updates.
    """

    def __init__(self, data: Splits, *, epochs: int = 3, batch_size: int = 128, name: str = "step",
                 lr: float = 0.5):
        if not isinstance(data, Splits):
            raise TypeError(f"data must be lib.core.data.Splits, got {type(data).__name__}")
        policy(name)
        self.data, self.epochs, self.batch_size = data, epochs, batch_size
        self.steps = training_steps(data.x_train.shape[0], batch_size, epochs)
        if self.steps < 16:
            raise ValueError(f"the explorer's run needs at least 16 updates, got {self.steps} "
                             f"({epochs} epoch(s) of {data.x_train.shape[0]} examples at batch size {batch_size})")
        self.runs: list[tuple[str, History]] = []
        self._first = (name, lr)
        self.fields = wrapping_row([])
        self.train_button = sized(W.Button(description="train",
                                           tooltip=f"{_plural(epochs, 'epoch')}, {self.steps} updates"), 100)
        self.clear_button = sized(W.Button(description="clear runs", disabled=True), 110)
        self.buttons = wrapping_row([self.train_button, self.clear_button])
        self.train_button.on_click(self.train)
        self.clear_button.on_click(self.clear)
        super().__init__()

    # ---------------------------------------------------------------- what the base asks for

    def controls(self):
        name, lr = self._first
        self.policy = sized(W.Dropdown(options=list(POLICIES), value=name, description="policy"), 220)
        self.lr = NumberBox(lr, "η0", low=LR_LIMITS[0], high=LR_LIMITS[1], slider=True, log=True, width=130,
                            slider_width=200)
        # registered before the base's redraw, so a new policy's fields exist when it computes
        self.policy.observe(self._new_fields, names="value")
        self._new_fields()
        return [{"policy": self.policy, "lr": self.lr}]

    def extra_rows(self):
        return [self.fields, self.buttons]

    def compute(self, policy: str, lr: float) -> ScheduleView:
        return schedule_view(policy, self.parameters(), lr, self.steps, self.runs)

    def draw(self, view: ScheduleView):
        return schedule_explorer_figure(view.name, view.lr, view.rates, view.runs)

    def describe(self, view: ScheduleView) -> str:
        return describe_view(view, self.epochs, self.data.x_train.shape[0])

    # ---------------------------------------------------------------- the policy's fields and the buttons

    def _base_rate(self) -> float:
        """The typed base rate, or the first one while the box holds something else."""
        try:
            return self.lr.number()
        except ValueError:
            return self._first[1]

    def _new_fields(self, _change=None) -> None:
        """One control per parameter of the chosen policy, at its default for this run, sized to its name."""
        spec = policy(self.policy.value)
        defaults = default_parameters(spec.name, self.steps, self._base_rate())
        controls = []
        for parameter in spec.parameters:
            value, width = defaults[parameter.name], LABEL_PX_PER_CHAR * len(parameter.name) + INPUT_PX
            if parameter.kind == "choice":
                control = sized(W.Dropdown(options=list(parameter.choices), value=value,
                                           description=parameter.name), width + 20)
            elif parameter.kind == "ints":
                control = sized(W.Text(value=", ".join(map(str, value)), description=parameter.name,
                                       continuous_update=False), width + 40)
            else:       # ranges are checked by lib.schedules.policies.schedule, with the policy's name
                control = NumberBox(value, parameter.name, integer=parameter.kind == "int", fmt=".6g", width=width)
            (control.text if isinstance(control, NumberBox) else control).tooltip = parameter.meaning
            control.observe(self.redraw, names="value")
            controls.append(control)
        self.fields.children = tuple(controls)

    def parameters(self) -> dict:
        """The current fields' values, parsed (ranges are checked in :func:`lib.schedules.policies.schedule`).

        Raises:
            ValueError: a field's text is not of its parameter's kind.
        """
        spec = policy(self.policy.value)
        values = {}
        for parameter, control in zip(spec.parameters, self.fields.children):
            if parameter.kind == "choice":
                values[parameter.name] = control.value
            elif isinstance(control, NumberBox):
                values[parameter.name] = control.number()
            else:
                values[parameter.name] = parse_parameter(parameter, control.value)
        return values

    def train(self, _button=None) -> bool:
        """Train with the current policy and add its loss curve, labelled with the policy, its parameters
        and the base rate.  Invalid input, or settings whose run is already drawn (training is seeded,
        so it would draw the same curve again), show a message instead."""
        try:
            name, params, lr = self.policy.value, self.parameters(), self.lr.number()
            checked = schedule(name, **params).parameters
            label = f"{name} ({parameter_text(checked)}), η0={lr:g}" if checked else f"{name}, η0={lr:g}"
            if any(drawn.split(" (diverged)")[0] == label for drawn, _ in self.runs):
                raise ValueError(f"{label} is already drawn: training is seeded, so the same settings "
                                 "give the same curve; change a setting to compare")
            with self.capturing():
                history = quick_training(name, params, lr, self.data, epochs=self.epochs,
                                         batch_size=self.batch_size)
        except (ValueError, TypeError) as error:
            show_error(self.message, error)
            return False
        if history.diverged[0]:
            label += " (diverged)"
        self.runs.append((label, history))
        self.clear_button.disabled = False
        return self.redraw()

    def clear(self, _button=None) -> None:
        """Forget the trained runs (the button is disabled while there are none)."""
        self.runs.clear()
        self.clear_button.disabled = True
        self.redraw()
