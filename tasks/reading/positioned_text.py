"""Positioned text: words with their boxes grouped into lines and cells, pages and documents of
them, and the line geometry (words of one baseline, skew levelled) that field extraction looks along
and below. Made from a PDF's text layer or from OCR alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

Word = tuple[str, float, float, float, float, float]  # text, x0, y0, x1, y1, confidence 0..1


@dataclass
class Cell:
    """Words of one line that belong together (a gap wider than a few spaces separates cells)."""

    text: str
    x0: float
    x1: float
    confidence: float = 1.0


@dataclass
class Line:
    cells: list[Cell]
    y0: float
    y1: float
    page: int  # 1-based

    @property
    def text(self) -> str:
        return "   ".join(cell.text for cell in self.cells)

    @property
    def size(self) -> float:
        return self.y1 - self.y0


@dataclass
class PageText:
    number: int  # 1-based
    source: str  # "text" or "ocr"
    lines: list[Line] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0
    confidence: float = 1.0
    rotation: int = 0
    error: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class DocumentText:
    name: str
    kind: str
    page_count: int = 0
    pages: list[PageText] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # pages skipped or unreadable, limits hit

    @property
    def text(self) -> str:
        return "\n\f\n".join(page.text for page in self.pages).strip()

    @property
    def lines(self) -> list[Line]:
        return [line for page in self.pages for line in page.lines]

    @property
    def source(self) -> str | None:
        sources = {page.source for page in self.pages if page.lines}
        if not sources:
            return None
        return sources.pop() if len(sources) == 1 else "mixed"


def _centre(row: list[Word]) -> float:
    return sum((w[2] + w[4]) / 2 for w in row) / len(row)


def _ocr_lines(words: list[Word], line_keys: list[int]) -> list[list[Word]]:
    """The words of each line OCR found (``line_keys``: the line of each word)."""
    lines: dict[int, list[Word]] = {}
    for word, key in zip(words, line_keys, strict=True):
        lines.setdefault(key, []).append(word)
    return list(lines.values())


def _stacked(piece: list[Word], row: list[Word], height: float, ocr: bool) -> bool:
    """Whether ``piece`` stands above or below a word of ``row`` (same columns, another line:
    closely set lines whose boxes overlap a little) rather than beside it. For OCR, whose own
    lines already follow the text, any horizontal overlap counts; a text layer's word drawn
    twice at the same height (fake bold) does not."""
    for word in piece:
        for other in row:
            overlap = min(word[3], other[3]) - max(word[1], other[1])
            if overlap <= 0:
                continue
            if ocr or (overlap > 0.3 * min(word[3] - word[1], other[3] - other[1])
                       and abs((word[2] + word[4]) - (other[2] + other[4])) / 2 > 0.25 * height):
                return True
    return False


def _nearest(piece: list[Word], row: list[Word]) -> Word:
    """The word of ``row`` horizontally nearest to ``piece`` (overlapping, or across the
    smallest gap)."""
    left, right = min(w[1] for w in piece), max(w[3] for w in piece)
    return min(row, key=lambda w: max(w[1] - right, left - w[3], 0.0))


def _shares_a_baseline(piece: list[Word], row: list[Word], offset: float, height: float) -> bool:
    """Whether a text layer's word (``height`` high, ``offset`` from the middle of ``row``) stands
    on the line of ``row`` rather than on the next one of closely set lines: near its middle, or
    (a smaller word beside a larger one) on the bottom of a word of that row."""
    if abs(offset) < height * 0.4:
        return True
    return any(abs(w[4] - other[4]) < height * 0.2 for w in piece for other in row)


def build_lines(words: list[Word], page: int, line_keys: list[int] | None = None) -> list[Line]:
    """Group words into lines (by vertical overlap, starting from OCR's own lines when given,
    which follow a skewed scan) and lines into cells (by horizontal gaps)."""
    if line_keys is not None:
        pieces = sorted(_ocr_lines(words, line_keys), key=_centre)
    else:
        pieces = [[w] for w in sorted(words, key=lambda w: (w[2] + w[4]) / 2)]
    rows: list[list[Word]] = []
    top = bottom = centres = 0.0  # of the last row: its extent and the sum of its words' centres
    for piece in pieces:
        centre = _centre(piece)
        height = max(w[4] - w[2] for w in piece)
        if not rows:
            offset = 0.0
        elif line_keys is not None:  # from the words of the last row nearest to it: a scan's columns drift apart
            nearest = _nearest(piece, rows[-1])
            offset = centre - (nearest[2] + nearest[4]) / 2
        else:  # from the last row's middle
            offset = centre - centres / len(rows[-1])
        joins = (rows and top - height * 0.1 <= centre <= bottom + height * 0.1 and abs(offset) < height * 0.6
                 and (line_keys is not None or _shares_a_baseline(piece, rows[-1], offset, height))
                 and not _stacked(piece, rows[-1], height, ocr=line_keys is not None))
        if not joins:
            rows.append([])
            top, bottom, centres = float("inf"), float("-inf"), 0.0
        rows[-1].extend(piece)
        top, bottom = min(top, *(w[2] for w in piece)), max(bottom, *(w[4] for w in piece))
        centres += sum((w[2] + w[4]) / 2 for w in piece)
    lines = []
    for row in rows:
        row.sort(key=lambda w: w[1])
        heights = sorted(w[4] - w[2] for w in row)
        height = heights[min(len(heights) - 1, int(len(heights) * 0.8))] or 1.0
        widths = sorted((w[3] - w[1]) / len(w[0]) for w in row if len(w[0]) >= 2) or [height * 0.5]
        gap = 2.5 * widths[len(widths) // 2]  # a column gap: wider than a few characters (monospace too)
        cells: list[list[Word]] = [[row[0]]]
        for word in row[1:]:
            if word[1] - cells[-1][-1][3] > gap:
                cells.append([word])
            else:
                cells[-1].append(word)
        lines.append(
            Line(
                cells=[Cell(" ".join(w[0] for w in c), c[0][1], c[-1][3], sum(w[5] for w in c) / len(c)) for c in cells],
                y0=min(w[2] for w in row),
                y1=min(w[2] for w in row) + height,
                page=page,
            )
        )
    return lines


def skew_slope(words: list[Word], line_keys: list[int]) -> float:
    """How much a scan's text lines climb or fall per unit of width (the median over OCR's longer
    lines of the slope through their words' centres); 0.0 when it cannot tell."""
    slopes = []
    for line in _ocr_lines(words, line_keys):
        if len(line) < 3:
            continue
        xs = [(w[1] + w[3]) / 2 for w in line]
        ys = [(w[2] + w[4]) / 2 for w in line]
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        spread = sum((x - mean_x) ** 2 for x in xs)
        if spread > 0:
            slopes.append(sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread)
    if len(slopes) < 3:
        return 0.0
    slopes.sort()
    return slopes[len(slopes) // 2]


def level_skew(words: list[Word], line_keys: list[int]) -> list[Word]:
    """Word boxes as if a slightly skewed scan had been straightened, so that a label on the left
    and its amount far to the right share a line again."""
    slope = skew_slope(words, line_keys)
    if abs(slope) < 0.002 or abs(slope) > 0.1:  # straight enough, or not a skew this can mend
        return words
    levelled = []
    for text, x0, y0, x1, y1, confidence in words:
        shift = slope * (x0 + x1) / 2
        levelled.append((text, x0, y0 - shift, x1, y1 - shift, confidence))
    return levelled
