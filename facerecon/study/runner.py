"""Executing the study's notebooks with papermill under a profile.

Executed copies go to ``_executed/<stem>.ipynb`` (git-ignored, rendered by the book); each notebook writes
its key results to ``_results/<profile>/<stem>.json`` through :func:`facerecon.study.results.save_results`.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any, Iterable

from .parameters import resolve_parameters
from .paths import find_root
from .profiles import load_profile, resolve_profile_name
from .provenance import git_commit
from .results import results_path

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
REAL_DATA_TAG = "real-data"   # a cell that shows real samples: its outputs are never stored in the notebook
STORED_COMMIT = "commit not-stored"   # what the stored outputs say instead of the commit that made them
COMMIT_TEXT = re.compile(r"commit [0-9a-f]{7,40}(?:\+dirty)?")
# ipykernel warns on every start that its local TCP sockets are unencrypted; the kernel logs errors only
QUIET_KERNEL = ("--IPKernelApp.log_level=ERROR",)


def list_notebooks(root: Path) -> dict[str, Path]:
    """The study's notebooks by stem, in order (``notebooks/NN_*.ipynb``; the template is not one)."""
    return {p.stem: p for p in sorted((root / "notebooks").glob(NOTEBOOK_GLOB))}


def select_notebooks(notebooks: dict[str, Path], only: Iterable[str] | None = None) -> list[str]:
    """The stems of ``notebooks`` to run: all of them in their order, or ``only``'s in its order; a stem that is not
    among them is an error naming the available ones (a typo must not select nothing)."""
    selected = list(notebooks) if not only else list(only)
    missing = [s for s in selected if s not in notebooks]
    if missing:
        raise ValueError(f"unknown notebook(s) {missing}; available: {sorted(notebooks)}")
    return selected


