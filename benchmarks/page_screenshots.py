"""Check: screenshot every page of a built book in headless Chromium and measure what a reader would trip on.
Prints a table.

    python benchmarks/page_screenshots.py [--html _reader/_build/html] [--out _screenshots] [--width 1280]

For each chapter page (and the intro) it writes full-width PNG tiles (``--tile`` px high) to ``--out`` to be looked
at, and counts, from the page as Chromium laid it out at ``--width`` px: tables whose content is wider than what
shows of them (``clipped``: neither the table nor a parent scrolls), wide tables that scroll (``scrolling``),
paragraphs outside tables that are raw markdown table rows (``raw md``: text starting with ``|``), stderr output
blocks, and ``nan`` in table cells. Needs Debian's ``chromium`` (``--chromium``); runs nothing of the study.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

# Injected into a copy of each page: measures the laid-out page and writes the findings into the DOM as JSON.
PROBE = """<script>
const pageProbe = () => {
  const scrolls = el => { for (let p = el; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if (o === "auto" || o === "scroll") return true; } return false; };
  let clipped = 0, scrolling = 0, nan = 0;
  for (const t of document.querySelectorAll("article table")) {
    const box = t.parentElement.getBoundingClientRect().width;
    if (t.scrollWidth > box + 1) { if (scrolls(t)) scrolling++; else clipped++; }
    for (const c of t.querySelectorAll("td")) if (/\\bnan\\b/.test(c.textContent)) nan++;
  }
  const raw = [...document.querySelectorAll("article p")]
    .filter(p => !p.closest("table") && p.textContent.trim().startsWith("|")).length;
  const stderr = document.querySelectorAll("article .output.stderr, article .stderr").length;
  const out = document.createElement("pre"); out.id = "page-probe";
  out.textContent = JSON.stringify({clipped, scrolling, nan, raw, stderr,
                                    height: document.documentElement.scrollHeight});
  document.body.appendChild(out);
};
// "load" waits for every image; when something never loads offline, measure what is there after 5 s.
if (document.readyState === "complete") pageProbe(); else { window.addEventListener("load", pageProbe);
  setTimeout(() => { if (!document.getElementById("page-probe")) pageProbe(); }, 5000); }
</script>"""


def chromium(binary: str, *args: str) -> str:
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=120).stdout


def probe(binary: str, page: Path, width: int) -> dict:
    """The page's measurements (see PROBE), from a probe copy next to it so that its relative links resolve."""
    copy = page.with_name(f"{page.stem}.__probe.html")
    copy.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    try:
        dom = chromium(binary, f"--window-size={width},1000", "--virtual-time-budget=10000", "--dump-dom",
                       copy.as_uri())
    finally:
        copy.unlink()
    found = re.search(r'<pre id="page-probe"[^>]*>(.*?)</pre>', dom, re.S)
    if found is None:
        raise RuntimeError(f"{page}: the probe wrote nothing (did Chromium load the page?)")
    return json.loads(html.unescape(found.group(1)))      # the DOM dump escapes &, < and > in the JSON text


def screenshot(binary: str, page: Path, width: int, height: int, out: Path, tile: int) -> int:
    """Write the page as ``out/<stem>-NN.png`` tiles ``(width, tile)``; returns their count."""
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "page.png"
        chromium(binary, f"--window-size={width},{height}", "--virtual-time-budget=10000",
                 f"--screenshot={full}", page.as_uri())
        image = Image.open(full)
        tiles = range(0, image.height, tile)
        for i, top in enumerate(tiles):
            image.crop((0, top, width, min(top + tile, image.height))).save(out / f"{page.stem}-{i:02d}.png")
    return len(tiles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--html", type=Path, default=Path("_reader/_build/html"))
    parser.add_argument("--out", type=Path, default=Path("_screenshots"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--tile", type=int, default=1600)
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args()
    built = args.html.resolve()
    pages = [built / "book" / "intro.html", *sorted((built / "_executed").glob("[0-9]*.html"))]
    missing = [p for p in pages if not p.is_file()]
    if missing or len(pages) < 2:
        raise SystemExit(f"no built book under {args.html} (missing {missing or 'chapter pages'}): "
                         "run `make reader` or `make book` first")
    if shutil.which(args.chromium) is None:
        raise SystemExit(f"no Chromium at {args.chromium!r}: install Debian's `chromium` (apt-get install chromium) "
                         "or give its path with --chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"| page | height (px at {args.width}) | tiles | clipped tables | scrolling tables | raw md | stderr "
          "| nan cells |")
    print("|---|---|---|---|---|---|---|---|")
    for page in pages:
        found = probe(args.chromium, page, args.width)
        tiles = screenshot(args.chromium, page, args.width, found["height"], args.out, args.tile)
        print(f"| {page.stem} | {found['height']:,} | {tiles} | {found['clipped']} | {found['scrolling']} | "
              f"{found['raw']} | {found['stderr']} | {found['nan']} |")
    print(f"\ntiles in {args.out}/<page>-NN.png")


if __name__ == "__main__":
    main()
