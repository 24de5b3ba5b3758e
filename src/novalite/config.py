"""Configuration: embedded defaults, then a TOML file, then environment variables.

Every section forbids unknown keys so that a typo in an option name fails at
start with the option's name instead of being silently ignored.
"""

from __future__ import annotations

import contextvars
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "NOVALITE_"
CONFIG_ENV = "NOVALITE_CONFIG"
# The file load_settings was given; a context variable, not the environment, so that
# loading one file never changes what the next Settings() reads.
_config_file: contextvars.ContextVar[str | None] = contextvars.ContextVar("novalite_config_file", default=None)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ServiceOptions(Section):
    data_dir: Path = Field(Path("./data"), description="Where the SQLite files and instance files live.")
    bind_host: str = Field("127.0.0.1", description="Address the HTTP APIs listen on.")
    port: int = Field(8774, ge=1, le=65535, description="One port serves every API.")
    public_url: str = Field("", description="Base URL clients use; default http://<bind_host>:<port>.")
    region: str = "RegionOne"
    api_workers: int = Field(1, ge=1, le=64, description="uvicorn workers for the api/placement roles.")
    service_down_time: float = Field(60.0, gt=0, description="Seconds without a heartbeat before a service is down.")


class DatabaseOptions(Section):
    api_url: str = Field("", description="API database; default sqlite under data_dir.")
    placement_url: str = Field("", description="Placement database; default sqlite under data_dir.")
    cell0_url: str = Field("", description="cell0 database (instances that never got a host).")
    cell1_url: str = Field("", description="cell1 database, created with the first start.")
    pool_size: int = Field(10, ge=1, le=200)
    echo: bool = False


class BusOptions(Section):
    transport_url: str = Field("memory://", description="memory:// or amqp://user:pass@host:port/vhost")
    call_timeout: float = Field(60.0, gt=0, description="Seconds a call waits for its reply.")
    executor_size: int = Field(64, ge=1, le=10000, description="Messages one consumer handles at once.")
    http_priority_cast_interval: float = Field(
        0.25, ge=0, le=60,
        description="In a process that answers HTTP and runs services too (the all-in-one): while API "
                    "requests keep coming, casts start one per this many seconds, the rest at the next "
                    "pause, so a burst of builds does not slow the API; 0: casts never wait.")


class ApiOptions(Section):
    auth_strategy: Literal["identity", "noauth2", "keystone"] = Field(
        "identity",
        description="identity: this cloud's own Identity v3 (/identity); keystone: an external one at "
                    "[keystone] url; noauth2: X-Auth-Token 'user:project', for development only.",
    )
    max_limit: int = Field(1000, ge=1, description="Largest page a list call returns.")
    default_availability_zone: str = "nova"


class ComputeOptions(Section):
    driver: Literal["fake", "libvirt"] = "fake"
    host: str = Field("", description="This compute's host name (serve --role compute); default the machine's.")
    fake_host_count: int = Field(3, ge=0, le=100000, description="Compute services the all-in-one starts.")
    heartbeat_interval: float = Field(10.0, gt=0)
    resource_report_interval: float = Field(60.0, gt=0)
    sync_power_state_interval: float = Field(600.0, gt=0, description="Seconds between power-state syncs (each also destroys guests of servers deleted while the compute was down).")
    allow_resize_to_same_host: bool = Field(False, description="A resize may pick the host the server is on.")
    reserved_host_memory_mb: int = Field(512, ge=0)
    reserved_host_cpus: int = Field(0, ge=0)
    reserved_host_disk_mb: int = Field(0, ge=0)
    cpu_allocation_ratio: float = Field(4.0, gt=0)
    ram_allocation_ratio: float = Field(1.0, gt=0)
    disk_allocation_ratio: float = Field(1.0, gt=0)


class FakeDriverOptions(Section):
    vcpus: int = Field(16, ge=1)
    memory_mb: int = Field(65536, ge=1)
    disk_gb: int = Field(1000, ge=1)
    spawn_delay: float = Field(0.0, ge=0, description="Seconds each spawn takes.")
    destroy_delay: float = Field(0.0, ge=0, description="Seconds each destroy takes.")
    fail_spawn: bool = Field(False, description="Every spawn fails (fault injection).")
    fail_spawn_hosts: list[str] = Field(default_factory=list, description="Spawns fail only on these hosts.")


class LibvirtOptions(Section):
    connection_uri: str = Field("", description="libvirt URI; default qemu:///system.")
    virt_type: Literal["kvm", "qemu"] = Field("kvm", description="qemu means TCG emulation (no /dev/kvm).")
    instances_path: Path | None = Field(None, description="Instance disks and console logs; default <data_dir>/instances.")
    images_path: Path | None = Field(None, description="Images found by name or UUID; default <data_dir>/images.")
    cpu_mode: Literal["host-model", "host-passthrough", "custom", "none"] = "host-model"
    shutdown_timeout: float = Field(60.0, ge=0, description="Seconds a clean shutdown may take before destroy.")


