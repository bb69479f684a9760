"""Make competitors really compete: threads released together by one barrier, every failure collected."""

from __future__ import annotations

import threading
from collections.abc import Callable


def race(threads: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run work(0) … work(threads-1) at once; the errors they raised (an empty list when none did)."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            work(n)
        except BaseException as exc:  # collected: the test shows every failure, not just the first
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors
