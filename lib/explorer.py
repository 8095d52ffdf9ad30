"""The shared explorer: controls -> one compute call -> one figure, and a message for bad values.

Every section's explorer (its ``explorer.py``) is a small subclass of
:class:`Explorer` that says three things:

* :meth:`Explorer.controls`: the ipywidgets controls, by name, in rows;
* :meth:`Explorer.compute`: the controls' values -> a result (a record of the
  section's experiments, computed now or read from what the build computed);
  it raises ``ValueError``/``TypeError`` for values it cannot take;
* :meth:`Explorer.draw` (result -> a matplotlib figure, usually one call into the
  section's ``figures.py``) and :meth:`Explorer.describe` (result -> one sentence
  shown above the figure, computed from the result, so that it says what the
  figure shows).

On every change of a control the base calls ``compute`` once, then ``draw``
and ``describe`` on its result, and replaces the figure and the sentence.  An
invalid value leaves the last figure in place and shows the error's message
instead of a traceback.

What the base guarantees every explorer:

* **No silent clamping or coercion.**  ipywidgets' numeric controls change what
  a reader typed without a word (a ``FloatLogSlider`` or ``IntSlider`` whose
  readout is typed into clamps 50 to its maximum; a ``FloatText`` turns "abc"
  into 0).  A free number is therefore a :class:`NumberBox`: the text is kept as
  typed and read by :meth:`NumberBox.number`, which refuses text that is not a
  number, or a number out of range, with a message; its optional slider only
  writes into the text box and has no readout of its own.  A choice among
  values computed in advance is a ``Dropdown`` or a :func:`choice_slider`, which
  cannot hold anything else (a ``SelectionSlider`` whose own readout is off: in
  ipywidgets 8 a reader can type into that readout, which then shows the typed
  text while the value stays put; the choice is shown by a label instead).
* **Controls fit a 1,000 px notebook.**  Every control declares its width
  (:func:`sized`, :class:`NumberBox`), every row wraps (``flex_flow="row wrap"``),
  and :func:`row_lines` measures the lines a row takes against
  :data:`CONTROLS_WIDTH_PX`.
* **Output stays in the explorer.**  ``compute`` runs inside the explorer's own
  :attr:`Explorer.progress` output (:meth:`Explorer.capturing`), so the progress
  bar of training started by a control (``tqdm.auto`` draws a widget in a
  notebook) and anything else it prints appear under the controls, not in
  JupyterLab's log console, where the output of a widget callback goes otherwise.

The explorers need a live kernel (Jupyter, Binder, Colab, the page's live-code
button); in the static HTML the page shows the figure of the default values.
Experiment modules never import this one (nor ``ipywidgets``): the dependency
runs from explorers to experiments only.
"""
from __future__ import annotations

import html
import math
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import ipywidgets as W
import matplotlib.pyplot as plt
import traitlets
from IPython.display import display

from .core import checks
from .style import PALETTE

#: The width the controls of one row may take: a notebook 1,000 px wide less JupyterLab's
#: prompt column (64 px) and the cell's and output area's padding, rounded down.
CONTROLS_WIDTH_PX = 900
#: ipywidgets' margin around every control (``--jp-widgets-margin``, 2 px on each side).
MARGIN_PX = 2
#: ipywidgets' width of a control that declares none (``--jp-widgets-inline-width``; buttons: half of it).
DEFAULT_WIDTH_PX = 300
DEFAULT_BUTTON_WIDTH_PX = 148


def show_error(message: W.HTML, error: Exception) -> None:
    """Show an invalid setting's error in ``message``, in the palette's warning colour."""
    message.value = f'<span style="color:{PALETTE["vermillion"]}">{html.escape(str(error))}</span>'


def show_figure(output: W.Output, fig, show: Callable = display) -> None:
    """Replace the figure in ``output`` with ``fig``, then release ``fig``'s memory (``plt.close``)."""
    with output:
        output.clear_output(wait=True)
        show(fig)
    plt.close(fig)


# --------------------------------------------------------------------------- widths

