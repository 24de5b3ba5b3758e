"""PlacementClient over HTTP at microversion 1.39 (scaled-out deployments)."""

from __future__ import annotations

from typing import Any

import httpx

from novalite.context import RequestContext
from novalite.service_auth import ServiceAuth, ServiceAuthError
from novalite.services.placement.client import CandidateQuery, PlacementClient, PlacementError
from novalite.services.placement.objects.inventories import with_defaults

VERSION = "placement 1.39"
RETRIES = 10
SERVICE_AUTH_FAILED = "placement.service_auth_failed"  # the service user got no token


class HttpPlacementClient(PlacementClient):
    def __init__(self, base_url: str, auth: ServiceAuth, http: httpx.AsyncClient | None = None):
        self._base = base_url.rstrip("/")
        self._auth = auth
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=30.0)

    async def close(self) -> None:
        await self._auth.close()
        if self._own_http:
            await self._http.aclose()

    async def _call(self, ctx: RequestContext, method: str, path: str, *, json: Any = None,
                    params: list[tuple[str, str]] | None = None, ok: tuple[int, ...] = (200, 201, 204)) -> httpx.Response:
        response = await self._send(ctx, method, path, json, params)
        if response.status_code == 401:
            # A token revoked or expired early: one more try with a fresh one, then it is an error.
            response = await self._send(ctx, method, path, json, params)
        if response.status_code not in ok:
            detail, code = response.text, "placement.undefined_code"
            try:
                error = response.json()["errors"][0]
                detail, code = error.get("detail", detail), error.get("code", code)
            except (ValueError, KeyError, IndexError, TypeError):
                pass
            raise PlacementError(response.status_code, detail, code)
        return response

    async def _send(self, ctx: RequestContext, method: str, path: str, json: Any,
                    params: list[tuple[str, str]] | None) -> httpx.Response:
        try:
            token = await self._auth.token()
        except ServiceAuthError as exc:
            raise PlacementError(401, f"cannot authenticate to placement at {self._base}: {exc}",
                                 SERVICE_AUTH_FAILED) from exc
        headers = {"x-auth-token": token, "openstack-api-version": VERSION,
                   "x-openstack-request-id": ctx.request_id}
        response = await self._http.request(method, self._base + path, json=json, params=params, headers=headers)
        if response.status_code == 401:
            self._auth.invalidate(token)
        return response

    # resource providers -------------------------------------------------
    async def ensure_resource_provider(
        self, ctx: RequestContext, uuid: str, name: str, parent_uuid: str | None = None
    ) -> dict[str, Any]:
        existing = await self.get_resource_provider(ctx, uuid)
        if existing is not None:
            return existing
        body: dict[str, Any] = {"uuid": uuid, "name": name}
        if parent_uuid:
            body["parent_provider_uuid"] = parent_uuid
        try:
            return (await self._call(ctx, "POST", "/resource_providers", json=body)).json()
        except PlacementError as exc:
            # another worker created it first: that is what we wanted
            if exc.status == 409 and (found := await self.get_resource_provider(ctx, uuid)):
                return found
            raise

    async def get_resource_provider(self, ctx: RequestContext, uuid: str) -> dict[str, Any] | None:
        response = await self._call(ctx, "GET", f"/resource_providers/{uuid}", ok=(200, 404))
        return response.json() if response.status_code == 200 else None

    async def list_resource_providers(
        self, ctx: RequestContext, params: list[tuple[str, str]] | None = None
    ) -> list[dict[str, Any]]:
        return (await self._call(ctx, "GET", "/resource_providers", params=params)).json()["resource_providers"]

    async def delete_resource_provider(self, ctx: RequestContext, uuid: str) -> None:
        await self._call(ctx, "DELETE", f"/resource_providers/{uuid}")

    async def _retry_on_conflict(self, attempt_once) -> None:  # type: ignore[no-untyped-def]
        for attempt in range(RETRIES):
            try:
                await attempt_once()
                return
            except PlacementError as exc:
                if not exc.is_concurrent_update or attempt == RETRIES - 1:
                    raise

    async def set_inventory(self, ctx: RequestContext, rp_uuid: str, inventories: dict[str, dict[str, Any]]) -> None:
        path = f"/resource_providers/{rp_uuid}/inventories"

        async def once() -> None:
            current = (await self._call(ctx, "GET", path)).json()
            have = {rc: with_defaults(inv) for rc, inv in current["inventories"].items()}
            if have == {rc: with_defaults(inv) for rc, inv in inventories.items()}:
                return
            await self._call(ctx, "PUT", path, json={
                "resource_provider_generation": current["resource_provider_generation"],
                "inventories": inventories})

        await self._retry_on_conflict(once)

    async def set_traits(self, ctx: RequestContext, rp_uuid: str, traits: list[str],
                         managed: tuple[str, ...] = ()) -> None:
        path = f"/resource_providers/{rp_uuid}/traits"

        async def once() -> None:
            current = (await self._call(ctx, "GET", path)).json()
            wanted = self.merged_traits(current["traits"], traits, managed)
            if sorted(current["traits"]) == wanted:
                return
            for name in wanted:
                if name.startswith("CUSTOM_"):
                    await self._call(ctx, "PUT", f"/traits/{name}")
            await self._call(ctx, "PUT", path, json={
                "traits": wanted, "resource_provider_generation": current["resource_provider_generation"]})

        await self._retry_on_conflict(once)

    async def set_aggregates(self, ctx: RequestContext, rp_uuid: str, aggregates: list[str]) -> None:
        path = f"/resource_providers/{rp_uuid}/aggregates"
        wanted = sorted(set(aggregates))

        async def once() -> None:
            current = (await self._call(ctx, "GET", path)).json()
            if sorted(current["aggregates"]) == wanted:
                return
            await self._call(ctx, "PUT", path, json={
                "aggregates": wanted, "resource_provider_generation": current["resource_provider_generation"]})

        await self._retry_on_conflict(once)

    async def get_usages(self, ctx: RequestContext, rp_uuid: str) -> dict[str, int]:
        return (await self._call(ctx, "GET", f"/resource_providers/{rp_uuid}/usages")).json()["usages"]

    # candidates and allocations -----------------------------------------
    async def get_allocation_candidates(self, ctx: RequestContext, query: CandidateQuery) -> dict[str, Any]:
        return (await self._call(ctx, "GET", "/allocation_candidates", params=query.to_params())).json()

    async def get_allocations(self, ctx: RequestContext, consumer_uuid: str) -> dict[str, Any]:
        return (await self._call(ctx, "GET", f"/allocations/{consumer_uuid}")).json()

    async def put_allocations(self, ctx: RequestContext, consumer_uuid: str, body: dict[str, Any]) -> None:
        await self._call(ctx, "PUT", f"/allocations/{consumer_uuid}", json=body)

    async def post_allocations(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        await self._call(ctx, "POST", "/allocations", json=body)

    async def delete_allocations(self, ctx: RequestContext, consumer_uuid: str) -> None:
        await self._call(ctx, "DELETE", f"/allocations/{consumer_uuid}", ok=(204, 404))

    async def list_consumers(self, ctx: RequestContext) -> list[str]:
        """Consumers holding allocations, gathered provider by provider (Placement has no listing)."""
        consumers: set[str] = set()
        for rp in await self.list_resource_providers(ctx):
            body = (await self._call(ctx, "GET", f"/resource_providers/{rp['uuid']}/allocations")).json()
            consumers |= set(body["allocations"])
        return sorted(consumers)
