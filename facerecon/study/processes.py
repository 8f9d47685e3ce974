"""Work spread over processes: one per CPU core, each single-threaded, results in the order of the inputs.

Each task is a module-level function and picklable arguments; the processes are spawned (not forked) and quiet
(no progress bars). Training chapters use it for models (:mod:`facerecon.training.parallel`), 01 for its
denoisers, 02 for its generators, 03 for its toy GANs: on 2 cores two single-threaded trainings side by side
finish about 1.6× more work per hour than one with 2 threads (``results/README.md``).
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Callable, Sequence, TypeVar

import torch

from .progress import progress_bar

T = TypeVar("T")


def checked_processes(processes: int) -> int:
    """``processes`` if it is a whole number >= 1, else a ValueError naming it."""
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"train_processes must be a whole number >= 1 (1: one model after another in this "
                         f"process), got {processes!r}")
    return processes


def map_in_processes(fn: Callable[..., T], arguments: Sequence[tuple], *, processes: int, desc: str = "",
                     progress: bool = True) -> list[T]:
    """``[fn(*args) for args in arguments]``, computed in ``processes`` spawned processes (``fn`` a module-level
    function, its arguments and results picklable), the torch threads of this process shared among them; in
    this process when ``processes`` is 1. The first error is raised once the work already started has finished."""
    processes = checked_processes(processes)
    if processes == 1 or len(arguments) < 2:
        return [fn(*args) for args in progress_bar(arguments, desc=desc, enabled=progress)]
    workers = min(processes, len(arguments))
    threads = max(1, torch.get_num_threads() // workers)
    bar = progress_bar(total=len(arguments), desc=f"{desc} in {workers} processes", enabled=progress)
    # spawn, not fork: a forked child of a process whose OpenMP pool has run can hang in its first parallel region
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_single_quiet_worker,
                             initargs=(threads,)) as pool:
        futures = [pool.submit(fn, *args) for args in arguments]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            bar.update(len(done))
            failed = [f for f in done if f.exception() is not None]
            if failed:
                for f in pending:
                    f.cancel()
                wait(pending)                  # work already started finishes (trained models reach the cache)
                bar.close()
                raise failed[0].exception()
    bar.close()
    return [f.result() for f in futures]


def _single_quiet_worker(threads: int) -> None:
    os.environ["TQDM_DISABLE"] = "1"
    torch.set_num_threads(threads)
