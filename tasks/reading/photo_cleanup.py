"""Cleaning up a photo or scan of paper that tesseract read poorly: the paper cut out of what lies
around it (a receipt scanned on a dark table, a phone photo with the desk in it), the coloured
print under the text (a shop's watermark, a tinted box) and uneven light flattened away.

Only for pages that read poorly, and only kept where the cleaned page reads better
(``tasks.reading.ocr``): a clean page is never changed.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

# A pixel brighter than this (0..255) is paper; a column or row holding more than this share of
# the paper the brightest one holds is on the sheet.
_PAPER = 185
_PAPER_SHARE = 0.55
# The paper must leave out at least this share of the width or height to be worth cutting out.
_WORTH_CUTTING = 0.12


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """(start, end) of the longest run of True in ``mask``."""
    best, start = (0, 0), None
    for index, value in enumerate([*mask.tolist(), False]):
        if value and start is None:
            start = index
        elif not value and start is not None:
            if index - start > best[1] - best[0]:
                best = (start, index)
            start = None
    return best


def paper_box(gray: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the sheet of paper in a grey image, or None when the paper
    fills the image (or no sheet stands out)."""
    bright = gray >= _PAPER
    height, width = gray.shape
    columns = bright.mean(axis=0)
    if columns.max() < 0.3:
        return None
    left, right = _longest_run(columns >= _PAPER_SHARE * columns.max())
    if right - left < width * 0.15:
        return None
    rows = bright[:, left:right].mean(axis=1)
    top, bottom = _longest_run(rows >= _PAPER_SHARE * rows.max())
    if bottom - top < height * 0.15:
        return None
    if (right - left) > width * (1 - _WORTH_CUTTING) and (bottom - top) > height * (1 - _WORTH_CUTTING):
        return None
    margin = max(4, int(0.01 * max(width, height)))
    return max(0, left - margin), max(0, top - margin), min(width, right + margin), min(height, bottom + margin)


def flattened(rgb: np.ndarray) -> np.ndarray:
    """A grey image where coloured print is light: each pixel's brightest channel (a light blue
    watermark or a pink box turns near-white, black text stays black), then the page's uneven
    light divided out (the background estimated by a wide blur)."""
    from PIL import Image, ImageFilter

    gray = rgb.max(axis=2) if rgb.ndim == 3 else rgb
    image = Image.fromarray(gray.astype(np.uint8))
    radius = max(8, min(image.size) // 30)
    background = np.asarray(image.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.GaussianBlur(radius)),
                            dtype=np.float32)
    even = np.clip(gray.astype(np.float32) / np.maximum(background, 1.0) * 255.0, 0, 255)
    return even.astype(np.uint8)


def cleaned_page(path: str, folder: str) -> str:
    """The page at ``path`` cut to its paper and flattened, written beside it in ``folder``."""
    from PIL import Image

    with Image.open(path) as image:
        rgb: Any = np.asarray(image.convert("RGB"))
    gray = rgb.mean(axis=2)
    box = paper_box(gray)
    if box is not None:
        left, top, right, bottom = box
        rgb = rgb[top:bottom, left:right]
    target = os.path.join(folder, "cleaned.png")
    Image.fromarray(flattened(rgb)).save(target)
    return target
