"""A pytest plugin (``pytest -p facerecon.study.nbval_pages --nbval``): the book ``make test`` builds is this run's.

nbval executes each committed chapter in one kernel, compares the outputs with the stored ones (plotly figures
left out, like the PNGs nbval already skips) and throws the run's outputs away, so a book built afterwards would
show the stored outputs: another commit, another machine's numbers, no execution times. This plugin keeps what
the run produced. When a chapter's last cell has run it writes ``_executed/<stem>.ipynb`` with this run's outputs
in place of the stored ones, and ``_executed/run_info.md`` lists every chapter's wall time so far (kernel start to
last cell) and the commit.
Only the chapters (``notebooks/NN_*.ipynb``) are written; a failed cell keeps the outputs it produced.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest

from .kernels import PLOTLY_MIME
from .paths import find_root
from .runner import NOTEBOOK_GLOB, write_run_info


class _Chapter:
    """The outputs and the start time of one notebook as nbval runs it."""

    def __init__(self, notebook: Any):
        self.notebook = notebook
        self.outputs: dict[int, list] = {}
        self.start = time.perf_counter()


_chapters: dict[Path, _Chapter] = {}
_records: list[dict[str, Any]] = []


def _is_chapter_cell(item: pytest.Item) -> bool:
    path = Path(str(getattr(item, "fspath", "")))
    return (type(item).__name__ == "IPyNbCell" and path.match(NOTEBOOK_GLOB)
            and path.parent.name == "notebooks")


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Plotly figures are pictures: nbval leaves them out of the comparison, as it does PNGs (their numbers are
    vertex coordinates; the figure's ``text/html`` part is still compared, sanitized)."""
    if type(collector).__name__ == "IPyNbFile" and PLOTLY_MIME not in collector.skip_compare:
        collector.skip_compare = collector.skip_compare + (PLOTLY_MIME,)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if _is_chapter_cell(item):
        path = Path(str(item.fspath))
        if path not in _chapters:
            _chapters[path] = _Chapter(item.parent.nb)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if not _is_chapter_cell(item):
        return
    path = Path(str(item.fspath))
    chapter = _chapters.get(path)
    if chapter is None:
        return
    if item.test_outputs is not None:
        chapter.outputs[item.cell_num] = list(item.test_outputs)
    if nextitem is None or Path(str(getattr(nextitem, "fspath", ""))) != path:
        _write_chapter(path, chapter)


def _write_chapter(path: Path, chapter: _Chapter) -> None:
    import nbformat

    wall = round(time.perf_counter() - chapter.start, 2)
    notebook = copy.deepcopy(chapter.notebook)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    for number, cell in enumerate(code_cells):
        cell.outputs = [nbformat.from_dict(dict(o)) for o in chapter.outputs.get(number, [])]
        cell.execution_count = number + 1 if number in chapter.outputs else None
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = cell.execution_count
        cell.get("metadata", {}).pop("execution", None)
    root = find_root(path.parent)
    executed = root / "_executed"
    executed.mkdir(exist_ok=True)
    nbformat.write(notebook, executed / path.name)
    _records.append({"notebook": path.stem, "profile": "smoke", "wall_time_s": wall})
    write_run_info(root, "smoke", _records)
