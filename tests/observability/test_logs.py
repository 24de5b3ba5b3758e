"""JSON log lines carry the request id of the API call, the instance, the service and the host."""

from __future__ import annotations

import io
import json
import logging

import httpx
from fastapi import FastAPI, Request

from novalite.logs import _ContextFilter, _JsonFormatter
from novalite.observability.http import RequestMetrics
from tests.conftest import client_for
from tests.support.compute import wait_status


async def test_a_failed_builds_log_lines_follow_the_request(cloud_factory, settings_factory):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        cloud = await cloud_factory(settings_factory(fake_driver={"fail_spawn": True},
                                                     compute={"fake_host_count": 1}))
        async with client_for(cloud) as client:
            response = await client.post("/compute/v2.1/servers", json={"server": {
                "name": "vm", "imageRef": "cirros-0.6", "flavorRef": "1", "networks": "none"}})
            server_id, request_id = response.json()["server"]["id"], response.headers["x-openstack-request-id"]
            await wait_status(client, server_id, "ERROR")
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    spawn = [line for line in lines if line["logger"] == "novalite.services.compute.build"]
    assert spawn, lines
    assert spawn[0]["request_id"] == request_id
    assert spawn[0]["instance_uuid"] == server_id
    assert spawn[0]["service"] == "api,compute,conductor,placement,scheduler"
    assert spawn[0]["host"]
    assert {"time", "level", "message"} <= set(spawn[0])


async def test_api_lines_carry_the_request_id_the_api_middleware_chose():
    """The outer middleware shares the request's state with log lines; the compute API's
    middleware writes the request id there (this app stands in for it)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(_JsonFormatter())
    logger = logging.getLogger("novalite.test.api")
    logger.addHandler(handler)
    inner = FastAPI()

    @inner.get("/probe")
    async def probe(request: Request) -> dict[str, str]:
        request.state.request_id = "req-chosen-by-the-api"
        logger.warning("handling")
        return {}

    outer = FastAPI()
    outer.mount("/compute", inner)
    outer.add_middleware(RequestMetrics)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url="http://t") as client:
            assert (await client.get("/compute/probe")).status_code == 200
    finally:
        logger.removeHandler(handler)
    assert json.loads(stream.getvalue().splitlines()[0])["request_id"] == "req-chosen-by-the-api"
