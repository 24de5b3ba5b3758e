"""The conductor's bus endpoint: build orchestration plus the calls compute makes."""

from __future__ import annotations

from novalite.runtime import Runtime
from novalite.services.conductor.build import BuildTasks
from novalite.services.conductor.compute_calls import ComputeCalls
from novalite.services.conductor.instance_cells import InstanceCells
from novalite.services.conductor.migrate import MigrationTasks


class ConductorManager(BuildTasks, ComputeCalls, MigrationTasks):
    """Served on topic `conductor`. `cell_uuid` is the cell new compute hosts are mapped to."""

    def __init__(self, runtime: Runtime, cell_uuid: str | None = None):
        self.runtime = runtime
        self.cell_uuid = cell_uuid
        self.instance_cells = InstanceCells(runtime.require_api_db())
        self._init_build(runtime)
