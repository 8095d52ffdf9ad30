"""Explorers that work in the static HTML book: controls over results computed during the build.

The ipywidgets explorers (:mod:`lib.explorer`) need a kernel: in the HTML book they
show one picture.  A *static explorer* carries the results of the build's runs as
numbers inside the page and lets the browser swap them when a control moves, with no
kernel and no network.  It is drawn with Bokeh: its sliders, drop-downs and check
boxes are Bokeh widgets and one ``CustomJS`` callback replaces the data of the
chart's ``ColumnDataSource`` objects by the stored view that the controls select.

The exported record, :class:`StaticRecord`, is the single thing a chart draws:

* ``controls``: the controls, each a list of options (labels shown, values behind them)
  and a default position (:class:`Control`);
* ``sources``: named data tables (:class:`Views`), each depending on some of the
  controls; for every combination of those controls' positions one view, a dict of
  equally long 1-D float arrays (the columns of a Bokeh ``ColumnDataSource``);
* ``texts``: named sentences (:class:`Texts`), one per combination of the controls
  they depend on, shown under the chart;
* ``meta``: JSON-able facts (axis labels, the default values the prose glues).

:meth:`StaticRecord.to_json` and :meth:`StaticRecord.from_json` round-trip it exactly
(float arrays as their IEEE bytes, NaN and infinities included), so a test can
compare what the browser draws with the record, and a kernel explorer can read the
very record a static chart carries.

Where BokehJS comes from (no CDN, the book works offline):

* in the book build, ``tools/bokeh_static.py`` (a Sphinx extension) copies
  ``bokeh.min.js`` and ``bokeh-widgets.min.js`` from the installed ``bokeh`` wheel
  into the site's ``_static/`` and adds them to the pages that hold an explorer;
  every page shares that copy, and a cell's output carries only the chart's
  document (JSON) and the few lines that embed it.  The extension sets the
  environment variable :data:`BUILD_ENV` for the kernels the build starts;
* anywhere else (Jupyter, Binder, Colab), the output carries BokehJS inline
  (Bokeh's ``INLINE`` resources, read from the installed wheel), so it displays
  offline as well; it costs about 1.7 MB in that notebook's output, never in the
  book's pages.
"""
from __future__ import annotations

import base64
import html as _html
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from lib.core.timing import timed

#: Set (to "1") by ``tools/bokeh_static.py`` in the book build: BokehJS is then served from ``_static``.
BUILD_ENV = "LR_BOOK_STATIC_BOKEH"
#: The class of the ``<div>`` that wraps every static explorer's output (tests and the extension look for it).
CSS_CLASS = "lr-static-explorer"
KINDS = ("slider", "select", "checkbox")
#: The key under which :func:`show` puts the exported record in the output's metadata (myst-nb renders only
#: the output's data, and warns about any MIME type it does not know, so the record is not in the data).
RECORD_KEY = "lr_book_static_record"


# --------------------------------------------------------------------------- the record

@dataclass(frozen=True)
class Control:
    """One control: its options and the one shown first.

    Attributes:
        name (str): identifier (letters, digits, ``_``), unique in its record.
        label (str): what the reader sees beside it.
        options (tuple of str): the option labels, in order (a slider moves along them).
        values (tuple): the value behind each option (numbers or strings), as long as ``options``.
        default (int): index of the option shown first.
        kind (str): ``"slider"``, ``"select"`` (a drop-down) or ``"checkbox"`` (two options: off, on).
    """

    name: str
    label: str
    options: tuple
    values: tuple
    default: int = 0
    kind: str = "slider"

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"name must be an identifier, got {self.name!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        options, values = tuple(str(o) for o in self.options), tuple(_plain(v) for v in self.values)
        if not options or len(options) != len(values):
            raise ValueError(f"control {self.name!r}: options and values must be non-empty and equally long, "
                             f"got {len(options)} and {len(values)}")
        if self.kind == "checkbox" and len(options) != 2:
            raise ValueError(f"control {self.name!r}: a checkbox has exactly 2 options (off, on)")
        if not isinstance(self.default, (int, np.integer)) or not 0 <= self.default < len(options):
            raise ValueError(f"control {self.name!r}: default must be an index in [0, {len(options) - 1}], "
                             f"got {self.default!r}")
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "default", int(self.default))

    def index(self, value) -> int:
        """The position of ``value`` among :attr:`values` (numbers compared with a relative 1e-9).

        Raises:
            ValueError: ``value`` is not one of the values.
        """
        for i, v in enumerate(self.values):
            if (isinstance(v, str) or isinstance(value, str)) and v == value:
                return i
            if not isinstance(v, str) and not isinstance(value, str) and math.isclose(v, value, rel_tol=1e-9):
                return i
        raise ValueError(f"{self.name} must be one of {list(self.values)}, got {value!r}")


