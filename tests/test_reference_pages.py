"""The reader's book (``study.reference_pages``): committed pages show the committed results of the same run, a
page and results from different runs are refused, and the pages render strictly and offline without running."""

from __future__ import annotations

import json
import re
import subprocess

import nbformat
import pytest

from facerecon.study.book import build_book, external_assets
from facerecon.study.reference_pages import (METADATA_KEY, PAGES, assemble_reader_book, committed_pages, compact_page,
                                             file_sha256, shows_no_picture, store_reference)
from facerecon.study.runner import REAL_DATA_TAG, RUN_INFO, list_notebooks

PROFILES_WITH_PAGES = ("cpu", "gpu")


def _commit_in_history(root, commit: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=root,
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("profile", PROFILES_WITH_PAGES)
def test_committed_pages_show_the_committed_results_of_their_run(root, profile):
    """Every committed page names the SHA-256 of the results file its run wrote: that file is the committed one,
    from the same commit (in this repository's history) and profile, and the page carries no real face."""
    for stem, page in committed_pages(profile, root).items():
        nb = nbformat.read(page, as_version=4)
        meta = nb.metadata[METADATA_KEY]
        results = page.parent.parent / f"{stem}.json"
        provenance = json.loads(results.read_text())["provenance"]
        assert meta["results"] == f"results/{profile}/{stem}.json"
        assert meta["results_sha256"] == file_sha256(results), f"{stem}: results/{profile} is not the page's run"
        assert meta["profile"] == provenance["profile"] == profile
        assert meta["commit"] == provenance["git_commit"] and _commit_in_history(root, meta["commit"]), stem
        for cell in nb.cells:
            if REAL_DATA_TAG in cell.get("metadata", {}).get("tags", []):
                assert all(shows_no_picture(o) for o in cell.outputs), f"{stem}: a picture of a real face"


def test_store_reference_keeps_page_and_results_together_and_compact(smoke_run, root, tmp_path):
    stored = store_reference("smoke", root, target=tmp_path)
    assert sorted(p.stem for p in stored) == sorted(list_notebooks(root))
    for page in stored:
        nb = nbformat.read(page, as_version=4)
        meta = nb.metadata[METADATA_KEY]
        results = tmp_path / f"{page.stem}.json"
        assert meta["results_sha256"] == file_sha256(results)
        assert meta["commit"] == json.loads(results.read_text())["provenance"]["git_commit"]
        for cell in nb.cells:
            if REAL_DATA_TAG in cell.get("metadata", {}).get("tags", []):
                assert all(shows_no_picture(o) for o in cell.outputs), f"{page.stem}: a picture of a real face"
            for output in cell.get("outputs", []):
                assert "application/vnd.plotly.v1+json" not in output.get("data", {})
                assert f"{root.resolve()}/" not in json.dumps(output), f"{page.stem}: a machine folder"
    assert any("text/html" in o.get("data", {}) and "Plotly.newPlot" in o["data"]["text/html"]
               for c in nbformat.read(tmp_path / PAGES / "05_table3_comparison.ipynb", as_version=4).cells
               for o in c.get("outputs", [])), "the figures' HTML is kept"


@pytest.fixture
def tiny_root(tmp_path, root, monkeypatch):
    """A repository with one chapter, run under `cpu`: its page, results and run record."""
    monkeypatch.delenv("FACERECON_RESULTS", raising=False)
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 tiny")])
    nbformat.write(nb, tmp_path / "notebooks" / "00_tiny.ipynb")
    (tmp_path / "_executed").mkdir()
    nbformat.write(nb, tmp_path / "_executed" / "00_tiny.ipynb")
    (tmp_path / "_results" / "cpu").mkdir(parents=True)
    (tmp_path / "_results" / "cpu" / "00_tiny.json").write_text(json.dumps(
        {"notebook": "00_tiny", "results": {}, "provenance": {"profile": "cpu", "git_commit": "a" * 40}}))
    (tmp_path / "_executed" / RUN_INFO).write_text(json.dumps(
        {"00_tiny": {"profile": "cpu", "commit": "a" * 40, "wall_time_s": 60.0}}))
    return tmp_path


def test_a_page_from_another_run_is_refused_with_the_reason(tiny_root):
    assert store_reference("cpu", tiny_root)[0].is_file()
    info = tiny_root / "_executed" / RUN_INFO
    info.write_text(json.dumps({"00_tiny": {"profile": "cpu", "commit": "b" * 40, "wall_time_s": 60.0}}))
    with pytest.raises(ValueError, match="made at commit b+ but its results at a+: they are not one run"):
        store_reference("cpu", tiny_root)
    info.write_text(json.dumps({"00_tiny": {"profile": "smoke", "commit": "a" * 40, "wall_time_s": 1.0}}))
    with pytest.raises(ValueError, match="executed page is from profile 'smoke'"):
        store_reference("cpu", tiny_root)
    with pytest.raises(ValueError, match=r"unknown chapter\(s\) \['01_none'\]"):
        store_reference("cpu", tiny_root, only=["01_none"])
    (tiny_root / "_results" / "cpu" / "00_tiny.json").unlink()
    with pytest.raises(FileNotFoundError, match="no run under profile 'cpu' to store"):
        store_reference("cpu", tiny_root)


def test_the_reader_book_renders_stored_pages_strictly_offline_with_their_notes(smoke_run, root, tmp_path):
    """Stored pages (here the smoke run's) render without executing anything: every chapter opens with the note
    naming its commit and links its results file, which the build copies for download; a chapter without a page
    says so."""
    store_reference("smoke", root, target=tmp_path / "results" / "smoke")
    pages = committed_pages("smoke", tmp_path)
    missing = sorted(pages)[-1]
    del pages[missing]
    out = assemble_reader_book("smoke", root, out=tmp_path / "reader", pages=pages)
    html = build_book(out, strict=True).parent
    assert external_assets(html) == []
    for stem, page in pages.items():
        commit = nbformat.read(page, as_version=4).metadata[METADATA_KEY]["commit"][:7]
        text = re.sub(r"<[^>]+>", " ", (html / "_executed" / f"{stem}.html").read_text())
        assert "This page is the committed" in text and commit in text, stem
        assert list(html.glob(f"_downloads/*/{stem}.json")), f"{stem}: its results file is not downloadable"
    assert "is not among the committed pages yet" in (html / "_executed" / f"{missing}.html").read_text()
    intro = (html / "book" / "intro.html").read_text()
    assert "not committed yet" in intro and "rendered without running them" in intro



def test_the_committed_cpu_pages_render_strictly_offline(root, tmp_path):
    """What `make reader` builds from a fresh clone: every committed `cpu` page, with no warning (a glued value its
    prose needs and the page lost fails the strict build) and nothing fetched from the network."""
    pages = committed_pages("cpu", root)
    if not pages:
        pytest.skip("no committed cpu pages")
    html = build_book(assemble_reader_book("cpu", root, out=tmp_path / "reader"), strict=True).parent
    assert external_assets(html) == []
    for stem in pages:
        assert "This page is the committed" in (html / "_executed" / f"{stem}.html").read_text(), stem


def test_a_page_takes_the_current_prose_only_when_it_ran_the_current_code():
    from facerecon.study.reference_pages import with_current_prose

    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    injected = code("profile = 'cpu'")
    injected.metadata["tags"] = ["injected-parameters"]
    run = nbformat.v4.new_notebook(cells=[md("# old title"), code("x = 1"), injected, code("y = x"), md("old words")])
    run.cells[3].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    now = nbformat.v4.new_notebook(cells=[md("# new title"), code("x = 1"), code("y = x"), md("new words")])
    assert with_current_prose(run, now)
    assert [c.source for c in run.cells] == ["# new title", "x = 1", "profile = 'cpu'", "y = x", "new words"]
    assert run.cells[3].outputs[0]["text"] == "1\n"
    changed = nbformat.v4.new_notebook(cells=[md("# newer"), code("x = 2"), code("y = x"), md("newer words")])
    assert not with_current_prose(run, changed) and run.cells[0].source == "# new title"
    moved = nbformat.v4.new_notebook(cells=[md("# newer"), code("x = 1"), md("inserted"), code("y = x")])
    assert not with_current_prose(run, moved) and run.cells[4].source == "new words"


def test_a_real_data_cell_keeps_its_numbers_and_glue_but_no_picture(tmp_path):
    glued = nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "'5.25'"},
                                   metadata={"scrapbook": {"name": "real_nme_ours"}})
    table = nbformat.v4.new_output("display_data", data={"text/markdown": "| a | b |", "text/plain": "<Markdown>"})
    picture = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    html = nbformat.v4.new_output("display_data", data={"text/html": "<img src='data:image/png;base64,AAAA'>"})
    printed = nbformat.v4.new_output("stream", name="stdout", text="6 of 6 reconstructed\n")
    real = nbformat.v4.new_code_cell("show()", metadata={"tags": [REAL_DATA_TAG]},
                                     outputs=[glued, table, picture, html, printed])
    synthetic = nbformat.v4.new_code_cell("plot()", outputs=[picture])
    nb = nbformat.v4.new_notebook(cells=[real, synthetic])
    compact_page(nb, tmp_path)
    assert nb.cells[0].outputs == [glued, table, printed]
    assert nb.cells[1].outputs == [picture]
    assert not shows_no_picture(picture) and not shows_no_picture(html) and shows_no_picture(glued)