def run_notebooks(profile: str, only: Iterable[str] | None = None, root: Path | None = None,
                  progress: bool = True, overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Execute notebooks under ``profile`` into ``_executed/``; returns one record per notebook.

    ``overrides`` (``facerecon run-notebooks -p name=value``) set parameters on top of the profile's sections,
    in every selected notebook; a name a notebook does not declare is refused like a profile's.
    """
    import papermill

    os.environ["TQDM_DISABLE"] = "1"   # the kernels inherit it: a page never shows a progress bar as raw stderr
    root = root or find_root()
    profile = resolve_profile_name(profile)
    sections = load_profile(profile, root)
    notebooks = list_notebooks(root)
    unknown_sections = sorted(set(sections) - set(notebooks))
    if unknown_sections:
        raise ValueError(f"profile {profile!r} has sections for unknown notebooks {unknown_sections}; "
                         f"notebooks are: {sorted(notebooks)}")
    selected = select_notebooks(notebooks, only)
    # Resolve every notebook's parameters before executing any, so a bad profile fails fast.
    plans = {stem: resolve_parameters(notebooks[stem], {**sections.get(stem, {}), **(overrides or {})}, profile)
             for stem in selected}
    out_dir = root / "_executed"
    out_dir.mkdir(exist_ok=True)
    records = []
    for stem, params in plans.items():
        results_file = results_path(stem, profile, root)
        results_file.unlink(missing_ok=True)
        start = time.perf_counter()
        print(f"[facerecon] executing {stem} under profile {profile!r}", flush=True)
        papermill.execute_notebook(str(notebooks[stem]), str(out_dir / f"{stem}.ipynb"), parameters=params,
                                   cwd=str(root), kernel_name="python3", progress_bar=progress,
                                   log_output=False, extra_arguments=list(QUIET_KERNEL))
        wall = round(time.perf_counter() - start, 2)
        if not results_file.is_file():
            raise RuntimeError(f"{stem} ran but wrote no results file {results_file}: every notebook must "
                               "call facerecon.study.results.save_results")
        records.append({"notebook": stem, "profile": profile, "wall_time_s": wall, "results": str(results_file)})
    write_run_info(root, profile, records)
    return records


RUN_INFO = "run_info.json"   # in _executed/: every chapter's last run, whichever command ran it


def write_run_info(root: Path, profile: str, records: list[dict[str, Any]]) -> None:
    """The page fragment the book's intro includes (``_executed/run_info.md``): for every chapter executed so far,
    the profile, commit and wall time of its last run. ``records`` (this run's chapters) update
    ``_executed/run_info.json``; chapters run earlier keep their rows, so rerunning one chapter does not hide the
    others' provenance."""
    executed = root / "_executed"
    executed.mkdir(exist_ok=True)
    store = executed / RUN_INFO
    runs = json.loads(store.read_text()) if store.is_file() else {}
    commit = git_commit(root)
    for r in records:
        runs[r["notebook"]] = {"profile": r.get("profile", profile), "commit": commit,
                               "wall_time_s": r["wall_time_s"]}
    store.write_text(json.dumps(runs, indent=1, sort_keys=True))
    profiles = sorted({run["profile"] for run in runs.values()})
    heading = (f"The executed pages of this build come from the **`{profiles[0]}`** profile."
               if len(profiles) == 1 else
               f"The executed pages of this build come from several runs (profiles {', '.join(profiles)}): each "
               "chapter's row says which.")
    rows = "\n".join(f"| `{stem}` | `{run['profile']}` | `{run['commit']}` | {run['wall_time_s']:.1f} s |"
                     for stem, run in sorted(runs.items()))
    (executed / "run_info.md").write_text(
        f"{heading}\n\n| notebook | profile | commit | execution time |\n|---|---|---|---|\n{rows}\n")


def store_smoke_outputs(root: Path | None = None, only: Iterable[str] | None = None,
                        timeout_s: int = 1800) -> list[Path]:
    """Execute chapters in place with their own parameters (the ``smoke`` values) and keep the outputs.

    The committed notebooks carry exactly these outputs: nbval (``make test``) executes each chapter again and
    compares its deterministic outputs with them, so a deliberate change of a computed number fails the tests
    until this is rerun (``facerecon run-notebooks --store-smoke-outputs``) and the change committed. The kernel
    runs in ``notebooks/``, as under nbval.
    """
    import nbformat
    from nbclient import NotebookClient

    os.environ["TQDM_DISABLE"] = "1"   # the kernels inherit it: no progress bars in the stored outputs
    root = root or find_root()
    notebooks = {p.stem: p for p in sorted((root / "notebooks").glob("*.ipynb"))}   # the template too
    selected = select_notebooks(notebooks, only)
    written = []
    for stem in selected:
        path = notebooks[stem]
        print(f"[facerecon] executing {stem} in place with its smoke parameters", flush=True)
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=timeout_s, kernel_name="python3", record_timing=False,
                       extra_arguments=list(QUIET_KERNEL), resources={"metadata": {"path": str(path.parent)}}).execute()
        for cell in nb.cells:
            cell.get("metadata", {}).pop("execution", None)
            if REAL_DATA_TAG in cell.get("metadata", {}).get("tags", []):
                cell.outputs = []   # pictures of real faces stay out of the repository (tag them nbval-ignore-output)
            for output in cell.get("outputs", []):
                _scrub_machine_details(output, root)
        nbformat.write(nb, path)
        written.append(path)
    return written


def _scrub_machine_details(output: Any, root: Path) -> None:
    """A stored output names no commit (it cannot name its own) and no folder of the machine that made it."""
    def scrub(text: str) -> str:
        return COMMIT_TEXT.sub(STORED_COMMIT, text.replace(f"{root.resolve()}/", ""))

    if "text" in output:
        output["text"] = scrub(output["text"])
    for mime, value in output.get("data", {}).items():
        if isinstance(value, str):
            output["data"][mime] = scrub(value)
