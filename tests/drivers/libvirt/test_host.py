"""CPU feature names to os-traits."""

from __future__ import annotations

import os_traits

from tests.drivers.libvirt.conftest import require_libvirt_python

require_libvirt_python()

from novalite.drivers.libvirt.host import _CPU_FEATURE_TRAITS, cpu_traits  # noqa: E402


def test_libvirt_feature_names_map_to_os_traits() -> None:
    traits = cpu_traits({"avx2", "sse4.2", "pni", "pclmuldq", "sha-ni", "vmx", "not-a-feature"})
    assert traits == ["HW_CPU_X86_AVX2", "HW_CPU_X86_CLMUL", "HW_CPU_X86_SHA",
                      "HW_CPU_X86_SSE3", "HW_CPU_X86_SSE42", "HW_CPU_X86_VMX"]


def test_every_mapped_trait_exists_in_os_traits() -> None:
    known = set(os_traits.get_traits("HW_CPU_X86_"))
    unknown = {f"HW_CPU_X86_{t}" for t in _CPU_FEATURE_TRAITS.values()} - known
    assert not unknown
