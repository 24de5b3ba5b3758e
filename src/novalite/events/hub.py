"""The API process's side of the stream: numbers events, keeps recent history, and hands
each to the subscriptions that may see it, without ever waiting for a slow one.

With many clients the fan-out is the stream's whole cost, so per event and subscriber
it is one list append: the event is encoded once (every subscriber shares the bytes),
and its subscriptions are found by a few index lookups rather than by asking each one.
Clients are woken once per flush interval, not once per event, and each then writes
everything that came since its last write in one chunk.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from typing import Awaitable, Callable, Iterator

from novalite.events.model import Event, EventFilter, Gap, IndexKey, event_keys
from novalite.observability import metrics

LOG = logging.getLogger(__name__)

ProjectResolver = Callable[[str], Awaitable[str | None]]

_DROPPED = metrics.EVENTS_DROPPED.labels("subscriber")  # bound once: a slow client drops many

# How long a burst may gather before its subscribers are woken: a boot makes several
# events within milliseconds, and wake-ups and writes are what each subscriber costs.
# Under any load a subscriber is then written to at most ten times a second, whatever
# the rate of events: a hundred followers cost at most a thousand wake-ups and sends a second.
FLUSH_INTERVAL = 0.1


class Subscription:
    """A bounded buffer of encoded records. When full it stops taking events until the
    client has drained it and been told, by one gap record, how many it missed: the gap
    sits exactly where they were."""

    def __init__(self, hub: "EventHub", view: EventFilter, size: int):
        self.hub, self.view, self.size = hub, view, size
        self.pending: list[bytes] = []
        self.replayed = 0
        self.missed = 0
        self.first_missed: int | None = None
        self.last_missed: int | None = None
        self.idle = True  # nothing written since the hub's last keep-alive tick
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, event_id: int, record: bytes) -> None:
        if self.missed or len(self.pending) >= self.size:
            if not self.missed:
                self.first_missed = event_id
            self.missed += 1
            self.last_missed = event_id
            _DROPPED.inc()
        else:
            self.pending.append(record)

    def has_pending(self) -> bool:
        return bool(self.pending or self.missed)

    def take(self) -> bytes:
        """Everything waiting, in order, as one chunk; the gap (if any) comes last."""
        self.idle = False
        chunk = b"".join(self.pending)
        self.pending = []
        if self.missed:
            chunk += Gap(missed=self.missed, first_id=self.first_missed, last_id=self.last_missed).sse_record()
            self.missed, self.first_missed, self.last_missed = 0, None, None
        return chunk

    async def wait(self) -> bool:
        """Until the hub flushes events to this subscription (True), or a keep-alive is due
        (False). Returns at once if events are already waiting."""
        if self.has_pending():
            return True
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        return self.has_pending()

    def wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def close(self) -> None:
        self.hub.unsubscribe(self)


class EventHub:
    def __init__(self, subscriber_buffer: int, history: int, resolve_project: ProjectResolver | None = None,
                 keepalive: float = 15.0):
        self.subscriber_buffer, self.keepalive = subscriber_buffer, keepalive
        self.history: deque[tuple[Event, bytes | None]] = deque(maxlen=max(history, 1))
        self.keep_history = history > 0
        self.subscriptions: set[Subscription] = set()
        self._index: dict[IndexKey, list[Subscription]] = {}
        self.inbox: asyncio.Queue[Event] = asyncio.Queue(100000)
        self.resolve_project = resolve_project
        self._projects: OrderedDict[str, str] = OrderedDict()
        self.last_id = 0
        self.tasks: list[asyncio.Task[None]] = []
        self._flush: asyncio.TimerHandle | None = None

    @property
    def subscriber_count(self) -> int:
        return len(self.subscriptions)

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._distribute()), asyncio.create_task(self._keep_alive())]

    async def stop(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def submit(self, event: Event) -> None:
        try:
            self.inbox.put_nowait(event)
        except asyncio.QueueFull:
            metrics.EVENTS_DROPPED.labels("hub").inc()

    async def _project_of(self, server_id: str) -> str | None:
        project = self._projects.get(server_id)
        if project is None and self.resolve_project is not None:
            try:
                project = await self.resolve_project(server_id)
            except Exception as exc:  # an unresolvable event is shown to admins only
                LOG.warning("event stream: no project for server %s: %s", server_id, exc)
            if project is not None:
                self._remember(server_id, project)
        return project

    def _remember(self, server_id: str, project_id: str) -> None:
        self._projects[server_id] = project_id
        if len(self._projects) > 100000:
            self._projects.popitem(last=False)

    async def _distribute(self) -> None:
        while True:
            event = await self.inbox.get()
            if event.server_id is not None:
                if event.project_id is None:
                    event.project_id = await self._project_of(event.server_id)
                else:
                    self._remember(event.server_id, event.project_id)
            self.last_id += 1
            event.id = self.last_id
            record: bytes | None = None
            for subscription in self.subscribers_of(event):
                if record is None:  # encoded once, and only if someone will be sent it
                    record = event.sse_record()
                subscription.offer(event.id, record)
            if self.keep_history:
                self.history.append((event, record))
            if record is not None and self._flush is None:
                self._flush = asyncio.get_running_loop().call_later(FLUSH_INTERVAL, self._wake_subscribers)

    def subscribers_of(self, event: Event) -> Iterator[Subscription]:
        """The subscriptions that may see `event`, each once, found through the index."""
        for key in event_keys(event):
            yield from self._index.get(key, ())

    def _wake_subscribers(self) -> None:
        self._flush = None
        for subscription in self.subscriptions:
            if subscription.has_pending():
                subscription.wake()

    async def _keep_alive(self) -> None:
        """One timer for every subscription (a timeout per wait would cost a timer per
        write): a stream that wrote nothing for a whole interval is woken for a keep-alive."""
        while True:
            await asyncio.sleep(self.keepalive)
            for subscription in self.subscriptions:
                if subscription.idle:
                    subscription.wake()
                subscription.idle = True

    def subscribe(self, view: EventFilter, last_event_id: int | None = None) -> Subscription:
        """A new subscription; with `last_event_id`, first the history after it (or a gap)."""
        subscription = Subscription(self, view, self.subscriber_buffer)
        if last_event_id is not None:
            if last_event_id > self.last_id:
                # Not an id of this process's stream (another worker, or a restart).
                subscription.pending.append(Gap(missed=None).sse_record())
            else:
                oldest = self.history[0][0].id if self.keep_history and self.history else self.last_id + 1
                if last_event_id + 1 < oldest:  # at most this many; some may not have matched
                    subscription.pending.append(Gap(missed=oldest - last_event_id - 1, first_id=last_event_id + 1,
                                                    last_id=oldest - 1).sse_record())
                before = len(subscription.pending)
                for event, record in self.history:
                    if event.id > last_event_id and view.matches(event):
                        subscription.offer(event.id, record or event.sse_record())
                subscription.replayed = len(subscription.pending) - before
        self.subscriptions.add(subscription)
        for key in view.index_keys():
            self._index.setdefault(key, []).append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription not in self.subscriptions:
            return
        self.subscriptions.discard(subscription)
        for key in subscription.view.index_keys():
            filed = self._index[key]
            filed.remove(subscription)
            if not filed:
                del self._index[key]
