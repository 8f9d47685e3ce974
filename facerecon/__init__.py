"""facerecon: a reproducible study of Fathallah et al., *Sensors* 2024, 24, 6280.

"Advanced 3D Face Reconstruction from Single 2D Images Using Enhanced Adversarial Neural Networks and
Graph Neural Networks". The package does all the computation; the notebooks under ``notebooks/`` call it
and explain it, and the book renders the executed notebooks.
"""

import warnings

__version__ = "0.1.0"

# tqdm.auto (imported by dependencies) warns in notebooks without ipywidgets; the book uses plain tqdm.
warnings.filterwarnings("ignore", message="IProgress not found")
