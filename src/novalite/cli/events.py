"""`novalite events --follow [--server ID]`: the live event stream, one line per event."""

from __future__ import annotations

from typing import Any

import httpx
import typer
from rich.console import Console

from novalite.cli.app import app
from novalite.cli.remote import Remote, TokenOption, UrlOption, sse_records

_STYLE = {"server.state": "cyan", "server.action": "green", "server.fault": "red", "service.state": "magenta",
          "gap": "bold yellow"}


def describe(kind: str, data: dict[str, Any]) -> str:
    """The event as a person reads it."""
    if kind == "server.state":
        return (f"{data.get('status')} vm_state={data.get('vm_state')} task_state={data.get('task_state')} "
                f"power_state={data.get('power_state')}")
    if kind == "server.action":
        if "action" in data:
            return f"action {data['action']} started"
        result = f" {data['result']}" if data.get("result") else ""
        return f"{data.get('event')} {data.get('phase')}{result}"
    if kind == "server.fault":
        return f"fault {data.get('code')}: {data.get('message')}"
    if kind == "service.state":
        disabled = f" disabled ({data.get('disabled_reason') or 'no reason'})" if data.get("disabled") else ""
        return f"{data.get('binary')} on {data.get('host')} ({data.get('cell')}) is {data.get('state')}{disabled}"
    return str(data)


@app.command("events")
def events(
    url: str = UrlOption,
    token: str = TokenOption,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep following new events (else: recent history)."),
    server: str | None = typer.Option(None, "--server", help="Only this server's events."),
    kind: str | None = typer.Option(None, "--kind", help="Comma-separated: state, action, fault, service."),
    count: int = typer.Option(0, "--count", "-n", help="Stop after this many events (0: no limit)."),
) -> None:
    """Print the cloud's events as they happen (GET /events, Server-Sent Events)."""
    console = Console(highlight=False, soft_wrap=True)
    params = {k: v for k, v in (("server", server), ("kind", kind)) if v}
    remote = Remote(url, token)
    headers = {} if follow else {"Last-Event-ID": "0"}  # without --follow: what the stream still remembers
    seen = 0
    try:
        with remote.client.stream("GET", "/events", params=params, headers=headers,
                                  timeout=httpx.Timeout(10.0, read=None)) as response:
            if response.status_code != 200:
                response.read()
                typer.echo(f"novalite: GET /events answered {response.status_code}: {response.text[:300]}", err=True)
                raise typer.Exit(1)
            replay = None
            for record in sse_records(response.iter_lines()):
                name = record.get("event", "message")
                if name == "ready":
                    replay = record["data"].get("replayed", 0)
                    if not follow and replay == 0:
                        break
                    continue
                data = record.get("data") or {}
                if name == "gap":
                    missed = data.get("missed")
                    line = f"[{_STYLE['gap']}]… missed {missed if missed is not None else 'some'} event(s)[/]"
                else:
                    payload = data.get("data", {})
                    who = data.get("server_id") or "service"
                    line = (f"{data.get('time', '')[11:23]} [{_STYLE.get(name, 'white')}]{name:<14}[/] {who} "
                            f"{describe(name, payload)} [dim]{data.get('request_id') or ''}[/]")
                    seen += 1
                console.print(line)
                if (count and seen >= count) or (not follow and replay is not None and seen >= replay):
                    break
    except httpx.HTTPError as exc:
        typer.echo(f"novalite: the event stream at {url} failed: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass
    finally:
        remote.close()
