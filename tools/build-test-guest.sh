#!/usr/bin/env bash
# Build a tiny bootable test guest from Debian packages only (no other download):
#
#   OUTDIR/novalite-test-guest.kernel     Debian's cloud kernel (linux-image-cloud-amd64)
#   OUTDIR/novalite-test-guest.initramfs  busybox-static /init, gzip'd newc cpio
#   OUTDIR/novalite-test-guest.json       sidecar: image id, name and kernel command line
#
# The guest prints "NOVALITE-GUEST-UP <SMBIOS serial>" on ttyS0 once /init runs, then
# mounts the config drive (label config-2, the second virtio disk) and prints its
# meta_data.json and user_data between NOVALITE-CONFIG-DRIVE markers, then idles.
# It powers off on an ACPI power-button press (libvirt's shutdown), via busybox acpid,
# so a clean shutdown or soft reboot takes about a second instead of a timeout.
# OUTDIR doubles as a libvirt driver images_path (see novalite.drivers.libvirt.images).
#
# Usage: tools/build-test-guest.sh OUTDIR
# Idempotent: exits early when OUTDIR holds a guest built by this very script (its hash
# is recorded), so a change here rebuilds cached guests.
# Needs: apt-get (download only), dpkg, cpio, gzip, busybox-static (tools/install-libvirt.sh).
set -euo pipefail

OUTDIR=${1:?usage: build-test-guest.sh OUTDIR}
NAME=novalite-test-guest
# A fixed id so tests and labs can name the image by UUID as well as by name.
IMAGE_ID=8d6f7e1a-4b1c-4e55-9a57-6e6f76616c69
KERNEL_META=linux-image-cloud-amd64
BUSYBOX=/bin/busybox

log() { echo "build-test-guest: $*" >&2; }

RECIPE=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)
if [[ -s $OUTDIR/$NAME.kernel && -s $OUTDIR/$NAME.initramfs && -s $OUTDIR/$NAME.json
      && $(cat "$OUTDIR/.$NAME.recipe" 2>/dev/null) == "$RECIPE" ]]; then
    log "already built in $OUTDIR"
    exit 0
fi
for tool in apt-get apt-cache dpkg cpio gzip; do
    command -v "$tool" >/dev/null || { log "missing $tool"; exit 1; }
done
[[ -x $BUSYBOX ]] && file -L "$BUSYBOX" 2>/dev/null | grep -q static \
    || BUSYBOX=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/busybox$' || true)
[[ -n $BUSYBOX && -x $BUSYBOX ]] || { log "missing busybox-static (apt-get install busybox-static)"; exit 1; }

mkdir -p "$OUTDIR"
WORK=$(mktemp -d "$OUTDIR/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The meta package only depends on the versioned kernel package, which holds the files.
kernel_pkg=$(apt-cache depends "$KERNEL_META" | awk '/Depends: linux-image-/ {print $2; exit}')
if [[ -z $kernel_pkg ]]; then
    apt-get update >/dev/null
    kernel_pkg=$(apt-cache depends "$KERNEL_META" | awk '/Depends: linux-image-/ {print $2; exit}')
fi
[[ -n $kernel_pkg ]] || { log "cannot resolve $KERNEL_META to a kernel package"; exit 1; }
log "downloading $kernel_pkg"
# apt drops privileges to _apt for downloads; a world-writable directory keeps it quiet.
chmod 0777 "$WORK"
(cd "$WORK" && apt-get download -q "$kernel_pkg" >/dev/null 2>&1)
dpkg -x "$WORK"/"$kernel_pkg"_*.deb "$WORK/pkg"
vmlinuz=$(ls "$WORK"/pkg/boot/vmlinuz-* | head -n1)
kver=${vmlinuz##*/vmlinuz-}
moddir=$WORK/pkg/lib/modules/$kver/kernel

# The initramfs: busybox, a few kernel modules, and /init.
root=$WORK/root
mkdir -p "$root"/{bin,dev,proc,sys,mnt,modules,etc/acpi/PWRF}
cp "$BUSYBOX" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

# Copy module $1 after its dependencies (read from the .ko's modinfo: no depmod here)
# and append it to the load order.
add_module() {
    local name=$1 path dep
    grep -qx "$name" "$root/modules/order" 2>/dev/null && return
    path=$(find "$moddir" -name "$name.ko" -print -quit)
    [[ -n $path ]] || path=$(find "$moddir" -name "${name//_/-}.ko" -print -quit)
    [[ -n $path ]] || { log "kernel module $name not found in $kernel_pkg"; exit 1; }
    for dep in $(tr '\0' '\n' <"$path" | sed -n 's/^depends=//p' | tr ',' ' '); do
        add_module "$dep"
    done
    cp "$path" "$root/modules/$name.ko"
    echo "$name" >>"$root/modules/order"
}
# evdev + button: the ACPI power button as an input event for acpid.
# virtio_pci + virtio_blk + isofs: the config drive.
for module in evdev button virtio_pci virtio_blk isofs; do
    add_module "$module"
done
# busybox acpid runs /etc/acpi/<event>/<code> for the power button's event code.
cat >"$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "NOVALITE-GUEST-POWEROFF" >/dev/ttyS0
/bin/busybox poweroff -f
EOF
chmod 0755 "$root/etc/acpi/PWRF/00000080"
cat >"$root/init" <<'EOF'
#!/bin/sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for module in $(cat /modules/order); do insmod /modules/$module.ko; done
# Foreground (-d logs events to stderr): the daemon mode needs a /var/log to write to.
acpid -d -c /etc/acpi 2>/dev/ttyS0 &
echo "NOVALITE-GUEST-UP $(cat /sys/class/dmi/id/product_serial 2>/dev/null)" >/dev/ttyS0
# The config drive: the disk whose iso9660 label is config-2 (devices may take a moment).
for _ in 1 2 3 4 5 6 7 8 9 10; do
    for dev in /dev/vd?; do
        mount -t iso9660 -o ro "$dev" /mnt 2>/dev/null || continue
        if [ -f /mnt/openstack/latest/meta_data.json ]; then
            { echo "NOVALITE-CONFIG-DRIVE-BEGIN"; cat /mnt/openstack/latest/meta_data.json
              echo; cat /mnt/openstack/latest/user_data 2>/dev/null
              echo "NOVALITE-CONFIG-DRIVE-END"; } >/dev/ttyS0
            break 2
        fi
        umount /mnt
    done
    sleep 0.5
done
# PID 1 must never exit (the kernel panics); idle until the power button is pressed.
while true; do sleep 3600; done
EOF
chmod 0755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$WORK/initramfs"

cat >"$WORK/sidecar.json" <<EOF
{
  "id": "$IMAGE_ID",
  "name": "$NAME",
  "properties": {"os_command_line": "console=ttyS0 quiet panic=-1"}
}
EOF
# Move into place last, so an interrupted build is never mistaken for a finished one.
mv "$vmlinuz" "$OUTDIR/$NAME.kernel"
mv "$WORK/initramfs" "$OUTDIR/$NAME.initramfs"
mv "$WORK/sidecar.json" "$OUTDIR/$NAME.json"
echo "$RECIPE" >"$OUTDIR/.$NAME.recipe"
log "built $NAME ($kver) in $OUTDIR"
