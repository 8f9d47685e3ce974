"""Building the Jupyter Book strictly, and checking that the built pages load nothing from the internet."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .paths import find_root

# A page must not load JS or CSS from another host. sphinx-thebe's inert THEBE_JS_URL string sits in a script
# body, not in a src/href attribute, so it does not match.
EXTERNAL_ASSET = re.compile(r'''(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+?\.(?:js|css|mjs)(?:\?[^"']*)?)["']''',
                            re.IGNORECASE)


def build_book(root: Path | None = None, strict: bool = True) -> Path:
    """``jupyter-book build`` of the repository root (``-W -n --keep-going`` when strict); returns index.html."""
    root = root or find_root()
    executed = root / "_executed"
    if not executed.is_dir() or not any(executed.glob("*.ipynb")):
        raise FileNotFoundError(f"{executed} holds no executed notebooks: run `facerecon run-notebooks "
                                "--profile smoke|cpu|gpu` (or `make book`) first")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jupyter_book), "build", str(root), "--builder", "html"]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"book build failed ({' '.join(cmd)}):\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}")
    index = root / "_build" / "html" / "index.html"
    if not index.is_file():
        raise RuntimeError(f"book build reported success but {index} is missing")
    return index


def external_assets(html_dir: Path | str) -> list[tuple[str, str]]:
    """``(page, url)`` for every JS/CSS a built page would load from the internet."""
    html_dir = Path(html_dir)
    if not html_dir.is_dir():
        raise FileNotFoundError(f"{html_dir} is not a built book (no such folder)")
    hits = []
    for page in sorted(html_dir.rglob("*.html")):
        for url in EXTERNAL_ASSET.findall(page.read_text(errors="replace")):
            hits.append((page.relative_to(html_dir).as_posix(), url))
    return hits
