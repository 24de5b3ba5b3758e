"""Small blocking operations on one libvirt domain, each safe to repeat.

The driver runs these in a thread. Each tolerates the domain already being in the
wanted state, so a retried or raced action (the guest powered itself off meanwhile)
is not an error.
"""

from __future__ import annotations

import libvirt

from novalite.states import PowerState

_POWER_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: PowerState.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.RUNNING,  # running, waiting on I/O
    libvirt.VIR_DOMAIN_PAUSED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.SHUTDOWN,  # on its way down
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.SUSPENDED,
}


def _ignore(exc: libvirt.libvirtError, *codes: int) -> None:
    if exc.get_error_code() not in codes:
        raise exc


def power_state(dom: libvirt.virDomain) -> PowerState:
    state, _reason = dom.state()
    # A managed-saved (suspended) guest is shut off with its memory on disk.
    if state == libvirt.VIR_DOMAIN_SHUTOFF and dom.hasManagedSaveImage(0):
        return PowerState.SUSPENDED
    return _POWER_STATES.get(state, PowerState.NOSTATE)


def is_active(dom: libvirt.virDomain) -> bool:
    return bool(dom.isActive())


def start(dom: libvirt.virDomain) -> None:
    """Boot the guest, or restore it from its managed save image when it has one."""
    if not dom.isActive():
        dom.create()


def hard_stop(dom: libvirt.virDomain) -> None:
    """Pull the plug."""
    try:
        dom.destroy()
    except libvirt.libvirtError as exc:
        _ignore(exc, libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_ERR_NO_DOMAIN)


def request_shutdown(dom: libvirt.virDomain) -> None:
    """Press the ACPI power button; the guest decides whether and when to go down."""
    try:
        dom.shutdown()
    except libvirt.libvirtError as exc:
        _ignore(exc, libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_ERR_NO_DOMAIN)


def drop_managed_save(dom: libvirt.virDomain) -> None:
    """Forget a suspended guest's memory, so its next start is a fresh boot."""
    if dom.hasManagedSaveImage(0):
        dom.managedSaveRemove(0)


def undefine(dom: libvirt.virDomain) -> None:
    """Remove the definition with its managed save image and UEFI variables."""
    flags = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
    try:
        dom.undefineFlags(flags)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return
        # Some drivers (the test driver, older QEMU drivers) refuse the NVRAM flag.
        _ignore(exc, libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT)
        try:
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        except libvirt.libvirtError as again:
            _ignore(again, libvirt.VIR_ERR_NO_DOMAIN)


def remove(dom: libvirt.virDomain) -> None:
    hard_stop(dom)
    undefine(dom)
