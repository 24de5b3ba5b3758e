"""Publishing events: after the transaction that made them commits, never blocking.

The process installs one sink at start (bootstrap). Call sites queue events on their
database session; they leave when it commits and vanish when it rolls back, so a
stream never shows a change the database does not have.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from novalite.context import RequestContext
from novalite.events.model import Event
from novalite.observability import metrics

if TYPE_CHECKING:
    from novalite.bus.base import Bus

LOG = logging.getLogger(__name__)

TOPIC = "events"
_PENDING = "novalite_events"


class Sink(Protocol):
    def submit(self, event: Event) -> None:
        """Take the event without waiting; drop it (and count) rather than block."""


class _Installed:
    sink: Sink | None = None


installed = _Installed()


def install(sink: Sink | None) -> None:
    installed.sink = sink


def uninstall(sink: Sink | None) -> None:
    if installed.sink is sink:
        installed.sink = None


def publish(event: Event) -> None:
    sink = installed.sink
    if sink is not None:
        if metrics.switch.on:
            metrics.EVENTS_PUBLISHED.labels(event.kind).inc()
        sink.submit(event)


def after_commit(session: AsyncSession | Session, event: Event) -> None:
    """Queue `event` on the session's transaction (published by _flush_pending)."""
    if installed.sink is not None:
        session.info.setdefault(_PENDING, []).append(event)


@sa_event.listens_for(Session, "after_commit")
def _flush_pending(session: Session) -> None:
    for event in session.info.pop(_PENDING, ()):
        publish(event)


@sa_event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


class BusSink:
    """The split shape: events leave on the bus's `events` fanout, in order, from one task.
    A lagging broker fills the bounded outbox and costs events, never a service's time."""

    def __init__(self, bus: "Bus", size: int = 10000):
        self.bus = bus
        self.outbox: asyncio.Queue[Event] = asyncio.Queue(size)
        self.task = asyncio.create_task(self._send())

    def submit(self, event: Event) -> None:
        try:
            self.outbox.put_nowait(event)
        except asyncio.QueueFull:
            metrics.EVENTS_DROPPED.labels("outbound").inc()

    async def _send(self) -> None:
        ctx = RequestContext.admin()
        while True:
            event = await self.outbox.get()
            try:
                await self.bus.fanout(TOPIC, "event", ctx, event=event.model_dump(mode="json"))
            except Exception as exc:  # a broker hiccup must not end the sender
                metrics.EVENTS_DROPPED.labels("outbound").inc()
                LOG.warning("could not publish a %s event: %s", event.kind, exc)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
