import json
import os

import pytest

from facerecon import cache as cache_mod
from facerecon.cache import CacheCorruptError, RunCache


def _build_counting(calls, content=b"weights"):
    def build(tmp):
        calls.append(1)
        (tmp / "model.bin").write_bytes(content)
        return {"loss": 0.5}
    return build


def test_same_config_reuses_entry(tmp_path):
    cache, calls = RunCache(tmp_path), []
    first = cache.get_or_build("model", {"lr": 1e-3, "epochs": 2}, _build_counting(calls), profile="smoke", seed=0)
    second = cache.get_or_build("model", {"epochs": 2, "lr": 1e-3}, _build_counting(calls), profile="smoke", seed=0)
    assert len(calls) == 1
    assert not first.reused and second.reused
    assert first.path == second.path
    assert second.meta == {"loss": 0.5}
    assert second.file("model.bin").read_bytes() == b"weights"
    prov = second.manifest["provenance"]
    assert {"profile", "params", "git_commit", "versions", "device", "seed", "wall_time_s"} <= prov.keys()


def test_changed_config_or_code_makes_new_entry(tmp_path, monkeypatch):
    cache, calls = RunCache(tmp_path), []
    a = cache.get_or_build("model", {"lr": 1e-3}, _build_counting(calls), profile="smoke", seed=0)
    b = cache.get_or_build("model", {"lr": 2e-3}, _build_counting(calls), profile="smoke", seed=0)
    assert a.path != b.path and len(calls) == 2
    monkeypatch.setattr(cache_mod, "code_version", lambda *m: "different-code")
    c = cache.get_or_build("model", {"lr": 1e-3}, _build_counting(calls), profile="smoke", seed=0)
    assert c.path != a.path and len(calls) == 3


def test_interrupted_build_leaves_no_complete_entry(tmp_path):
    cache = RunCache(tmp_path)

    def failing(tmp):
        (tmp / "half.bin").write_bytes(b"partial")
        raise KeyboardInterrupt("interrupted mid-write")

    with pytest.raises(KeyboardInterrupt):
        cache.get_or_build("model", {"x": 1}, failing, profile="smoke", seed=0)
    assert cache.load("model", {"x": 1}) is None
    assert not list((tmp_path / "model").glob(".tmp-*"))


def test_killed_process_leftovers_are_not_read_as_complete(tmp_path):
    cache = RunCache(tmp_path)
    final = cache.entry_path("model", {"x": 1}, cache_mod.code_version())
    # a process killed before the rename leaves only a temporary folder
    leftover = final.parent / f".tmp-{final.name}-999-deadbeef"
    leftover.mkdir(parents=True)
    (leftover / "model.bin").write_bytes(b"partial")
    assert cache.load("model", {"x": 1}) is None
    assert cache.clean_tmp() == 1
    # a folder in the final place without a manifest is corrupt, never complete
    final.mkdir()
    (final / "model.bin").write_bytes(b"partial")
    with pytest.raises(CacheCorruptError, match="manifest.json"):
        cache.load("model", {"x": 1})


def test_corrupt_entry_gets_clear_error(tmp_path):
    cache = RunCache(tmp_path)
    entry = cache.get_or_build("model", {"x": 2}, _build_counting([]), profile="smoke", seed=0)
    entry.file("model.bin").write_bytes(b"trunc")
    with pytest.raises(CacheCorruptError, match="model.bin.*expected 7"):
        cache.get_or_build("model", {"x": 2}, _build_counting([]), profile="smoke", seed=0)
    entry.file("model.bin").write_bytes(b"WEIGHTS")  # same size, other content
    assert cache.load("model", {"x": 2}) is not None
    with pytest.raises(CacheCorruptError, match="SHA-256"):
        cache.load("model", {"x": 2}, verify_hashes=True)
    (entry.path / "manifest.json").write_text("{not json")
    with pytest.raises(CacheCorruptError, match="unreadable manifest"):
        cache.load("model", {"x": 2})


def test_unserializable_config_is_refused(tmp_path):
    with pytest.raises(ValueError, match="JSON-serializable"):
        RunCache(tmp_path).get_or_build("model", {"f": object()}, _build_counting([]), profile="smoke", seed=0)


def test_manifest_written_atomically(tmp_path):
    entry = RunCache(tmp_path).get_or_build("model", {"x": 3}, _build_counting([]), profile="smoke", seed=0)
    manifest = json.loads((entry.path / "manifest.json").read_text())
    assert manifest["files"]["model.bin"]["size"] == 7
    assert not [p for p in os.listdir(entry.path) if p.endswith(".tmp")]
