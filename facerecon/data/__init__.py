"""The study's data: SynthFace (the embedded default) and readers for the real 300W-LP / AFLW2000-3D."""
