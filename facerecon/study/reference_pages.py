"""The reader's book: a profile's committed pages, rendered without running anything.

``facerecon store-reference --profile cpu`` copies each chapter's last run under that profile into the
repository: its results (``_results/cpu/<stem>.json`` → ``results/cpu/<stem>.json``) and its executed page
(``_executed/<stem>.ipynb`` → ``results/cpu/pages/<stem>.ipynb``), the page stamped with the run's commit and the
SHA-256 of the results file it wrote, so a test can check that every committed page shows the numbers of the
committed results (``tests/test_reference_pages.py``). A page keeps what the book renders and drops the rest:
plotly's JSON beside its HTML (the book renders the HTML), pictures of real faces (cells tagged ``real-data``),
the machine's folders.

``facerecon build-book --reference cpu`` assembles the book's sources with those pages into ``_reader/`` (each
page opening with a note naming its profile, commit, date and run time, and linking its results file) and builds
it strictly: minutes, no training (the anchors d2l and the Pythia cookbooks render stored executions the same way).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Iterable

from .paths import find_root
from .results import results_path
from .runner import REAL_DATA_TAG, RUN_INFO, list_notebooks

PAGES = "pages"
READER = "_reader"
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book", "_static")
METADATA_KEY = "facerecon_reference"
DROPPED_MIME = ("application/vnd.plotly.v1+json",)   # the book renders the figure's text/html twin


def reference_dir(profile: str, root: Path) -> Path:
    return root / "results" / profile


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store_reference(profile: str, root: Path | None = None, only: Iterable[str] | None = None,
                    target: Path | None = None) -> list[Path]:
    """Copy the chapters' last runs under ``profile`` (results and executed page) into ``target`` (default
    ``results/<profile>/``; the pages into its ``pages/``).

    A chapter is refused, naming why, when its executed page is not from that profile's run that wrote the
    results (another profile, or a results file from another commit), so a page and its numbers always belong
    together."""
    import nbformat

    root = root or find_root()
    chapters = list(only) if only else list(list_notebooks(root))
    unknown = sorted(set(chapters) - set(list_notebooks(root)))
    if unknown:
        raise ValueError(f"unknown chapter(s) {unknown}; chapters are {sorted(list_notebooks(root))}")
    runs = json.loads((root / "_executed" / RUN_INFO).read_text()) if (root / "_executed" / RUN_INFO).is_file() else {}
    target = target or reference_dir(profile, root)
    (target / PAGES).mkdir(parents=True, exist_ok=True)
    stored = []
    for stem in chapters:
        results, page = results_path(stem, profile, root), root / "_executed" / f"{stem}.ipynb"
        if not results.is_file() or not page.is_file():
            raise FileNotFoundError(f"{stem}: no run under profile {profile!r} to store (expected {results} and "
                                    f"{page}); run `facerecon run-notebooks --profile {profile} --only {stem}`")
        provenance = json.loads(results.read_text())["provenance"]
        run = runs.get(stem, {})
        if run.get("profile") != profile or provenance.get("profile") != profile:
            raise ValueError(f"{stem}: the executed page is from profile {run.get('profile')!r} and the results from "
                             f"{provenance.get('profile')!r}, not {profile!r}: rerun the chapter under {profile!r}")
        if run.get("commit") != provenance.get("git_commit"):
            raise ValueError(f"{stem}: the executed page was made at commit {run.get('commit')} but its results at "
                             f"{provenance.get('git_commit')}: they are not one run; rerun the chapter")
        shutil.copy2(results, target / results.name)
        nb = nbformat.read(page, as_version=4)
        compact_page(nb, root)
        nb.metadata[METADATA_KEY] = {
            "profile": profile, "commit": provenance["git_commit"], "created": provenance.get("created"),
            "wall_time_s": run.get("wall_time_s"), "results": f"results/{profile}/{results.name}",
            "results_sha256": file_sha256(target / results.name)}
        nbformat.write(nb, target / PAGES / page.name)
        stored.append(target / PAGES / page.name)
    readme = root / "results" / "README.md"
    if target == reference_dir(profile, root) and readme.is_file():
        write_generated_block(readme, f"{profile}-runs", reference_table(profile, root))
        write_generated_block(root / "README.md", f"{profile}-summary", reference_summary(profile, root))
    return stored


TEXT_MIME = ("text/plain", "text/markdown")
GLUE_MIME_PREFIX = "application/papermill.record/"   # myst-nb's glue: the prose's numbers


def shows_no_picture(output: dict[str, Any]) -> bool:
    """Whether a cell output is text only (a stream, plain or markdown text, a glued value): what a page may keep
    of a cell that shows real samples, whose pictures (images, HTML) must not be committed."""
    return all(mime in TEXT_MIME or mime.startswith(GLUE_MIME_PREFIX) for mime in output.get("data", {}))


def compact_page(nb: Any, root: Path) -> None:
    """Drop what the book does not render or must not carry: plotly's JSON twin, real faces (a `real-data` cell
    keeps its text: tables of numbers and the values its prose glues), machine folders, execution timings."""
    prefix = f"{root.resolve()}/"
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
        if REAL_DATA_TAG in cell.get("metadata", {}).get("tags", []):
            cell.outputs = [o for o in cell.get("outputs", []) if shows_no_picture(o)]
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = output["text"].replace(prefix, "")
            data = output.get("data", {})
            if "text/html" in data:
                for mime in DROPPED_MIME:
                    data.pop(mime, None)
            for mime, value in data.items():
                if isinstance(value, str):
                    data[mime] = value.replace(prefix, "")


def committed_pages(profile: str, root: Path | None = None) -> dict[str, Path]:
    """The committed pages of ``profile`` by chapter stem."""
    root = root or find_root()
    folder = reference_dir(profile, root) / PAGES
    return {p.stem: p for p in sorted(folder.glob("*.ipynb"))} if folder.is_dir() else {}


def page_note(stem: str, meta: dict[str, Any]) -> str:
    """The note that opens a reader's page: which run it shows and where its numbers are."""
    minutes = (f", {meta['wall_time_s'] / 60:.0f} min to run with what the run cache already held (the times from an "
               f"empty cache are in `results/README.md`)" if meta.get("wall_time_s") else "")
    return (f":::{{note}}\nThis page is the committed **`{meta['profile']}`** run of `{stem}`: commit "
            f"`{meta['commit'][:7]}`, {str(meta.get('created', ''))[:10]}{minutes}. Its numbers are in "
            f"{{download}}`{meta['results']} <../{meta['results']}>`; rerun it with `facerecon run-notebooks "
            f"--profile {meta['profile']} --only {stem}`.\n:::")


