"""Report: every verdict that changed between two sets of a profile's results. Prints a markdown table.

    python benchmarks/verdict_changes.py OLD_FOLDER NEW_FOLDER [--chapters 02_augmentation 05_table3_comparison ...]

A verdict is any ``verdict``, ``detectable`` or ``beats_baseline`` value in a chapter's results tree, named by its
path (list items by their ``id``, ``variant`` or ``name``); a difference's ``detectable`` is shown with its sign
("+ detectable", "− detectable", "within noise"), so a flip of direction counts as a change. Rows: changed
(old → new), appeared (only in the new files: a new measurement) and gone (only in the old). For the closing note
of a regeneration, e.g. the committed ``results/cpu`` (old) against a fresh ``_results/cpu`` (new).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

VERDICT_KEYS = ("verdict", "detectable", "beats_baseline")
CHAPTERS = ("02_augmentation", "05_table3_comparison", "06_table4_ablation", "07_loss_stability", "08_claims")


def verdicts(tree, path=()) -> dict[str, object]:
    """``{"a/b/verdict": value}`` for every verdict in a results tree."""
    found = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key in VERDICT_KEYS and not isinstance(value, (dict, list)):
                if key == "detectable" and isinstance(tree.get("mean"), (int, float)):   # a signed difference
                    value = f"{'+' if tree['mean'] > 0 else '−'} detectable" if value else "within noise"
                found["/".join(map(str, (*path, key)))] = value
            found.update(verdicts(value, (*path, key)))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            name = next((value[k] for k in ("id", "variant", "name") if isinstance(value, dict) and k in value), i)
            found.update(verdicts(value, (*path, name)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--chapters", nargs="+", default=list(CHAPTERS))
    args = parser.parse_args()
    print("| chapter | verdict | old | new |\n|---|---|---|---|")
    counts = {"changed": 0, "same": 0, "appeared": 0, "gone": 0}
    for stem in args.chapters:
        old, new = ({} if not (folder / f"{stem}.json").is_file() else
                    verdicts(json.loads((folder / f"{stem}.json").read_text())["results"])
                    for folder in (args.old, args.new))
        for where in sorted(set(old) | set(new)):
            before, after = old.get(where, "—"), new.get(where, "—")
            kind = ("appeared" if where not in old else "gone" if where not in new else
                    "same" if before == after else "changed")
            counts[kind] += 1
            if kind != "same":
                print(f"| {stem} | `{where}` | {before} | {after} |")
    print("\n" + ", ".join(f"{n} {kind}" for kind, n in counts.items()))


if __name__ == "__main__":
    main()
