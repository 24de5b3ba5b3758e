"""ImagePropertiesFilter: the image's architecture, hypervisor type and version must fit the host."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.filters.base import BaseHostFilter, register
from novalite.services.scheduler.host_state import HostState

# Nova canonicalises these spellings before comparing.
_ARCH_ALIASES = {"amd64": "x86_64", "x86-64": "x86_64", "i386": "i686", "arm64": "aarch64"}
_VM_MODE_ALIASES = {"hv": "hvm", "baremetal": "hvm", "xapi": "xen"}
# the image properties this filter reads; an image without any of them fits every host
_CHECKED = ("hw_architecture", "architecture", "img_hv_type", "hypervisor_type", "hw_vm_mode", "vm_mode",
            "img_hv_requested_version")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def _version_ok(host_version: int, requirement: str) -> bool:
    """img_hv_requested_version like '>=6000' compared with the host's integer version."""
    op = next((o for o in (">=", "<=", "==", "!=", ">", "<", "=") if requirement.startswith(o)), "==")
    want = _version_tuple(requirement[len(op):].strip() if requirement.startswith(op) else requirement)
    have = _version_tuple(str(host_version))
    return {">=": have >= want, "<=": have <= want, ">": have > want, "<": have < want,
            "!=": have != want}.get(op, have == want)


@register
class ImagePropertiesFilter(BaseHostFilter):
    name = "ImagePropertiesFilter"

    def applies(self, ctx: SchedulingContext) -> bool:
        return any(ctx.spec.image.properties.get(key) for key in _CHECKED)

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        props = ctx.spec.image.properties
        arch = props.get("hw_architecture") or props.get("architecture")
        if arch:
            arch = _ARCH_ALIASES.get(str(arch).lower(), str(arch).lower())
            host_arch = str(host.cpu_info.get("arch", "")).lower()
            if _ARCH_ALIASES.get(host_arch, host_arch) != arch:
                return f"image needs architecture {arch}, host is {host_arch or 'unknown'}"
        hv_type = props.get("img_hv_type") or props.get("hypervisor_type")
        if hv_type and str(hv_type).lower() != host.hypervisor_type.lower():
            return f"image needs hypervisor {hv_type}, host runs {host.hypervisor_type}"
        vm_mode = props.get("hw_vm_mode") or props.get("vm_mode")
        if vm_mode and _VM_MODE_ALIASES.get(str(vm_mode).lower(), str(vm_mode).lower()) != "hvm":
            return f"image needs vm_mode {vm_mode}, host offers hvm"
        version = props.get("img_hv_requested_version")
        if version and not _version_ok(host.hypervisor_version, str(version)):
            return f"image needs hypervisor version {version}, host has {host.hypervisor_version}"
        return None
