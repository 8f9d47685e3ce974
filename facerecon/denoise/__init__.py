"""Noise removal (paper §3.1, Algorithm 1 step 1, §4.1, Table 1): noise models, quality metrics, the five learned
denoisers, classical anchors, training through the run cache and best-image selection."""
