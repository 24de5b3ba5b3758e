#!/usr/bin/env bash
# Install libvirt + QEMU for the libvirt driver and its real-guest tests, and start the
# daemons. Idempotent: every step checks first, so `make test` can call it every time.
#
# Usage (as root):  tools/install-libvirt.sh [VENV]     (or VENV=/path/to/venv)
# The venv gets libvirt-python; without one, only the system side is done.
#
# This machine has no systemd, so the daemons are started directly (`-d` daemonizes).
# QEMU runs as root with no security driver: labs and CI containers rarely have
# AppArmor/SELinux set up for libvirt, and file ownership then never gets in the way.
set -euo pipefail

VENV="${1:-${VENV:-}}"
PACKAGES=(libvirt-daemon-system qemu-system-x86 qemu-utils libvirt-dev pkg-config
          busybox-static cpio genisoimage)
QEMU_CONF=/etc/libvirt/qemu.conf

log() { echo "install-libvirt: $*" >&2; }

need_root() {
    if [[ $(id -u) -ne 0 ]]; then
        log "must run as root to $1"
        exit 1
    fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    need_root "install ${missing[*]}"
    log "installing ${missing[*]}"
    # Only refresh the index when it has never been fetched (a fresh container).
    if ! compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null; then
        apt-get update
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
        || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
                 --no-install-recommends "${missing[@]}"; }
fi

# Set `key = value` in qemu.conf (status 1: it already was). Commented examples stay
# untouched; a different active setting is replaced in place.
set_qemu_conf() {
    local key=$1 value=$2
    if grep -Eq "^${key} = ${value}\$" "$QEMU_CONF"; then
        return 1
    fi
    need_root "configure $QEMU_CONF"
    if grep -Eq "^${key}\s*=" "$QEMU_CONF"; then
        sed -i -E "s|^${key}\s*=.*|${key} = ${value}|" "$QEMU_CONF"
    else
        echo "${key} = ${value}" >>"$QEMU_CONF"
    fi
}
conf_changed=0
set_qemu_conf user '"root"' && conf_changed=1
set_qemu_conf group '"root"' && conf_changed=1
set_qemu_conf security_driver '"none"' && conf_changed=1

# pgrep -x matches the exact program name only.
if ! pgrep -x virtlogd >/dev/null; then
    need_root "start virtlogd"
    log "starting virtlogd"
    virtlogd -d
fi
if ((conf_changed)) && [[ -s /run/libvirtd.pid ]] && pgrep -x libvirtd >/dev/null; then
    log "qemu.conf changed: restarting libvirtd"
    kill "$(cat /run/libvirtd.pid)"
    for _ in $(seq 50); do pgrep -x libvirtd >/dev/null || break; sleep 0.1; done
fi
if ! pgrep -x libvirtd >/dev/null; then
    need_root "start libvirtd"
    log "starting libvirtd"
    libvirtd -d
fi
for _ in $(seq 100); do
    virsh -c qemu:///system version >/dev/null 2>&1 && break
    sleep 0.1
done
virsh -c qemu:///system version >/dev/null || { log "libvirtd does not answer on qemu:///system"; exit 1; }

if [[ -n "$VENV" ]]; then
    if ! "$VENV/bin/python" -c "import libvirt" 2>/dev/null; then
        log "installing libvirt-python into $VENV"
        "$VENV/bin/pip" install --quiet libvirt-python
    fi
fi
log "ready: $(virsh -c qemu:///system version --daemon 2>/dev/null | tr '\n' ' ')"
