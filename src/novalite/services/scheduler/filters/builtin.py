"""Importing this module registers every built-in filter under its Nova name."""

from novalite.services.scheduler.filters import (  # noqa: F401
    affinity_hints,
    aggregates,
    capabilities,
    compute,
    image_props,
    isolated_hosts,
    json_filter,
    load,
    server_group,
)
