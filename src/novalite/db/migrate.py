"""Run the Alembic tree of one database kind against one URL."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

DbKind = Literal["api", "cell", "placement"]


def alembic_root() -> Path:
    """The repository's alembic/ folder, or the copy packaged into the wheel."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "alembic", here.parents[1] / "_alembic"):
        if (candidate / "api").is_dir():
            return candidate
    raise RuntimeError("alembic migrations not found next to the novalite package")


def alembic_config(kind: DbKind) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(alembic_root() / kind))
    cfg.attributes["db_kind"] = kind
    return cfg


async def upgrade(engine: AsyncEngine, kind: DbKind, revision: str = "head") -> None:
    """Migrate the database behind `engine` to `revision`."""
    cfg = alembic_config(kind)

    def _run(sync_conn) -> None:  # type: ignore[no-untyped-def]
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)


def metadata_for(kind: DbKind):  # type: ignore[no-untyped-def]
    if kind == "api":
        from novalite.db.api_models import ApiBase
        # Identity and image keep their tables in the API database.
        from novalite.services.identity import db_models as _identity  # noqa: F401
        from novalite.services.image import db_models as _image  # noqa: F401

        return ApiBase.metadata
    if kind == "cell":
        from novalite.db.cell_models import CellBase

        return CellBase.metadata
    from novalite.services.placement.db_models import PlacementBase

    return PlacementBase.metadata
