"""A plotly renderer whose output renders offline in JupyterLab and in the built book.

Its MIME bundle holds the plotly JSON (JupyterLab renders it) and a ``text/html`` div that calls
``Plotly.newPlot`` without embedding plotly.js: the book's ``plotly_offline`` Sphinx extension serves
plotly.js from the installed package on the pages that hold a plot. Div ids are derived from the figure's
content so that executed notebooks are reproducible.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer

RENDERER_NAME = "facerecon_offline"


class OfflineRenderer(MimetypeRenderer):
    def to_mimebundle(self, fig_dict):
        fig_json = json.loads(pio.to_json(fig_dict, validate=False))
        digest = hashlib.sha1(json.dumps(fig_json, sort_keys=True).encode()).hexdigest()[:12]
        html = pio.to_html(fig_dict, include_plotlyjs=False, include_mathjax=False, full_html=False,
                           div_id=f"plot-{digest}", validate=False)
        return {"application/vnd.plotly.v1+json": {**fig_json, "config": {"responsive": True}},
                "text/html": html}


def enable_offline_plotly() -> None:
    """Register the renderer and make it the default (called by notebooks' setup cells)."""
    pio.renderers[RENDERER_NAME] = OfflineRenderer()
    pio.renderers.default = RENDERER_NAME


# crop coordinates (x right, y down, z towards the camera): the camera looks along -z with y down
CROP_CAMERA = dict(up=dict(x=0, y=-1, z=0), eye=dict(x=0, y=0, z=2.0))


def mesh_trace(vertices, faces, *, intensity=None, colorscale: str = "Viridis", color: str = "#d9b99b",
               showscale: bool = False, **colour_range) -> go.Mesh3d:
    """A shaded Mesh3d of ``vertices (V, 3)`` and ``faces (F, 3)``: plain ``color``, or a per-vertex
    ``intensity (V,)`` in ``colorscale`` (``colour_range``: e.g. ``cmin``, ``cmax``)."""
    v = np.asarray(vertices, dtype=float)
    f = np.asarray(faces, dtype=int)
    colouring = dict(color=color) if intensity is None else dict(intensity=intensity, colorscale=colorscale)
    return go.Mesh3d(x=v[:, 0], y=v[:, 1], z=v[:, 2], i=f[:, 0], j=f[:, 1], k=f[:, 2], showscale=showscale,
                     flatshading=False, lighting=dict(ambient=0.45, diffuse=0.8, specular=0.15, roughness=0.6),
                     lightposition=dict(x=0, y=-100, z=200), name="mesh", **colouring, **colour_range)


def mesh_figure(vertices, faces, *, intensity=None, title: str = "", points=None, height: int = 480,
                colorscale: str = "Viridis", color: str = "#d9b99b") -> go.Figure:
    """An interactive Mesh3d of ``vertices (V, 3)`` and ``faces (F, 3)``, optional ``points (P, 3)`` overlay.

    Plain shaded ``color`` unless a per-vertex ``intensity (V,)`` is given (then ``colorscale``).

    Shown in crop coordinates (x right, y down, z towards the camera), so the camera looks along -z with y down.
    """
    data = [mesh_trace(vertices, faces, intensity=intensity, colorscale=colorscale, color=color)]
    if points is not None:
        p = np.asarray(points, dtype=float)
        data.append(go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="markers",
                                 marker=dict(size=3, color="crimson"), name="landmarks"))
    fig = go.Figure(data=data)
    fig.update_layout(title=title, height=height, margin=dict(l=0, r=0, t=40 if title else 0, b=0),
                      scene=dict(aspectmode="data", camera=CROP_CAMERA, xaxis_title="x", yaxis_title="y",
                                 zaxis_title="z"))
    return fig
