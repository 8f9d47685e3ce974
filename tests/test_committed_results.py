"""The committed `cpu` references (`results/cpu/<chapter>.json`): what the book and README quote must be a result
that a commit of this repository made, with its provenance, and whose verdicts agree with their own intervals."""

from __future__ import annotations

import json
import math
import subprocess

import pytest

from facerecon.claims.verdicts import VERDICTS
from facerecon.study.runner import list_notebooks

PROVENANCE_KEYS = {"profile", "params", "seed", "git_commit", "code_version", "versions", "device", "wall_time_s",
                   "created"}


def _committed(root):
    folder = root / "results" / "cpu"
    return {stem: folder / f"{stem}.json" for stem in list_notebooks(root)}


def _intervals(tree, path=()):
    """Every ``{"mean", "ci95", "detectable"}`` dict in a results tree, with its path."""
    if isinstance(tree, dict):
        if {"mean", "ci95", "detectable"} <= tree.keys():
            yield path, tree
        for key, value in tree.items():
            yield from _intervals(value, (*path, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _intervals(value, (*path, i))


def test_every_chapter_has_a_committed_cpu_reference_with_provenance(root):
    for stem, path in _committed(root).items():
        assert path.is_file(), f"{stem}: no committed cpu reference at {path}"
        record = json.loads(path.read_text())
        assert record["notebook"] == stem and record["provenance"]["profile"] == "cpu"
        assert PROVENANCE_KEYS <= record["provenance"].keys(), stem
        assert isinstance(record["results"], dict) and record["results"], stem


def test_each_reference_was_made_at_a_commit_of_this_repository(root):
    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=root, capture_output=True,
                             text=True)
    if shallow.returncode != 0 or shallow.stdout.strip() != "false":
        pytest.skip("needs the repository's full history (a shallow clone or no git)")
    for stem, path in _committed(root).items():
        commit = json.loads(path.read_text())["provenance"]["git_commit"]
        found = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=root, capture_output=True)
        assert found.returncode == 0, f"{stem}: made at {commit}, which is not a commit of this repository"


def test_every_committed_verdict_agrees_with_its_own_interval(root):
    """A difference is "detectable" exactly when its stored interval excludes 0 (None: no interval, never
    detectable)."""
    checked = {}
    for stem, path in _committed(root).items():
        for where, diff in _intervals(json.loads(path.read_text())["results"]):
            lo, hi = diff["ci95"]
            finite = lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
            assert diff["detectable"] == (finite and (lo > 0 or hi < 0)), f"{stem} {where}: {diff}"
            checked[stem] = checked.get(stem, 0) + 1
    assert {"02_augmentation", "05_table3_comparison", "06_table4_ablation"} <= checked.keys()   # their tables


def test_the_committed_claims_are_counted_and_each_has_a_known_verdict(root):
    claims = json.loads((root / "results" / "cpu" / "08_claims.json").read_text())["results"]
    assert all(c["verdict"] in VERDICTS for c in claims["claims"])
    assert sum(claims["counts"].values()) == len(claims["claims"])
    assert len({c["id"] for c in claims["claims"]}) == len(claims["claims"])


def test_the_reference_table_in_results_readme_is_generated_from_the_committed_files(root):
    """results/README.md's table of the `cpu` references (commit, date, wall time, page) is what the committed
    files say: `facerecon store-reference` writes it, and an edit by hand or a file replaced without it fails here."""
    from facerecon.study.reference_pages import generated_block, reference_table

    assert generated_block(root / "results" / "README.md", "cpu-runs") == reference_table("cpu", root)


def test_a_generated_block_is_replaced_between_its_markers_only(tmp_path):
    from facerecon.study.reference_pages import generated_block, write_generated_block

    page = tmp_path / "README.md"
    page.write_text("before\n<!-- generated: t (facerecon store-reference; do not edit) -->\nold\n<!-- end: t -->\nafter\n")
    write_generated_block(page, "t", "new\nlines")
    assert page.read_text().startswith("before\n") and page.read_text().endswith("<!-- end: t -->\nafter\n")
    assert generated_block(page, "t") == "new\nlines"
    with pytest.raises(ValueError, match="has no generated block 'other'"):
        write_generated_block(page, "other", "x")


def test_readme_states_the_committed_cpu_book_as_its_files_do(root):
    from facerecon.study.reference_pages import generated_block, reference_summary

    assert generated_block(root / "README.md", "cpu-summary") == reference_summary("cpu", root)


def test_the_regeneration_times_quoted_in_results_readme_are_the_files(root):
    """results/README.md's table of the regeneration's times quotes each committed file's wall time (a row for a run
    whose file was replaced says so and is not checked)."""
    import re

    text = (root / "results" / "README.md").read_text()
    section = text.split("## The regeneration of", 1)[1].split("\n## ", 1)[0]
    quoted = re.findall(r"^\| (\d\d)( \([^|]*\))? \| ([\d,]+) s \|", section, flags=re.M)
    assert len(quoted) >= len(list_notebooks(root)), "the regeneration's table lists every chapter"
    stems = {stem[:2]: stem for stem in list_notebooks(root)}
    for number, note, seconds in quoted:
        if "replaced" in note:
            continue
        provenance = json.loads((root / "results" / "cpu" / f"{stems[number]}.json").read_text())["provenance"]
        assert round(provenance["wall_time_s"]) == int(seconds.replace(",", "")), (number, note, seconds)
