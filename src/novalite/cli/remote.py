"""What `novalite status` and `novalite events` share: the cloud's HTTP APIs, never its databases."""

from __future__ import annotations

import json
from typing import Any, Iterator

import httpx
import typer
from prometheus_client.parser import text_string_to_metric_families

UrlOption = typer.Option("http://127.0.0.1:8774", "--url", envvar="NOVALITE_URL",
                         help="The cloud's API endpoint (the all-in-one port, or the API of a split deployment).")
TokenOption = typer.Option("admin:admin", "--token", envvar="OS_TOKEN",
                           help="X-Auth-Token: an Identity token, or 'user:project' under noauth2.")


class Remote:
    """An httpx client on the cloud's endpoint that says, in one line, why a call failed."""

    def __init__(self, url: str, token: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, timeout=timeout, headers={
            "X-Auth-Token": token, "OpenStack-API-Version": "compute 2.100"})

    def get(self, path: str, **params: Any) -> Any:
        try:
            response = self.client.get(path, params=params or None)
        except httpx.HTTPError as exc:
            raise typer.Exit(_fail(f"cannot reach {self.url}{path}: {exc}")) from None
        if response.status_code >= 400:
            raise typer.Exit(_fail(f"GET {path} answered {response.status_code}: {response.text[:300]}"))
        return response.json() if "json" in response.headers.get("content-type", "") else response.text

    def metrics(self, path: str = "/metrics") -> dict[str, list[tuple[dict[str, str], float]]]:
        """Samples by name (`novalite_bus_queue_depth` -> [(labels, value), ...])."""
        samples: dict[str, list[tuple[dict[str, str], float]]] = {}
        for family in text_string_to_metric_families(self.get(path)):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append((sample.labels, sample.value))
        return samples

    def close(self) -> None:
        self.client.close()


def _fail(message: str) -> int:
    typer.echo(f"novalite: {message}", err=True)
    return 1


class SseRecord(dict):  # type: ignore[type-arg]
    """One Server-Sent Events record: `event`, `id` and the decoded `data`."""


def sse_records(lines: Iterator[str]) -> Iterator[SseRecord]:
    """Parse SSE lines; comments (keep-alives) are skipped."""
    record: dict[str, Any] = {}
    data: list[str] = []
    for line in lines:
        if line == "":
            if data or record:
                record["data"] = json.loads("\n".join(data)) if data else None
                yield SseRecord(record)
            record, data = {}, []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data.append(value)
            elif field in ("event", "id"):
                record[field] = value
