"""Diffusion augmentation (paper §3.1, Algorithm 1 step 2): image–mesh pairs generated from scratch-trained
diffusion models conditioned on a mesh's geometry, and the edits applied to both.

- :mod:`.geometry`: a mesh's geometry rendering (normal and depth maps), the generators' condition;
- :mod:`.diffusion`: the pixel-space DDIM and the latent diffusion model (``diffusers``), trained from scratch;
- :mod:`.edits`: pose, smile and glasses edits of a sample, applied to its mesh and to its image;
- :mod:`.pairs`: generated pairs written as a dataset folder the trainer reads like any other;
- :mod:`.quality`: whether a generated image shows its mesh (the landmark CNN against the mesh's landmarks).
"""
