"""Sphinx extension: BokehJS served from the built site, for the static explorers (``lib/static_explorer.py``).

* Stages ``bokeh.min.js`` and ``bokeh-widgets.min.js`` from the installed ``bokeh``
  wheel (their version in the name) in ``<build>/.bokeh_static/`` and adds that folder
  to ``html_static_path``, so Sphinx copies them into the site's ``_static/`` with
  its other static files (the book works offline: no CDN).
* Adds them, in that order, to the pages whose body holds a static explorer (a
  ``<div class="lr-static-explorer">``), and to no other page; the browser caches
  the one copy that every such page shares.
* Sets ``LR_BOOK_STATIC_BOKEH=1`` in the build's environment, which the kernels it
  starts inherit: a static explorer's output then carries only its chart (the
  document's JSON and the lines that embed it), not a copy of BokehJS.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

ENV = "LR_BOOK_STATIC_BOKEH"       # lib.static_explorer.BUILD_ENV (tools import nothing from lib)
CSS_CLASS = "lr-static-explorer"   # lib.static_explorer.CSS_CLASS
FILES = ("bokeh.min.js", "bokeh-widgets.min.js")


def bokeh_files() -> list[tuple[Path, str]]:
    """``[(source path, name served in _static)]``: the wheel's minified BokehJS, its version in the name."""
    import bokeh

    folder = Path(bokeh.__file__).parent / "server" / "static" / "js"
    return [(folder / name, name.replace(".min.js", f"-{bokeh.__version__}.min.js")) for name in FILES]


def stage_files(app, config) -> None:
    staging = Path(app.outdir).parent / ".bokeh_static"
    staging.mkdir(parents=True, exist_ok=True)
    for source, name in bokeh_files():
        if not (staging / name).is_file() or (staging / name).stat().st_size != source.stat().st_size:
            shutil.copyfile(source, staging / name)
    config.html_static_path = list(config.html_static_path) + [str(staging)]


def add_scripts(app, pagename, templatename, context, doctree) -> None:
    if CSS_CLASS not in context.get("body", ""):
        return
    for _, name in bokeh_files():
        app.add_js_file(name, priority=600)   # this page only (Sphinx >= 3.5: called in html-page-context)


def setup(app):
    os.environ[ENV] = "1"
    app.connect("config-inited", stage_files)
    app.connect("html-page-context", add_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