def _plain(value):
    """A JSON-able scalar: NumPy numbers become Python numbers."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return str(value)
    raise TypeError(f"a control value must be a number or a string, got {type(value).__name__}")


@dataclass(frozen=True)
class Views:
    """A data table that depends on some controls: one view per combination of their positions.

    Attributes:
        depends (tuple of str): the names of the controls it depends on (may be empty: one fixed view).
        views (dict): ``{positions (tuple of int, one per depended control): {column: ndarray (n,)}}``;
            every combination present, every view with the same columns, the columns of one view
            equally long (views may differ in length).
    """

    depends: tuple
    views: dict


@dataclass(frozen=True)
class Texts:
    """A sentence that depends on some controls: ``{positions: str}``, every combination present."""

    depends: tuple
    views: dict


@dataclass
class StaticRecord:
    """What a static explorer draws: controls, data views, sentences and facts (see the module docstring).

    Raises (at construction):
        ValueError: duplicate control names, a view or text depending on an unknown control, a
            missing combination of positions, views with different columns, columns of unequal length
            or not 1-D.
        TypeError: a column that is not numeric.
    """

    title: str
    controls: tuple
    sources: dict
    texts: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.controls = tuple(self.controls)
        names = [c.name for c in self.controls]
        if len(set(names)) != len(names):
            raise ValueError(f"control names must be unique, got {names}")
        by_name = {c.name: c for c in self.controls}
        for kind, table in (("source", self.sources), ("text", self.texts)):
            for name, item in table.items():
                if not isinstance(name, str) or not name.isidentifier():
                    raise ValueError(f"{kind} name must be an identifier, got {name!r}")
                unknown = [d for d in item.depends if d not in by_name]
                if unknown:
                    raise ValueError(f"{kind} {name!r} depends on unknown controls {unknown}; controls: {names}")
                wanted = set(itertools.product(*(range(len(by_name[d].options)) for d in item.depends)))
                have = {tuple(int(i) for i in k) for k in item.views}
                if have != wanted:
                    raise ValueError(f"{kind} {name!r}: views must cover every combination of "
                                     f"{list(item.depends)}; missing {sorted(wanted - have)[:5]}, "
                                     f"extra {sorted(have - wanted)[:5]}")
        for name, item in self.sources.items():
            columns = None
            fixed = {}
            for key, view in item.views.items():
                cols = {}
                for col, arr in view.items():
                    arr = np.asarray(arr)
                    if arr.dtype.kind not in "biuf":
                        raise TypeError(f"source {name!r} column {col!r} must be numeric, got {arr.dtype}")
                    if arr.ndim != 1:
                        raise ValueError(f"source {name!r} column {col!r} must be 1-D, got shape {arr.shape}")
                    cols[col] = arr.astype(np.float64)
                if columns is None:
                    columns = set(cols)
                if set(cols) != columns or len({len(a) for a in cols.values()}) > 1:
                    raise ValueError(f"source {name!r}: every view must have the columns {sorted(columns)}, "
                                     f"all equally long; view {key} has "
                                     f"{ {c: len(a) for c, a in cols.items()} }")
                fixed[tuple(int(i) for i in key)] = cols
            self.sources[name] = Views(tuple(item.depends), fixed)
        for name, item in self.texts.items():
            self.texts[name] = Texts(tuple(item.depends),
                                     {tuple(int(i) for i in k): str(v) for k, v in item.views.items()})

    # ---- reading
    def control(self, name: str) -> Control:
        for c in self.controls:
            if c.name == name:
                return c
        raise ValueError(f"no control {name!r}; controls: {[c.name for c in self.controls]}")

    def positions(self, **choices) -> dict:
        """Every control's position: the defaults, with ``choices`` (control name -> value) applied."""
        unknown = set(choices) - {c.name for c in self.controls}
        if unknown:
            raise ValueError(f"unknown controls {sorted(unknown)}; controls: {[c.name for c in self.controls]}")
        return {c.name: c.index(choices[c.name]) if c.name in choices else c.default for c in self.controls}

    def data(self, source: str, **choices) -> dict:
        """The view of ``source`` that the controls select (defaults, with ``choices`` by value)."""
        item = self.sources[source]
        at = self.positions(**choices)
        return item.views[tuple(at[d] for d in item.depends)]

    def text(self, name: str, **choices) -> str:
        """The sentence ``name`` at the controls' positions (defaults, with ``choices`` by value)."""
        item = self.texts[name]
        at = self.positions(**choices)
        return item.views[tuple(at[d] for d in item.depends)]

    def n_numbers(self) -> int:
        """How many numbers the record carries (all views of all sources)."""
        return sum(len(a) for item in self.sources.values() for v in item.views.values() for a in v.values())

    # ---- export
    def to_dict(self) -> dict:
        """Plain JSON-able data (arrays as base64 of their little-endian float64 bytes)."""
        def arr(a):
            return {"float64": base64.b64encode(np.asarray(a, "<f8").tobytes()).decode("ascii")}

        def key(k):
            return ",".join(str(i) for i in k)

        return {
            "title": self.title,
            "controls": [{"name": c.name, "label": c.label, "options": list(c.options), "values": list(c.values),
                          "default": c.default, "kind": c.kind} for c in self.controls],
            "sources": {n: {"depends": list(s.depends),
                            "views": {key(k): {col: arr(a) for col, a in v.items()} for k, v in s.views.items()}}
                        for n, s in self.sources.items()},
            "texts": {n: {"depends": list(t.depends), "views": {key(k): v for k, v in t.views.items()}}
                      for n, t in self.texts.items()},
            "meta": self.meta,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, d: Mapping) -> "StaticRecord":
        def arr(a):
            return np.frombuffer(base64.b64decode(a["float64"]), "<f8").astype(np.float64)

        def key(k):
            return tuple(int(i) for i in k.split(",")) if k else ()

        return cls(title=d["title"], controls=tuple(Control(**c) for c in d["controls"]),
                   sources={n: Views(tuple(s["depends"]), {key(k): {c: arr(a) for c, a in v.items()}
                                                           for k, v in s["views"].items()})
                            for n, s in d["sources"].items()},
                   texts={n: Texts(tuple(t["depends"]), {key(k): v for k, v in t["views"].items()})
                          for n, t in d["texts"].items()},
                   meta=dict(d["meta"]))

    @classmethod
    def from_json(cls, text: str) -> "StaticRecord":
        return cls.from_dict(json.loads(text))

    def equals(self, other: "StaticRecord") -> bool:
        """Exact equality (arrays bit for bit, NaN equal to NaN)."""
        if (self.title, self.controls, self.meta) != (other.title, other.controls, other.meta):
            return False
        if set(self.sources) != set(other.sources) or self.texts != other.texts:
            return False
        for n, s in self.sources.items():
            o = other.sources[n]
            if s.depends != o.depends or set(s.views) != set(o.views):
                return False
            for k, v in s.views.items():
                if set(v) != set(o.views[k]) or not all(
                        np.array_equal(a, o.views[k][c], equal_nan=True) for c, a in v.items()):
                    return False
        return True


