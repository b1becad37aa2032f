import threading

import pytest

from tasks.workbook.writer import batch_writer


def test_writes_run_in_order_in_one_thread_and_are_done_when_the_block_ends():
    done: list[tuple[int, str]] = []
    with batch_writer("the session", threaded=True) as writer:
        for number in range(5):
            writer.submit(lambda session, n=number: done.append((n, threading.current_thread().name)))
    assert [n for n, _ in done] == list(range(5))
    assert {name for _, name in done} != {threading.current_thread().name}


def test_a_failed_write_is_raised_to_the_importer():
    def failing(session):
        raise ValueError("duplicate key")

    with pytest.raises(ValueError, match="duplicate key"):
        with batch_writer("the session", threaded=True) as writer:
            writer.submit(failing)
            writer.submit(lambda session: None)


def test_an_error_in_the_importer_lets_the_write_in_flight_end_first():
    finished = threading.Event()
    started = threading.Event()

    def slow(session):
        started.set()
        finished.wait(0.2)
        finished.set()

    with pytest.raises(RuntimeError, match="reading failed"):
        with batch_writer("the session", threaded=True) as writer:
            writer.submit(slow)
            started.wait(1)
            raise RuntimeError("reading failed")
    assert finished.is_set()


def test_without_a_thread_each_write_runs_at_once():
    done = []
    with batch_writer("the session", threaded=False) as writer:
        writer.submit(done.append)
        assert done == ["the session"]
