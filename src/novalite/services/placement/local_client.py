"""PlacementClient in-process: the object layer directly, no HTTP and no JSON round-trip."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any, Awaitable, Callable, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from novalite.context import RequestContext
from novalite.db.engine import begin_connection
from novalite.services.placement import candidate_api, views
from novalite.services.placement.client import CandidateQuery, PlacementClient, PlacementError
from novalite.services.placement.errors import status_for
from novalite.services.placement.gc_pause import gc_paused
from novalite.services.placement.microversion import MAX_VERSION
from novalite.services.placement.objects import (
    aggregates, allocations, candidates, inventories, providers, traits, usages,
)
from novalite.services.placement.objects.common import bump_generation, lost_race
from novalite.services.placement.objects.exceptions import (
    CONCURRENT_UPDATE, NotFound, PlacementDomainError,
)
from novalite.services.placement.objects.filters import parse_member_of, parse_required, parse_resources
from novalite.services.placement.validation import consumer_write

T = TypeVar("T")
RETRIES = 10


class LocalPlacementClient(PlacementClient):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], link_prefix: str = "/placement"):
        self._sm = sessionmaker
        self._engine: AsyncEngine = sessionmaker.kw["bind"]
        self._prefix = link_prefix

    async def _run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """One transaction; domain refusals become PlacementError like the HTTP client's."""
        return await self._guarded(self._sm.begin, work)

    async def _run_bare(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`_run` on a bare connection: the scheduler's calls (candidates, claims) need no ORM
        session, and skipping it is a good part of their cost."""
        return await self._guarded(lambda: begin_connection(self._engine), work)

    @staticmethod
    async def _guarded(begin: Callable[[], Any], work: Callable[[Any], Awaitable[T]]) -> T:
        try:
            async with begin() as db:
                return await work(db)
        except PlacementDomainError as exc:
            raise PlacementError(status_for(exc), exc.detail, exc.code) from exc
        except DBAPIError as exc:
            if not lost_race(exc):
                raise
            raise PlacementError(409, f"concurrent write: {exc.orig}", CONCURRENT_UPDATE) from exc

    async def _retrying(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        for attempt in range(RETRIES):
            try:
                return await self._run(work)
            except PlacementError as exc:
                if not exc.is_concurrent_update or attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # resource providers -------------------------------------------------
    async def ensure_resource_provider(
        self, ctx: RequestContext, uuid: str, name: str, parent_uuid: str | None = None
    ) -> dict[str, Any]:
        async def work(s: AsyncSession) -> providers.Provider:
            return await providers.get(s, uuid) or await providers.create(s, uuid, name, parent_uuid)

        return views.provider(await self._retrying(work), MAX_VERSION, self._prefix)

    async def get_resource_provider(self, ctx: RequestContext, uuid: str) -> dict[str, Any] | None:
        found = await self._run(lambda s: providers.get(s, uuid))
        return views.provider(found, MAX_VERSION, self._prefix) if found else None

    async def list_resource_providers(
        self, ctx: RequestContext, params: list[tuple[str, str]] | None = None
    ) -> list[dict[str, Any]]:
        grouped: dict[str, list[str]] = {}
        for key, value in params or []:
            grouped.setdefault(key, []).append(value)
        unknown = set(grouped) - {"name", "uuid", "member_of", "resources", "in_tree", "required"}
        if unknown:
            raise PlacementError(400, f"Invalid query string parameters: {sorted(unknown)} unexpected",
                                 "placement.query.bad_value")

        async def work(s: AsyncSession) -> list[providers.Provider]:
            return await providers.list_providers(
                s, name=grouped.get("name", [None])[0], uuid=grouped.get("uuid", [None])[0],
                in_tree=grouped.get("in_tree", [None])[0],
                member_of=parse_member_of(grouped["member_of"], True, True) if "member_of" in grouped else None,
                traits=parse_required(grouped["required"], True, True) if "required" in grouped else None,
                resources=parse_resources(grouped["resources"][0]) if "resources" in grouped else None)

        return [views.provider(p, MAX_VERSION, self._prefix) for p in await self._run(work)]

    async def delete_resource_provider(self, ctx: RequestContext, uuid: str) -> None:
        await self._run(lambda s: providers.remove(s, uuid))

    async def set_inventory(
        self, ctx: RequestContext, rp_uuid: str, inventories_: dict[str, dict[str, Any]]
    ) -> None:
        wanted = {rc: inventories.with_defaults(inv) for rc, inv in inventories_.items()}

        async def work(s: AsyncSession) -> None:
            provider = await providers.require(s, rp_uuid)
            if await inventories.get_all(s, provider) != wanted:
                await inventories.replace_all(s, provider, provider.generation, wanted)

        await self._retrying(work)

    async def set_traits(self, ctx: RequestContext, rp_uuid: str, traits_: list[str],
                         managed: tuple[str, ...] = ()) -> None:
        async def work(s: AsyncSession) -> None:
            provider = await providers.require(s, rp_uuid)
            current = await traits.of_provider(s, provider.id)
            wanted = self.merged_traits(current, traits_, managed)
            if current == wanted:
                return
            for name in wanted:
                if name.startswith("CUSTOM_"):
                    await traits.ensure(s, name)
            await traits.replace_for_provider(s, provider.id, wanted)
            await bump_generation(s, providers.RP, provider.id, provider.generation, f"resource provider {rp_uuid}")

        await self._retrying(work)

    async def set_aggregates(self, ctx: RequestContext, rp_uuid: str, aggregates_: list[str]) -> None:
        wanted = sorted({str(uuidlib.UUID(a)) for a in aggregates_})

        async def work(s: AsyncSession) -> None:
            provider = await providers.require(s, rp_uuid)
            if await aggregates.of_provider(s, provider) != wanted:
                await aggregates.replace_for_provider(s, provider, wanted, provider.generation)

        await self._retrying(work)

    async def get_usages(self, ctx: RequestContext, rp_uuid: str) -> dict[str, int]:
        async def work(s: AsyncSession) -> dict[str, int]:
            return await usages.for_provider(s, await providers.require(s, rp_uuid))

        return await self._run(work)

    # candidates and allocations -----------------------------------------
    async def get_allocation_candidates(self, ctx: RequestContext, query: CandidateQuery) -> dict[str, Any]:
        async def work(conn: AsyncConnection) -> dict[str, Any]:
            request = candidate_api.parse(query.to_params(), MAX_VERSION)
            return candidate_api.render(await candidates.find(conn, request), request, MAX_VERSION)

        with gc_paused():
            return await self._run_bare(work)

    async def get_allocations(self, ctx: RequestContext, consumer_uuid: str) -> dict[str, Any]:
        info = await self._run(lambda s: allocations.get_consumer(s, consumer_uuid))
        return views.consumer_allocations(info, MAX_VERSION)

    async def put_allocations(self, ctx: RequestContext, consumer_uuid: str, body: dict[str, Any]) -> None:
        async def work(conn: AsyncConnection) -> None:
            await allocations.replace(conn, [consumer_write(MAX_VERSION, consumer_uuid, body)])

        await self._run_bare(work)

    async def post_allocations(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        async def work(conn: AsyncConnection) -> None:
            await allocations.replace(conn, [consumer_write(MAX_VERSION, c, b) for c, b in body.items()])

        await self._run_bare(work)

    async def delete_allocations(self, ctx: RequestContext, consumer_uuid: str) -> None:
        async def work(s: AsyncSession) -> None:
            try:
                await allocations.delete_for_consumer(s, consumer_uuid)
            except NotFound:
                pass

        await self._run(work)

    async def list_consumers(self, ctx: RequestContext) -> list[str]:
        return await self._run(allocations.consumer_uuids)


__all__ = ["LocalPlacementClient"]