def views_over(controls: Sequence[Control], depends: Sequence[str], make: Callable[..., dict]) -> Views:
    """A :class:`Views` built by calling ``make(**values)`` (control name -> value) for every combination."""
    by_name = {c.name: c for c in controls}
    views = {}
    for key in itertools.product(*(range(len(by_name[d].values)) for d in depends)):
        views[key] = make(**{d: by_name[d].values[i] for d, i in zip(depends, key)})
    return Views(tuple(depends), views)


def texts_over(controls: Sequence[Control], depends: Sequence[str], make: Callable[..., str]) -> Texts:
    """A :class:`Texts` built by calling ``make(**values)`` for every combination of ``depends``."""
    built = views_over(controls, depends, make)
    return Texts(built.depends, built.views)


# --------------------------------------------------------------------------- Bokeh

_CALLBACK = """
const idx = controls.map((c, i) => kinds[i] === "slider" ? Math.round(c.value)
                                 : kinds[i] === "select" ? parseInt(c.value)
                                 : (c.active.includes(0) ? 1 : 0));
controls.forEach((c, i) => { if (kinds[i] === "slider") c.title = labels[i] + ": " + options[i][idx[i]]; });
for (const [name, source] of Object.entries(sources)) {
  const key = depends[name].map(i => idx[i]).join(",");
  source.data = Object.assign({}, views[name][key]);
}
for (const [name, div] of Object.entries(divs)) {
  const key = text_depends[name].map(i => idx[i]).join(",");
  div.text = text_views[name][key];
}
"""


