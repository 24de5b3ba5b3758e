"""`novalite status`: services per cell, queues, builds and capacity, from the cloud's APIs and /metrics."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import typer
from rich.console import Console
from rich.table import Table

from novalite.cli.app import app
from novalite.cli.remote import Remote, TokenOption, UrlOption

Samples = dict[str, list[tuple[dict[str, str], float]]]


def _age(timestamp: str | None, now: dt.datetime) -> float | None:
    if not timestamp:
        return None
    when = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return (now - when).total_seconds()


def _services_table(remote: Remote, samples: Samples, now: dt.datetime) -> Table:
    cells = {(labels["host"], labels["binary"]): labels["cell"] for labels, _ in samples.get("novalite_service_up", [])}
    beats = {(labels["host"], labels["binary"]): value
             for labels, value in samples.get("novalite_service_last_heartbeat_timestamp_seconds", [])}
    table = Table(title="Services")
    for column in ("cell", "binary", "host", "zone", "state", "status", "disabled reason", "last heartbeat"):
        table.add_column(column)
    rows = []
    for service in remote.get("/compute/v2.1/os-services")["services"]:
        key = (service["host"], service["binary"])
        beat = beats.get(key)
        heard = "never" if beat is None else f"{now.timestamp() - beat:.0f}s ago"
        rows.append((cells.get(key, "?"), service["binary"], service["host"], service.get("zone", ""),
                     service["state"], service["status"], service.get("disabled_reason") or "", heard))
    for row in sorted(rows):
        style = "red" if row[4] == "down" else ("yellow" if row[5] == "disabled" else None)
        table.add_row(*row, style=style)
    return table


def _queues_table(samples: Samples) -> Table:
    table = Table(title="Bus queues")
    table.add_column("topic")
    table.add_column("waiting", justify="right")
    for labels, value in sorted(samples.get("novalite_bus_queue_depth", []), key=lambda s: s[0]["topic"]):
        table.add_row(labels["topic"], f"{value:.0f}", style="yellow" if value else None)
    return table


def _builds_table(remote: Remote, samples: Samples, now: dt.datetime) -> tuple[Table, int]:
    timeout = next((v for _, v in samples.get("novalite_build_timeout_seconds", [])), 600.0)
    table = Table(title=f"Builds in progress (stuck after {timeout:g}s)")
    for column in ("server", "name", "project", "host", "task state", "age", "unchanged for", ""):
        table.add_column(column)
    stuck = 0
    servers = remote.get("/compute/v2.1/servers/detail", all_tenants="1", status="BUILD")["servers"]
    for server in sorted(servers, key=lambda s: s.get("created", "")):
        age = _age(server.get("created"), now) or 0.0
        # As the conductor judges it: stuck is silent (nothing changed) for longer than the timeout.
        silent = _age(server.get("updated") or server.get("created"), now) or 0.0
        is_stuck = silent > timeout
        stuck += is_stuck
        table.add_row(server["id"], server.get("name", ""), server.get("tenant_id", ""),
                      server.get("OS-EXT-SRV-ATTR:host") or "", server.get("OS-EXT-STS:task_state") or "",
                      f"{age:.0f}s", f"{silent:.0f}s", "STUCK" if is_stuck else "",
                      style="red" if is_stuck else None)
    return table, stuck


def _capacity_table(remote: Remote, placement: Remote) -> Table:
    """Placement inventories and usages per provider, summed per availability zone."""
    zones: dict[str, str] = {}
    for zone in remote.get("/compute/v2.1/os-availability-zone/detail")["availabilityZoneInfo"]:
        for host, services in (zone.get("hosts") or {}).items():
            if "nova-compute" in services:
                zones[host] = zone["zoneName"]
    capacity: dict[tuple[str, str], float] = defaultdict(float)
    used: dict[tuple[str, str], float] = defaultdict(float)
    for provider in placement.get("/resource_providers")["resource_providers"]:
        zone = zones.get(provider["name"], "(no zone)")
        inventories = placement.get(f"/resource_providers/{provider['uuid']}/inventories")["inventories"]
        usages = placement.get(f"/resource_providers/{provider['uuid']}/usages")["usages"]
        for rc, inv in inventories.items():
            capacity[zone, rc] += (inv["total"] - inv.get("reserved", 0)) * inv.get("allocation_ratio", 1.0)
            used[zone, rc] += usages.get(rc, 0)
    table = Table(title="Capacity per availability zone (placement)")
    for column in ("zone", "resource class", "used", "capacity", "used %"):
        table.add_column(column, justify="right" if column not in ("zone", "resource class") else "left")
    for zone, rc in sorted(capacity):
        cap, use = capacity[zone, rc], used[zone, rc]
        table.add_row(zone, rc, f"{use:g}", f"{cap:g}", f"{100 * use / cap:.0f}%" if cap else "-")
    return table


@app.command("status")
def status(url: str = UrlOption, token: str = TokenOption,
           placement_url: str = typer.Option(
               "", "--placement-url", envvar="NOVALITE_PLACEMENT_URL",
               help="The Placement endpoint, e.g. http://host:8778/placement in a split deployment; "
                    "default the API's /placement.")) -> None:
    """The cloud at a glance: services, queues, builds (and stuck ones), capacity per zone."""
    remote = Remote(url, token)
    placement = Remote(placement_url or f"{url.rstrip('/')}/placement", token)
    console = Console(highlight=False, width=max(Console().width, 140))
    now = dt.datetime.now(dt.timezone.utc)
    try:
        samples = remote.metrics()
        console.print(_services_table(remote, samples, now))
        console.print(_queues_table(samples))
        builds, stuck = _builds_table(remote, samples, now)
        console.print(builds)
        console.print(_capacity_table(remote, placement))
    finally:
        remote.close()
        placement.close()
    if stuck:
        console.print(f"[red]{stuck} build(s) stuck[/]")
