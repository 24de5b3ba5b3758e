"""The libvirt connection and what the host is: capacity, CPU, CPU traits.

Everything here blocks (libvirt-python calls into libvirtd); the driver runs it in a
thread. One connection serves every thread: libvirt connections are thread-safe.
"""

from __future__ import annotations

import shutil
import socket
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable, TypeVar

import libvirt
import os_traits

from novalite.drivers.base import IMAGE_TYPE_TRAITS, DriverError, HostResources
from novalite.drivers.libvirt.config_xml import NAMESPACE

T = TypeVar("T")

# libvirt prints every error to stderr by default; ours are raised, logged and shown once.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

# libvirt's x86 CPU feature names -> os-traits names. Explicit, because the names differ
# in ways no rule captures (pni is SSE3, pclmuldq is CLMUL, sha-ni is SHA, ...).
_CPU_FEATURE_TRAITS = {
    "3dnow": "3DNOW", "abm": "ABM", "aes": "AESNI", "avx": "AVX", "avx2": "AVX2",
    "avx512bw": "AVX512BW", "avx512cd": "AVX512CD", "avx512dq": "AVX512DQ",
    "avx512er": "AVX512ER", "avx512f": "AVX512F", "avx512pf": "AVX512PF",
    "avx512vl": "AVX512VL", "avx512vnni": "AVX512VNNI", "avx512vbmi": "AVX512VBMI",
    "avx512ifma": "AVX512IFMA", "avx512vbmi2": "AVX512VBMI2",
    "avx512bitalg": "AVX512BITALG", "avx512-vpopcntdq": "AVX512VPOPCNTDQ",
    "vaes": "AVX512VAES", "gfni": "AVX512GFNI", "vpclmulqdq": "AVX512VPCLMULQDQ",
    "bmi1": "BMI", "bmi2": "BMI2", "pclmuldq": "CLMUL", "f16c": "F16C", "fma": "FMA3",
    "fma4": "FMA4", "mmx": "MMX", "mpx": "MPX", "sha-ni": "SHA", "sse": "SSE",
    "sse2": "SSE2", "pni": "SSE3", "ssse3": "SSSE3", "sse4.1": "SSE41", "sse4.2": "SSE42",
    "sse4a": "SSE4A", "svm": "SVM", "tbm": "TBM", "vmx": "VMX", "xop": "XOP",
    "pdpe1gb": "PDPE1GB", "stibp": "STIBP", "amx-bf16": "AMXBF16",
    "amx-int8": "AMXINT8", "amx-tile": "AMXTILE", "md-clear": "INTEL_MD_CLEAR",
    "pcid": "INTEL_PCID", "spec-ctrl": "INTEL_SPEC_CTRL", "ssbd": "INTEL_SSBD",
}
_KNOWN_TRAITS = set(os_traits.get_traits("HW_CPU_X86_"))


def cpu_traits(features: set[str]) -> list[str]:
    """os-traits names for the CPU features libvirt reports (unknown features dropped)."""
    traits = {f"HW_CPU_X86_{_CPU_FEATURE_TRAITS[f]}" for f in features if f in _CPU_FEATURE_TRAITS}
    return sorted(traits & _KNOWN_TRAITS)


