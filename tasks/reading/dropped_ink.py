"""Ink on a scanned page that no confidently read word covers: what tesseract's page layout
analysis dropped (amounts in a ruled box, a small line beside a large headline).

The page is looked at on a coarse grid; the inked cells that no reliable word covers are
grouped into blobs, rules and frames (thin or hollow) are left out, and the text-like blobs
on a line are joined into patches. The patches are cut out, set one under another on a white
sheet for one more tesseract run, and the words read there are moved back to the page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Words below this confidence (0..1) do not count as reading the ink under them, and words
# recovered from unread ink are kept only from this confidence up.
RELIABLE_WORD_CONFIDENCE = 0.5
# Unread ink: a grid cell (_cell_size) is inked when this share of its pixels is dark.
INK_CELL_SHARE = 1.5 / 9
# A patch of unread ink is read again when it is at least this many cells high and wide and at
# least this share of its bounding box is inked (rules and frames are thin and hollow).
MIN_PATCH_CELLS = 3
MIN_PATCH_FILL = 0.3
# More unread ink than this share of the page is a picture, not dropped text.
MAX_UNREAD_SHARE = 0.2
# Line keys of recovered words start above any block number tesseract gives a page.
RECOVERED_BLOCK = 10_000


Word = tuple[str, float, float, float, float, float, int]  # text, box, confidence 0..1, line key



@dataclass(frozen=True)
class Patch:
    """A box of the page (pixels) holding ink no reliable word covers."""

    left: int
    top: int
    right: int
    bottom: int

    def holds(self, word: Word) -> bool:
        x, y = (word[1] + word[3]) / 2, (word[2] + word[4]) / 2
        return self.left <= x < self.right and self.top <= y < self.bottom


def _cell_size(width: int, height: int) -> int:
    """Pixels per side of an ink grid cell: about 1/70 inch on a page the size of A4 or Letter."""
    return max(2, round(min(width, height) / 600))


def _ink_cells(gray, size: int):  # type: ignore[no-untyped-def]
    """A grid of ``size`` x ``size`` pixel cells of the greyscale image: True where one holds ink."""
    import numpy

    dark = gray.point(lambda value: 255 if value < 160 else 0)
    return numpy.asarray(dark.reduce(size)) >= 255 * INK_CELL_SHARE


def _clear_read_cells(cells, words: list[Word], size: int) -> None:  # type: ignore[no-untyped-def]
    """Clear the cells under (and one cell around) each reliably read word."""
    for _, left, top, right, bottom, confidence, _ in words:
        if confidence >= RELIABLE_WORD_CONFIDENCE:
            cells[max(0, int(top) // size - 1):int(bottom) // size + 2,
                  max(0, int(left) // size - 1):int(right) // size + 2] = False


@dataclass
class _Blob:
    """8-connected grid cells of unread ink."""

    rows: list[int]
    columns: list[int]

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in cells, right and bottom exclusive."""
        return min(self.columns), min(self.rows), max(self.columns) + 1, max(self.rows) + 1

    def text_like(self) -> bool:
        """Whether it looks like a word or part of one: high and wide enough, and solid (a rule
        is thin, a frame hollow, a skewed rule both)."""
        left, top, right, bottom = self.box
        width, height = right - left, bottom - top
        return min(width, height) >= MIN_PATCH_CELLS and len(self.rows) >= MIN_PATCH_FILL * width * height

    def rule_like(self) -> bool:
        """Long and not text-like: a rule, a frame, a table border."""
        left, top, right, bottom = self.box
        return max(right - left, bottom - top) > 4 * MIN_PATCH_CELLS and not self.text_like()


def _blobs(cells) -> list[_Blob]:  # type: ignore[no-untyped-def]
    """The 8-connected groups of True cells."""
    import numpy

    remaining = set(map(tuple, numpy.argwhere(cells).tolist()))
    found = []
    while remaining:
        stack = [remaining.pop()]
        blob = _Blob([stack[0][0]], [stack[0][1]])
        while stack:
            row, column = stack.pop()
            for neighbour in ((row + dr, column + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)):
                if neighbour in remaining:
                    remaining.remove(neighbour)
                    stack.append(neighbour)
                    blob.rows.append(neighbour[0])
                    blob.columns.append(neighbour[1])
        found.append(blob)
    return found


