"""Every database kind migrates from empty to head, on SQLite and PostgreSQL, and its
migrations describe exactly the models the code uses (no missing migration)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from novalite.db.engine import make_engine
from novalite.db.migrate import metadata_for, upgrade
from tests.support.services import temporary_pg_database

KINDS = ["api", "cell", "placement"]


async def _diff_after_upgrade(url: str, kind: str) -> list:
    engine = make_engine(url)
    try:
        await upgrade(engine, kind)  # type: ignore[arg-type]
        await upgrade(engine, kind)  # a second run is a no-op

        def _compare(sync_conn):  # type: ignore[no-untyped-def]
            context = MigrationContext.configure(sync_conn, opts={"compare_type": False})
            return compare_metadata(context, metadata_for(kind))  # type: ignore[arg-type]

        async with engine.connect() as conn:
            diff = await conn.run_sync(_compare)
        return [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table"
                                         and d[1].name == "alembic_version")]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("kind", KINDS)
async def test_sqlite_migrations_match_the_models(tmp_path, kind):
    assert await _diff_after_upgrade(f"sqlite+aiosqlite:///{tmp_path}/{kind}.db", kind) == []


@pytest.mark.postgres
@pytest.mark.parametrize("kind", KINDS)
async def test_postgres_migrations_match_the_models(kind):
    async with temporary_pg_database(f"nl_migr_{kind}") as url:
        assert await _diff_after_upgrade(url, kind) == []
