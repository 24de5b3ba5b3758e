"""A real all-in-one process and the real `openstack` client / openstacksdk pointed at it.

The clients are test dependencies (pyproject `test` extra); nothing is installed here.
Outside CI a missing client skips these tests with the reason; with CI=true it fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.databases import ENGINES, PgTemplates, database_env
from tests.support.process import NovaliteProcess, all_in_one
from tests.support.services import require_postgres


def openstack_executable() -> str:
    found = shutil.which("openstack", path=str(Path(sys.executable).parent)) or shutil.which("openstack")
    if found is None:
        message = "python-openstackclient is not installed (pip install -e '.[test]')"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class ClientCloud:
    process: NovaliteProcess
    clouds_yaml: Path
    executable: str

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(OS_CLIENT_CONFIG_FILE=str(self.clouds_yaml), OS_CLOUD="novalite")
        return env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([self.executable, *args], env=self.env(), capture_output=True, text=True,
                                timeout=180)
        if check and result.returncode != 0:
            raise AssertionError(f"openstack {' '.join(args)} failed ({result.returncode}):\n{result.stderr}\n"
                                 f"server log tail:\n{self.process.log_text()[-2000:]}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-f", "json").stdout)

    def sdk(self):  # type: ignore[no-untyped-def]
        from openstack.config import OpenStackConfig
        from openstack.connection import Connection

        config = OpenStackConfig(config_files=[str(self.clouds_yaml)], load_envvars=False)
        return Connection(config=config.get_one(cloud="novalite"))


def start_cloud(data_dir: Path, env: dict[str, str]) -> Iterator[ClientCloud]:
    executable = openstack_executable()
    data_dir.mkdir(parents=True, exist_ok=True)
    process = all_in_one(data_dir, {"NOVALITE_IMAGE__ENABLED": "true", **env}).start()
    try:
        clouds_yaml = data_dir / "clouds.yaml"
        assert clouds_yaml.is_file(), process.log_text()[-2000:]
        yield ClientCloud(process, clouds_yaml, executable)
    finally:
        process.stop()


@pytest.fixture(scope="module", params=ENGINES)
def cloud_databases(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The cloud process's databases as environment variables: one module's tests share a cloud."""
    if request.param == "sqlite":
        yield {}
        return
    require_postgres()
    templates: PgTemplates = request.getfixturevalue("pg_templates")
    with templates.databases() as options:
        yield database_env(options)


@pytest.fixture(scope="module")
def identity_cloud(tmp_path_factory: pytest.TempPathFactory, cloud_databases: dict[str, str]
                   ) -> Iterator[ClientCloud]:
    yield from start_cloud(tmp_path_factory.mktemp("identity-cloud"),
                           {"NOVALITE_API__AUTH_STRATEGY": "identity", **cloud_databases})


@pytest.fixture(scope="module")
def noauth_cloud(tmp_path_factory: pytest.TempPathFactory, cloud_databases: dict[str, str]
                 ) -> Iterator[ClientCloud]:
    yield from start_cloud(tmp_path_factory.mktemp("noauth-cloud"),
                           {"NOVALITE_API__AUTH_STRATEGY": "noauth2", **cloud_databases})


@pytest.fixture(scope="module")
def image_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("image") / "disk.raw"
    path.write_bytes(os.urandom(256 * 1024))
    return path
