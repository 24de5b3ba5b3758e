"""How other services talk to placement: one contract, an in-process and an HTTP implementation.

Bodies use the Placement API's own JSON shapes (at microversion 1.39), so the two
implementations are interchangeable and tests can run the same scenario on both.
"""

from __future__ import annotations

import abc
from typing import Any

from pydantic import BaseModel, Field

from novalite.context import RequestContext


# Attempts of a claim that lost a provider-generation race to another claim.
CLAIM_RETRIES = 10


class PlacementError(Exception):
    """Placement refused a request; `code` is Placement's machine-readable error code."""

    def __init__(self, status: int, detail: str, code: str = "placement.undefined_code"):
        self.status, self.detail, self.code = status, detail, code
        super().__init__(f"placement {status} {code}: {detail}")

    @property
    def is_concurrent_update(self) -> bool:
        return self.code == "placement.concurrent_update"


class RequestGroup(BaseModel):
    """One (possibly granular) group of an allocation candidates query."""

    resources: dict[str, int] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list)       # "TRAIT", "!TRAIT", "in:A,B"
    member_of: list[str] = Field(default_factory=list)      # "agg", "in:a,b", "!agg", "!in:a,b"
    in_tree: str | None = None


class CandidateQuery(BaseModel):
    """GET /allocation_candidates, as a model: the unsuffixed group plus granular groups."""

    unsuffixed: RequestGroup = Field(default_factory=RequestGroup)
    granular: dict[str, RequestGroup] = Field(default_factory=dict)   # suffix -> group
    group_policy: str | None = None          # "none" | "isolate"
    same_subtree: list[str] = Field(default_factory=list)
    root_required: list[str] = Field(default_factory=list)
    limit: int | None = None

    def to_params(self) -> list[tuple[str, str]]:
        """The query string OpenStack Placement expects for this query."""
        params: list[tuple[str, str]] = []
        for suffix, group in [("", self.unsuffixed), *self.granular.items()]:
            if group.resources:
                params.append((f"resources{suffix}", ",".join(f"{k}:{v}" for k, v in group.resources.items())))
            params += [(f"required{suffix}", r) for r in group.required]
            params += [(f"member_of{suffix}", m) for m in group.member_of]
            if group.in_tree:
                params.append((f"in_tree{suffix}", group.in_tree))
        if self.group_policy:
            params.append(("group_policy", self.group_policy))
        params += [("same_subtree", s) for s in self.same_subtree]
        params += [("root_required", r) for r in self.root_required]
        if self.limit is not None:
            params.append(("limit", str(self.limit)))
        return params


