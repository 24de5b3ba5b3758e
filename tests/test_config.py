"""Configuration: the example file documents every option; bad options fail with their name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from novalite.config import ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "novalite.toml"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("NOVALITE_"):
            monkeypatch.delenv(key)


def test_example_documents_every_option_and_loads_uncommented(tmp_path):
    text = EXAMPLE.read_text()
    documented: dict[str, set[str]] = {}
    section = None
    uncommented = []
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
            documented[section] = set()
            uncommented.append(line)
        elif (match := re.match(r"# (\w+) = (.*)", line)) and section:
            documented[section].add(match.group(1))
            if "(unset)" not in match.group(2):
                uncommented.append(f"{match.group(1)} = {match.group(2)}")
    expected = {name: set(field.annotation.model_fields) for name, field in Settings.model_fields.items()}
    assert documented == expected
    path = tmp_path / "all.toml"
    path.write_text("\n".join(uncommented))
    assert load_settings(path).model_dump() == load_settings(None).model_dump()


def test_unknown_option_is_named(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[bus]\ncall_timout = 5\n")
    with pytest.raises(ConfigError, match="unknown option 'bus.call_timout'"):
        load_settings(path)


def test_invalid_value_is_named_with_the_reason(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[service]\nport = 70000\n")
    with pytest.raises(ConfigError, match=r"option 'service.port'.*65535"):
        load_settings(path)


def test_missing_file_and_syntax_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
    path = tmp_path / "broken.toml"
    path.write_text("[service\n")
    with pytest.raises(ConfigError):
        load_settings(path)


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text("[service]\nport = 9000\n[compute]\nfake_host_count = 7\n")
    monkeypatch.setenv("NOVALITE_SERVICE__PORT", "9100")
    settings = load_settings(path)
    assert settings.service.port == 9100 and settings.compute.fake_host_count == 7


def test_default_databases_live_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NOVALITE_SERVICE__DATA_DIR", str(tmp_path))
    settings = load_settings(None)
    assert settings.api_db_url == f"sqlite+aiosqlite:///{tmp_path}/api.db"
    assert settings.cell1_db_url.endswith("cell1.db") and settings.placement_db_url.endswith("placement.db")
