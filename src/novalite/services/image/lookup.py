"""The image service as other services use it, in-process: the compute API checks imageRef."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.context import RequestContext
from novalite.services.image.errors import ImageError
from novalite.services.image.service import Caller, boot_properties, get_visible


class ImageUnusable(Exception):
    """The image cannot be booted; the message is Nova's wording for the compute API's 400."""


async def image_for_boot(sessions: async_sessionmaker[AsyncSession], ctx: RequestContext,
                         image_ref: str) -> tuple[str, str | None, dict[str, Any]]:
    """(id, name, properties) of an image `ctx` may boot, or ImageUnusable."""
    image_id = image_ref.rstrip("/").rsplit("/", 1)[-1]  # imageRef may be an image URL
    async with sessions() as session:
        try:
            image = await get_visible(session, image_id, Caller.of(ctx))
        except ImageError:
            raise ImageUnusable(f"Image {image_id} could not be found.") from None
    if image.status != "active":
        raise ImageUnusable(f"Image {image_id} is not active.")
    return image.id, image.name, boot_properties(image)
