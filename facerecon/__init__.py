"""facerecon: a reproducible study of Fathallah et al., *Sensors* 2024, 24, 6280.

"Advanced 3D Face Reconstruction from Single 2D Images Using Enhanced Adversarial Neural Networks and
Graph Neural Networks". The package does all the computation; the notebooks under ``notebooks/`` call it
and explain it, and the book renders the executed notebooks.

Layout and dependency rule (checked by ``tests/test_layout.py``, which parses every import):

- ``study``: infrastructure (paths, profiles, notebook parameters and runner, results, provenance, seeds and
  device, the run cache and its code keys, the book build). Imports no domain code.
- ``data``, ``mesh``, ``models``, ``training``, ``denoise``, ``landmarks``, ``comparison``, ``claims``, ``photo``,
  ``augment``, ``metrics``: the science. May import infrastructure and each other, never the figures or the command line.
- ``figures``: plots and tables for the chapters, one module per topic. Imports domain code.
- ``cli``: the ``facerecon`` command. Imports everything; nothing imports it.

No import cycles, and no import hidden inside a function to dodge one.
"""

import warnings

__version__ = "0.1.0"

# tqdm.auto (imported by dependencies) warns in notebooks without ipywidgets; the book uses plain tqdm.
warnings.filterwarnings("ignore", message="IProgress not found")
