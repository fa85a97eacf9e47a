"""lakecart.threads: results in input order, the first failure in input order re-raised."""

from __future__ import annotations

import threading
import time

import pytest

from lakecart.threads import map_in_threads


def test_results_keep_the_input_order_and_calls_overlap():
    running, most = 0, 0
    lock = threading.Lock()

    def slow_square(x: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05 * (5 - x))  # later items finish first
        with lock:
            running -= 1
        return x * x

    assert map_in_threads(slow_square, range(5), 3, "t") == [0, 1, 4, 9, 16]
    assert most == 3


def test_one_worker_runs_in_the_calling_thread():
    me = threading.get_ident()
    assert map_in_threads(lambda _: threading.get_ident(), [1, 2, 3], 1, "t") == [me] * 3
    assert map_in_threads(lambda _: threading.get_ident(), [], 4, "t") == []


def test_the_first_failure_in_input_order_is_raised():
    def fail_on_odd(x: int) -> int:
        if x % 2:
            time.sleep(0.1 if x == 1 else 0.0)  # item 3 fails first in time
            raise ValueError(f"item {x}")
        return x

    with pytest.raises(ValueError, match="item 1"):
        map_in_threads(fail_on_odd, [0, 1, 2, 3], 4, "t")
