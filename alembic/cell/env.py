"""Alembic entry point for the cell database; the shared environment does the work."""

from novalite.db.alembic_env import run_migrations

run_migrations()
