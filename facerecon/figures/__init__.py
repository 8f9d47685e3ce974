"""Figures for the book: matplotlib for static plots, plotly (offline renderer) for 3D meshes."""

from .plotly_offline import enable_offline_plotly, mesh_figure

__all__ = ["enable_offline_plotly", "mesh_figure"]
