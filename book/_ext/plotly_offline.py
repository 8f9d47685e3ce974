"""Sphinx extension: serve plotly.js from the installed plotly package, only on pages that hold a plot.

Notebook outputs carry a ``text/html`` div without plotly.js (see ``facerecon.plotting.plotly_offline``);
this extension copies ``plotly.min.js`` into ``_static/`` and adds it to the pages that need it, so the book
renders offline (no CDN).
"""

from __future__ import annotations

import shutil
from pathlib import Path

PLOTLY_JS = "plotly.min.js"
MARKER = "plotly-graph-div"


def _plotly_js_source() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the installed plotly package should ship {PLOTLY_JS}")
    return path


def _add_to_plot_pages(app, pagename, templatename, context, doctree):
    if MARKER in context.get("body", ""):
        app.add_js_file(PLOTLY_JS, priority=200)  # only this page; before the inline plot scripts run


def _copy_js(app, exception):
    if exception is None and app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_plotly_js_source(), static / PLOTLY_JS)


def setup(app):
    _plotly_js_source()  # fail early with a clear message
    app.connect("html-page-context", _add_to_plot_pages)
    app.connect("build-finished", _copy_js)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
