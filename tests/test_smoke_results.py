"""Every number each chapter computed under ``smoke`` against ``tests/smoke_reference/``, within tolerances derived
from measured spreads (``facerecon check-kernels derive``; the rule is in ``facerecon/study/smoke_reference.py``).

nbval masks floating-point numbers (their last bits depend on the CPU's kernels); these tests check them.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest

from facerecon.study.results import load_results
from facerecon.study.runner import list_notebooks
from facerecon.study.smoke_reference import (ABSENT, at_rounding_floor, compare, derive_reference, flatten,
                                             load_reference, prediction_factor)

CHAPTERS = list(list_notebooks(Path(__file__).resolve().parents[1]))


@pytest.mark.parametrize("stem", CHAPTERS)
def test_results_match_the_smoke_reference(stem, smoke_run, root, has_real_samples):
    results = load_results(stem, "smoke", root)["results"]
    problems = compare(results, load_reference(stem, root)["leaves"], real_samples=has_real_samples)
    assert not problems, (f"{stem}: {len(problems)} results differ from tests/smoke_reference/{stem}.json "
                          "(after a deliberate change: `facerecon check-kernels derive`):\n" + "\n".join(problems[:40]))


def _tight_numbers(specs: list[dict]) -> list[dict]:
    """The numbers no derivation run moved: their tolerance is the rounding floor."""
    return [s for s in specs if s["value"] not in (0, ABSENT) and at_rounding_floor(s)]


@pytest.mark.parametrize("stem", CHAPTERS)
def test_a_one_percent_change_of_a_computed_number_fails(stem, root):
    """Each chapter has numbers checked at the rounding floor, and moving any one of them by 1 % is reported:
    a change to the code that computes them fails ``make test``."""
    specs = load_reference(stem, root)["leaves"]
    tight = [s for s in _tight_numbers(specs) if isinstance(s["value"], float)]
    assert tight, f"{stem}: no computed float is checked tightly; the reference cannot catch a change"
    reference_results = _rebuild(specs)
    assert compare(reference_results, specs, real_samples=True) == []
    for spec in tight[:: max(1, len(tight) // 25)]:
        moved = copy.deepcopy(reference_results)
        _set(moved, spec["path"], spec["value"] * 1.01)
        problems = compare(moved, specs, real_samples=True)
        assert len(problems) == 1 and problems[0].startswith("/".join(map(str, spec["path"]))), problems


@pytest.mark.parametrize("stem", CHAPTERS)
def test_cells_whose_outputs_vary_are_not_compared_by_nbval(stem, root):
    """A cell whose sanitized outputs differed between the derivation runs (kernels, seeds, real samples) shows
    something trained or real: nbval must not compare it (tag ``nbval-ignore-output``)."""
    import nbformat

    varying = load_reference(stem, root)["cells_that_vary"]
    code = [c for c in nbformat.read(list_notebooks(root)[stem], as_version=4).cells if c.cell_type == "code"]
    untagged = [i for i in varying if "nbval-ignore-output" not in code[i].get("metadata", {}).get("tags", [])]
    assert not untagged, f"{stem}: code cells {untagged} vary between runs but nbval compares them"


def _rebuild(specs: list[dict]) -> dict:
    """The results tree a reference describes (with the real samples)."""
    tree: dict = {}
    for spec in specs:
        if spec["value"] != ABSENT:
            _set(tree, spec["path"], copy.deepcopy(spec["value"]), create=True)
    return _lists(tree)


def _set(tree, path, value, create=False):
    for key in path[:-1]:
        tree = tree.setdefault(key, {}) if create else tree[key]
    tree[path[-1]] = value


def _lists(tree):
    """Dicts keyed 0..n-1 (as _rebuild makes them) back into lists."""
    if isinstance(tree, dict):
        tree = {k: _lists(v) for k, v in tree.items()}
        if tree and all(isinstance(k, int) for k in tree) and sorted(tree) == list(range(len(tree))):
            return [tree[i] for i in range(len(tree))]
    return tree


# --- the rule itself, against hand-computed cases ---

def test_prediction_factor_matches_the_t_quantile():
    # t_{0.9995, 3} = 12.924 (tables); sqrt(1 + 1/4) = 1.118
    assert prediction_factor(4) == pytest.approx(12.924 * math.sqrt(1.25), rel=1e-3)


def test_tolerance_comes_from_the_largest_measured_spread():
    reference = {"trained": 1.0, "rounded": 100.0, "still": 2.0, "verdict": "within noise", "shape": [1, 2],
                 "sampled": 5.0}
    kernel = {"trained": 1.001, "rounded": 100.0 + 1e-6, "still": 2.0, "verdict": "within noise", "shape": [1, 2],
              "sampled": 5.0}
    seeds = [{"trained": v, "rounded": 100.0, "still": 2.0, "verdict": w, "shape": [1, 2], "sampled": x}
             for v, w, x in ((1.1, "detectable", 4.0), (0.9, "within noise", 6.0), (1.0, "within noise", 5.5))]
    specs = {tuple(s["path"]): s for s in derive_reference(reference, [kernel], seeds)}
    assert specs[("sampled",)]["tol"] == pytest.approx(5e-5)   # seeds move it, kernels do not: rounding only
    sd = math.sqrt(sum((v - 1.0) ** 2 for v in (1.0, 1.1, 0.9, 1.0)) / 3)
    assert specs[("trained",)]["tol"] == pytest.approx(prediction_factor(4) * sd)
    assert specs[("rounded",)]["tol"] == pytest.approx(max(10 * 1e-6, 1e-5 * 100.0))
    assert specs[("still",)]["tol"] == pytest.approx(2e-5)
    assert specs[("verdict",)].get("varies") is True
    assert specs[("shape", 1)]["tol"] == pytest.approx(2e-5)


def test_compare_reports_moves_types_and_shapes():
    specs = derive_reference({"x": 1.0, "s": "a", "v": "w", "l": [1, 2]},
                             [{"x": 1.0, "s": "a", "v": "w", "l": [1, 2]}],
                             [{"x": 1.0, "s": "a", "v": "z", "l": [1, 2]}])
    assert compare({"x": 1.0, "s": "a", "v": "z", "l": [1, 2]}, specs, True) == []
    problems = compare({"x": 1.001, "s": "b", "v": 3, "l": [1], "new": 0}, specs, True)
    assert [p.split(":")[0] for p in problems] == ["x", "s", "v", "l/1", "new"]


def test_leaves_that_depend_on_the_real_samples_have_their_own_reference():
    with_samples = {"nme": 6.1, "n": 6, "common": 1.0}
    without = {"nme": None, "common": 1.0, "note": "absent"}
    specs = derive_reference(with_samples, [with_samples], [with_samples], without)
    assert compare(with_samples, specs, real_samples=True) == []
    assert compare(without, specs, real_samples=False) == []
    assert compare(with_samples, specs, real_samples=False) != []


def test_flatten_keeps_empty_containers_as_leaves():
    assert flatten({"a": [], "b": {}, "c": [{"d": 1}]}) == {("a",): [], ("b",): {}, ("c", 0, "d"): 1}


def test_the_machines_measurements_are_checked_for_their_type_only():
    run = {"timing": {"model_ms": 10.0}, "wall_time_s": 3.0, "per_seed": [1.0], "training": {"reused": True}}
    specs = derive_reference(run, [run], [run])
    moved = {"timing": {"model_ms": 55.0}, "wall_time_s": 9.0, "per_seed": [1.0], "training": {"reused": False}}
    assert compare(moved, specs, True) == []
    assert sorted(p.split(":")[0] for p in compare({**moved, "per_seed": [1.5], "wall_time_s": "slow"}, specs, True)) \
        == ["per_seed/0", "wall_time_s"]


def test_a_derivation_can_be_limited_to_named_chapters(root):
    """``check-kernels derive --only`` selects like ``run-notebooks --only``: every chapter, or the named ones; an
    unknown stem is an error that names the chapters there are (a typo must not derive nothing and report success)."""
    from facerecon.study.runner import select_notebooks

    notebooks = list_notebooks(root)
    assert select_notebooks(notebooks) == CHAPTERS
    assert select_notebooks(notebooks, [CHAPTERS[-1], CHAPTERS[0]]) == [CHAPTERS[-1], CHAPTERS[0]]
    with pytest.raises(ValueError, match="unknown notebook\\(s\\) \\['09_photo'\\].*09_photos"):
        select_notebooks(notebooks, ["09_photo"])
