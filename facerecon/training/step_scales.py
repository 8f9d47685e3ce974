"""How far one optimizer step on each part of the generator moves its output mesh: the conditioning diagnostic.

Adam's first step moves every weight by the learning rate times the sign of its gradient. Applied to one part at a
time (the rest held), that step moves the output mesh by an amount that tells whether the parts learn at
comparable speeds: in the `cpu` model before the conditioning fix, a ±2e-5 step on the offset heads moved the
output by 2.4 px RMS and the same step on the encoder or graph layers by under 0.005 px, so only the heads learnt.
"""

from __future__ import annotations

import torch

from ..mesh.frame import CROP_SIZE
from ..models.generator import MeshGenerator

PARTS = {   # part name → parameter name prefixes
    "encoder": ("encoder.",),
    "graph layers": ("node_blocks.",),
    "offset heads": ("offsets.",),
    "landmark code": ("landmark_mlp.",),
    "landmark shape basis": ("shape_basis.",),
}


def part_parameters(generator: MeshGenerator) -> dict[str, list[torch.nn.Parameter]]:
    """The generator's parameters by part (parts it does not have are left out)."""
    named = list(generator.named_parameters())
    parts = {name: [p for n, p in named if n.startswith(prefixes)] for name, prefixes in PARTS.items()}
    return {name: params for name, params in parts.items() if params}


def output_step_scales(generator: MeshGenerator, images: torch.Tensor, landmarks: torch.Tensor,
                       loss_fn, lr: float) -> dict[str, float]:
    """RMS movement of the last mesh, in crop pixels, when one part's weights take Adam's first step ``lr ·
    sign(∂loss/∂w)`` (``loss_fn(meshes) -> ()`` on the generator's output list). ``images (B, 3, 113, 113)``,
    ``landmarks (B, 68, 2)``; the generator is left as it was."""
    was_training = generator.training
    generator.eval()
    parts = part_parameters(generator)
    generator.zero_grad(set_to_none=True)
    loss_fn(generator(images, landmarks)).backward()
    scales = {}
    with torch.no_grad():
        before = generator(images, landmarks)[-1]
        for name, params in parts.items():
            steps = [lr * torch.sign(p.grad) if p.grad is not None else torch.zeros_like(p) for p in params]
            for p, s in zip(params, steps):
                p.sub_(s)
            after = generator(images, landmarks)[-1]
            for p, s in zip(params, steps):
                p.add_(s)
            scales[name] = float((after - before).pow(2).sum(-1).mean().sqrt() * CROP_SIZE)
    generator.zero_grad(set_to_none=True)
    generator.train(was_training)
    return scales
