"""The libvirt driver: real QEMU/KVM guests (see `driver` for the file layout and
`images` for where images come from)."""

try:
    import libvirt  # noqa: F401
except ImportError as exc:  # the message is what an operator sees in the compute log
    raise ImportError(
        "the libvirt driver needs libvirt-python: run `tools/install-libvirt.sh <venv>`"
    ) from exc

from novalite.drivers.libvirt.driver import LibvirtDriver

__all__ = ["LibvirtDriver"]