class PlacementClient(abc.ABC):
    """The calls the scheduler, conductor and compute make to placement."""

    async def close(self) -> None:
        """Release connections."""

    # resource providers -------------------------------------------------
    @abc.abstractmethod
    async def ensure_resource_provider(
        self, ctx: RequestContext, uuid: str, name: str, parent_uuid: str | None = None
    ) -> dict[str, Any]:
        """Create the provider if missing; return its body (uuid, name, generation, ...)."""

    @abc.abstractmethod
    async def get_resource_provider(self, ctx: RequestContext, uuid: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    async def list_resource_providers(
        self, ctx: RequestContext, params: list[tuple[str, str]] | None = None
    ) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    async def delete_resource_provider(self, ctx: RequestContext, uuid: str) -> None: ...

    @abc.abstractmethod
    async def set_inventory(
        self, ctx: RequestContext, rp_uuid: str, inventories: dict[str, dict[str, Any]]
    ) -> None:
        """Replace the provider's inventory; retry on generation conflicts; no-op if unchanged."""

    @abc.abstractmethod
    async def set_traits(self, ctx: RequestContext, rp_uuid: str, traits: list[str],
                         managed: tuple[str, ...] = ()) -> None:
        """Replace the provider's traits (creating CUSTOM_* ones); no-op if unchanged.

        With `managed` prefixes, only traits in those namespaces are the caller's to replace:
        the provider's other traits (an operator's CUSTOM_FAST_DISK, say) are kept.
        """

    @staticmethod
    def merged_traits(current: list[str], traits: list[str], managed: tuple[str, ...]) -> list[str]:
        kept = {t for t in current if not t.startswith(managed)} if managed else set()
        return sorted(set(traits) | kept)

    @abc.abstractmethod
    async def set_aggregates(self, ctx: RequestContext, rp_uuid: str, aggregates: list[str]) -> None: ...

    @abc.abstractmethod
    async def get_usages(self, ctx: RequestContext, rp_uuid: str) -> dict[str, int]: ...

    # candidates and allocations -----------------------------------------
    @abc.abstractmethod
    async def get_allocation_candidates(
        self, ctx: RequestContext, query: CandidateQuery
    ) -> dict[str, Any]:
        """The body of GET /allocation_candidates at 1.39: allocation_requests, provider_summaries."""

    @abc.abstractmethod
    async def get_allocations(self, ctx: RequestContext, consumer_uuid: str) -> dict[str, Any]:
        """GET /allocations/{consumer} at 1.39 ({} allocations when none)."""

    @abc.abstractmethod
    async def put_allocations(
        self, ctx: RequestContext, consumer_uuid: str, body: dict[str, Any]
    ) -> None:
        """PUT /allocations/{consumer} (body as at 1.39); raise PlacementError on refusal."""

    @abc.abstractmethod
    async def post_allocations(self, ctx: RequestContext, body: dict[str, Any]) -> None:
        """POST /allocations: several consumers at once, atomically (used to move allocations)."""

    @abc.abstractmethod
    async def delete_allocations(self, ctx: RequestContext, consumer_uuid: str) -> None:
        """DELETE /allocations/{consumer}; a consumer without allocations is not an error."""

    @abc.abstractmethod
    async def list_consumers(self, ctx: RequestContext) -> list[str]:
        """Every consumer uuid holding allocations (for the audit)."""

    async def claim_resources(
        self,
        ctx: RequestContext,
        consumer_uuid: str,
        allocation_request: dict[str, Any],
        project_id: str,
        user_id: str,
        consumer_generation: int | None = None,
        consumer_type: str = "INSTANCE",
    ) -> None:
        """Claim one allocation request from the candidates for a new consumer."""
        body = {
            "allocations": allocation_request["allocations"],
            "project_id": project_id,
            "user_id": user_id,
            "consumer_generation": consumer_generation,
            "consumer_type": consumer_type,
        }
        if "mappings" in allocation_request:
            body["mappings"] = allocation_request["mappings"]
        for attempt in range(CLAIM_RETRIES):
            try:
                await self.put_allocations(ctx, consumer_uuid, body)
                return
            except PlacementError as exc:
                # Another claim bumped a provider's generation first; capacity is checked again
                # on the retry, so racing schedulers never over-allocate (Nova's report client
                # retries the same way).
                if not exc.is_concurrent_update or attempt == CLAIM_RETRIES - 1:
                    raise

    async def move_allocations(self, ctx: RequestContext, source: str, target: str, project_id: str,
                               user_id: str, target_type: str) -> None:
        """Hand `source`'s allocation to `target` in one atomic POST /allocations (used by moves:
        the migration consumer holds the source host while the instance claims the destination)."""
        held = await self.get_allocations(ctx, source)
        if not held.get("allocations"):
            return
        current = await self.get_allocations(ctx, target)
        source_type = "INSTANCE" if target_type == "MIGRATION" else "MIGRATION"
        await self.post_allocations(ctx, {
            target: {"allocations": {rp: {"resources": a["resources"]} for rp, a in held["allocations"].items()},
                     "project_id": project_id, "user_id": user_id,
                     "consumer_generation": current.get("consumer_generation"), "consumer_type": target_type},
            source: {"allocations": {}, "project_id": project_id, "user_id": user_id,
                     "consumer_generation": held.get("consumer_generation"), "consumer_type": source_type},
        })