def model_name(record_name: str, part: str) -> str:
    """The Bokeh model name of a part of the explorer ``record_name`` (tests look them up): ``part`` is a source's
    name, ``"control." + name`` for a control, ``"text." + name`` for a text, ``"layout"`` for the whole."""
    return f"{record_name}.{part}"


def bokeh_layout(record: StaticRecord, name: str, draw: Callable[[dict], list], width: int = 880):
    """The Bokeh layout: the controls in a row, the figures ``draw`` returns, the sentences under them.

    Args:
        record (StaticRecord): what to draw.
        name (str): the explorer's name (model names are ``f"{name}.{part}"``, :func:`model_name`).
        draw (callable): ``{source name: ColumnDataSource} -> list of Bokeh figures`` (placed in a row).
        width (int): px of the controls' row.

    Returns:
        a Bokeh ``column`` layout with one ``CustomJS`` callback on every control.
    """
    from bokeh.layouts import column, row
    from bokeh.models import CheckboxGroup, ColumnDataSource, CustomJS, Div, Select, Slider

    sources = {s: ColumnDataSource(data=dict(record.data(s)), name=model_name(name, s)) for s in record.sources}
    controls = []
    for c in record.controls:
        if c.kind == "slider":
            w = Slider(start=0, end=max(len(c.options) - 1, 1), step=1, value=c.default, show_value=False,
                       title=f"{c.label}: {c.options[c.default]}", width=220, name=model_name(name, "control." + c.name),
                       disabled=len(c.options) == 1)
        elif c.kind == "select":
            w = Select(title=c.label, value=str(c.default), options=[(str(i), o) for i, o in enumerate(c.options)],
                       width=min(380, 40 + 7 * max(len(o) for o in c.options)),
                       name=model_name(name, "control." + c.name))
        else:
            w = CheckboxGroup(labels=[c.label], active=[0] if c.default == 1 else [],
                              name=model_name(name, "control." + c.name), width=160)
        controls.append(w)
    divs = {t: Div(text=record.text(t), name=model_name(name, "text." + t), width=width, styles={"font-size": "13px"})
            for t in record.texts}
    index = {c.name: i for i, c in enumerate(record.controls)}
    key = ",".join
    callback = CustomJS(args=dict(
        controls=controls, kinds=[c.kind for c in record.controls], labels=[c.label for c in record.controls],
        options=[list(c.options) for c in record.controls], sources=sources,
        depends={s: [index[d] for d in v.depends] for s, v in record.sources.items()},
        views={s: {key(str(i) for i in k): v for k, v in item.views.items()} for s, item in record.sources.items()},
        divs=divs, text_depends={t: [index[d] for d in v.depends] for t, v in record.texts.items()},
        text_views={t: {key(str(i) for i in k): v for k, v in item.views.items()} for t, item in record.texts.items()},
    ), code=_CALLBACK)
    for c, w in zip(record.controls, controls):
        w.js_on_change("active" if c.kind == "checkbox" else "value", callback)
    figures = draw(sources)
    for fig in figures:     # the page's column is narrower than a notebook: figures shrink with it, keeping their shape
        fig.sizing_mode = "scale_width"
    for div in divs.values():
        div.sizing_mode = "stretch_width"
    wrap = {"flex-wrap": "wrap", "gap": "4px 12px"}
    return column(row(*controls, styles=wrap, sizing_mode="stretch_width"),
                  row(*figures, sizing_mode="stretch_width"), *divs.values(),
                  sizing_mode="stretch_width", name=model_name(name, "layout"))


