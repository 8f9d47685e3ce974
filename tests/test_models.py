import pytest
import torch
from torch_geometric.nn import GraphConv

from facerecon.mesh.ops import edge_index
from facerecon.mesh.template import hemisphere
from facerecon.models.architectures import build, get_architecture, summary
from facerecon.models.discriminator import DiscriminatorConfig, MeshDiscriminator, MinibatchDiscrimination
from facerecon.models.encoder import EfficientNetEncoder, EncoderConfig
from facerecon.models.generator import GeneratorConfig, MeshGenerator
from facerecon.models.graph import MeshGraphConv
from facerecon.models import losses


@pytest.mark.parametrize("aggr", ["add", "mean"])
def test_mesh_graph_conv_starts_with_pyg_graphconvs_parameters(aggr):
    """The same seed gives the same initial weights as PyG's GraphConv (seeded runs and checkpoints unchanged by
    the reimplementation without torch_geometric)."""
    torch.manual_seed(3)
    ours = MeshGraphConv(11, 6, aggr)
    torch.manual_seed(3)
    ref = GraphConv(11, 6, aggr=aggr)
    assert ours.state_dict().keys() == ref.state_dict().keys()
    for k, v in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[k], v), k
    torch.manual_seed(3)
    MeshGraphConv(11, 6, aggr)
    after_ours = torch.rand(3)
    torch.manual_seed(3)
    GraphConv(11, 6, aggr=aggr)
    assert torch.equal(after_ours, torch.rand(3))                # the same number of draws


@pytest.mark.parametrize("aggr", ["add", "mean"])
def test_mesh_graph_conv_equals_pyg_graphconv(aggr):
    torch.manual_seed(0)
    e = edge_index(hemisphere().faces)
    ours = MeshGraphConv(11, 6, aggr)
    ref = GraphConv(11, 6, aggr=aggr)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(3, 141, 11, dtype=torch.float64)
    torch.testing.assert_close(ours.double()(x, e), ref.double()(x, e))
    torch.testing.assert_close(ours(x[0], e), ref(x[0], e))           # unbatched too


@pytest.mark.parametrize("aggr", ["add", "mean"])
def test_mesh_graph_conv_gradients_equal_pyg_on_a_directed_graph(aggr):
    """The backward pass must multiply by the adjacency's transpose. The mesh graphs are symmetric, so the mesh tests
    cannot tell ``A`` from ``Aᵀ``; on a graph whose edges are not all two-way (and whose vertices have different
    degrees: the mean's weights) they give other input gradients. Vertex 4 has no incoming edge."""
    torch.manual_seed(0)
    edges = torch.tensor([[0, 0, 1, 2, 3, 4, 4], [1, 2, 2, 3, 1, 0, 3]])
    ours, ref = MeshGraphConv(4, 3, aggr).double(), GraphConv(4, 3, aggr=aggr).double()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(2, 5, 3, dtype=torch.float64)
    grads = torch.autograd.grad((ours(x, edges) * weights).sum(), [x, *ours.parameters()])
    expected = torch.autograd.grad((ref(x, edges) * weights).sum(), [x, *ref.parameters()])
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want)
    parts = torch.autograd.grad((ours.forward_parts([x[..., :3], x[:, 0, 3:]], edges) * weights).sum(), x)[0]
    broadcast = torch.cat([x[..., :3], x[:, :1, 3:].expand(-1, 5, -1)], -1)
    torch.testing.assert_close(parts, torch.autograd.grad((ref(broadcast, edges) * weights).sum(), x)[0])


