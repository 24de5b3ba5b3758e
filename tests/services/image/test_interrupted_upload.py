"""kill -9 while an image uploads: after a restart the image takes data again."""

from __future__ import annotations

import socket
import threading
import time

import httpx

from tests.support.databases import database_env
from tests.support.process import all_in_one

HEADERS = {"X-Auth-Token": "alice:alpha"}
IMAGES = "/image/v2/images"


def _start_upload_and_stall(port: int, image_id: str, started: threading.Event) -> None:
    """Send the headers and a first part of the data, then never finish (the server dies)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall((f"PUT {IMAGES}/{image_id}/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"X-Auth-Token: alice:alpha\r\nContent-Type: application/octet-stream\r\n"
                      f"Content-Length: 1000000\r\n\r\n").encode() + b"x" * 100_000)
        started.set()
        try:
            sock.recv(1)  # until the server goes away
        except OSError:
            pass


def test_an_upload_cut_by_kill_dash_nine_is_queued_again_after_restart(tmp_path, database_urls):
    env = {"NOVALITE_IMAGE__ENABLED": "true", **database_env(database_urls)}
    first = all_in_one(tmp_path, env).start()
    try:
        created = httpx.post(f"{first.url}{IMAGES}", headers=HEADERS, timeout=10,
                             json={"name": "cut", "disk_format": "raw", "container_format": "bare"})
        assert created.status_code == 201, created.text
        image_id = created.json()["id"]
        started = threading.Event()
        uploader = threading.Thread(target=_start_upload_and_stall, args=(first.port, image_id, started),
                                    daemon=True)
        uploader.start()
        assert started.wait(10)
        deadline = time.monotonic() + 10
        while httpx.get(f"{first.url}{IMAGES}/{image_id}", headers=HEADERS, timeout=10).json()["status"] != "saving":
            assert time.monotonic() < deadline, "the upload never started"
            time.sleep(0.05)
    finally:
        first.kill()
    uploader.join(10)

    second = all_in_one(tmp_path, env).start()
    try:
        image = httpx.get(f"{second.url}{IMAGES}/{image_id}", headers=HEADERS, timeout=10).json()
        assert image["status"] == "queued", image
        assert not list((tmp_path / "images" / ".incoming").glob("*.part"))
        upload = httpx.put(f"{second.url}{IMAGES}/{image_id}/file", content=b"y" * 4096, timeout=30,
                           headers={**HEADERS, "Content-Type": "application/octet-stream"})
        assert upload.status_code == 204, upload.text
        image = httpx.get(f"{second.url}{IMAGES}/{image_id}", headers=HEADERS, timeout=10).json()
        assert (image["status"], image["size"]) == ("active", 4096)
    finally:
        second.stop()
