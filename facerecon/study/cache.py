"""The run cache: expensive results stored under a key made from the resolved config and the code version.

An entry is a folder ``<root>/<kind>/<key>/`` holding the files a build wrote plus ``manifest.json``
(config, provenance, the size and SHA-256 of every file). A build writes into a temporary folder and the
folder is renamed into place only after its manifest is complete, so an interrupted build never leaves an
entry that reads back as complete. Same config and code → the entry is reused; any change → a new key.

The key covers the kind, the config, the code that builds the entry (every ``facerecon`` module its builder
imports, found from the import graph, and the library versions: :mod:`facerecon.study.codehash`) and the keys
of the entries it was built from (a denoiser's includes its training set's).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .codehash import code_hash
from .paths import cache_dir
from .provenance import provenance

MANIFEST = "manifest.json"


class CacheCorruptError(RuntimeError):
    """A cache entry exists but fails its manifest check (missing, truncated or altered files)."""


def config_key(kind: str, config: dict[str, Any], code: str, parents: tuple[str, ...] = ()) -> str:
    """SHA-256 (first 20 hex digits) of the kind, the JSON-normalized config, the code hash and the parents'
    keys."""
    try:
        blob = json.dumps({"kind": kind, "config": config, "code": code, "parents": list(parents)},
                          sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"cache config for {kind!r} must be JSON-serializable scalars/lists/dicts: {err}")
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """A complete, verified entry: its folder and its manifest."""

    path: Path
    manifest: dict[str, Any]
    reused: bool

    @property
    def meta(self) -> dict[str, Any]:
        """What the build returned (e.g. a summary of a generated dataset)."""
        return self.manifest["meta"]

    def file(self, name: str) -> Path:
        if name not in self.manifest["files"]:
            raise KeyError(f"cache entry {self.path} has no file {name!r}; it has {sorted(self.manifest['files'])}")
        return self.path / name


class RunCache:
    """Build-or-reuse store for trained models, denoisers and generated datasets.

    >>> cache = RunCache("_cache")                                                   # doctest: +SKIP
    >>> entry = cache.get_or_build("synthface", cfg, build, code=(__name__,), profile="cpu", seed=0)  # doctest: +SKIP

    ``code`` names the module(s) whose code builds the entry (usually the caller's ``__name__``); ``parents``
    the keys of the entries it was built from.
    """

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root).resolve() if root is not None else cache_dir()

    def entry_path(self, kind: str, config: dict[str, Any], *, code: tuple[str, ...],
                   parents: tuple[str, ...] = ()) -> Path:
        if not kind.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"cache kind must be alphanumeric with - or _, got {kind!r}")
        return self.root / kind / config_key(kind, config, code_hash(*code), tuple(parents))

    def load(self, kind: str, config: dict[str, Any], *, code: tuple[str, ...], parents: tuple[str, ...] = (),
             verify_hashes: bool = False) -> CacheEntry | None:
        """The complete entry for this config, code and parents, ``None`` if there is none.

        Raises :class:`CacheCorruptError` if the entry exists but fails its manifest check.
        """
        path = self.entry_path(kind, config, code=code, parents=parents)
        if not path.exists():
            return None
        return CacheEntry(path, self._verify(path, verify_hashes), reused=True)

    def get_or_build(self, kind: str, config: dict[str, Any], build: Callable[[Path], dict[str, Any] | None],
                     *, code: tuple[str, ...], parents: tuple[str, ...] = (), profile: str, seed: int | None,
                     verify_hashes: bool = False) -> CacheEntry:
        """Reuse the entry for ``(kind, config, code, parents)`` or run ``build(tmp_dir)`` and store what it
        writes.

        ``build`` writes its files into the folder it is given and returns a JSON-serializable dict (stored
        as ``meta``). If ``build`` raises, nothing is stored and the temporary folder is removed.
        """
        existing = self.load(kind, config, code=code, parents=parents, verify_hashes=verify_hashes)
        if existing is not None:
            return existing
        final = self.entry_path(kind, config, code=code, parents=parents)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        start = time.perf_counter()
        try:
            meta = build(tmp) or {}
            files = {p.relative_to(tmp).as_posix(): {"size": p.stat().st_size, "sha256": _sha256(p)}
                     for p in sorted(tmp.rglob("*")) if p.is_file()}
            manifest = {
                "kind": kind, "key": final.name, "config": config, "code": list(code),
                "code_hash": code_hash(*code), "parents": list(parents),
                "meta": meta, "files": files,
                "provenance": provenance(profile=profile, params=config, seed=seed,
                                         wall_time_s=round(time.perf_counter() - start, 3)),
            }
            _write_json_atomic(tmp / MANIFEST, manifest)
            try:
                os.rename(tmp, final)  # atomic on one filesystem: the entry appears complete or not at all
            except OSError:
                if not final.exists():
                    raise
                shutil.rmtree(tmp)  # another process finished the same entry first: keep theirs
                return CacheEntry(final, self._verify(final, verify_hashes), reused=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return CacheEntry(final, manifest, reused=False)

    def _verify(self, path: Path, verify_hashes: bool) -> dict[str, Any]:
        manifest_path = path / MANIFEST
        hint = f"remove the folder {path} to rebuild it"
        try:
            manifest = json.loads(manifest_path.read_text())
        except FileNotFoundError:
            raise CacheCorruptError(f"cache entry {path} has no {MANIFEST}; {hint}") from None
        except (OSError, json.JSONDecodeError) as err:
            raise CacheCorruptError(f"cache entry {path}: unreadable {MANIFEST} ({err}); {hint}") from None
        if not isinstance(manifest, dict) or not {"files", "meta", "config"} <= manifest.keys():
            raise CacheCorruptError(f"cache entry {path}: {MANIFEST} lacks files/meta/config; {hint}")
        for name, info in manifest["files"].items():
            file = path / name
            if not file.is_file():
                raise CacheCorruptError(f"cache entry {path}: file {name!r} is missing; {hint}")
            if file.stat().st_size != info["size"]:
                raise CacheCorruptError(f"cache entry {path}: file {name!r} has {file.stat().st_size} bytes, "
                                        f"expected {info['size']}; {hint}")
            if verify_hashes and _sha256(file) != info["sha256"]:
                raise CacheCorruptError(f"cache entry {path}: file {name!r} does not match its SHA-256; {hint}")
        return manifest

    def clean_tmp(self) -> int:
        """Remove folders left by interrupted builds; returns how many were removed."""
        stale = list(self.root.glob("*/.tmp-*")) if self.root.exists() else []
        for folder in stale:
            shutil.rmtree(folder, ignore_errors=True)
        return len(stale)


def _write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename (never a half-written file)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)
