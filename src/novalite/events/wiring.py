"""Starting the stream's parts for the roles of one process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from novalite.bus.base import Consumer
from novalite.context import RequestContext
from novalite.events import publisher
from novalite.events.hub import EventHub
from novalite.events.model import Event
from novalite.events.monitor import ServiceMonitor
from novalite.events.stream import server_project

if TYPE_CHECKING:
    from novalite.runtime import Runtime


class _BusEndpoint:
    """Served on the `events` fanout by API processes of the split shape."""

    def __init__(self, hub: EventHub):
        self.hub = hub

    async def event(self, ctx: RequestContext, event: dict[str, Any]) -> None:
        self.hub.submit(Event.model_validate(event))


class EventsRuntime:
    """What one process runs for the stream: a hub and monitor if it serves the API, and
    a sink for the events its own work makes (the hub itself in the all-in-one shape)."""

    def __init__(self) -> None:
        self.hub: EventHub | None = None
        self.monitor: ServiceMonitor | None = None
        self.sink: publisher.Sink | None = None
        self.consumer: Consumer | None = None

    async def start(self, runtime: "Runtime", roles: set[str]) -> None:
        settings = runtime.settings.events
        if "api" in roles:
            self.hub = EventHub(settings.subscriber_buffer, settings.history,
                                lambda server_id: server_project(runtime, server_id), settings.keepalive)
            self.hub.start()
            runtime.extras["events"] = self.hub
            self.monitor = ServiceMonitor(runtime, self.hub)
            self.monitor.start()
        if runtime.settings.bus.transport_url.startswith("memory:"):
            self.sink = self.hub  # one process holds the whole cloud
        else:
            self.sink = publisher.BusSink(runtime.bus)
            if self.hub is not None:
                self.consumer = await runtime.bus.serve(publisher.TOPIC, _BusEndpoint(self.hub))
        publisher.install(self.sink)

    async def stop(self) -> None:
        publisher.uninstall(self.sink)
        if self.consumer is not None:
            await self.consumer.stop()
        if isinstance(self.sink, publisher.BusSink):
            await self.sink.stop()
        for part in (self.monitor, self.hub):
            if part is not None:
                await part.stop()
