"""The study's infrastructure: paths, run profiles, notebook parameters and runner, results with provenance,
seeds and device, the run cache, the book build. Nothing here imports the science (``data``, ``mesh``,
``models``, ``training``, ``denoise``, ``metrics``) or the figures."""