@pytest.mark.parametrize("layer", ["graph", "vertex"])
def test_forward_parts_equals_the_concatenated_input(layer):
    """The generator's first layer per block reads its input as parts (a per-image part projected once): the same
    values and gradients as the layer on the concatenation with that part broadcast over the vertices."""
    from facerecon.models.generator import VertexLinear

    torch.manual_seed(0)
    conv = MeshGraphConv(12, 5) if layer == "graph" else VertexLinear(12, 5)
    faces = torch.tensor([[0, 1, 2], [1, 3, 2], [2, 3, 4], [3, 5, 4]])
    edges = edge_index(faces.numpy())
    aligned, code, hidden = torch.randn(2, 6, 4), torch.randn(2, 5), torch.randn(2, 6, 3)
    for t in (aligned, code, hidden):
        t.requires_grad_(True)
    parts = conv.forward_parts([aligned, code, hidden], edges)
    concatenated = conv(torch.cat([aligned, code[:, None, :].expand(-1, 6, -1), hidden], -1), edges)
    assert torch.allclose(parts, concatenated, atol=1e-6)
    weights = torch.randn_like(parts)
    grads = torch.autograd.grad((parts * weights).sum(), [aligned, code, hidden, *conv.parameters()])
    again = torch.autograd.grad((concatenated * weights).sum(), [aligned, code, hidden, *conv.parameters()])
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(grads, again))
    with pytest.raises(ValueError, match="add up to 10, the layer takes 12"):
        conv.forward_parts([aligned, hidden[..., :1], code], edges)


def test_paper_architecture_shapes_and_counts():
    info = summary("paper")
    assert info["encoder"]["stem"] == [32, 111, 111]
    assert info["encoder"]["stages"] == [[16, 111, 111], [24, 57, 57], [40, 29, 29], [80, 29, 29], [112, 29, 29],
                                         [192, 29, 29], [320, 29, 29]]
    assert [(lv["vertices"], lv["faces"]) for lv in info["mesh_levels"]] == [(141, 210), (491, 840), (1821, 3360),
                                                                            (7001, 13440)]
    assert info["discriminator"]["gcn_block_width"] == 96
    assert 1.1e6 < info["parameters"]["encoder"] < 1.25e6
    assert 1.6e9 < info["flops_per_image"]["encoder"] < 1.9e9
    assert 50e3 < info["parameters"]["discriminator"] < 60e3


def test_cpu_architectures_run_the_stem_at_stride_2_and_the_paper_at_1():
    assert EncoderConfig().stem_stride == 1                           # the paper's layout is the default
    for name, width in (("cpu", 0.5), ("smoke", 0.25)):
        info = summary(name)
        assert info["encoder"]["stem"] == [max(4, round(32 * width)), 56, 56]
        assert [hw[1:] for hw in info["encoder"]["stages"]] == [[56, 56], [29, 29]] + [[15, 15]] * 5
    with pytest.raises(ValueError, match="stem_stride must be 1"):
        EncoderConfig(stem_stride=3)


def test_nearest_neighbours_match_a_naive_search_on_both_paths():
    torch.manual_seed(0)
    a, b = torch.rand(3, 500, 3), torch.rand(3, 300, 3)
    naive_ab = ((a.double()[:, :, None] - b.double()[:, None]) ** 2).sum(-1).argmin(2)
    naive_ba = ((b.double()[:, :, None] - a.double()[:, None]) ** 2).sum(-1).argmin(2)
    torch.testing.assert_close(losses.nearest_index(a, b), naive_ab)           # k-d tree (CPU), float64 inside
    # the distance matrix (the GPU path) in float64: in float32 its |a|² + |b|² − 2a·b flips near-ties
    torch.testing.assert_close(losses._matrix_nearest(a.double(), b.double(), chunk=128), naive_ab)
    ab, ba = losses.mutual_nearest(a, b)
    torch.testing.assert_close(ab, naive_ab)
    torch.testing.assert_close(ba, naive_ba)


def test_b0_depth_option():
    enc = EfficientNetEncoder(EncoderConfig(depth="b0"))
    outs = enc(torch.zeros(1, 3, 113, 113))
    assert [tuple(o.shape[1:]) for o in outs][-1] == (320, 29, 29)
    assert sum(len(s) for s in enc.stages) == 16


