"""Named architectures and their measured sizes (``facerecon info``).

``paper``: the paper's layout (4 blocks → 7,001 vertices, full EfficientNet channels, hidden 128);
``cpu`` and ``smoke``: smaller versions for the CPU profiles (2 blocks → 491 vertices, narrower, the encoder's
stem at stride 2: see :mod:`.encoder`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch.utils.flop_counter import FlopCounterMode

from .discriminator import DiscriminatorConfig, MeshDiscriminator
from ..mesh.frame import CROP_SIZE
from ..mesh.subdivide import surface_topology
from .encoder import EncoderConfig
from .generator import GeneratorConfig, MeshGenerator


@dataclass(frozen=True)
class Architecture:
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)


ARCHITECTURES = {
    "paper": Architecture(),
    # two blocks (491 output vertices): the learning probe reached 47.8 % of the CD above the floor in 600 steps
    # and 130 s, three blocks 50.2 % in 224 s (results/README.md, "The `cpu` layout")
    "cpu": Architecture(GeneratorConfig(blocks=2, hidden=64, encoder=EncoderConfig(width=0.5, stem_stride=2))),
    "smoke": Architecture(GeneratorConfig(blocks=2, hidden=32, landmark_code=16,
                                          encoder=EncoderConfig(width=0.25, stem_stride=2)),
                          DiscriminatorConfig(mb_kernels=8, mb_dim=8)),
}


def get_architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}: expected one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def build(arch: Architecture) -> tuple[MeshGenerator, MeshDiscriminator]:
    generator = MeshGenerator(arch.generator)
    return generator, MeshDiscriminator(generator.edges(-1), arch.discriminator)


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def count_flops(fn) -> int:
    """FLOPs (2 × multiply-accumulates) of the dense ops that ``fn()`` runs (convolutions, matmuls)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


@torch.no_grad()
def summary(name: str = "paper") -> dict:
    """Shapes, vertex/face counts, parameters and FLOPs per image of the named architecture."""
    arch = get_architecture(name)
    generator, discriminator = build(arch)
    generator.eval()
    discriminator.eval()
    image = torch.zeros(1, 3, CROP_SIZE, CROP_SIZE)
    landmarks = torch.full((1, 68, 2), CROP_SIZE / 2)
    stages = generator.encoder(image)
    meshes = generator(image, landmarks)
    # minibatch discrimination needs a batch: measure D at batch 2 and halve
    d_flops = count_flops(lambda: discriminator(meshes[-1].expand(2, -1, -1))) // 2
    enc_flops = count_flops(lambda: generator.encoder(image))
    gen_flops = count_flops(lambda: generator(image, landmarks))
    enc_params = count_parameters(generator.encoder)
    return {
        "architecture": name,
        "config": {"generator": asdict(arch.generator), "discriminator": asdict(arch.discriminator)},
        "input": [3, CROP_SIZE, CROP_SIZE],
        "encoder": {"stem": list(generator.encoder.stem(image).shape[1:]),
                    "stages": [list(s.shape[1:]) for s in stages]},
        "mesh_levels": [surface_topology(generator.faces(level).numpy(), m.shape[1]) for level, m in enumerate(meshes)],
        "discriminator": {"gcn_block_width": arch.discriminator.block_width},
        "parameters": {"encoder": enc_params, "decoder": count_parameters(generator) - enc_params,
                       "discriminator": count_parameters(discriminator)},
        "flops_per_image": {"encoder": enc_flops, "decoder": gen_flops - enc_flops, "discriminator": d_flops},
    }
