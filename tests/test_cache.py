import json
import multiprocessing
import os
import shutil
import time

import pytest

from facerecon.study import codehash
from facerecon.study.cache import CacheCorruptError, RunCache
from facerecon.study.codehash import code_hash, dependency_closure
from facerecon.study.paths import PACKAGE_DIR

CODE = ("facerecon.metrics",)   # a small module closure for entries whose code does not matter to the test


def _build_counting(calls, content=b"weights"):
    def build(tmp):
        calls.append(1)
        (tmp / "model.bin").write_bytes(content)
        return {"loss": 0.5}
    return build


def _get(cache, config, build, **kw):
    return cache.get_or_build("model", config, build, code=kw.pop("code", CODE), profile="smoke", seed=0, **kw)


def test_same_config_reuses_entry(tmp_path):
    cache, calls = RunCache(tmp_path), []
    first = _get(cache, {"lr": 1e-3, "epochs": 2}, _build_counting(calls))
    second = _get(cache, {"epochs": 2, "lr": 1e-3}, _build_counting(calls))
    assert len(calls) == 1
    assert not first.reused and second.reused
    assert first.path == second.path
    assert second.meta == {"loss": 0.5}
    assert second.file("model.bin").read_bytes() == b"weights"
    prov = second.manifest["provenance"]
    assert {"profile", "params", "git_commit", "versions", "device", "seed", "wall_time_s"} <= prov.keys()


