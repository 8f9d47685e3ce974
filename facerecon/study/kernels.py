"""Float-kernel settings, and the runs that show the study's tests do not depend on the CPU's choice of kernels.

oneDNN, ATen, MKL and OpenBLAS each choose their code path from the CPU (AVX-512 on the machines that stored
references, AVX2 on others), which changes the last bits of convolutions, products and reductions. The
``avx2`` setting forces the AVX2/Haswell paths on any AVX-512 machine, so one machine can run the tests as
another CPU would:

- :func:`run_tests` runs ``make test`` once per setting, each with its own run cache and results folder (a model
  trained under one setting is never reused under another), and reports both summaries;
- :func:`run_derivation` executes every chapter under ``smoke`` in the runs that
  :mod:`facerecon.study.smoke_reference` derives its tolerances from (native and AVX2 kernels at seed 0, native
  kernels at seeds 1…k, native without the real samples), keeping each run's results and executed notebooks in
  ``_kernels/derive-<run>/``;
- :func:`write_references` turns those runs into ``tests/smoke_reference/<stem>.json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .kernel_settings import KERNEL_SETTINGS
from .parameters import declared_parameters
from .provenance import git_commit
from .runner import list_notebooks, select_notebooks
from .smoke_reference import RULE, at_rounding_floor, derive_reference, prediction_factor, reference_path

REAL_SAMPLES_PARAMETER = "real_samples_dir"
NO_REAL_SAMPLES = "_kernels/no-real-samples"   # a folder that never exists: the chapters run without them
SUMMARY = re.compile(r"^=+ (.*(?:passed|failed|error).*) in [\d.]+s.*=+$", re.MULTILINE)
IMAGE_MIME = ("image/png", "image/jpeg")
PLOTLY_MIME = "application/vnd.plotly.v1+json"   # a figure: nbval_pages leaves it out of nbval's comparison


def kernels_dir(root: Path) -> Path:
    return root / "_kernels"


def setting_environment(setting: str, workdir: Path) -> dict[str, str]:
    """The process environment for ``setting``, with its own run cache and results under ``workdir``."""
    if setting not in KERNEL_SETTINGS:
        raise ValueError(f"unknown kernel setting {setting!r}: expected one of {sorted(KERNEL_SETTINGS)}")
    env = {**os.environ, **KERNEL_SETTINGS[setting], "TQDM_DISABLE": "1",
           "FACERECON_CACHE": str(workdir / "cache"), "FACERECON_RESULTS": str(workdir / "results")}
    return env


def run_tests(root: Path, settings: list[str]) -> list[dict[str, Any]]:
    """``make test`` once per kernel setting; returns each run's summary line, exit code and time.

    The output of each run goes to ``_kernels/test-<setting>/test.log``.
    """
    records = []
    for setting in settings:
        workdir = kernels_dir(root) / f"test-{setting}"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        log = workdir / "test.log"
        print(f"[facerecon] make test under the {setting!r} kernels "
              f"({KERNEL_SETTINGS[setting] or 'as the CPU chooses'}), log {log.relative_to(root)}", flush=True)
        start = time.perf_counter()
        with log.open("w") as out:
            proc = subprocess.run(["make", "test"], cwd=root, env=setting_environment(setting, workdir),
                                  stdout=out, stderr=subprocess.STDOUT)
        wall = time.perf_counter() - start
        found = SUMMARY.findall(log.read_text(errors="replace"))
        records.append({"setting": setting, "exit_code": proc.returncode, "wall_time_s": round(wall, 1),
                        "summary": found[-1] if found else "no pytest summary (see the log)"})
    return records


def derivation_plan(seeds: list[int]) -> dict[str, dict[str, Any]]:
    """``{run: {"setting", "seed", "real_samples"}}`` for the runs the tolerances are derived from."""
    plan = {"A": {"setting": "native", "seed": 0, "real_samples": True},
            "B": {"setting": "avx2", "seed": 0, "real_samples": True}}
    plan.update({f"S{s}": {"setting": "native", "seed": s, "real_samples": True} for s in seeds})
    plan["R0"] = {"setting": "native", "seed": 0, "real_samples": False}
    return plan


def run_derivation(root: Path, seeds: list[int], reuse: bool = False, only: list[str] | None = None) -> None:
    """Execute every chapter (or those ``only`` names) under ``smoke`` for each run of :func:`derivation_plan`
    (sequentially; alone on the cores is best). With ``reuse``, a chapter whose results and executed notebook a run
    already holds is kept."""
    notebooks = list_notebooks(root)
    selected = select_notebooks(notebooks, only)
    for run, plan in derivation_plan(seeds).items():
        workdir = kernels_dir(root) / f"derive-{run}"
        if not reuse:
            shutil.rmtree(workdir, ignore_errors=True)
        (workdir / "executed").mkdir(parents=True, exist_ok=True)
        env = setting_environment(plan["setting"], workdir)
        start = time.perf_counter()
        for stem in selected:
            path = notebooks[stem]
            if reuse and (workdir / "results" / "smoke" / f"{stem}.json").is_file() \
                    and (workdir / "executed" / path.name).is_file():
                continue
            overrides = [f"seed={plan['seed']}"]
            if not plan["real_samples"] and REAL_SAMPLES_PARAMETER in declared_parameters(path):
                overrides.append(f"{REAL_SAMPLES_PARAMETER}={NO_REAL_SAMPLES}")
            print(f"[facerecon] derivation run {run} ({plan}): {stem}", flush=True)
            cmd = [str(Path(sys.executable).parent / "facerecon"), "run-notebooks", "--profile", "smoke", "--only",
                   stem, "--no-progress", *[a for o in overrides for a in ("-p", o)]]
            subprocess.run(cmd, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
            shutil.copy2(root / "_executed" / path.name, workdir / "executed" / path.name)
        (workdir / "run.json").write_text(json.dumps({**plan, "commit": git_commit(root),
                                                      "wall_time_s": round(time.perf_counter() - start, 1)}))


def _load_run(root: Path, run: str, stem: str) -> tuple[dict, Any]:
    import nbformat

    workdir = kernels_dir(root) / f"derive-{run}"
    results = json.loads((workdir / "results" / "smoke" / f"{stem}.json").read_text())["results"]
    return results, nbformat.read(workdir / "executed" / f"{stem}.ipynb", as_version=4)


def sanitized_cell_outputs(notebook: Any, patterns: list[tuple[str, str]],
                           replacements: dict[str, str] | None = None) -> list[str]:
    """Each code cell's outputs as nbval compares them (streams joined by name, sanitized text, pictures left out),
    papermill's injected parameters cell skipped: index ``i`` is the committed notebook's code cell ``i``.

    ``replacements`` (plain text → text) first undo what only the derivation runs change: their own results
    folders and the seed they were given."""
    cells = [c for c in notebook.cells if c.cell_type == "code"
             and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    texts = []
    for cell in cells:
        streams: dict[str, str] = {}
        parts = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                if output["name"] not in streams:
                    parts.append(output["name"])
                streams[output["name"]] = streams.get(output["name"], "") + output["text"]
            for mime, value in sorted(output.get("data", {}).items()):
                if mime not in IMAGE_MIME + (PLOTLY_MIME,):
                    parts.append(f"{mime}: {value}")
        text = "\n".join(f"{p}: {streams[p]}" if p in streams else p for p in parts)
        for old, new in (replacements or {}).items():
            text = re.sub(old, new, text)
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        texts.append(text)
    return texts


def _run_replacements(root: Path, run: str, plan: dict[str, Any]) -> dict[str, str]:
    """What only a derivation run prints differently: its results folder, and its seed in the setup line."""
    return {re.escape(f"{root.resolve()}/"): "", re.escape(f"_kernels/derive-{run}/results/"): "_results/",
            rf"\| seed {plan['seed']} \|": "| seed 0 |"}


def sanitize_patterns(root: Path) -> list[tuple[str, str]]:
    """The regex/replace pairs of ``tests/nbval_sanitize.cfg``, parsed by nbval itself."""
    from nbval.plugin import get_sanitize_patterns

    return get_sanitize_patterns((root / "tests" / "nbval_sanitize.cfg").read_text())


def write_references(root: Path, seeds: list[int], only: list[str] | None = None) -> list[dict[str, Any]]:
    """``tests/smoke_reference/<stem>.json`` from the derivation runs, for every chapter or those ``only`` names (the
    other references stay as they are); returns a summary row per chapter written."""
    plan = derivation_plan(seeds)
    patterns = sanitize_patterns(root)
    rows = []
    runs_info = {run: json.loads((kernels_dir(root) / f"derive-{run}" / "run.json").read_text()) for run in plan}
    for stem in select_notebooks(list_notebooks(root), only):
        loaded = {run: _load_run(root, run, stem) for run in plan}
        specs = derive_reference(loaded["A"][0], [loaded["B"][0]],
                                 [loaded[f"S{s}"][0] for s in seeds], loaded["R0"][0])
        outputs = {run: sanitized_cell_outputs(nb, patterns, _run_replacements(root, run, plan[run]))
                   for run, (_, nb) in loaded.items()}
        varying = [i for i in range(len(outputs["A"])) if len({o[i] for o in outputs.values()}) > 1]
        record = {"notebook": stem,
                  "rule": {**RULE, "prediction_factor": prediction_factor(len(seeds) + 1),
                           "see": "facerecon/study/smoke_reference.py"},
                  "runs": runs_info,
                  "cells_that_vary": varying,
                  "leaves": specs}
        path = reference_path(stem, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1) + "\n")
        floor = [s for s in specs if at_rounding_floor(s)]
        rows.append({"notebook": stem, "leaves": len(specs), "numbers at the floor": len(floor),
                     "numbers with a spread": sum(1 for s in specs if "tol" in s) - len(floor),
                     "exact": sum(1 for s in specs if not {"tol", "varies", "machine"} & set(s)),
                     "varies": sum(1 for s in specs if s.get("varies")),
                     "machine": sum(1 for s in specs if s.get("machine")), "cells that vary": varying})
    return rows
