"""Fewer garbage collections while a workbook is imported.

The import makes millions of small dicts, tuples and lists that live for one batch of rows and
are freed by reference counting, not by the cycle collector. With the default threshold (a
young collection every 700 new containers, an old one every 100 young ones) the collector runs
thousands of times, and each old collection walks every object the process holds (every loaded
module's), which cost about a third of the import's CPU time. While any import runs, young
collections wait for THRESHOLD new containers instead; the few cycles made meanwhile are still
collected, only later. The setting is the process's: the first import to start raises it, the
last to end puts back what it was.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLD = 100_000
_lock = threading.Lock()
_running = 0
_previous: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage less often inside the block (see the module's docstring)."""
    global _running, _previous
    with _lock:
        if _running == 0:
            _previous = gc.get_threshold()
            gc.set_threshold(max(THRESHOLD, _previous[0]), *_previous[1:])
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                gc.set_threshold(*_previous)
