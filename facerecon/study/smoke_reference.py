"""Each chapter's ``smoke`` results against a stored reference, within tolerances derived from measured spreads.

Why not exact values: oneDNN, ATen, MKL and OpenBLAS pick other kernels on other CPUs, so floating-point results
differ in the last bits, and training amplifies that (a smoke model's Chamfer moves by about 1 % between an AMD
and an Intel machine). So ``make test`` compares every computed number of a run's ``_results/smoke/<stem>.json``
with ``tests/smoke_reference/<stem>.json`` within a tolerance per number, derived by ``facerecon check-kernels
derive`` from runs of every chapter that differ only in what a CPU or chance may change:

- ``A``: native kernels, seed 0 (the reference values);
- ``B``: the AVX2 kernel settings of :data:`facerecon.study.kernel_settings.KERNEL_SETTINGS` (other code paths in oneDNN,
  ATen, MKL and OpenBLAS), seed 0: what another CPU does to the bits;
- ``S1 … Sk``: native kernels, seeds ``1 … k``: how far training can move a number at all. A CPU's rounding
  differences, amplified by training, decorrelate a trained number at most as much as another seed does.

For a number with reference value ``a``: if the kernels moved it beyond rounding (``|B − A| > R · |a|``), training
has amplified the CPU's rounding, and ``tol = max(T_k · sd(A, S1…Sk), M · |B − A|)``; ``T_k`` is the two-sided
99.9 % normal prediction factor for one new draw from ``k + 1`` values (``t_{0.9995, k} · sqrt(1 + 1/(k+1))``, 14.4
for ``k = 3``). Otherwise only rounding separates CPUs, whatever another seed does to it (a seed also changes which
faces and surface points are drawn): ``tol = max(M · |B − A|, R · |a|, ATOL)``. ``M = 10`` covers rounding that
another kernel accumulates differently, ``R = 1e-5`` is the float32 rounding floor (about 100 ulp), ``ATOL = 1e-9``.
So every number that training does not touch (Chamfer of the mean face, a PSNR of a classical denoiser, a count)
is checked to 10⁻⁵, and a deliberate 1 % change of it fails. A string or boolean that is the same
in every run is compared exactly; one that differs between runs (a verdict on trained models) is checked for its
type only; so are the machine's own measurements and provenance (timings, throughputs, cache states, commits:
:data:`MACHINE_MEASUREMENT`).
A number that depends on the real samples beside the project (``../shared/real-samples``) has a second
reference value from a run without them (``R0``), used when they are absent.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Iterable

RULE = {"prediction": 0.999, "kernel_factor": 10.0, "rtol_floor": 1e-5, "atol": 1e-9}


def flatten(tree: Any, prefix: tuple = ()) -> dict[tuple, Any]:
    """``{path: leaf}`` of a JSON tree; an empty dict or list is a leaf of its own (its shape is checked)."""
    if isinstance(tree, dict) and tree:
        return {p: v for k, child in tree.items() for p, v in flatten(child, prefix + (k,)).items()}
    if isinstance(tree, list) and tree:
        return {p: v for i, child in enumerate(tree) for p, v in flatten(child, prefix + (i,)).items()}
    return {prefix: tree}


def at_rounding_floor(spec: dict[str, Any]) -> bool:
    """Whether a number's tolerance is the rounding floor: no derivation run moved it beyond rounding."""
    return "tol" in spec and spec["tol"] <= 1.0001 * max(RULE["rtol_floor"] * abs(spec["value"]), RULE["atol"])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def prediction_factor(n_values: int, coverage: float = RULE["prediction"]) -> float:
    """``t_{(1+coverage)/2, n-1} · sqrt(1 + 1/n)``: a new draw lies within this many sample SDs of the mean of
    ``n`` normal draws with probability ``coverage``."""
    from scipy.stats import t

    return float(t.ppf((1 + coverage) / 2, n_values - 1) * math.sqrt(1 + 1 / n_values))


ABSENT = "<absent>"   # a spec's value where the leaf does not exist in that run
# Measurements of the machine and provenance, not results of the code: timings, throughputs, cache states, cache
# folders, the commits 08 read its chapters at. A leaf with such a key anywhere on its path: its type only.
MACHINE_MEASUREMENT = re.compile(r"_s$|(?:^|_)ms$|^ms_|_ms_|_s_per_|per_s$|per_minute$|^timings?$|^reused$"
                                 r"|^cache_entry$|^sources$")


