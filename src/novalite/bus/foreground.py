"""HTTP first: in a process that answers API requests and also runs services, casts yield
to the API while it is busy.

Nova runs its API in processes of their own, so a burst of builds never slows a
`POST /servers`. The all-in-one shares one event loop between the API and the conductor,
scheduler and computes, and the loop serves ready work in arrival order: without this, an
API request queues behind every build step of every server in flight. Casts are background
work by definition (nobody waits for them), so while requests keep coming they start one
per `[bus] http_priority_cast_interval` seconds (background work never stops), and when the
API pauses they start one per loop turn, so a request arriving meanwhile waits behind a few
steps of background work, not behind a herd of builds woken at once. Calls never wait: a caller, often an API request, is waiting for
their reply.

"Busy" is measured in time, not only by counting requests in progress: most API requests
run start to finish without yielding to the loop, so a count would read zero whenever a
cast looked at it, even in the middle of a burst.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

# Seconds without API activity that end a burst. Clients pause between the answers they
# read and the requests they send next; background work started in those short pauses
# would delay the next requests, so a burst ends only after a longer silence.
QUIET = 0.05


class ForegroundGate:
    """Whether the API is busy, and the queue of casts waiting for their turn."""

    def __init__(self, cast_interval: float):
        self.cast_interval = cast_interval
        self.answering = 0
        self._last_activity = -math.inf
        self._next_slot = -math.inf
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._release: asyncio.Handle | None = None

    def touch(self) -> None:
        """A client sent bytes: a request is on its way, though no handler runs it yet."""
        self._last_activity = asyncio.get_running_loop().time()

    def enter(self) -> None:
        self.answering += 1
        self._last_activity = asyncio.get_running_loop().time()

    def leave(self) -> None:
        self.answering -= 1
        self._last_activity = asyncio.get_running_loop().time()

    def _quiet(self, now: float) -> bool:
        return self.answering == 0 and now - self._last_activity >= QUIET

    async def wait_turn(self) -> None:
        """Return at once when the API is quiet and no cast is queued; otherwise queue."""
        if self.cast_interval <= 0:
            return
        loop = asyncio.get_running_loop()
        if not self._waiters and self._quiet(loop.time()):
            return
        turn = loop.create_future()
        self._waiters.append(turn)
        self._schedule(loop)
        try:
            await turn
        except asyncio.CancelledError:
            if turn in self._waiters:
                self._waiters.remove(turn)
            raise

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._release is not None or not self._waiters:
            return
        now = loop.time()
        if self._quiet(now) or now >= self._next_slot:
            self._release = loop.call_soon(self._release_one)
            return
        # Busy: wake at this cast's slot, or when the burst would end (one timer for all).
        quiet_at = self._last_activity + QUIET if self.answering == 0 else now + QUIET
        self._release = loop.call_at(min(self._next_slot, quiet_at), self._release_one)

    def _release_one(self) -> None:
        self._release = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        quiet = self._quiet(now)
        if quiet or now >= self._next_slot:
            while self._waiters:
                turn = self._waiters.popleft()
                if not turn.done():
                    turn.set_result(None)
                    break
            if not quiet:
                self._next_slot = now + self.cast_interval
        self._schedule(loop)