def sized(control: W.Widget, width_px: int, label_px: int | None = None) -> W.Widget:
    """``control`` with a declared width of ``width_px`` (its description included) and, for a control
    with a description, a label ``label_px`` wide (default: as wide as its text). Returns ``control``."""
    control.layout.width = f"{int(width_px)}px"
    if hasattr(control.style, "description_width"):
        control.style.description_width = "initial" if label_px is None else f"{int(label_px)}px"
    return control


def choice_slider(options, value, description: str, width_px: int = 300,
                  readout_px: int = 110) -> tuple[W.SelectionSlider, W.Label]:
    """A slider over values computed in advance, and the label that shows its choice.

    The slider's own readout is off (a reader could type into it, see the module
    docstring); the label follows the slider's ``label`` and cannot be typed into.
    Put both in a row of :meth:`Explorer.controls`, the label under a name that
    starts with ``_`` (shown, not read).
    """
    slider = sized(W.SelectionSlider(options=options, value=value, description=description, readout=False,
                                     continuous_update=False), width_px)
    label = sized(W.Label(), readout_px)
    W.dlink((slider, "label"), (label, "value"))
    return slider, label


def wrapping_row(children) -> W.HBox:
    """A row of controls that wraps onto a second line rather than overflow a narrow notebook."""
    return W.HBox(list(children), layout=W.Layout(flex_flow="row wrap", align_items="center"))


def declared_width(widget: W.Widget) -> int:
    """The px ``widget`` takes in a row: its declared layout width (ipywidgets' default where it declares
    none) plus the margins, or, for a box, the sum over its children (a box has no margin).

    Raises:
        ValueError: a width that is not in px (a percentage, ``auto``), which cannot be checked.
    """
    width = widget.layout.width
    if isinstance(widget, W.Box):
        if width is None:
            return sum(declared_width(child) for child in widget.children)
        margin = 0
    else:
        margin = 2 * MARGIN_PX
        if width is None:
            width = f"{DEFAULT_BUTTON_WIDTH_PX if isinstance(widget, W.Button) else DEFAULT_WIDTH_PX}px"
    if not (isinstance(width, str) and width.endswith("px")):
        raise ValueError(f"{type(widget).__name__} declares its width as {width!r}; a row's width is only "
                         "known for widths in px")
    return math.ceil(float(width[:-2])) + margin


def row_lines(row: W.Box, width_px: int = CONTROLS_WIDTH_PX) -> list[int]:
    """The widths (px) of the lines ``row``'s children take: all on one line, or, when the row wraps
    (``flex_flow`` ``"row wrap"``), on as many lines of at most ``width_px`` as the browser makes."""
    widths = [declared_width(child) for child in row.children]
    if "wrap" not in (row.layout.flex_flow or "") or "nowrap" in (row.layout.flex_flow or ""):
        return [sum(widths)]
    lines: list[int] = []
    for width in widths:
        if lines and lines[-1] + width <= width_px:
            lines[-1] += width
        else:
            lines.append(width)
    return lines or [0]


# --------------------------------------------------------------------------- a number, typed

