"""Hold the cyclic garbage collector off while a large candidate answer is built.

Building a thousand candidates creates tens of thousands of small dicts, lists and
sets that stay alive until the response is written. Each time enough of them survive a
young collection, Python promotes them and, before long, runs a full collection that
walks every object of the process: measured, that doubled or tripled the CPU of a
1,000-candidate query. Nothing built there forms reference cycles, so reference
counting frees all of it once the answer is gone, and the collector never had anything
to find. Pausing it for the length of one query (tens of milliseconds) costs nothing.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

# Queries overlap (they await the database), so the collector stays off until the last
# one ends, and is turned back on only if it was on when the first began.
_active = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _active, _was_enabled
    if _active == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if _active == 0 and _was_enabled:
            gc.enable()
