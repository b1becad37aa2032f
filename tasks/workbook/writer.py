"""Where the workbook import's bulk writes run: on the import's own session and transaction,
either at once or, on PostgreSQL, in a second thread.

PostgreSQL checks the foreign keys of a COPY after its last row, while the client waits. With
the writes in a thread, that wait overlaps with reading, looking up and preparing the next
batch (Python gives up the GIL while it waits for the server). The batch after that waits for
the one in flight, so at most two batches are in memory. The lookups of the next batch then
use a connection of their own: what they look for (invoice keys and workbook rows this import
has not written) is never among the rows in flight, so they need not see them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from sqlalchemy.orm import Session

Write = Callable[[Session], None]


class InlineWriter:
    """Runs each write at once."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def submit(self, write: Write) -> None:
        write(self.session)

    def wait(self) -> None:
        return None


class ThreadWriter:
    """Runs writes in order in one thread; ``submit`` waits while an earlier write is running."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbook-writes")
        self._running: Future[None] | None = None

    def submit(self, write: Write) -> None:
        self.wait()
        self._running = self._thread.submit(write, self.session)

    def wait(self) -> None:
        """Wait for the write in flight; its error is raised here."""
        running, self._running = self._running, None
        if running is not None:
            running.result()

    def close(self) -> None:
        """Wait for the write in flight (its error is raised here) and stop the thread."""
        try:
            self.wait()
        finally:
            self._thread.shutdown(wait=True)

    def settle(self) -> None:
        """Let the write in flight end, whatever its outcome (before the transaction is rolled back)."""
        self._thread.shutdown(wait=True)


@contextmanager
def batch_writer(session: Session, threaded: bool) -> Iterator[InlineWriter | ThreadWriter]:
    """A writer for ``session``; every write has finished (or failed) when the block is left."""
    if not threaded:
        yield InlineWriter(session)
        return
    writer = ThreadWriter(session)
    try:
        yield writer
    except BaseException:
        writer.settle()
        raise
    writer.close()
