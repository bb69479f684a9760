"""Garbage-collector settings for a siyu process, applied once when its first Runtime is built.

A 1,000-event batch allocates tens of thousands of short-lived containers (request JSON, validated models, row
dicts). With CPython's default thresholds (700, 10, 10) that triggers a collection every few events, and the
older generations then walk every long-lived object (SQLAlchemy's metadata, the app, the models) again and
again: in `python -m bench ingest` that was over a third of the CPU of the in-process path. Freezing what
startup built moves it out of the collector's sight, and a larger first threshold lets a batch finish between
collections. Memory cost: at most ~50,000 extra container objects awaiting a collection (a few MB).
"""

from __future__ import annotations

import gc
import threading

THRESHOLDS = (50_000, 20, 100)

_lock = threading.Lock()
_done = False


def tune() -> None:
    global _done
    with _lock:
        if _done:
            return
        _done = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(*THRESHOLDS)
