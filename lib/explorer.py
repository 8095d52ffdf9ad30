"""The shared explorer: controls -> one compute call -> one figure, and a message for bad values.

Every section's explorer (its ``explorer.py``) is a small subclass of
:class:`Explorer` that says three things:

* :meth:`Explorer.controls`: the ipywidgets controls, by name, in rows;
* :meth:`Explorer.compute`: the controls' values -> a result (a record of the
  section's experiments, computed now or read from what the build computed);
  it raises ``ValueError``/``TypeError`` for values it cannot take;
* :meth:`Explorer.draw` (result -> a matplotlib figure, usually one call into the
  section's ``figures.py``) and :meth:`Explorer.describe` (result -> one sentence
  shown above the figure).

On every change of a control the base calls ``compute`` once, then ``draw``
and ``describe`` on its result, and replaces the figure and the sentence.  An
invalid value leaves the last figure in place and shows the error's message
instead of a traceback.

The explorers need a live kernel (Jupyter, Binder, Colab, the page's live-code
button); in the static HTML the page shows the figure of the default values.
Experiment modules never import this one (nor ``ipywidgets``): the dependency
runs from explorers to experiments only.
"""
from __future__ import annotations

import html
from typing import Any, Callable

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display

from .style import PALETTE


def show_error(message: W.HTML, error: Exception) -> None:
    """Show an invalid setting's error in ``message``, in the palette's warning colour."""
    message.value = f'<span style="color:{PALETTE["vermillion"]}">{html.escape(str(error))}</span>'


def show_figure(output: W.Output, fig, show: Callable = display) -> None:
    """Replace the figure in ``output`` with ``fig``, then release ``fig``'s memory (``plt.close``)."""
    with output:
        output.clear_output(wait=True)
        show(fig)
    plt.close(fig)


class Explorer:
    """Base class of the section explorers (see the module docstring).

    Subclasses implement :meth:`controls`, :meth:`compute` and :meth:`draw`, and
    may implement :meth:`describe` and :meth:`extra_rows` (buttons and the like,
    wired by the subclass).  Build the subclass's own state *before* calling
    ``super().__init__()``, which draws the first figure.

    Attributes:
        widget (ipywidgets.VBox): what the notebook displays.
        message (ipywidgets.HTML): the sentence, or the error of an invalid value.
        output (ipywidgets.Output): the figure.
        result: what the last successful :meth:`compute` returned.
        last_figure: the figure on show (e.g. to glue a static copy into the page).
    """

    def __init__(self):
        rows = self.controls()
        self.inputs: dict[str, W.Widget] = {name: control for row in rows for name, control in row.items()}
        self.message = W.HTML()
        self.output = W.Output()
        self.result: Any = None
        self.last_figure = None
        for control in self.inputs.values():
            control.observe(self.redraw, names="value")
        self.widget = W.VBox([W.HBox(list(row.values())) for row in rows] + self.extra_rows()
                             + [self.message, self.output])
        self.redraw()

    # ---------------------------------------------------------------- what a subclass says

    def controls(self) -> list[dict[str, W.Widget]]:
        """The controls, as rows of ``{name: widget}``; ``compute`` receives their values by name."""
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
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.inputs.items()}

    def redraw(self, _change=None) -> bool:
        """Compute, draw and describe; on an invalid value show its message and keep the last figure.

        Returns True when the figure was replaced.
        """
        try:
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

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