def is_machine_measurement(path: tuple) -> bool:
    return any(isinstance(key, str) and MACHINE_MEASUREMENT.search(key) for key in path)


def derive_reference(reference: dict, kernel_runs: Iterable[dict], seed_runs: Iterable[dict],
                     without_real_samples: dict | None = None) -> list[dict[str, Any]]:
    """One spec per leaf of ``reference`` (results of run ``A``) from the other runs' results.

    Returns ``[{"path": [...], "value": a, "tol": t}, {"path", "value", "varies": True}, {"path", "value"}, ...]``
    (no ``tol`` and no ``varies``: compared exactly); a leaf whose value is another without the real samples
    carries ``"without_real_samples": value`` (:data:`ABSENT` where it does not exist then, and a leaf that exists
    only without them has ``"value": ABSENT``).
    """
    ref = flatten(reference)
    kernels = [flatten(r) for r in kernel_runs]
    seeds = [flatten(r) for r in seed_runs]
    bare = flatten(without_real_samples) if without_real_samples is not None else {}
    factor = prediction_factor(len(seeds) + 1) if seeds else 0.0
    specs = []
    for path, value in ref.items():
        spec: dict[str, Any] = {"path": list(path), "value": value}
        others = [run.get(path, ABSENT) for run in kernels + seeds]
        if is_machine_measurement(path):
            spec["machine"] = True
        elif _is_number(value) and all(_is_number(o) for o in others):
            kernel_gap = max((abs(k[path] - value) for k in kernels), default=0.0)
            rounding = max(RULE["rtol_floor"] * abs(value), RULE["atol"])
            spread = 0.0
            if kernel_gap > rounding:   # amplified by training: another CPU moves it as far as another seed may
                seed_values = [value] + [s[path] for s in seeds]
                mean = sum(seed_values) / len(seed_values)
                spread = factor * math.sqrt(sum((v - mean) ** 2 for v in seed_values) / max(len(seed_values) - 1, 1))
            spec["tol"] = max(spread, RULE["kernel_factor"] * kernel_gap, rounding)
        elif any(o != value for o in others):
            spec["varies"] = True
        if without_real_samples is not None and bare.get(path, ABSENT) != value:
            spec["without_real_samples"] = bare.get(path, ABSENT)
        specs.append(spec)
    specs += [{"path": list(path), "value": ABSENT, "without_real_samples": value}
              for path, value in bare.items() if path not in ref]
    return specs


def compare(results: dict, specs: list[dict[str, Any]], real_samples: bool) -> list[str]:
    """Every difference between a run's results and the reference specs, one line each (empty: they agree).

    ``real_samples``: whether the run had the real samples beside the project (chooses the reference value of a
    leaf that depends on them).
    """
    run = flatten(results)
    problems, known = [], set()
    for spec in specs:
        path = tuple(spec["path"])
        known.add(path)
        expected = spec["value"]
        if not real_samples and "without_real_samples" in spec:
            expected = spec["without_real_samples"]
        where = "/".join(str(p) for p in path)
        got = run.get(path, ABSENT)
        if expected == ABSENT or got == ABSENT:
            if expected != got:
                problems.append(f"{where}: {got!r}, reference {expected!r}")
        elif "tol" in spec and _is_number(expected):
            if not (_is_number(got) and abs(got - expected) <= spec["tol"]):
                problems.append(f"{where}: {got!r}, reference {expected!r} ± {spec['tol']:.3g}")
        elif spec.get("varies") or spec.get("machine"):
            if None not in (got, expected) and not (_is_number(got) and _is_number(expected)) \
                    and type(got) is not type(expected):
                problems.append(f"{where}: {type(got).__name__} {got!r}, reference is a {type(expected).__name__}"
                                " (a measurement of the machine, or a value that varies between kernels or seeds: "
                                "only its type is compared)")
        elif got != expected:
            problems.append(f"{where}: {got!r}, reference {expected!r} (the same in every derivation run)")
    problems += [f"{'/'.join(str(p) for p in path)}: {run[path]!r}, not in the reference"
                 for path in run if path not in known]
    return problems


def reference_path(stem: str, root: Path) -> Path:
    return root / "tests" / "smoke_reference" / f"{stem}.json"


def load_reference(stem: str, root: Path) -> dict[str, Any]:
    path = reference_path(stem, root)
    if not path.is_file():
        raise FileNotFoundError(f"no smoke reference {path}: run `facerecon check-kernels derive` and commit it")
    return json.loads(path.read_text())
