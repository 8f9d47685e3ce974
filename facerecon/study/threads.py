"""One thread for work made of many tiny matrices.

A loop of small linear-algebra calls (the landmark 3DMM fit: an SVD of a 136 × 100 design per alternation) is
slower with threads than without: torch's OpenMP pool and OpenBLAS's own threads take turns on the same cores
and wait for each other. Measured on 2 cores (AMD EPYC), the fit of one face with 20 alternations took 158 ms
with both pools at 2 threads, 78 ms with OpenBLAS at 1 and 56 ms with both at 1. The numbers are the same
computation; only the summation order inside the kernels may follow the thread count, as it follows the CPU.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import torch


@lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()   # inspects the loaded libraries once (a few ms each time otherwise)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Inside: torch and the BLAS/LAPACK libraries NumPy and SciPy use run on one thread; restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _controller().limit(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)