def test_smoke_generator_and_discriminator_forward_backward():
    torch.manual_seed(0)
    g, d = build(get_architecture("smoke"))
    images = torch.rand(3, 3, 113, 113)
    landmarks = torch.rand(3, 68, 2) * 113
    meshes = g(images, landmarks)
    assert [m.shape for m in meshes] == [(3, 141, 3), (3, 491, 3)]
    # zero-initialized offsets: the first pass returns the (subdivided) template
    torch.testing.assert_close(meshes[0], g.prior_0.expand(3, -1, -1))
    logits = d(meshes[-1])
    assert logits.shape == (3,)
    # At initialization the zero offset layers block every gradient upstream; give them weights (as one
    # training step would) and check that the encoder and every graph layer then learn.
    with torch.no_grad():
        for offset in g.offsets:
            offset.weight.normal_(0, 0.01)
    meshes = g(images, landmarks)
    loss = losses.generator_adversarial_loss(d(meshes[-1])) + meshes[-1].pow(2).mean()
    loss.backward()
    for name, p in g.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    learning = {name for name, p in g.named_parameters() if p.grad.abs().sum() > 0}
    encoder = [n for n, _ in g.encoder.named_parameters()]
    assert "encoder." + encoder[0] in learning                               # the stem
    graph_layers = [n for n, m in g.named_modules() if isinstance(m, MeshGraphConv)]
    assert len(graph_layers) == 3 * len(g.node_blocks)
    for layer in graph_layers:
        assert any(n.startswith(layer + ".") for n in learning), f"graph layer {layer} gets no gradient"
    for k in range(len(g.offsets)):
        assert f"offsets.{k}.weight" in learning


def test_identity_blocks_change_the_node_block():
    cfg = GeneratorConfig(blocks=1, hidden=8, landmark_code=4, encoder=EncoderConfig(width=0.25))
    torch.manual_seed(0)
    plain = MeshGenerator(cfg)
    torch.manual_seed(0)
    ident = MeshGenerator(GeneratorConfig(**{**cfg.__dict__, "identity_blocks": True}))
    x = torch.randn(2, 141, plain.node_blocks[0].convs[0].in_channels)
    e = plain.edges(0)
    assert not torch.allclose(plain.node_blocks[0](x, e), ident.node_blocks[0](x, e))


def test_minibatch_discrimination_matches_naive():
    torch.manual_seed(0)
    mb = MinibatchDiscrimination(5, 4, 3)
    f = torch.randn(6, 5)
    out = mb(f)
    m = (f @ mb.T).view(6, 4, 3)
    for i in range(6):
        for b in range(4):
            expected = sum(torch.exp(-(m[i, b] - m[j, b]).abs().sum()) for j in range(6) if j != i)
            torch.testing.assert_close(out[i, 5 + b], expected)
    torch.testing.assert_close(out[:, :5], f)


def test_discriminator_switches():
    e = edge_index(hemisphere().faces)
    meshes = torch.randn(4, 141, 3)
    with_mb = MeshDiscriminator(e, DiscriminatorConfig())
    without = MeshDiscriminator(e, DiscriminatorConfig(minibatch=False, dense=False))
    assert with_mb.head.in_features == 96 + 32 and without.head.in_features == 16
    assert with_mb(meshes).shape == without(meshes).shape == (4,)


def test_label_smoothing_targets():
    logits = torch.zeros(5)
    # at D = 0.5, BCE(target t) = log 2 for any t: check the gradient instead, which is sigmoid(x) - t
    for smoothing, (real, fake) in ((losses.LabelSmoothing(), (0.9, 0.01)), (losses.NO_SMOOTHING, (1.0, 0.0))):
        r = logits.clone().requires_grad_()
        f = logits.clone().requires_grad_()
        losses.discriminator_loss(r, f, smoothing).backward()
        torch.testing.assert_close(r.grad, torch.full((5,), (0.5 - real) / 5))
        torch.testing.assert_close(f.grad, torch.full((5,), (0.5 - fake) / 5))
    with pytest.raises(ValueError, match="must be in"):
        losses.LabelSmoothing(real=1.5)