def test_changed_config_code_libraries_or_parents_make_new_entries(tmp_path, monkeypatch):
    cache, calls = RunCache(tmp_path), []
    a = _get(cache, {"lr": 1e-3}, _build_counting(calls))
    assert _get(cache, {"lr": 2e-3}, _build_counting(calls)).path != a.path
    assert _get(cache, {"lr": 1e-3}, _build_counting(calls), code=("facerecon.mesh.ops",)).path != a.path
    assert _get(cache, {"lr": 1e-3}, _build_counting(calls), parents=("datasetkey",)).path != a.path
    monkeypatch.setattr(codehash, "library_versions", lambda: (("torch", "0.0-other"),))
    assert _get(cache, {"lr": 1e-3}, _build_counting(calls)).path != a.path
    assert len(calls) == 5


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory):
    dst = tmp_path_factory.mktemp("pkg") / "facerecon"
    shutil.copytree(PACKAGE_DIR, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


@pytest.mark.parametrize("entry, edited", [
    ("facerecon.training.cached", "data/camera.py"),      # builds GT vertices; a hand-kept list once missed it
    ("facerecon.training.cached", "data/shards.py"),
    ("facerecon.training.cached", "study/runtime.py"),
    ("facerecon.training.cached", "mesh/resample.py"),
    ("facerecon.denoise.train", "denoise/nmf.py"),
    ("facerecon.data.generate", "data/render.py"),
])
def test_editing_a_dependency_changes_the_key(package_copy, entry, edited):
    before = code_hash(entry, package_dir=package_copy)
    file = package_copy / edited
    original = file.read_text()
    try:
        file.write_text(original + "\n# an edit\n")
        assert code_hash(entry, package_dir=package_copy) != before
    finally:
        file.write_text(original)
    assert code_hash(entry, package_dir=package_copy) == before


@pytest.mark.parametrize("entry, unrelated", [
    ("facerecon.data.generate", "models/generator.py"),
    ("facerecon.denoise.train", "data/render.py"),
    ("facerecon.training.cached", "figures/denoise.py"),
    ("facerecon.training.cached", "cli/train.py"),
])
def test_editing_an_unrelated_module_keeps_the_key(package_copy, entry, unrelated):
    before = code_hash(entry, package_dir=package_copy)
    file = package_copy / unrelated
    original = file.read_text()
    try:
        file.write_text(original + "\n# an edit\n")
        assert code_hash(entry, package_dir=package_copy) == before
    finally:
        file.write_text(original)


def test_closure_follows_the_import_graph():
    closure = dependency_closure("facerecon.training.cached")
    for module in ("facerecon.data.camera", "facerecon.data.shards", "facerecon.study.runtime",
                   "facerecon.models.generator", "facerecon.mesh.resample"):
        assert module in closure
    assert not [m for m in closure if m.startswith(("facerecon.figures", "facerecon.cli"))]
    with pytest.raises(ValueError, match="not a module"):
        code_hash("facerecon.no_such_module")


def _slow_build(tmp):
    (tmp / "model.bin").write_bytes(b"weights")
    time.sleep(0.5)
    return {"pid": os.getpid()}


def _build_in_process(root, barrier):
    barrier.wait()
    _get(RunCache(root), {"x": "race"}, _slow_build)


def test_two_processes_building_the_same_entry_end_with_one_complete_entry(tmp_path):
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_build_in_process, args=(tmp_path, barrier)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    entries = [p for p in (tmp_path / "model").iterdir()]
    assert len(entries) == 1 and not entries[0].name.startswith(".tmp")
    entry = RunCache(tmp_path).load("model", {"x": "race"}, code=CODE, verify_hashes=True)
    assert entry is not None and entry.file("model.bin").read_bytes() == b"weights"


def _hanging_build(tmp):
    (tmp / "half.bin").write_bytes(b"partial")
    time.sleep(60)


def _build_forever(root):
    _get(RunCache(root), {"x": "killed"}, _hanging_build)


def test_killed_build_leaves_no_entry(tmp_path):
    proc = multiprocessing.get_context("fork").Process(target=_build_forever, args=(tmp_path,))
    proc.start()
    deadline = time.time() + 30
    while not list(tmp_path.glob("model/.tmp-*/half.bin")) and time.time() < deadline:
        time.sleep(0.05)
    proc.kill()                     # interrupted mid-build: no cleanup code runs
    proc.join()
    cache = RunCache(tmp_path)
    assert list(tmp_path.glob("model/.tmp-*")), "the build should have been interrupted in its temporary folder"
    assert cache.load("model", {"x": "killed"}, code=CODE) is None
    assert cache.clean_tmp() == 1
    calls = []
    entry = _get(cache, {"x": "killed"}, _build_counting(calls))
    assert calls == [1] and entry.file("model.bin").read_bytes() == b"weights"


def test_failed_build_leaves_nothing(tmp_path):
    cache = RunCache(tmp_path)

    def failing(tmp):
        (tmp / "half.bin").write_bytes(b"partial")
        raise KeyboardInterrupt("interrupted mid-write")

    with pytest.raises(KeyboardInterrupt):
        _get(cache, {"x": 1}, failing)
    assert cache.load("model", {"x": 1}, code=CODE) is None
    assert not list((tmp_path / "model").glob(".tmp-*"))


def test_folder_without_manifest_is_corrupt_not_complete(tmp_path):
    cache = RunCache(tmp_path)
    final = cache.entry_path("model", {"x": 1}, code=CODE)
    final.mkdir(parents=True)
    (final / "model.bin").write_bytes(b"partial")
    with pytest.raises(CacheCorruptError, match="manifest.json"):
        cache.load("model", {"x": 1}, code=CODE)


def test_corrupt_entry_gets_clear_error(tmp_path):
    cache = RunCache(tmp_path)
    entry = _get(cache, {"x": 2}, _build_counting([]))
    entry.file("model.bin").write_bytes(b"trunc")
    with pytest.raises(CacheCorruptError, match="model.bin.*expected 7"):
        _get(cache, {"x": 2}, _build_counting([]))
    entry.file("model.bin").write_bytes(b"WEIGHTS")  # same size, other content
    assert cache.load("model", {"x": 2}, code=CODE) is not None
    with pytest.raises(CacheCorruptError, match="SHA-256"):
        cache.load("model", {"x": 2}, code=CODE, verify_hashes=True)
    (entry.path / "manifest.json").write_text("{not json")
    with pytest.raises(CacheCorruptError, match="unreadable manifest"):
        cache.load("model", {"x": 2}, code=CODE)


def test_unserializable_config_is_refused(tmp_path):
    with pytest.raises(ValueError, match="JSON-serializable"):
        _get(RunCache(tmp_path), {"f": object()}, _build_counting([]))


def test_manifest_records_code_and_parents(tmp_path):
    entry = _get(RunCache(tmp_path), {"x": 3}, _build_counting([]), parents=("abc",))
    manifest = json.loads((entry.path / "manifest.json").read_text())
    assert manifest["files"]["model.bin"]["size"] == 7
    assert manifest["code"] == list(CODE) and manifest["parents"] == ["abc"]
    assert manifest["code_hash"] == code_hash(*CODE)
    assert not [p for p in os.listdir(entry.path) if p.endswith(".tmp")]