def _inline_resources():
    """BokehJS inline, the two parts a static explorer uses (the core and the widgets), from the installed wheel."""
    from bokeh.resources import Resources

    return Resources(mode="inline", components=["bokeh", "bokeh-widgets"])


@dataclass
class StaticExplorer:
    """A record and the function that draws it; displays itself in a notebook and in the book.

    Attributes:
        name (str): the explorer's name (an identifier; Bokeh model names start with it).
        record (StaticRecord): what it draws (the exported results).
        draw (callable): ``{source name: ColumnDataSource} -> list of Bokeh figures``.
    """

    name: str
    record: StaticRecord
    draw: Callable

    def layout(self):
        return bokeh_layout(self.record, self.name, self.draw)

    def html(self, inline: bool | None = None) -> str:
        """The output's HTML: the chart's ``<div>`` and the script that embeds it, wrapped in a ``<div>`` of
        class :data:`CSS_CLASS`; with BokehJS inline when ``inline`` (default: outside the book build)."""
        from bokeh.embed import components

        if inline is None:
            inline = os.environ.get(BUILD_ENV) != "1"
        script, div = components(self.layout())
        resources = _inline_resources().render_js() if inline else ""
        return (f'<div class="{CSS_CLASS}" data-explorer="{_html.escape(self.name)}">'
                f'{resources}{div}{script}</div>')

    def _repr_html_(self) -> str:
        return self.html()

    def standalone(self, path, title: str | None = None) -> None:
        """Write a standalone HTML page (BokehJS inline) to ``path``: for tests and for sharing."""
        from bokeh.embed import file_html
        from bokeh.resources import INLINE

        # file_html inlines only the parts of BokehJS the chart uses
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(file_html(self.layout(), INLINE, title or self.record.title))


@timed("drawing")
def show(explorer: StaticExplorer) -> None:
    """Display ``explorer`` as the cell's output (its HTML; see :meth:`StaticExplorer.html`)."""
    from IPython.display import display

    if not isinstance(explorer, StaticExplorer):
        raise TypeError(f"explorer must be a StaticExplorer, got {type(explorer).__name__}")
    # the page shows the HTML; the record rides along in the output's metadata, kept in the executed
    # notebook (not in the page), where the browser tests read it to compare with what the chart draws
    display({"text/html": explorer.html()}, raw=True,
            metadata={RECORD_KEY: {"name": explorer.name, "record": explorer.record.to_dict()}})
