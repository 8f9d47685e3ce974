"""The code part of a run-cache key, found from the import graph.

An entry's code is the set of ``facerecon`` modules that the module building it imports, directly or
through others (imports inside functions count too), plus the package ``__init__`` files on the way. Its hash
covers their source and the versions of the libraries whose numerics change results, so an edit to any module
an entry depends on (or a library upgrade) gives a new key, and an edit elsewhere does not.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
from functools import lru_cache
from pathlib import Path

from .paths import PACKAGE_DIR

PACKAGE = "facerecon"
# Libraries whose numerics a cached result depends on; part of every key.
KEYED_LIBRARIES = ("torch", "numpy", "torch-geometric", "diffusers", "scikit-image")


def module_file(name: str, package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The source file of module ``facerecon.a.b`` (``a/b.py`` or ``a/b/__init__.py``), ``None`` if absent."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = package_dir.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(name: str, package_dir: Path = PACKAGE_DIR, with_parents: bool = True) -> set[str]:
    """The ``facerecon`` modules that module ``name`` imports (absolute or relative, at any depth in the file);
    ``with_parents`` adds the packages whose ``__init__`` such an import runs first."""
    file = module_file(name, package_dir)
    if file is None:
        raise ValueError(f"{name!r} is not a module of the {PACKAGE} package under {package_dir}")
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # `from pkg import mod` imports the module pkg.mod when it is one
            found.update(f"{base}.{alias.name}" for alias in node.names
                         if module_file(f"{base}.{alias.name}", package_dir) is not None)
    modules = {m for m in found if m.split(".")[0] == PACKAGE and module_file(m, package_dir) is not None}
    if not with_parents:
        return modules
    # importing a.b.c runs a/__init__ and a/b/__init__ first
    return modules | {".".join(m.split(".")[:k]) for m in modules for k in range(1, len(m.split(".")))}


def dependency_closure(*names: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """``names`` and every ``facerecon`` module they import, transitively; sorted."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(imported_modules(name, package_dir) - seen)
    return sorted(seen)


@lru_cache(maxsize=None)
def library_versions() -> tuple[tuple[str, str], ...]:
    versions = []
    for lib in KEYED_LIBRARIES:
        try:
            versions.append((lib, importlib.metadata.version(lib)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((lib, "not installed"))
    return tuple(versions)


def code_hash(*names: str, package_dir: Path = PACKAGE_DIR) -> str:
    """SHA-256 (first 16 hex digits) of the sources of ``names``' dependency closure and the library versions."""
    if not names:
        raise ValueError("code_hash needs the module(s) that build the entry, e.g. code_hash(__name__)")
    digest = hashlib.sha256()
    for name in dependency_closure(*names, package_dir=package_dir):
        file = module_file(name, package_dir)
        digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    for lib, version in library_versions():
        digest.update(f"{lib}=={version}\0".encode())
    return digest.hexdigest()[:16]