def _patches(blobs: list[_Blob], size: int) -> list[Patch]:
    """Text-like blobs joined with their neighbours on the same line (closer than one and a half
    times their height) into patches, in page pixels with a cell of margin, top to bottom."""
    boxes = [list(blob.box) for blob in blobs if blob.text_like()]
    joined = True
    while joined:
        joined = False
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                reach = 1.5 * max(a[3] - a[1], b[3] - b[1])
                if a[0] - reach < b[2] and b[0] - reach < a[2] and a[1] < b[3] and b[1] < a[3]:
                    a[:] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    boxes.remove(b)
                    joined = True
                    break
            if joined:
                break
    return [Patch(max(0, left - 1) * size, max(0, top - 1) * size, (right + 1) * size, (bottom + 1) * size)
            for left, top, right, bottom in sorted(boxes, key=lambda box: (box[1], box[0]))]


@dataclass
class PageInk:
    """A greyscale page and its grid of inked cells (``size`` pixels a side): what the search for
    unread ink needs before the words are known, so it can be made while tesseract reads."""

    gray: object
    cells: object
    size: int


def page_ink(path: str) -> PageInk:
    """The page image at ``path`` in greyscale with its ink grid."""
    from PIL import Image

    with Image.open(path) as image:
        gray = image.convert("L")
    size = _cell_size(*gray.size)
    return PageInk(gray, _ink_cells(gray, size), size)


@dataclass
class UnreadInk:
    """The page's pixels and the grid cells (``size`` pixels a side) of unread ink, rules and
    frames left out."""

    pixels: object
    cells: object
    size: int

    def cut(self, patch: Patch):  # type: ignore[no-untyped-def]
        """The patch's pixels, everything but unread ink whitened."""
        import numpy

        pixels = self.pixels[patch.top:patch.bottom, patch.left:patch.right]
        cells = self.cells[patch.top // self.size:, patch.left // self.size:]
        ink = numpy.kron(cells[:-(-pixels.shape[0] // self.size), :-(-pixels.shape[1] // self.size)],
                         numpy.ones((self.size, self.size), dtype=bool))[:pixels.shape[0], :pixels.shape[1]]
        return numpy.where(ink, pixels, 255).astype(numpy.uint8)


def unread_patches(page: PageInk, words: list[Word]) -> tuple[list[Patch], UnreadInk | None]:
    """Patches of text-like ink no reliable word covers, and the unread ink to cut them from;
    no patches when the unread ink is a picture."""
    import numpy

    cells = page.cells.copy()
    _clear_read_cells(cells, words, page.size)
    if cells.sum() > MAX_UNREAD_SHARE * cells.size:
        return [], None
    blobs = _blobs(cells)
    patches = _patches(blobs, page.size)
    if not patches:
        return [], None
    for blob in blobs:
        if blob.rule_like():
            cells[blob.rows, blob.columns] = False
    return patches, UnreadInk(numpy.asarray(page.gray), cells, page.size)


def sheet_gap(patches: list[Patch]) -> int:
    """White space around each patch on the sheet: the height of the highest."""
    return max(p.bottom - p.top for p in patches)


def sheet(ink: UnreadInk, patches: list[Patch], folder: str) -> tuple[str, list[int]]:
    """The patches cut from the unread ink and set one under another on a white sheet, saved in
    ``folder``: (its path, the top of each patch on it)."""
    import numpy
    from PIL import Image

    gap = sheet_gap(patches)
    width = max(p.right - p.left for p in patches) + 2 * gap
    tops = []
    height = gap
    for patch in patches:
        tops.append(height)
        height += patch.bottom - patch.top + gap
    sheet = numpy.full((height, width), 255, dtype=numpy.uint8)
    for patch, top in zip(patches, tops, strict=True):
        cut = ink.cut(patch)
        sheet[top:top + cut.shape[0], gap:gap + cut.shape[1]] = cut
    path = os.path.join(folder, "unread.pgm")
    Image.fromarray(sheet).save(path)
    return path, tops


def on_the_page(words: list[Word], patches: list[Patch], tops: list[int], gap: int) -> list[Word]:
    """Words read on the sheet, moved back to the page; each patch's lines keep their own keys."""
    placed = []
    for text, left, top, right, bottom, confidence, line in words:
        middle = (top + bottom) / 2
        slot = max((i for i, t in enumerate(tops) if t - gap / 2 <= middle), default=0)
        dx, dy = patches[slot].left - gap, patches[slot].top - tops[slot]
        placed.append((text, left + dx, top + dy, right + dx, bottom + dy, confidence,
                       (RECOVERED_BLOCK + slot) * 1_000_000 + line % 1_000_000))
    return placed
