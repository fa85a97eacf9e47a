"""Independent Spark work submitted from driver threads.

On a small shop most Spark jobs are a handful of tasks whose time is scheduling, Delta log
reads and commits, so one job at a time leaves cores idle. Jobs submitted from several
threads of the driver share the session and run side by side (Spark's scheduler is
thread-safe); this is how ``features`` writes its tables and ``ingest`` reads and writes its
entities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_in_threads(fn: Callable[[T], R], items: Iterable[T], workers: int, name: str) -> list[R]:
    """``[fn(x) for x in items]`` with up to ``workers`` calls at once.

    Args:
        fn: Called once per item, from a worker thread when ``workers > 1``.
        items: The inputs; results come back in their order.
        workers: Most calls at once (1: in this thread, one after the other).
        name: Prefix of the worker threads' names (shown in thread dumps).

    Returns:
        The results in the order of ``items``.

    Raises:
        Exception: the first failure in the order of ``items`` (calls not yet started are
        cancelled; running ones finish first).
    """
    todo = list(items)
    if workers <= 1 or len(todo) <= 1:
        return [fn(x) for x in todo]
    pool = ThreadPoolExecutor(max_workers=min(workers, len(todo)), thread_name_prefix=name)
    try:
        futures = [pool.submit(fn, x) for x in todo]
        return [f.result() for f in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
