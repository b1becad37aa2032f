"""Reading scanned pages and images with tesseract (through pytesseract).

One page is one job: render the PDF page at the configured resolution (or take one frame of an
image), refuse it when it is over the pixel limit, run tesseract once with a time limit and
read back every word with its box and confidence. When the words come out poor, the page
orientation is detected (tesseract OSD) and the page is read again turned upright.

Tesseract's page layout analysis sometimes drops text: amounts in a ruled box, a small line
beside a large headline. Ink that no confidently read word covers is therefore looked for on a
coarse grid; text-like patches of it are cut out, set one under another on a sheet and read
again in one more tesseract run as a plain block of text. A page without such patches costs
only the grid (some milliseconds).

Pages run in a pool of worker processes, one per core, each tesseract limited to one thread
(``OMP_THREAD_LIMIT=1``): on a small server that gives more pages per second than tesseract's
own threading.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import tempfile
import time
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

# Below this mean word confidence (0..100) the page orientation is checked.
ROTATION_CHECK_CONFIDENCE = 70.0
# An orientation OSD proposes with less confidence than this is not tried. Even a weak
# proposal is worth a second reading of a page that read poorly: the turned reading is kept
# only when it reads better.
MIN_ORIENTATION_CONFIDENCE = 0.3
# A scan with fewer pixels per inch than this is enlarged before reading.
MIN_DPI = 200
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
class OcrJob:
    """One page to read: page ``index`` of the PDF or image file at ``path``."""

    path: str
    kind: str  # "pdf" or "image"
    index: int
    languages: str = "eng"
    dpi: int = 300
    max_pixels: int = 60_000_000
    timeout: float = 60


@dataclass
class OcrPage:
    index: int
    words: list[Word] = field(default_factory=list)
    width: int = 0
    height: int = 0
    confidence: float = 0.0  # mean word confidence, 0..1
    rotation: int = 0  # degrees the page was turned to read it
    seconds: float = 0.0
    error: str | None = None


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def _single_thread_env() -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def _render(job: OcrJob, folder: str) -> tuple[str, int, int]:
    """Write the page as an image file tesseract reads; returns (path, width, height)."""
    if job.kind == "pdf":
        import pymupdf

        with pymupdf.open(job.path) as document:
            page = document.load_page(job.index)
            zoom = job.dpi / 72
            pixels = page.rect.width * zoom * page.rect.height * zoom
            if pixels > job.max_pixels:
                zoom *= (job.max_pixels / pixels) ** 0.5
                if zoom * 72 < 72:
                    raise ValueError(f"page {job.index + 1} is too large to read ({page.rect.width:.0f} x "
                                     f"{page.rect.height:.0f} pt)")
            pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csGRAY, alpha=False)
            target = os.path.join(folder, "page.pgm")
            pixmap.save(target)
            return target, pixmap.width, pixmap.height
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(job.path)
        width, height = image.size
        if width * height > job.max_pixels:
            raise ValueError(
                f"the image is {width} x {height} px ({width * height / 1e6:.0f} Mpx), over the limit of "
                f"{job.max_pixels / 1e6:.0f} Mpx (INVOICES_OCR__MAX_PIXELS)"
            )
        frames = getattr(image, "n_frames", 1)
        dpi = image.info.get("dpi", (0, 0))[0] or 0
        small = min(width, height) < 1400 and (not dpi or dpi < MIN_DPI)
        plain = image.format in {"PNG", "JPEG"} and frames == 1 and image.mode in {"L", "RGB", "1"}
        if plain and not small:
            return job.path, width, height
        image.seek(job.index)
        page = image.convert("L")
        if small:
            factor = 2 if min(width, height) >= 700 else 3
            page = page.resize((width * factor, height * factor), Image.Resampling.LANCZOS)
        target = os.path.join(folder, "page.pgm")
        page.save(target)
        return target, page.width, page.height


def _read_words(path: str, job: OcrJob, timeout: float, layout: str = "--psm 3",
                languages: str | None = None) -> tuple[list[Word], float]:
    """Every word tesseract reads in the image at ``path`` (in ``languages``, by default the
    job's) and their mean confidence."""
    import pytesseract

    data = pytesseract.image_to_data(
        path, lang=languages or job.languages, config=layout, timeout=timeout, output_type=pytesseract.Output.DICT
    )
    words = []
    for text, conf, left, top, width, height, block, paragraph, line in zip(
        data["text"], data["conf"], data["left"], data["top"], data["width"], data["height"], data["block_num"],
        data["par_num"], data["line_num"], strict=False
    ):
        text = (text or "").strip()
        confidence = float(conf)
        if text and confidence >= 0:
            words.append((text, float(left), float(top), float(left + width), float(top + height), confidence / 100,
                          block * 1_000_000 + paragraph * 1000 + line))
    return words, _mean_confidence(words)


def _mean_confidence(words: list[Word]) -> float:
    return sum(w[5] for w in words) / len(words) if words else 0.0


def _orientation(path: str, job: OcrJob, timeout: float) -> int:
    """Degrees (clockwise) the page must be turned to be upright, per tesseract OSD (0 if it has
    no idea)."""
    import pytesseract

    try:
        osd = pytesseract.image_to_osd(path, config="--psm 0 -c min_characters_to_try=10", timeout=timeout)
    except (pytesseract.TesseractError, RuntimeError):
        return 0
    values = dict(line.split(":", 1) for line in osd.splitlines() if ":" in line)
    try:
        rotate, confidence = int(values.get("Rotate", "0").strip()), float(values.get("Orientation confidence", "0"))
    except ValueError:
        return 0
    return rotate if confidence >= MIN_ORIENTATION_CONFIDENCE else 0


def _time_left(ends: float) -> float:
    """Seconds left of the page's time limit (``ends``, on the perf_counter clock)."""
    left = ends - time.perf_counter()
    if left <= 0:
        raise RuntimeError("the page time limit is used up")
    return left


def _read_upright(path: str, job: OcrJob, folder: str, ends: float) -> tuple[list[Word], str, int]:
    """Read the page, turned upright when it read poorly and OSD says so: (words, the image
    read, degrees turned)."""
    from PIL import Image

    words, mean = _read_words(path, job, _time_left(ends))
    if mean * 100 >= ROTATION_CHECK_CONFIDENCE and len(words) >= 8:
        return words, path, 0
    rotate = _orientation(path, job, _time_left(ends))
    if not rotate:
        return words, path, 0
    turned = os.path.join(folder, "turned.pgm")
    with Image.open(path) as image:
        image.convert("L").rotate(-rotate, expand=True).save(turned)
    turned_words, turned_mean = _read_words(turned, job, _time_left(ends))
    if turned_mean * len(turned_words) > mean * len(words):
        return turned_words, turned, rotate
    return words, path, 0


def read_page(job: OcrJob) -> OcrPage:
    """OCR one page within ``job.timeout``; errors (limits, timeouts, unreadable images) are
    returned, never raised."""
    import pytesseract
    from PIL import Image

    _single_thread_env()
    started = time.perf_counter()
    ends = started + job.timeout
    result = OcrPage(index=job.index)
    with tempfile.TemporaryDirectory(prefix="invoices-ocr-") as folder:
        try:
            path, result.width, result.height = _render(job, folder)
            words, read, result.rotation = _read_upright(path, job, folder, ends)
            if result.rotation in (90, 270):
                result.width, result.height = result.height, result.width
            words = _with_dropped_text(words, read, job, folder, ends)
            result.words, result.confidence = words, _mean_confidence(words)
        except RuntimeError as err:  # pytesseract raises RuntimeError on its time limit
            result.error = f"page {job.index + 1}: OCR stopped after {job.timeout} s ({err})"
        except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError) as err:
            result.error = f"page {job.index + 1}: tesseract failed ({err})"
        except (ValueError, OSError, EOFError, Image.DecompressionBombError) as err:
            result.error = f"page {job.index + 1}: {err}"
        except Exception as err:  # pymupdf raises its own classes for damaged pages
            result.error = f"page {job.index + 1}: cannot be rendered ({type(err).__name__}: {err})"
    result.seconds = time.perf_counter() - started
    return result


