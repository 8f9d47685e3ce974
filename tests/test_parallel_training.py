"""Training several models at once (``training.parallel``): the same models as one after another, each in the run
cache, only the missing ones trained, bad process counts and failing models reported."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from facerecon.study.cache import RunCache
from facerecon.training.cached import run_config, train_or_load
from facerecon.training.parallel import train_or_load_all

TINY = dict(n_train=8, resolution=24, architecture="smoke", batch_size=2, gt_points=64, steps=3, checkpoint_every=3)


def _runs():
    return [run_config("no_gan", seed=0, **TINY), run_config("full", seed=1, **TINY),
            run_config("no_gan", seed=2, **TINY)]


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_models_trained_in_two_processes_equal_those_trained_one_after_another(tmp_path, one_thread):
    """With one torch thread everywhere (the workers get this process's threads split between them) a model is a
    function of its config alone: two processes give the same weights, logs and entries as one."""
    runs = _runs()
    sequential = [train_or_load(cfg, data, profile="smoke", cache=RunCache(tmp_path / "a"), progress=False)
                  for cfg, data in runs]
    parallel = train_or_load_all(runs, profile="smoke", processes=2, cache=RunCache(tmp_path / "b"), progress=False)
    assert [m.reused for m in parallel] == [False, False, False]
    entries = sorted(p.name for p in (tmp_path / "b" / "model").iterdir() if not p.name.startswith("."))
    assert entries == sorted(m.path.name for m in parallel)     # the workers trained exactly these, nothing else
    for one, other in zip(sequential, parallel):
        assert one.config == other.config and one.path.name == other.path.name
        assert one.logs == other.logs
        for key, value in one.generator.state_dict().items():
            assert torch.equal(value, other.generator.state_dict()[key]), key
    again = train_or_load_all(runs, profile="smoke", processes=2, cache=RunCache(tmp_path / "b"), progress=False)
    assert [m.reused for m in again] == [True, True, True]


def test_only_missing_models_are_trained_and_one_process_keeps_the_plain_loop(tmp_path, one_thread, monkeypatch):
    cache = RunCache(tmp_path)
    runs = _runs()
    first = train_or_load(*runs[0], profile="smoke", cache=cache, progress=False)
    trained = []
    import facerecon.training.parallel as parallel

    monkeypatch.setattr(parallel, "_train_in_processes", lambda missing, *a: trained.extend(missing)
                        or [train_or_load(c, d, profile="smoke", cache=cache, progress=False) for c, d in missing])
    models = train_or_load_all(runs, profile="smoke", processes=2, cache=cache, progress=False)
    assert trained == runs[1:]
    assert [m.reused for m in models] == [True, False, False] and models[0].path == first.path
    trained.clear()
    assert [m.reused for m in train_or_load_all(runs, profile="smoke", processes=1, cache=cache,
                                                progress=False)] == [True, True, True]
    assert trained == []


@pytest.mark.parametrize("processes", [0, -1, 1.5, True, "2"])
def test_a_bad_process_count_is_refused_with_what_was_expected(processes):
    with pytest.raises(ValueError, match="train_processes must be a whole number >= 1"):
        train_or_load_all(_runs(), profile="smoke", processes=processes)


def test_a_failing_model_stops_with_its_error_and_the_others_stay_in_the_cache(tmp_path, one_thread):
    cache = RunCache(tmp_path)
    good, bad = _runs()[0], _runs()[1]
    bad = (replace(bad[0], lr_generator=1e30), bad[1])   # steps that overflow: the mesh turns non-finite
    with pytest.raises((FloatingPointError, RuntimeError), match="non-finite|inf"):
        train_or_load_all([good, bad], profile="smoke", processes=2, cache=cache, progress=False)
    assert train_or_load_all([good], profile="smoke", processes=2, cache=cache, progress=False)[0].reused


def test_map_in_processes_keeps_the_order_and_the_numbers_of_a_plain_loop(one_thread):
    from facerecon.models.gan2d import Toy2DConfig
    from facerecon.training.gan2d import train_toy
    from facerecon.study.processes import map_in_processes

    configs = [(Toy2DConfig(steps=20, seed=s, minibatch=m),) for s in (0, 1) for m in (False, True)]
    plain = [train_toy(*args) for args in configs]
    mapped = map_in_processes(train_toy, configs, processes=2, progress=False)
    for one, other in zip(plain, mapped):
        assert one["config"] == other["config"]
        np.testing.assert_array_equal(one["samples"], other["samples"])
        np.testing.assert_array_equal(one["g_loss"], other["g_loss"])


def test_denoisers_trained_in_two_processes_equal_those_trained_one_after_another(tmp_path, one_thread):
    """01's denoisers two at once: the same weights and losses as one after another, only the missing trained."""
    from facerecon.denoise.train import DenoiserTrainConfig, train_or_load_denoiser, train_or_load_denoisers

    clean = np.random.default_rng(0).uniform(size=(8, 32, 32, 3))
    configs = [DenoiserTrainConfig(method=m, width=4, nmf_rank=2, epochs=1, batch_size=4, lr=1e-3)
               for m in ("autoencoder", "unet_md", "vae")]
    common = dict(data_key={"images": "uniform noise", "n": 8}, profile="smoke", source_key=None, progress=False)
    sequential = [train_or_load_denoiser(cfg, clean, cache=RunCache(tmp_path / "a"), **common) for cfg in configs]
    first = train_or_load_denoisers(configs[:1], clean, processes=2, cache=RunCache(tmp_path / "b"), **common)
    parallel = train_or_load_denoisers(configs, clean, processes=2, cache=RunCache(tmp_path / "b"), **common)
    assert [d.reused for d in first] == [False] and [d.reused for d in parallel] == [True, False, False]
    for one, other in zip(sequential, parallel):
        assert one.config == other.config and one.history == other.history
        for key, value in one.model.state_dict().items():
            assert torch.equal(value, other.model.state_dict()[key]), key
    assert all(d.reused for d in train_or_load_denoisers(configs, clean, processes=2, cache=RunCache(tmp_path / "b"),
                                                         **common))