class NumberBox(W.HBox):
    """One number typed in a text box, optionally with a slider that fills the box in.

    The text is the value (``value``, a string, what :class:`Explorer` observes);
    :meth:`number` reads it and refuses, with a message that names the control,
    text that is not a number and a number outside [``low``, ``high``]: nothing is
    clamped or coerced.  The slider (``slider=True``; on a log scale with
    ``log=True``) has no readout of its own: moving it writes its value into the
    box, formatted with ``fmt``, and a valid number typed in the box moves it.

    Args:
        value (float or int): the first value.
        description (str): the label, also the name in messages.
        low, high (float, optional): the allowed range, bounds included. Default: any finite number.
        integer (bool): an int (typed as digits). Default False.
        slider (bool): a slider beside the box (needs ``low`` and ``high``). Default False.
        log (bool): the slider moves on a log scale (needs ``low`` > 0). Default False.
        fmt (str): the format of a float the slider writes. Default ``".3g"``.
        width (int): px of the box, its label included. Default 150.
        slider_width (int): px of the slider. Default 180.

    Attributes:
        text (ipywidgets.Text): the box.
        slider (ipywidgets.FloatSlider or IntSlider or None): the slider.

    Raises:
        ValueError: a slider without both bounds, a log slider with ``low`` <= 0, or a first value it refuses.
    """

    value = traitlets.Unicode()

    def __init__(self, value, description: str, *, low: float | None = None, high: float | None = None,
                 integer: bool = False, slider: bool = False, log: bool = False, fmt: str = ".3g",
                 width: int = 150, slider_width: int = 180):
        self.description, self.low, self.high = description, low, high
        self.is_int, self.log_scale, self.fmt = bool(integer), bool(log), fmt
        self.text = sized(W.Text(value=self.format_number(value), description=description, continuous_update=False),
                          width)
        children: list[W.Widget] = [self.text]
        self.slider = None
        if slider:
            if low is None or high is None:
                raise ValueError(f"{description}: a slider needs both bounds")
            if log and low <= 0:
                raise ValueError(f"{description}: a log slider needs low > 0, got {low}")
            if self.is_int:
                self.slider = W.IntSlider(min=int(low), max=int(high), readout=False, continuous_update=False)
            else:
                ends = (math.log10(low), math.log10(high)) if log else (low, high)
                step = 0.01 if log else (high - low) / 200
                self.slider = W.FloatSlider(min=ends[0], max=ends[1], step=step, readout=False,
                                            continuous_update=False)
            sized(self.slider, slider_width)
            children.append(self.slider)
        super().__init__(children, layout=W.Layout(align_items="center"))
        self._syncing = False
        self.value = self.text.value
        self.text.observe(self._typed, names="value")
        self.observe(self._set, names="value")
        if self.slider is not None:
            self.slider.observe(self._slid, names="value")
        self._place_slider(self.number())       # a first value out of range fails here

    def format_number(self, number) -> str:
        """``number`` as the box writes it."""
        return str(int(number)) if self.is_int else format(float(number), self.fmt)

    def number(self) -> float | int:
        """The box's text as a number in range.

        Raises:
            ValueError: the text is not a number (an int for an integer box), or the number is out of range.
        """
        text = self.value.strip()
        try:
            number = int(text) if self.is_int else float(text)
        except ValueError:
            raise ValueError(f"{self.description}: {text!r} is not {'an int' if self.is_int else 'a number'}"
                             + self._range_text()) from None
        if self.is_int:
            return checks.integer(number, self.description, minimum=self.low, maximum=self.high)
        return checks.number(number, self.description, low=-math.inf if self.low is None else self.low,
                             high=math.inf if self.high is None else self.high)

    def _range_text(self) -> str:
        if self.low is None and self.high is None:
            return ""
        if self.high is None:
            return f"; allowed: >= {self.low:g}"
        if self.low is None:
            return f"; allowed: <= {self.high:g}"
        return f"; allowed: {self.low:g} to {self.high:g}"

    # the box, the value and the slider, kept in step without loops
    def _typed(self, change) -> None:
        self.value = change["new"]

    def _set(self, change) -> None:
        self.text.value = change["new"]
        try:
            number = self.number()
        except ValueError:
            return                               # the slider stays where it was; the explorer shows why
        self._place_slider(number)

    def _place_slider(self, number) -> None:
        if self.slider is None or self._syncing:
            return
        self._syncing = True
        try:
            self.slider.value = math.log10(number) if self.log_scale else number
        finally:
            self._syncing = False

    def _slid(self, change) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.value = self.format_number(10 ** change["new"] if self.log_scale else change["new"])
        finally:
            self._syncing = False


# --------------------------------------------------------------------------- the explorer

