"""After the all-in-one restarts: uploads that were streaming when it died never finish.

Their images would stay `saving` for good, refusing every new upload (only a `queued` image
takes data). The one process that received them is this one, so at start every `saving`
image is an interrupted upload: it goes back to `queued`, and its partial file goes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.services.image import store
from novalite.services.image.db_models import Image

LOG = logging.getLogger(__name__)


async def requeue_interrupted_uploads(sessions: async_sessionmaker[AsyncSession], data_dir: Path) -> list[str]:
    async with sessions() as session, session.begin():
        ids = list((await session.scalars(select(Image.id).where(Image.status == "saving"))).all())
        if ids:
            await session.execute(update(Image).where(Image.id.in_(ids)).values(status="queued"))
    incoming = store.images_dir(data_dir) / ".incoming"
    for image_id in ids:
        (incoming / f"{image_id}.part").unlink(missing_ok=True)
    if ids:
        LOG.warning("%d image uploads were interrupted by a restart; their images are queued again: %s",
                    len(ids), ", ".join(ids))
    return ids