DEFAULT_FILTERS = [
    "ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
]
DEFAULT_WEIGHERS = [
    "RAMWeigher", "CPUWeigher", "DiskWeigher", "IoOpsWeigher", "NumInstancesWeigher",
    "ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher", "BuildFailureWeigher",
    "ImagePropertiesWeigher",
]


class SchedulerOptions(Section):
    max_attempts: int = Field(3, ge=1, description="Selected host plus alternates per instance.")
    max_placement_results: int = Field(1000, ge=1, description="Candidates asked of placement per request.")
    host_subset_size: int = Field(1, ge=1, description="Pick at random among this many best-weighed hosts.")
    enabled_filters: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FILTERS),
        description="Filters by Nova name, or 'module:Class' for your own.",
    )
    weight_classes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_WEIGHERS),
        description="Weighers by Nova name, or 'module:Class' for your own.",
    )
    ram_weight_multiplier: float = Field(1.0, description="Positive spreads by free RAM, negative stacks.")
    cpu_weight_multiplier: float = Field(1.0, description="Positive spreads by free VCPUs, negative stacks.")
    disk_weight_multiplier: float = Field(1.0, description="Positive spreads by free disk, negative stacks.")
    io_ops_weight_multiplier: float = Field(-1.0, description="Negative prefers hosts with fewer builds running.")
    num_instances_weight_multiplier: float = Field(0.0, description="Positive prefers hosts with more instances.")
    soft_affinity_weight_multiplier: float = Field(1.0, ge=0, description="Weight of soft-affinity groups.")
    soft_anti_affinity_weight_multiplier: float = Field(1.0, ge=0, description="Weight of soft-anti-affinity groups.")
    build_failure_weight_multiplier: float = Field(1000000.0, description="Weight against hosts whose builds failed.")
    image_props_weight_multiplier: float = Field(0.0, description="Prefers hosts running instances of similar images.")
    max_instances_per_host: int = Field(50, ge=0, description="NumInstancesFilter limit.")
    max_io_ops_per_host: int = Field(8, ge=0, description="IoOpsFilter limit (instances building or resizing).")
    isolated_images: list[str] = Field(default_factory=list, description="IsolatedHostsFilter: image ids.")
    isolated_hosts: list[str] = Field(default_factory=list, description="IsolatedHostsFilter: host names.")
    restrict_isolated_hosts_to_isolated_images: bool = Field(
        True, description="IsolatedHostsFilter: isolated hosts take isolated images only.")
    aggregate_image_properties_isolation_namespace: str = Field(
        "", description="AggregateImagePropertiesIsolation: only metadata keys in this namespace.")
    aggregate_image_properties_isolation_separator: str = Field(
        ".", description="AggregateImagePropertiesIsolation: namespace separator.")
    limit_tenants_to_placement_aggregate: bool = Field(
        False, description="Prefilter: projects with filter_tenant_id aggregates land only there.")
    placement_aggregate_required_for_tenants: bool = Field(
        False, description="Prefilter: projects without a tenant aggregate get no host.")
    query_placement_for_availability_zone: bool = Field(
        True, description="Prefilter: a requested zone becomes a placement member_of.")
    query_placement_for_image_type_support: bool = Field(
        False, description="Prefilter: require the COMPUTE_IMAGE_TYPE_* trait of the image's disk_format.")
    enable_isolated_aggregate_filtering: bool = Field(
        False, description="Prefilter: keep out of aggregates whose trait:*=required the request lacks.")
    host_state_refresh_interval: float = Field(
        30.0, gt=0, description="Seconds between full reloads of the scheduler's host cache.")


class ConductorOptions(Section):
    build_timeout: float = Field(600.0, gt=0, description="A build silent for this long is put in ERROR.")
    cell: str = Field(
        "", description="Name of the one cell this conductor serves (its computes, on its transport URL); "
                        "empty: every cell.")
    top_level: bool = Field(
        True, description="Also serve the top-level bus (build_instances, migrate_server): a super-conductor.")


class PlacementOptions(Section):
    """Where placement is, and the service user that calls it over HTTP (Nova's keystoneauth options)."""

    url: str = Field("", description="Empty: call the placement service in-process; else its HTTP URL.")
    auth_url: str = Field(
        "", description="Identity v3 API the service user authenticates with, e.g. http://controller:8774/identity "
                        "or http://keystone:5000/v3.")
    username: str = Field(
        "", description="Service user calling placement over HTTP (needs the admin role on project_name); "
                        "empty under noauth2.")
    password: str = Field("", description="The service user's password.")
    project_name: str = Field("service", description="Project the service user's token is scoped to.")
    user_domain_name: str = Field("Default", description="Domain of the service user.")
    project_domain_name: str = Field("Default", description="Domain of project_name.")


class IdentityOptions(Section):
    token_expiration: int = Field(3600, ge=1, le=7 * 86400, description="Seconds a token stays valid.")
    admin_password: str = Field(
        "", description="Password of the bootstrapped 'admin' user; empty: generated once and printed.",
    )


class KeystoneOptions(Section):
    url: str = Field("", description="External Keystone (auth_strategy = \"keystone\"), e.g. http://keystone:5000.")
    cache_seconds: float = Field(60.0, ge=0, description="How long a validated token is trusted before asking again.")


