"""Finding a server wherever it is: still a build request, or an instance in its cell."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from novalite.context import RequestContext
from novalite.db.api_models import BuildRequest, InstanceMapping
from novalite.db.cell_models import Instance
from novalite.exceptions import InstanceNotFound
from novalite.objects import instances
from novalite.runtime import Runtime
from novalite.services.api.errors import not_found


@dataclass
class Located:
    mapping: InstanceMapping
    build_request: BuildRequest | None = None
    instance: Instance | None = None
    cell_uuid: str | None = None


def _missing(uuid: str) -> Exception:
    return not_found(f"Instance {uuid} could not be found.")


async def locate(runtime: Runtime, ctx: RequestContext, uuid: str) -> Located:
    """The server `uuid` as `ctx` may see it; 404 for another project's server, as Nova does."""
    api = runtime.require_api_db()
    for _ in range(2):  # a second look covers the conductor moving it into a cell meanwhile
        async with api() as session:
            mapping = await session.scalar(select(InstanceMapping).where(InstanceMapping.instance_uuid == uuid))
            if mapping is None:
                raise _missing(uuid)
            if not ctx.is_admin and mapping.project_id != ctx.project_id:
                raise _missing(uuid)
            if mapping.cell is None:
                if mapping.queued_for_delete:  # its build request was deleted
                    raise _missing(uuid)
                br = await session.scalar(select(BuildRequest).where(BuildRequest.instance_uuid == uuid))
                if br is not None:
                    return Located(mapping=mapping, build_request=br)
                continue
        cell_uuid = mapping.cell.uuid
        async with runtime.require_cells().session(cell_uuid) as session:
            try:
                instance = await instances.get(session, uuid)
            except InstanceNotFound:
                raise _missing(uuid) from None
        return Located(mapping=mapping, instance=instance, cell_uuid=cell_uuid)
    raise _missing(uuid)
