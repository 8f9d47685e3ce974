"""The book's markdown tables render as tables (MyST parses them with markdown-it)."""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt

from facerecon.figures.tables import interval_cell, markdown_table

ROOT = Path(__file__).resolve().parents[1]


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


def test_every_table_row_of_the_readme_renders_in_a_table():
    """A blank line inside README's chapter table cut it: rows 05–09 showed as raw pipe text."""
    text = (ROOT / "README.md").read_text()
    table_lines = [line for line in text.splitlines()
                   if line.startswith("|") and not set(line) <= set("|-: ")]
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    rendered_rows = sum(token.type == "tr_open" for token in tokens)
    assert rendered_rows == len(table_lines)


def test_intervals_share_one_fixed_point_style():
    """08 mixed ``+0.00013`` with ``-1.77e-05`` and 05 printed ``-0.00000``: every interval is fixed point, its
    decimals showing two significant digits of the half-width, without a negative zero."""
    assert interval_cell(0.00013, 0.00005, 0.00021, signed=True) == "+0.000130 [+0.000050, +0.000210]"
    assert interval_cell(-1.77e-05, -2.9e-05, -0.6e-05, signed=True) == "-0.000018 [-0.000029, -0.000006]"
    assert interval_cell(0.00353, 0.0033, 0.00383) == "0.00353 [0.00330, 0.00383]"
    assert interval_cell(-0.000001, -0.3, 0.3, signed=True) == "+0.00 [-0.30, +0.30]"
    assert interval_cell(0.4, None, None, signed=True) == "+0.40 (no interval: one seed)"
    assert interval_cell(1.5, float("nan"), 2.0) == "1.5 (no interval: one seed)"
