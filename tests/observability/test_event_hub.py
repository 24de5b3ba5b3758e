"""The hub without HTTP: gaps where a slow subscriber missed events, resume from history,
one chunk per flush, and the subscription index agreeing with the filters it stands for."""

from __future__ import annotations

import asyncio
import itertools

from novalite.cli.remote import sse_records
from novalite.events.hub import EventHub
from novalite.events.model import KINDS, Event, EventFilter


def _event(n: int) -> Event:
    return Event(kind="server.state", server_id=f"s{n}", project_id="p", data={"n": n})


def _records(chunk: bytes) -> list[dict]:
    return list(sse_records(iter(chunk.decode().split("\n"))))


def _gap(record: dict) -> dict:
    assert record["event"] == "gap", record
    return record["data"]


async def _publish(hub: EventHub, events: list[Event]) -> None:
    target = hub.last_id + len(events)
    for event in events:
        hub.submit(event)  # synchronous: publishing cannot wait for a subscriber
    for _ in range(100):
        if hub.last_id == target:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"the hub numbered {hub.last_id} events, not {target}")


async def test_a_slow_subscriber_gets_a_gap_where_events_were_dropped_and_never_blocks():
    hub = EventHub(subscriber_buffer=3, history=100)
    hub.start()
    try:
        slow = hub.subscribe(EventFilter(admin=True))
        await _publish(hub, [_event(n) for n in range(10)])
        assert await slow.wait()
        got = _records(slow.take())
        assert [r["data"]["data"]["n"] for r in got[:3]] == [0, 1, 2]
        assert _gap(got[3]) == {"missed": 7, "first_id": 4, "last_id": 10}
        assert len(got) == 4
        await _publish(hub, [_event(10)])
        assert await slow.wait()
        assert [r["data"]["data"]["n"] for r in _records(slow.take())] == [10]
        # Resuming from the last id it saw replays the dropped ones from history.
        resumed = hub.subscribe(EventFilter(admin=True), last_event_id=3)
        replayed = _records(resumed.take())
        assert [r["data"]["data"]["n"] for r in replayed[:3]] == [3, 4, 5]
        assert _gap(replayed[3]) == {"missed": 5, "first_id": 7, "last_id": 11}  # its buffer holds 3
    finally:
        await hub.stop()


async def test_a_last_event_id_older_than_history_starts_with_a_gap():
    hub = EventHub(subscriber_buffer=100, history=2)
    hub.start()
    try:
        await _publish(hub, [_event(n) for n in range(5)])
        resumed = hub.subscribe(EventFilter(admin=True), last_event_id=1)
        assert resumed.replayed == 2
        got = _records(resumed.take())
        assert _gap(got[0]) == {"missed": 2, "first_id": 2, "last_id": 3}
        assert [int(r["id"]) for r in got[1:]] == [4, 5]
        unknown = hub.subscribe(EventFilter(admin=True), last_event_id=99)
        assert [_gap(r) for r in _records(unknown.take())] == [{"missed": None, "first_id": None, "last_id": None}]
    finally:
        await hub.stop()


async def test_a_burst_is_one_chunk_in_order_with_its_gap_last():
    hub = EventHub(subscriber_buffer=2, history=0)
    subscription = hub.subscribe(EventFilter(admin=True))
    for n in range(1, 5):
        event = _event(n)
        event.id = n
        subscription.offer(n, event.sse_record())
    got = _records(subscription.take())
    assert [r.get("id") for r in got] == ["1", "2", None]
    assert _gap(got[2]) == {"missed": 2, "first_id": 3, "last_id": 4}
    assert subscription.take() == b""


async def test_subscribers_are_woken_once_for_a_burst_and_share_its_bytes():
    hub = EventHub(subscriber_buffer=100, history=0, keepalive=0.05)
    hub.start()
    try:
        subscriptions = [hub.subscribe(EventFilter(admin=True)) for _ in range(3)]
        waits = [asyncio.create_task(s.wait()) for s in subscriptions]
        await _publish(hub, [_event(n) for n in range(5)])
        assert await asyncio.gather(*waits) == [True, True, True]
        assert subscriptions[0].pending[0] is subscriptions[1].pending[0]  # encoded once
        chunks = [s.take() for s in subscriptions]
        assert len(set(chunks)) == 1 and len(_records(chunks[0])) == 5
        assert not await asyncio.wait_for(subscriptions[0].wait(), 1.0)  # nothing new: a keep-alive is due
        for subscription in subscriptions:
            subscription.close()
        assert hub.subscriber_count == 0
        assert list(hub.subscribers_of(_event(9))) == []
    finally:
        await hub.stop()


def test_the_index_finds_exactly_the_subscriptions_whose_filter_matches():
    servers, projects = [None, "s1", "s2"], [None, "p1", "p2"]
    kind_sets = [None, *(frozenset(c) for n in (1, 2) for c in itertools.combinations(KINDS.values(), n))]
    views = [EventFilter(admin=admin, server_id=server, project_id=project, kinds=kinds)
             for admin, server, project, kinds in itertools.product([False, True], servers, projects, kind_sets)]
    hub = EventHub(subscriber_buffer=10, history=0)
    subscriptions = [hub.subscribe(view) for view in views]
    for kind, server, project in itertools.product(KINDS.values(), servers, projects):
        event = Event(kind=kind, server_id=server, project_id=project)
        found = list(hub.subscribers_of(event))
        assert len(found) == len(set(found)), event
        assert set(found) == {s for s in subscriptions if s.view.matches(event)}, event
