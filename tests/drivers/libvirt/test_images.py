"""Finding images in the images directory, and the base-image cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.drivers.libvirt.conftest import require_libvirt_python

require_libvirt_python()

from novalite.drivers.base import DriverError, ImageSpec  # noqa: E402
from novalite.drivers.libvirt.images import ImageStore  # noqa: E402

SIDECAR_ID = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def store(test_images: Path, tmp_path: Path) -> ImageStore:
    return ImageStore(test_images, tmp_path / "_base")


def test_kernel_image_by_sidecar_id_carries_its_command_line(store: ImageStore,
                                                              test_images: Path) -> None:
    source = store.resolve(ImageSpec(id=SIDECAR_ID))
    assert source.kernel == test_images / "tiny.kernel"
    assert source.ramdisk == test_images / "tiny.initramfs"
    assert source.disk is None
    assert source.cmdline == "console=ttyS0"


def test_image_by_name_and_properties_from_the_request_win(store: ImageStore) -> None:
    source = store.resolve(ImageSpec(id="unknown-id", name="tiny",
                                     properties={"os_command_line": "quiet"}))
    assert source.kernel is not None and source.cmdline == "quiet"


def test_disk_image_by_stem(store: ImageStore, test_images: Path) -> None:
    source = store.resolve(ImageSpec(id="disky"))
    assert source.disk == test_images / "disky.qcow2"
    assert source.disk_format == "qcow2"
    assert source.kernel is None


def test_kernel_id_boots_a_disk_image_with_another_images_kernel(store: ImageStore,
                                                                  test_images: Path) -> None:
    source = store.resolve(ImageSpec(id="disky", properties={"kernel_id": SIDECAR_ID,
                                                              "ramdisk_id": "tiny"}))
    assert source.disk == test_images / "disky.qcow2"
    assert source.kernel == test_images / "tiny.kernel"
    assert source.ramdisk == test_images / "tiny.initramfs"


def test_explicit_paths_are_used_as_given(store: ImageStore, tmp_path: Path) -> None:
    source = store.resolve(ImageSpec(id="x", kernel_path=str(tmp_path / "k")))
    assert source.kernel == tmp_path / "k" and source.disk is None


@pytest.mark.parametrize("key", ["nope", "../images/tiny", ".hidden"])
def test_unknown_image_names_the_directory(store: ImageStore, test_images: Path, key: str) -> None:
    with pytest.raises(DriverError) as err:
        store.resolve(ImageSpec(id=key))
    assert str(test_images) in str(err.value)


async def test_cache_copies_once_and_probes_the_format(store: ImageStore, tmp_path: Path) -> None:
    source = store.resolve(ImageSpec(id="disky"))
    path, fmt, size = await store.cached_disk(source)
    assert path.parent == tmp_path / "_base" and path.is_file()
    assert (fmt, size) == ("qcow2", 512 * 1024**2)
    mtime = path.stat().st_mtime_ns
    again = await store.cached_disk(source)
    assert again[0] == path and path.stat().st_mtime_ns == mtime
