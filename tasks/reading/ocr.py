"""Reading scanned pages and images with tesseract (through pytesseract).

One page is one job: render the PDF page at the configured resolution (or take one frame of an
image), refuse it when it is over the pixel limit, run tesseract once with a time limit and
read back every word with its box and confidence. When the words come out poor, the page
orientation is detected (tesseract OSD) and the page is read again turned upright.

Tesseract's page layout analysis sometimes drops text: amounts in a ruled box, a small line
beside a large headline. The ink no confidently read word covers (tasks.reading.dropped_ink) is read
again in one more tesseract run as a plain block of text. A page without such ink costs only
the search for it (some milliseconds): the page and its grid of ink are made while tesseract
reads it.

Pages run in a pool of worker processes, one per core, each tesseract limited to one thread
(``OMP_THREAD_LIMIT=1``): on a small server that gives more pages per second than tesseract's
own threading.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import shutil
import tempfile
import time
import warnings
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from tasks.language import labels
from tasks.language.words import fold
from tasks.reading import dropped_ink, photo_cleanup
from tasks.reading.dropped_ink import RELIABLE_WORD_CONFIDENCE, Word

logger = logging.getLogger(__name__)

# Below this mean word confidence (0..100) the page orientation is checked.
ROTATION_CHECK_CONFIDENCE = 70.0
# An orientation OSD proposes with less confidence than this is not tried. Even a weak
# proposal is worth a second reading of a page that read poorly: the turned reading is kept
# only when it reads better.
MIN_ORIENTATION_CONFIDENCE = 0.3
# Below this mean word confidence the page is read again cleaned up (cut to its paper, coloured
# print and uneven light flattened).
CLEANUP_CONFIDENCE = 80.0
# A scan with fewer pixels per inch than this is enlarged before reading.
MIN_DPI = 200
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


def _reliable(words: list[Word]) -> float:
    """How much of a page was read well: the confidence of its reliable words, summed."""
    return sum(w[5] for w in words if w[5] >= RELIABLE_WORD_CONFIDENCE)


def _size(path: str) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def _read_cleaned(words: list[Word], read: str, job: OcrJob, folder: str, ends: float) -> tuple[list[Word], str]:
    """The page read again cut to its paper and with coloured print and uneven light flattened
    (tasks.reading.photo_cleanup), kept only where it reads better: (words, image read)."""
    try:
        cleaned = photo_cleanup.cleaned_page(read, folder)
        again, _ = _read_words(cleaned, job, _time_left(ends))
    except RuntimeError:
        logger.info("page %d: no time left to read the page cleaned up", job.index + 1)
        return words, read
    return (again, cleaned) if _reliable(again) > _reliable(words) else (words, read)


def read_page(job: OcrJob) -> OcrPage:
    """OCR one page within ``job.timeout``; errors (limits, timeouts, unreadable images) are
    returned, never raised."""
    import pytesseract
    from PIL import Image

    _single_thread_env()
    started = time.perf_counter()
    ends = started + job.timeout
    result = OcrPage(index=job.index)
    with tempfile.TemporaryDirectory(prefix="invoices-ocr-") as folder, ThreadPoolExecutor(1) as beside:
        try:
            path, result.width, result.height = _render(job, folder)
            ink = beside.submit(dropped_ink.page_ink, path)  # made while tesseract reads the page
            words, read, result.rotation = _read_upright(path, job, folder, ends)
            if result.rotation in (90, 270):
                result.width, result.height = result.height, result.width
            if _mean_confidence(words) * 100 < CLEANUP_CONFIDENCE or len(words) < 8:
                upright = read
                words, read = _read_cleaned(words, read, job, folder, ends)
                if read != upright:
                    result.width, result.height = _size(read)
            page = ink.result() if read == path else dropped_ink.page_ink(read)
            language = page_language(words, job.languages)
            words = mend_umlauts(_with_dropped_text(words, page, language, job, folder, ends), language)
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

# The tesseract language pack of each language the invoice vocabulary knows.
_LANGUAGE_PACKS = {"en": "eng", "de": "deu", "fr": "fra", "nl": "nld"}


def page_language(words: list[Word], languages: str) -> str:
    """The one configured language pack (of ``languages``, '+'-joined) the page's words are
    written in, judged by the invoice words of each language on it; the first configured one
    when it cannot tell. Text the layout analysis dropped is read again in this language only:
    loading one model instead of several is most of the cost of reading a few patches again."""
    configured = languages.split("+")
    text = fold(" ".join(w[0] for w in words))
    patterns = {_LANGUAGE_PACKS[code]: pattern for code, pattern in labels.LANGUAGE_WORDS.items()}
    counts = {pack: len(patterns[pack].findall(text)) for pack in configured if pack in patterns}
    best = max(counts, key=lambda pack: counts[pack], default=None)  # the first configured on a tie
    return best if best is not None and counts[best] > 0 else configured[0]


def _with_dropped_text(words: list[Word], page: dropped_ink.PageInk, language: str, job: OcrJob, folder: str,
                       ends: float) -> list[Word]:
    """``words`` with the text tesseract's layout analysis dropped or garbled read again (in the
    page's ``language`` pack) from the page's unread ink; weak words where a patch read well are
    replaced. Keeps ``words`` when the page time runs out."""
    patches, ink = dropped_ink.unread_patches(page, words)
    if not patches or ink is None:
        return words
    sheet, tops = dropped_ink.sheet(ink, patches, folder)
    try:
        read, _ = _read_words(sheet, job, _time_left(ends), layout="--psm 6", languages=language)
    except RuntimeError:
        logger.info("page %d: no time left to read again what the page layout dropped", job.index + 1)
        return words
    found = [w for w in dropped_ink.on_the_page(read, patches, tops, dropped_ink.sheet_gap(patches))
             if w[5] >= RELIABLE_WORD_CONFIDENCE]
    answered = [p for p in patches if any(p.holds(w) for w in found)]
    kept = [w for w in words if w[5] >= RELIABLE_WORD_CONFIDENCE or not any(p.holds(w) for p in answered)]
    return kept + found


# A German "ü" that tesseract read as "ii" on a coarse scan ("fiir", "Priifung", "Ingenieurbiiro",
# "Diisseldorf"): German writes next to no word with "ii" between two letters.
_II_FOR_U_UMLAUT = re.compile(r"(?<=[^\W\d_])ii(?=[^\W\d_])")
_WORD_OF_LETTERS = re.compile(r"[^\W\d_]+[.,:;]?")


def mend_umlauts(words: list[Word], language: str) -> list[Word]:
    """``words`` of a page in ``language`` with the "ü" tesseract read as "ii" put back (German
    pages only, words of letters only: no number, code or IBAN is touched)."""
    if language != "deu":
        return words
    return [(_II_FOR_U_UMLAUT.sub("ü", w[0]), *w[1:]) if "ii" in w[0] and _WORD_OF_LETTERS.fullmatch(w[0]) else w
            for w in words]


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
            context.set_forkserver_preload(["tasks.reading.ocr"])
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
    try:
        futures: list[Future[OcrPage]] = [_pool_for(worker_count(workers)).submit(read_page, job) for job in jobs]
    except BrokenProcessPool:  # a worker died while the pool stood idle: start a new one
        shutdown_pool()
        futures = [_pool_for(worker_count(workers)).submit(read_page, job) for job in jobs]
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
    if any(isinstance(f.exception(), BrokenProcessPool) for f in futures if f.done() and not f.cancelled()):
        shutdown_pool()  # a pool whose worker died takes no more work: the next document gets a new one
    return results
