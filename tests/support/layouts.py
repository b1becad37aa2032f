"""Hand-written invoices in the layouts real vendors use (tests/data/layouts/*.html, each with its
expected fields as JSON), drawn as PDFs by pymupdf's HTML engine: another renderer, other
layouts and other wording than the generated corpus (tests/corpus.py), so they show how the
extraction does on documents it was not shaped on.

    python -m tests.layouts OUT_FOLDER      # draw them all (the tests draw them into a temporary folder)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"


def layout_sources() -> list[Path]:
    return sorted(LAYOUTS.glob("*.html"))


def page_count(source: Path) -> int:
    import tempfile

    import pymupdf

    with tempfile.TemporaryDirectory() as folder, pymupdf.open(render(source, Path(folder))) as document:
        return document.page_count


def draw_html(markup: str, out: Any) -> None:
    """HTML drawn by pymupdf's HTML engine onto A4 pages with 40 pt margins, written to ``out``
    (a path or a binary file)."""
    import pymupdf

    story = pymupdf.Story(markup)
    page = pymupdf.paper_rect("a4")
    writer = pymupdf.DocumentWriter(out)
    more = True
    while more:
        device = writer.begin_page(page)
        more, _ = story.place(page + (40, 40, -40, -40))
        story.draw(device)
        writer.end_page()
    writer.close()


def render(source: Path, folder: Path) -> Path:
    """source.html -> folder/source.pdf; the expected JSON is copied beside it."""
    target = folder / f"{source.stem}.pdf"
    draw_html(source.read_text(encoding="utf-8"), str(target))
    target.with_suffix(".json").write_bytes(source.with_suffix(".json").read_bytes())
    return target


def render_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [render(source, folder) for source in layout_sources()]


def scanned_copies(pdfs: list[Path], folder: Path, seed: int = 7) -> list[Path]:
    """``scan-<name>.<suffix>``: each one-page layout as a scan (skew, noise, blur, low resolution,
    upside down; tests/corpus_render.scan), with its expected JSON."""
    import random
    import zlib

    import pymupdf

    from tests.support.corpus_render import scan

    made = []
    for pdf in pdfs:
        with pymupdf.open(pdf) as document:
            if document.page_count != 1:
                continue
        key = zlib.crc32(f"{seed}-{pdf.stem}".encode())  # by name: another layout does not change this scan
        data, suffix, _ = scan(pdf.read_bytes(), random.Random(key), key)
        target = folder / f"scan-{pdf.stem}{suffix}"
        target.write_bytes(data)
        target.with_suffix(".json").write_bytes(pdf.with_suffix(".json").read_bytes())
        made.append(target)
    return made


if __name__ == "__main__":
    for path in render_all(Path(sys.argv[1])):
        print(path)