class Explorer:
    """Base class of the section explorers (see the module docstring).

    Subclasses implement :meth:`controls`, :meth:`compute` and :meth:`draw`, and
    may implement :meth:`describe` and :meth:`extra_rows` (buttons and the like,
    wired by the subclass).  Build the subclass's own state *before* calling
    ``super().__init__()``, which draws the first figure.

    Attributes:
        widget (ipywidgets.VBox): what the notebook displays.
        rows (list[ipywidgets.HBox]): the rows of controls, each wrapping.
        extras (list[ipywidgets.Widget]): what :meth:`extra_rows` returned.
        message (ipywidgets.HTML): the sentence, or the error of an invalid value.
        progress (ipywidgets.Output): what a computation prints while it runs (progress bars).
        output (ipywidgets.Output): the figure.
        result: what the last successful :meth:`compute` returned.
        last_figure: the figure on show (e.g. to glue a static copy into the page).
    """

    def __init__(self):
        self._held = 0
        rows = self.controls()
        self.inputs: dict[str, W.Widget] = {name: control for row in rows for name, control in row.items()
                                            if not name.startswith("_")}   # "_name": shown, not read
        self.message = W.HTML()
        self.progress = W.Output()
        self.output = W.Output()
        self.result: Any = None
        self.last_figure = None
        for control in self.inputs.values():
            control.observe(self.redraw, names="value")
        self.rows = [wrapping_row(row.values()) for row in rows]
        self.extras = self.extra_rows()
        self.widget = W.VBox(self.rows + self.extras + [self.message, self.progress, self.output])
        self.redraw()

    # ---------------------------------------------------------------- what a subclass says

    def controls(self) -> list[dict[str, W.Widget]]:
        """The controls, as rows of ``{name: widget}``; ``compute`` receives their values by name
        (a widget whose name starts with ``_``, a label say, is shown in the row but not read)."""
        raise NotImplementedError

    def compute(self, **values) -> Any:
        """The result for these values; raises ``ValueError``/``TypeError`` for values it cannot take."""
        raise NotImplementedError

    def draw(self, result) -> Any:
        """The figure for ``result``."""
        raise NotImplementedError

    def describe(self, result) -> str:
        """One sentence about ``result``, shown above the figure (plain text)."""
        return ""

    def extra_rows(self) -> list[W.Widget]:
        """Widgets shown under the controls (buttons, tables); none by default."""
        return []

    # ---------------------------------------------------------------- the cycle

    def values(self) -> dict[str, Any]:
        """The controls' current values, by name (a :class:`NumberBox`'s as its number).

        Raises:
            ValueError: a :class:`NumberBox` holds text that is not a number in its range.
        """
        return {name: control.number() if isinstance(control, NumberBox) else control.value
                for name, control in self.inputs.items()}

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Change several controls without a redraw for each (e.g. new options and a value)."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1

    @contextmanager
    def capturing(self) -> Iterator[None]:
        """Run the block with its output (a training's progress bar, warnings) in :attr:`progress`.

        Called from a widget's callback, output goes to JupyterLab's log console
        unless an output widget captures it.  An exception raised in the block
        passes through unchanged (an ``Output`` used as a context manager in a
        kernel would print it and swallow it).
        """
        self.progress.clear_output()
        caught: BaseException | None = None
        with self.progress:
            try:
                yield
            except BaseException as error:      # noqa: BLE001 - re-raised below, outside the Output
                caught = error
        if caught is not None:
            raise caught

    def redraw(self, _change=None) -> bool:
        """Compute, draw and describe; on an invalid value show its message and keep the last figure.

        Returns True when the figure was replaced (False too while :meth:`hold` holds).
        """
        if self._held:
            return False
        try:
            with self.capturing():
                result = self.compute(**self.values())
            fig = self.draw(result)
            text = self.describe(result)
        except (ValueError, TypeError) as error:
            show_error(self.message, error)
            return False
        self.result = result
        self.message.value = html.escape(text)
        show_figure(self.output, fig)
        self.last_figure = fig
        return True

    def widest_line(self) -> int:
        """The px of the widest line any row of controls takes (:func:`row_lines`), extra rows included."""
        rows = self.rows + [row for row in self.extras if isinstance(row, W.HBox)]
        return max(max(row_lines(row)) for row in rows)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