# ---------------------------------------------------------------- text the layout analysis dropped


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
class _UnreadInk:
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


def _unread_patches(gray, words: list[Word]) -> tuple[list[Patch], _UnreadInk | None]:  # type: ignore[no-untyped-def]
    """Patches of text-like ink no reliable word covers, and the unread ink to cut them from;
    no patches when the unread ink is a picture."""
    import numpy

    size = _cell_size(*gray.size)
    cells = _ink_cells(gray, size)
    _clear_read_cells(cells, words, size)
    if cells.sum() > MAX_UNREAD_SHARE * cells.size:
        return [], None
    blobs = _blobs(cells)
    patches = _patches(blobs, size)
    if not patches:
        return [], None
    for blob in blobs:
        if blob.rule_like():
            cells[blob.rows, blob.columns] = False
    return patches, _UnreadInk(numpy.asarray(gray), cells, size)


def _sheet_gap(patches: list[Patch]) -> int:
    """White space around each patch on the sheet: the height of the highest."""
    return max(p.bottom - p.top for p in patches)


def _sheet(ink: _UnreadInk, patches: list[Patch], folder: str) -> tuple[str, list[int]]:
    """The patches cut from the unread ink and set one under another on a white sheet, saved in
    ``folder``: (its path, the top of each patch on it)."""
    import numpy
    from PIL import Image

    gap = _sheet_gap(patches)
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