def missing_page_text(stem: str, profile: str) -> str:
    return (f"# {stem}\n\n:::{{warning}}\nThe `{profile}` run of `{stem}` is not among the committed pages yet: run "
            f"`facerecon run-notebooks --profile {profile} --only {stem}` to see it.\n:::\n")


def assemble_reader_book(profile: str, root: Path | None = None, out: Path | None = None,
                         pages: dict[str, Path] | None = None) -> Path:
    """``out`` (default ``_reader/``): the book's sources, ``pages`` (default: ``profile``'s committed pages) as the
    executed chapters, each opened by :func:`page_note`, and their results files; returns ``out``."""
    import nbformat

    root = root or find_root()
    out = out or root / READER
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    for name in BOOK_SOURCES:
        source = root / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, out / name)
    executed, results = out / "_executed", out / "results" / profile
    executed.mkdir()
    results.mkdir(parents=True)
    pages, rows = committed_pages(profile, root) if pages is None else pages, []
    for stem in list_notebooks(root):
        if stem not in pages:
            (executed / f"{stem}.md").write_text(missing_page_text(stem, profile))
            rows.append(f"| `{stem}` | — | not committed yet | — |")
            continue
        nb = nbformat.read(pages[stem], as_version=4)
        meta = nb.metadata[METADATA_KEY]
        with_current_prose(nb, nbformat.read(root / "notebooks" / f"{stem}.ipynb", as_version=4))
        shutil.copy2(pages[stem].parent.parent / Path(meta["results"]).name, results / Path(meta["results"]).name)
        nb.cells.insert(_first_heading(nb) + 1, nbformat.v4.new_markdown_cell(page_note(stem, meta)))
        nbformat.write(nb, executed / f"{stem}.ipynb")
        minutes = f"{meta['wall_time_s'] / 60:.1f} min" if meta.get("wall_time_s") else "—"
        rows.append(f"| `{stem}` | `{profile}` | `{meta['commit'][:7]}` | {minutes} |")
    (executed / "run_info.md").write_text(
        f"These pages are the committed **`{profile}`** runs (`results/{profile}/pages/`), rendered without "
        "running them; each opens with its commit and links its results file. A run time is the stored run's, with "
        "what the run cache already held (a chapter whose models another chapter trained first did not train them); "
        "the times from an empty cache are in `results/README.md`.\n\n"
        "| notebook | profile | commit | run time |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")
    return out


INJECTED = "injected-parameters"   # papermill's cell with the run's parameters


def _code(nb: Any) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code" and INJECTED not in c.metadata.get("tags", [])]