class ImageOptions(Section):
    enabled: bool = Field(True, description="Serve the Image API (/image) and check imageRef against it.")
    max_size_mb: int = Field(20480, ge=1, description="Largest image upload accepted.")


class MetricsOptions(Section):
    enabled: bool = Field(True, description="Count requests, bus messages and builds (off only to measure the cost).")
    port: int = Field(0, ge=0, le=65535, description="/metrics, /healthz, /readyz of a process serving no API; 0: none.")
    readiness_timeout: float = Field(3.0, gt=0, description="Seconds /readyz (and scrape-time gauges) wait per check.")


class EventsOptions(Section):
    subscriber_buffer: int = Field(1000, ge=1, description="Events a slow stream client may lag before it gets a gap.")
    history: int = Field(10000, ge=0, description="Recent events kept for Last-Event-ID resume.")
    keepalive: float = Field(15.0, gt=0, description="Seconds between SSE keep-alive comments on a quiet stream.")
    service_poll_interval: float = Field(5.0, gt=0, description="Seconds between checks for services going up or down.")


class LoggingOptions(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
    )

    service: ServiceOptions = Field(default_factory=ServiceOptions)
    database: DatabaseOptions = Field(default_factory=DatabaseOptions)
    bus: BusOptions = Field(default_factory=BusOptions)
    api: ApiOptions = Field(default_factory=ApiOptions)
    compute: ComputeOptions = Field(default_factory=ComputeOptions)
    fake_driver: FakeDriverOptions = Field(default_factory=FakeDriverOptions)
    libvirt: LibvirtOptions = Field(default_factory=LibvirtOptions)
    scheduler: SchedulerOptions = Field(default_factory=SchedulerOptions)
    conductor: ConductorOptions = Field(default_factory=ConductorOptions)
    placement: PlacementOptions = Field(default_factory=PlacementOptions)
    identity: IdentityOptions = Field(default_factory=IdentityOptions)
    keystone: KeystoneOptions = Field(default_factory=KeystoneOptions)
    image: ImageOptions = Field(default_factory=ImageOptions)
    metrics: MetricsOptions = Field(default_factory=MetricsOptions)
    events: EventsOptions = Field(default_factory=EventsOptions)
    logging: LoggingOptions = Field(default_factory=LoggingOptions)

    _toml_file: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file.get() or os.environ.get(CONFIG_ENV)
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)

    @field_validator("service")
    @classmethod
    def _absolute_data_dir(cls, value: ServiceOptions) -> ServiceOptions:
        value.data_dir = value.data_dir.expanduser().resolve()
        return value

    @model_validator(mode="after")
    def _keystone_needs_url(self) -> "Settings":
        if self.api.auth_strategy == "keystone" and not self.keystone.url:
            raise ValueError("[api] auth_strategy = \"keystone\" needs [keystone] url")
        return self

    @model_validator(mode="after")
    def _placement_over_http_needs_a_service_user(self) -> "Settings":
        options = self.placement
        if options.url and self.api.auth_strategy != "noauth2" and not (
                options.auth_url and options.username and options.password):
            raise ValueError(
                f"[placement] url is set and [api] auth_strategy = \"{self.api.auth_strategy}\": placement needs a "
                "service user's token, so set [placement] auth_url, username and password (a user with the "
                "admin role on [placement] project_name)")
        return self

    def sqlite_url(self, name: str) -> str:
        return f"sqlite+aiosqlite:///{self.service.data_dir / (name + '.db')}"

    @property
    def api_db_url(self) -> str:
        return self.database.api_url or self.sqlite_url("api")

    @property
    def placement_db_url(self) -> str:
        return self.database.placement_url or self.sqlite_url("placement")

    @property
    def cell0_db_url(self) -> str:
        return self.database.cell0_url or self.sqlite_url("cell0")

    @property
    def cell1_db_url(self) -> str:
        return self.database.cell1_url or self.sqlite_url("cell1")

    @property
    def public_url(self) -> str:
        if self.service.public_url:
            return self.service.public_url.rstrip("/")
        return f"http://{self.service.bind_host}:{self.service.port}"


class ConfigError(Exception):
    """A configuration problem, phrased for the operator."""


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the effective settings; raise ConfigError naming each bad option."""
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"configuration file {path} does not exist")
    elif (env_path := os.environ.get(CONFIG_ENV)) and not Path(env_path).is_file():
        raise ConfigError(f"configuration file {env_path} (from {CONFIG_ENV}) does not exist")
    token = _config_file.set(str(config_file) if config_file is not None else None)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
    except ValueError as exc:  # e.g. a TOML syntax error
        raise ConfigError(str(exc)) from None
    finally:
        _config_file.reset(token)


def describe_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        option = ".".join(str(p) for p in err["loc"])
        if not option:  # a rule across options: its message names them
            lines.append(err["msg"].removeprefix("Value error, "))
        elif err["type"] == "extra_forbidden":
            lines.append(f"unknown option '{option}'")
        else:
            lines.append(f"option '{option}': {err['msg']} (got {err.get('input')!r})")
    return "invalid configuration:\n  " + "\n  ".join(lines)
