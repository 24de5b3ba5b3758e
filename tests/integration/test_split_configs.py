"""The sample configurations of the split deployment (config/split/) load and say what they claim."""

from __future__ import annotations

from pathlib import Path

import pytest

from novalite.config import load_settings

SPLIT = Path(__file__).resolve().parents[2] / "config" / "split"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("NOVALITE_"):
            monkeypatch.delenv(key)


@pytest.mark.parametrize("path", sorted(SPLIT.glob("*.toml")), ids=lambda p: p.stem)
def test_sample_loads_on_postgres_and_rabbitmq(path: Path):
    settings = load_settings(path)
    assert settings.bus.transport_url.startswith("amqp://")
    if not path.stem.startswith("compute"):
        assert settings.api_db_url.startswith("postgresql+asyncpg://")
    if path.stem.startswith("conductor-"):
        assert settings.conductor.cell == path.stem.split("-", 1)[1]
    if path.stem.startswith("compute-"):
        assert settings.bus.transport_url.endswith("/nova_" + path.stem.split("-", 1)[1])
