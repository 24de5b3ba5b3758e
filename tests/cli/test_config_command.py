"""The CLI through its public interface: `novalite config show`, bad configuration at start."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from novalite.cli import app

runner = CliRunner()


def test_config_show_prints_the_effective_configuration(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text("[scheduler]\nmax_attempts = 5\n")
    monkeypatch.setenv("NOVALITE_BUS__CALL_TIMEOUT", "7")
    result = runner.invoke(app, ["config", "show", "--config", str(path)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["scheduler"]["max_attempts"] == 5 and shown["bus"]["call_timeout"] == 7.0


def test_all_in_one_refuses_an_unknown_option_before_starting(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[compute]\ndriver = \"fake\"\nhosts = 3\n")
    result = runner.invoke(app, ["all-in-one", "--config", str(path)])
    assert result.exit_code == 2
    assert "unknown option 'compute.hosts'" in result.output


def test_serve_refuses_an_unknown_role():
    result = runner.invoke(app, ["serve", "--role", "api,brain"])
    assert result.exit_code == 2 and "brain" in result.output
