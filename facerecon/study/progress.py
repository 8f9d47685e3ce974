"""Progress bars, handled once: plain ``tqdm`` (no widgets), switched off by ``progress=False`` or by the
environment (``TQDM_DISABLE=1``, set by ``make test`` and CI, so that notebooks store and compare no bars)."""

from __future__ import annotations

import os
from typing import Any

from tqdm import tqdm


def progress_bar(iterable: Any = None, *, enabled: bool = True, **kwargs: Any) -> tqdm:
    """``tqdm(iterable, **kwargs)``, disabled when ``enabled`` is false or ``TQDM_DISABLE`` is set (an explicit
    ``disable=`` would otherwise override tqdm's own reading of that variable)."""
    disabled = not enabled or os.environ.get("TQDM_DISABLE", "").lower() not in ("", "0", "false")
    return tqdm(iterable, disable=disabled, **kwargs)
