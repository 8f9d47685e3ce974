"""A notebook's parameters: the cell tagged ``parameters`` (papermill's convention) holds their smoke values.

A profile section may override only the names that cell declares; :func:`collect_parameters` reads their
current values back from a notebook's namespace for the results' provenance.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from .paths import find_root


def declared_parameters(notebook: Path) -> dict[str, Any]:
    """Names and default values assigned in the notebook's cell tagged ``parameters``."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"{notebook}: expected exactly one cell tagged 'parameters', found {len(tagged)}")
    source = "".join(tagged[0]["source"])
    params: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            params[node.targets[0].id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            params[node.target.id] = ast.literal_eval(node.value)
    return params


def resolve_parameters(notebook: Path, section: dict[str, Any], profile: str) -> dict[str, Any]:
    """The notebook's defaults overridden by the profile section; an undeclared name is an error."""
    declared = declared_parameters(notebook)
    unknown = sorted(set(section) - set(declared))
    if unknown:
        raise ValueError(f"profile {profile!r} sets {unknown} for {Path(notebook).stem}, which does not declare "
                         f"them; its parameters are: {sorted(declared)}")
    return {**declared, **section, "profile": profile}


def collect_parameters(namespace: dict[str, Any], stem: str, root: Path | None = None) -> dict[str, Any]:
    """The current values of the parameters the notebook ``stem`` declares (read from its parameters cell)."""
    notebook = (root or find_root()) / "notebooks" / f"{stem}.ipynb"
    names = list(declared_parameters(notebook)) + ["profile"]
    return {name: namespace[name] for name in names if name in namespace}