def _on_the_page(words: list[Word], patches: list[Patch], tops: list[int], gap: int) -> list[Word]:
    """Words read on the sheet, moved back to the page; each patch's lines keep their own keys."""
    placed = []
    for text, left, top, right, bottom, confidence, line in words:
        middle = (top + bottom) / 2
        slot = max((i for i, t in enumerate(tops) if t - gap / 2 <= middle), default=0)
        dx, dy = patches[slot].left - gap, patches[slot].top - tops[slot]
        placed.append((text, left + dx, top + dy, right + dx, bottom + dy, confidence,
                       (RECOVERED_BLOCK + slot) * 1_000_000 + line % 1_000_000))
    return placed


def _first_language(job: OcrJob) -> str:
    """The first of the job's languages: loading one model instead of several is most of the
    cost of reading a few patches again."""
    return job.languages.split("+")[0]


def _with_dropped_text(words: list[Word], path: str, job: OcrJob, folder: str, ends: float) -> list[Word]:
    """``words`` with the text tesseract's layout analysis dropped or garbled read again from the
    unread ink; weak words where a patch read well are replaced. Keeps ``words`` when the page
    time runs out."""
    from PIL import Image

    with Image.open(path) as image:
        gray = image.convert("L")
    patches, ink = _unread_patches(gray, words)
    if not patches or ink is None:
        return words
    sheet, tops = _sheet(ink, patches, folder)
    try:
        read, _ = _read_words(sheet, job, _time_left(ends), layout="--psm 6", languages=_first_language(job))
    except RuntimeError:
        logger.info("page %d: no time left to read again what the page layout dropped", job.index + 1)
        return words
    found = [w for w in _on_the_page(read, patches, tops, _sheet_gap(patches)) if w[5] >= RELIABLE_WORD_CONFIDENCE]
    answered = [p for p in patches if any(p.holds(w) for w in found)]
    kept = [w for w in words if w[5] >= RELIABLE_WORD_CONFIDENCE or not any(p.holds(w) for p in answered)]
    return kept + found


# ---------------------------------------------------------------- the pool

_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def worker_count(configured: int) -> int:
    return configured or os.cpu_count() or 1


def _pool_for(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    if _pool is None or _pool_size != workers:
        shutdown_pool()
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(["tasks.ocr"])
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_single_thread_env)
        _pool_size = workers
    return _pool


def shutdown_pool() -> None:
    global _pool, _pool_size
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
    _pool, _pool_size = None, 0


def read_pages(jobs: list[OcrJob], workers: int = 0, deadline_seconds: float | None = None) -> list[OcrPage]:
    """OCR ``jobs`` in parallel (one process per core), in order; pages past the deadline fail."""
    if not jobs:
        return []
    count = min(worker_count(workers), len(jobs))
    if count == 1:
        return [read_page(job) for job in jobs]
    pool = _pool_for(worker_count(workers))
    futures: list[Future[OcrPage]] = [pool.submit(read_page, job) for job in jobs]
    ends = time.monotonic() + (deadline_seconds or max(job.timeout for job in jobs) * len(jobs) + 60)
    results = []
    for job, future in zip(jobs, futures, strict=True):
        try:
            results.append(future.result(timeout=max(0.0, ends - time.monotonic())))
        except FutureTimeout:
            future.cancel()
            results.append(OcrPage(index=job.index, error=f"page {job.index + 1}: not read within the document's "
                                   "OCR time limit (INVOICES_OCR__DOCUMENT_TIMEOUT_SECONDS)"))
        except Exception as err:  # a worker died (out of memory, killed)
            logger.warning("OCR worker failed on %s page %d: %s", Path(job.path).name, job.index + 1, err)
            results.append(OcrPage(index=job.index, error=f"page {job.index + 1}: OCR worker failed ({err})"))
    return results
