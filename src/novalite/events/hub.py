"""The API process's side of the stream: numbers events, keeps recent history, and hands
each to the subscriptions that may see it, without ever waiting for a slow one."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from typing import Awaitable, Callable

from novalite.events.model import Event, EventFilter, Gap
from novalite.observability import metrics

LOG = logging.getLogger(__name__)

ProjectResolver = Callable[[str], Awaitable[str | None]]


class Subscription:
    """A bounded buffer. When full it stops taking events until the client has drained it
    and been told, by one Gap, how many it missed: the gap sits exactly where they were."""

    def __init__(self, hub: "EventHub", view: EventFilter, size: int):
        self.hub, self.view, self.size = hub, view, size
        self.buffer: deque[Event | Gap] = deque()
        self.missed = 0
        self.first_missed: int | None = None
        self.last_missed: int | None = None
        self.wakeup = asyncio.Event()

    def offer(self, event: Event) -> None:
        if self.missed or len(self.buffer) >= self.size:
            self.missed += 1
            self.first_missed = self.first_missed or event.id
            self.last_missed = event.id
            metrics.EVENTS_DROPPED.labels("subscriber").inc()
        else:
            self.buffer.append(event)
        self.wakeup.set()

    async def next(self, timeout: float) -> Event | Gap | None:
        """The next event or gap; None if nothing came within `timeout` (time for a keep-alive)."""
        if not self.buffer and not self.missed:
            self.wakeup.clear()
            try:
                async with asyncio.timeout(timeout):  # no extra task per wait, unlike wait_for
                    await self.wakeup.wait()
            except TimeoutError:
                return None
        if self.buffer:
            return self.buffer.popleft()
        gap = Gap(missed=self.missed, first_id=self.first_missed, last_id=self.last_missed)
        self.missed, self.first_missed, self.last_missed = 0, None, None
        return gap

    def drain(self, limit: int) -> list[Event | Gap]:
        """What is already buffered (up to `limit`), without waiting: one write for a burst."""
        items: list[Event | Gap] = []
        while self.buffer and len(items) < limit:
            items.append(self.buffer.popleft())
        if self.missed and not self.buffer and len(items) < limit:
            items.append(Gap(missed=self.missed, first_id=self.first_missed, last_id=self.last_missed))
            self.missed, self.first_missed, self.last_missed = 0, None, None
        return items

    def close(self) -> None:
        self.hub.subscriptions.discard(self)


class EventHub:
    def __init__(self, subscriber_buffer: int, history: int, resolve_project: ProjectResolver | None = None):
        self.subscriber_buffer = subscriber_buffer
        self.history: deque[Event] = deque(maxlen=max(history, 1))
        self.keep_history = history > 0
        self.subscriptions: set[Subscription] = set()
        self.inbox: asyncio.Queue[Event] = asyncio.Queue(100000)
        self.resolve_project = resolve_project
        self._projects: OrderedDict[str, str] = OrderedDict()
        self.last_id = 0
        self.task: asyncio.Task[None] | None = None

    @property
    def subscriber_count(self) -> int:
        return len(self.subscriptions)

    def start(self) -> None:
        self.task = asyncio.create_task(self._distribute())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

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
            if self.keep_history:
                self.history.append(event)
            for subscription in list(self.subscriptions):
                if subscription.view.matches(event):
                    subscription.offer(event)

    def subscribe(self, view: EventFilter, last_event_id: int | None = None) -> Subscription:
        """A new subscription; with `last_event_id`, first the history after it (or a Gap)."""
        subscription = Subscription(self, view, self.subscriber_buffer)
        if last_event_id is not None:
            if last_event_id > self.last_id:
                # Not an id of this process's stream (another worker, or a restart).
                subscription.buffer.append(Gap(missed=None))
            else:
                oldest = self.history[0].id if self.keep_history and self.history else self.last_id + 1
                if last_event_id + 1 < oldest:  # at most this many; some may not have matched
                    subscription.buffer.append(Gap(missed=oldest - last_event_id - 1,
                                                   first_id=last_event_id + 1, last_id=oldest - 1))
                for event in self.history:
                    if event.id > last_event_id and view.matches(event):
                        subscription.offer(event)
        self.subscriptions.add(subscription)
        return subscription
