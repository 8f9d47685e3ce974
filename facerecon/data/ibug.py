"""The 68-point iBUG landmark convention (data.md): regions and the horizontal-flip correspondence."""

from __future__ import annotations

import numpy as np

# jaw 0–16 (8 chin); right brow 17–21; left brow 22–26; nose bridge 27–30 (30 tip); lower nose 31–35;
# right eye 36–41; left eye 42–47; outer lips 48–59 (48, 54 corners); inner lips 60–67 (0-based).
# Horizontal-flip pairs, 1-based as usually published; the other points map to themselves.
FLIP_PAIRS = ((1, 17), (2, 16), (3, 15), (4, 14), (5, 13), (6, 12), (7, 11), (8, 10), (18, 27), (19, 26), (20, 25),
              (21, 24), (22, 23), (32, 36), (33, 35), (37, 46), (38, 45), (39, 44), (40, 43), (41, 48), (42, 47),
              (49, 55), (50, 54), (51, 53), (62, 64), (61, 65), (68, 66), (59, 57), (60, 56))


def flip_permutation() -> np.ndarray:
    """``(68,)``: the index of each point's mirror image (0-based)."""
    perm = np.arange(68)
    for a, b in FLIP_PAIRS:
        perm[a - 1], perm[b - 1] = b - 1, a - 1
    return perm
