"""The book's markdown tables render as tables (MyST parses them with markdown-it)."""

from __future__ import annotations

from markdown_it import MarkdownIt

from facerecon.figures.tables import markdown_table


def _rendered_cells(markdown: str) -> tuple[list[str], list[list[str]]]:
    """Header cells and body rows of the first table markdown-it renders from ``markdown`` (none: empty)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    header, rows, cell_tag = [], [], None
    for i, token in enumerate(tokens):
        if token.type in ("th_open", "td_open"):
            cell_tag = token.type
        elif token.type == "inline" and cell_tag:
            (header if cell_tag == "th_open" else rows[-1]).append(token.content)
            cell_tag = None
        elif token.type == "tr_open" and any(t.type == "tbody_open" for t in tokens[:i]):
            rows.append([])
    return header, rows


def test_a_pipe_in_a_header_or_cell_stays_inside_its_cell():
    """00's NME-by-yaw and 09's real-samples tables rendered as raw pipe text: their ``|yaw|`` header split."""
    table = markdown_table(["sample", "|yaw| (°)", "NME"], [["a", 12.5, 3.25], ["b|c", float("nan"), 1]])
    header, rows = _rendered_cells(table)
    assert header == ["sample", "|yaw| (°)", "NME"]
    assert rows == [["a", "12.5", "3.25"], ["b|c", "–", "1"]]
