"""The process's Prometheus metrics, and the O(1) helpers hot paths call to move them.

Counters and histograms live in prometheus_client's default registry. Under uvicorn
workers, `PROMETHEUS_MULTIPROC_DIR` (read by prometheus_client when it is imported)
makes every worker write its samples to that directory, and a scrape of any worker
aggregates them all (see `process_metrics_text`). Gauges that describe the cloud
rather than the process (queue depths, instances, services, capacity) are read at
scrape time instead: see observability/snapshot.py.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# A uvicorn worker of novalite.asgi (service.api_workers > 1) with no directory given:
# share one per parent process, chosen before prometheus_client is imported (it reads
# the variable at import), so any worker's /metrics sums all of its siblings.
if "NOVALITE_ASGI_ROLES" in os.environ and MULTIPROC_ENV not in os.environ:
    _shared = Path(tempfile.gettempdir()) / f"novalite-metrics-{os.getppid()}"
    _shared.mkdir(exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(_shared)

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector  # noqa: E402

# Builds take seconds to minutes (image copies on real hosts), API calls milliseconds.
_BUILD_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, float("inf"))
_FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf"))

API_REQUEST_DURATION = Histogram(
    "novalite_api_request_duration_seconds",
    "Time from a request's arrival to its response headers, by API service and route template.",
    ["service", "route", "method", "status"], buckets=_FAST_BUCKETS,
)
BUS_MESSAGES = Counter(
    "novalite_bus_messages", "Bus messages by topic, kind (cast, call, reply, fanout) and direction.",
    ["topic", "kind", "direction"],
)
BUS_CALL_TIMEOUTS = Counter("novalite_bus_call_timeouts", "Calls that got no reply in time, by topic.",
                            ["topic"])
BUILD_DURATION = Histogram(
    "novalite_build_duration_seconds", "From POST /servers to the build's end, by outcome.",
    ["outcome"], buckets=_BUILD_BUCKETS,
)
SCHEDULER_DECISION = Histogram("novalite_scheduler_decision_seconds",
                               "Time the scheduler takes to pick and claim hosts for one request.",
                               buckets=_FAST_BUCKETS)
PLACEMENT_CLAIM_CONFLICTS = Counter(
    "novalite_placement_claim_conflicts",
    "Claims placement refused with placement.concurrent_update (another scheduler won the race).",
)
EVENTS_PUBLISHED = Counter("novalite_events_published", "Events published to the live stream, by kind.",
                           ["kind"])
EVENTS_DROPPED = Counter(
    "novalite_events_dropped",
    "Events not delivered: 'subscriber' (a slow client's buffer was full) or 'outbound' (the bus sender lagged).",
    ["reason"],
)


class _Switch:
    """`[metrics] enabled`: the benchmark's off position. One attribute read per hot-path call."""

    on = True


switch = _Switch()


# labels() takes a lock and builds a key on every call; the bound children are reused.
_message_children: dict[tuple[str, str, str], Counter] = {}


def count_message(topic: str, kind: str, direction: str) -> None:
    if switch.on:
        key = (topic, kind, direction)
        child = _message_children.get(key)
        if child is None:
            child = _message_children[key] = BUS_MESSAGES.labels(topic, kind, direction)
        child.inc()


def count_call_timeout(topic: str) -> None:
    if switch.on:
        BUS_CALL_TIMEOUTS.labels(topic).inc()


def observe_build(outcome: str, created_at: dt.datetime | None) -> None:
    """A build ended (ACTIVE, ERROR or rescheduled); `created_at` is the server's, naive UTC."""
    if switch.on and created_at is not None:
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        BUILD_DURATION.labels(outcome).observe(max((now - created_at.replace(tzinfo=None)).total_seconds(), 0.0))


def observe_decision(seconds: float) -> None:
    if switch.on:
        SCHEDULER_DECISION.observe(seconds)


def count_claim_conflict(exc: Exception) -> None:
    if switch.on and getattr(exc, "is_concurrent_update", False):
        PLACEMENT_CLAIM_CONFLICTS.inc()


def process_metrics_text() -> bytes:
    """This process's counters and histograms, or every worker's under multiprocess mode."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=path)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