class Host:
    def __init__(self, uri: str):
        self.uri = uri
        self._conn: libvirt.virConnect | None = None
        self._lock = threading.Lock()

    # -- connection ---------------------------------------------------------------------

    def connect(self) -> libvirt.virConnect:
        """The open connection, reopened if libvirtd restarted since."""
        with self._lock:
            if self._conn is not None and self._conn.isAlive():
                return self._conn
            try:
                self._conn = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise DriverError(
                    f"cannot connect to libvirt at {self.uri}: {exc.get_error_message()} "
                    "(is libvirtd running? tools/install-libvirt.sh starts it)") from exc
            return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except libvirt.libvirtError:
                    pass  # a connection that is already gone is closed enough
                self._conn = None

    def with_connection(self, op: Callable[[libvirt.virConnect], T]) -> T:
        """Run `op` on the connection; once more on a new one if libvirtd went away.

        A restarted libvirtd leaves our connection dead, and we only learn it from the
        next call failing; every driver action starts with a call made through here.
        """
        conn = self.connect()
        try:
            return op(conn)
        except libvirt.libvirtError:
            if conn.isAlive():
                raise
            return op(self.connect())

    def lookup(self, uuid: str) -> libvirt.virDomain | None:
        try:
            return self.with_connection(lambda conn: conn.lookupByUUIDString(uuid))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def define(self, xml: str) -> libvirt.virDomain:
        return self.with_connection(lambda conn: conn.defineXML(xml))

    def owned_domains(self, host: str) -> list[tuple[str, libvirt.virDomain]]:
        """(uuid, domain) of every domain whose novalite metadata names `host`."""
        owned = []
        for dom in self.with_connection(lambda conn: conn.listAllDomains(0)):
            try:
                meta = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NAMESPACE)
            except libvirt.libvirtError:
                continue  # not ours (no metadata), or undefined since the listing
            owner = ET.fromstring(meta).findtext("host")
            if owner == host:
                owned.append((dom.UUIDString(), dom))
        return owned

    # -- what the host is ---------------------------------------------------------------

    def _host_cpu(self) -> tuple[ET.Element | None, set[str]]:
        caps = ET.fromstring(self.connect().getCapabilities())
        cpu = caps.find("host/cpu")
        if cpu is None:
            return None, set()
        features = {f.get("name", "") for f in cpu.findall("feature")}
        # Capabilities list only the features beyond the named model; expanding the
        # model gives them all (AVX2 is implied by Haswell, not listed next to it).
        try:
            expanded = self.connect().baselineCPU(
                [ET.tostring(cpu, encoding="unicode")],
                libvirt.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES)
        except libvirt.libvirtError:
            expanded = None  # drivers without baseline support (the test driver)
        if expanded:
            features |= {f.get("name", "") for f in ET.fromstring(expanded).findall("feature")
                         if f.get("policy", "require") == "require"}
        return cpu, features

    def _memory_mb(self, info: list[Any]) -> int:
        """The host's RAM. getInfo counts only memory in NUMA cells, which in a VM with
        hot-plugged memory is far less than the kernel's MemTotal; prefer the latter."""
        try:
            stats = self.connect().getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
            return int(stats["total"]) // 1024
        except (libvirt.libvirtError, KeyError):
            return int(info[1])  # drivers without node memory stats (the test driver)

    def resources(self, hostname: str, instances_path: Path,
                  used_vcpus: int, used_memory_mb: int) -> HostResources:
        conn = self.connect()
        # getInfo: [arch, memory MiB, active CPUs, MHz, NUMA nodes, sockets, cores, threads]
        info = conn.getInfo()
        cpu, features = self._host_cpu()
        disk = shutil.disk_usage(instances_path)
        gib = 1024**3
        cpu_info: dict[str, Any] = {
            "arch": info[0],
            "model": cpu.findtext("model") if cpu is not None else None,
            "vendor": cpu.findtext("vendor") if cpu is not None else None,
            "topology": {"sockets": info[5], "cores": info[6], "threads": info[7]},
            "features": sorted(features),
        }
        return HostResources(
            hypervisor_hostname=hostname,
            hypervisor_type=conn.getType(),
            hypervisor_version=conn.getVersion(),
            vcpus=info[2],
            memory_mb=self._memory_mb(info),
            local_gb=disk.total // gib,
            vcpus_used=used_vcpus,
            memory_mb_used=used_memory_mb,
            local_gb_used=(disk.total - disk.free) // gib,
            cpu_info=cpu_info,
            host_ip=_host_ip(),
            traits=[*cpu_traits(features), *IMAGE_TYPE_TRAITS],
        )


def _host_ip() -> str:
    """The address other hosts would reach us on (no packet is sent by a UDP connect)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))
            return sock.getsockname()[0]
    except OSError:
        return "127.0.0.1"