def test_reconstruction_losses_match_naive():
    torch.manual_seed(0)
    pred = torch.randn(2, 30, 3, dtype=torch.float64)
    gt = torch.randn(2, 40, 3, dtype=torch.float64)
    d_pg, d_gp, idx = losses.chamfer_terms(pred, gt)
    dist = ((pred[:, :, None] - gt[:, None]) ** 2).sum(-1)
    torch.testing.assert_close(d_pg, dist.min(2).values.mean(1))
    torch.testing.assert_close(d_gp, dist.min(1).values.mean(1))
    torch.testing.assert_close(idx, dist.min(2).indices)
    e = torch.tensor([[0, 1, 2], [1, 2, 0]])
    torch.testing.assert_close(losses.edge_loss(pred, e), (pred[:, [1, 2, 0]] - pred[:, [0, 1, 2]]).pow(2).sum(-1).mean(1))
    moved = pred + 0.1
    torch.testing.assert_close(losses.move_loss(pred, moved), torch.full((2,), 0.03, dtype=torch.float64))
    torch.testing.assert_close(losses.laplacian_loss(pred, moved, e), torch.zeros(2, dtype=torch.float64))


def test_bad_inputs_are_named():
    g, _ = build(get_architecture("smoke"))
    with pytest.raises(ValueError, match=r"images must be \(B, 3, 113, 113\)"):
        g(torch.zeros(1, 3, 112, 112), torch.zeros(1, 68, 2))
    with pytest.raises(ValueError, match=r"images must be \(B, 3, 113, 113\)"):
        g(torch.zeros(1, 1, 113, 113), torch.zeros(1, 68, 2))
    with pytest.raises(ValueError, match=r"landmarks must be \(B, 68, 2\)"):
        g(torch.zeros(1, 3, 113, 113), torch.zeros(1, 21, 2))
    with pytest.raises(ValueError, match="NaN"):
        g(torch.full((1, 3, 113, 113), float("nan")), torch.zeros(1, 68, 2))
    with pytest.raises(ValueError, match="unknown architecture"):
        get_architecture("huge")


def test_info_cli_json(capsys):
    import json

    from facerecon.cli import main

    assert main(["info", "--json", "--config", "smoke"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["mesh_levels"][-1]["vertices"] == 491


def test_prior_only_copy_outputs_the_posed_prior_and_leaves_the_model_alone():
    """09 compares the shipped model with its own prior on real faces: the copy must output exactly what the
    blocks deform (the posed mean face), and the trained model must keep what it learned."""
    from facerecon.mesh.template import hemisphere
    from facerecon.data.landmark_uv import LANDMARKS_SV
    from facerecon.models.generator import GeneratorConfig, MeshGenerator

    torch.manual_seed(0)
    config = GeneratorConfig(blocks=2, hidden=16, prior="mean_face", landmarks="residual", landmark_shape=True)
    generator = MeshGenerator(config)
    template = hemisphere(config.template)
    dist = ((template.uv[:, None] - LANDMARKS_SV[None]) ** 2).sum(-1)
    generator.set_mean_face(template.vertices * [1.0, 1.2, 0.5], template.uv, template.faces, dist.argmin(0))
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    generator.eval()
    images, landmarks = torch.rand(2, 3, 113, 113), 56.5 + 15 * torch.randn(2, 68, 2)
    with torch.no_grad():
        trained, prior = generator(images, landmarks)[-1], generator.prior_only()(images, landmarks)[-1]
        torch.testing.assert_close(prior, generator.priors(landmarks)[-1], rtol=0, atol=0)
        assert (trained - prior).abs().max() > 1e-3
        torch.testing.assert_close(generator(images, landmarks)[-1], trained, rtol=0, atol=0)
