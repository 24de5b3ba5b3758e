"""The Alembic environment every database kind's env.py runs."""

from __future__ import annotations

from alembic import context

from novalite.db.migrate import metadata_for


def run_migrations() -> None:
    config = context.config
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata_for(config.attributes["db_kind"]),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
