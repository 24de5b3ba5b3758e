"""Garbage-collector settings for a long-running service process.

By default CPython's cyclic collector scans every tracked object on a full collection. A
started novalite holds a few hundred thousand of them (modules, SQLAlchemy mappers, pydantic
schemas, FastAPI routes) that live as long as the process, so every full collection during
a burst of boots paused the event loop for 100-250 ms, and with it every API request.
Freezing what exists after start-up takes those objects out of all future scans, and a
larger young generation collects less often; memory stays bounded because cycles are still
collected, only in larger batches.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 5000  # allocations between young collections (CPython's default: 700)


def settle_after_start() -> None:
    """Call once the process has started its services and before it takes requests."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
