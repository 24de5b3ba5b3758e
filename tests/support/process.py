"""Running novalite as a real process on a free 127.0.0.1 port, and stopping it by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NovaliteProcess:
    def __init__(self, args: list[str], env: dict[str, str], log_path: Path, port: int):
        self.args, self.env, self.log_path, self.port = args, env, log_path, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 60.0) -> "NovaliteProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "novalite", *self.args], env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"novalite exited with {self.proc.returncode}; log: {self.log_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"novalite did not answer within {ready_timeout}s; log: {self.log_text()[-3000:]}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def all_in_one(data_dir: Path, extra_env: dict[str, str] | None = None) -> NovaliteProcess:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVALITE_")}
    env.update({"NOVALITE_SERVICE__DATA_DIR": str(data_dir), "NOVALITE_SERVICE__PORT": str(port),
                # As in make_settings: noauth2 tokens and made-up images unless a test asks otherwise.
                "NOVALITE_API__AUTH_STRATEGY": "noauth2", "NOVALITE_IMAGE__ENABLED": "false"})
    env.update(extra_env or {})
    return NovaliteProcess(["all-in-one"], env, data_dir / "novalite.log", port)