def with_current_prose(page: Any, current: Any) -> bool:
    """Give ``page`` (an executed run) the prose of ``current`` (the chapter as committed now) when the run
    executed exactly the current code, cell for cell, and only the markdown changed since: a corrected sentence
    then reaches the reader's book without rerunning hours of computing, while every number still comes from the
    run (the prose's numbers are glued from it). Returns whether it did; a page of other code is left as run."""
    shown = [c for c in page.cells if INJECTED not in c.metadata.get("tags", [])]
    if _code(page) != _code(current) or [c.cell_type for c in shown] != [c.cell_type for c in current.cells]:
        return False
    for cell, now in zip(shown, current.cells):
        if cell.cell_type == "markdown":
            cell.source = now.source
    return True


def _first_heading(nb: Any) -> int:
    """The index of the page's title cell (the note goes right below it)."""
    return next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")),
                -1)


GENERATED_BEGIN = "<!-- generated: {name} (facerecon store-reference; do not edit) -->"
GENERATED_END = "<!-- end: {name} -->"


def reference_provenance(profile: str, root: Path | None = None) -> dict[str, dict[str, Any] | None]:
    """Each chapter's committed ``profile`` results' provenance, in book order (None: not committed)."""
    root = root or find_root()
    out: dict[str, dict[str, Any] | None] = {}
    for stem in list_notebooks(root):
        path = reference_dir(profile, root) / f"{stem}.json"
        out[stem] = json.loads(path.read_text())["provenance"] if path.is_file() else None
    return out


def _made_at(records: list[dict[str, Any]]) -> tuple[float, list[str]]:
    """The records' total wall time (s) and their distinct commits (7 characters, sorted)."""
    return (sum(r.get("wall_time_s") or 0.0 for r in records), sorted({r["git_commit"][:7] for r in records}))


def reference_table(profile: str, root: Path | None = None) -> str:
    """The committed references of ``profile`` as a markdown table (chapter, commit, when, run time, page) and
    the book's total run time: what results/README.md shows, generated from the files themselves."""
    root = root or find_root()
    pages, rows = committed_pages(profile, root), []
    provenance = reference_provenance(profile, root)
    for stem, record in provenance.items():
        if record is None:
            rows.append(f"| `{stem}` | — | — | — | — |")
            continue
        page = f"`{profile}/{PAGES}/{stem}.ipynb`" if stem in pages else "—"
        rows.append(f"| `{profile}/{stem}.json` | `{record['git_commit'][:7]}` | "
                    f"{str(record.get('created', ''))[:16].replace('T', ' ')} | "
                    f"{record.get('wall_time_s') or 0.0:,.0f} s | {page} |")
    total, commits = _made_at([r for r in provenance.values() if r is not None])
    return ("| file | made at commit | when (UTC) | chapter wall time | page |\n|---|---|---|---|---|\n"
            + "\n".join(rows) + f"\n\nThe stored runs' wall times add up to {total / 60:,.0f} min (a run that "
            "found its models or data in the run cache did not make them: see below for the book's time from an "
            "empty cache); "
            + (f"all were made at one commit, `{commits[0]}`." if len(commits) == 1 else
               f"they were made at {len(commits)} commits ({', '.join(f'`{c}`' for c in commits)})."))


def reference_summary(profile: str, root: Path | None = None) -> str:
    """One sentence for README.md: the committed ``profile`` book's total run time and commits."""
    records = [r for r in reference_provenance(profile, root).values() if r is not None]
    total, commits = _made_at(records)
    where = f"at one commit (`{commits[0]}`)" if len(commits) == 1 else f"at {len(commits)} commits"
    return (f"The committed `{profile}` references: {len(records)} chapters made {where}, their stored runs "
            f"{total / 60:,.0f} min of wall time (with what the run cache already held); per chapter, and the time "
            f"from an empty cache, in `results/README.md`.")


def write_generated_block(path: Path, name: str, text: str) -> None:
    """Replace the text between ``name``'s generated markers in ``path`` (the markers must be there)."""
    begin, end = GENERATED_BEGIN.format(name=name), GENERATED_END.format(name=name)
    content = path.read_text()
    if begin not in content or end not in content:
        raise ValueError(f"{path} has no generated block {name!r} (expected the lines {begin} and {end})")
    head, rest = content.split(begin, 1)
    path.write_text(f"{head}{begin}\n{text}\n{end}{rest.split(end, 1)[1]}")


def generated_block(path: Path, name: str) -> str:
    """The text between ``name``'s generated markers in ``path``."""
    content = path.read_text()
    return content.split(GENERATED_BEGIN.format(name=name), 1)[1].split(GENERATED_END.format(name=name), 1)[0].strip()
