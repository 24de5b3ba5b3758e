"""uvicorn workers are separate processes: a scrape of any of them must sum all of them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.observability.support import sample

COUNT = "from novalite.observability import metrics; metrics.count_message('topic-x', 'cast', 'sent')"
SCRAPE = ("import sys; from novalite.observability import metrics; "
          "sys.stdout.buffer.write(metrics.process_metrics_text())")


def _python(code: str, env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True,
                          timeout=60).stdout.decode()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "NOVALITE_ASGI_ROLES")}
    return {**env, **extra}


def test_samples_of_every_process_in_the_directory_are_summed(tmp_path):
    env = _env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    for _ in range(3):
        _python(COUNT, env)
    assert sample(_python(SCRAPE, env), "novalite_bus_messages_total", topic="topic-x") == 3


def test_asgi_workers_share_a_directory_per_parent_when_none_is_given():
    shared = Path(tempfile.gettempdir()) / f"novalite-metrics-{os.getpid()}"  # the workers' parent is us
    shutil.rmtree(shared, ignore_errors=True)
    env = _env(NOVALITE_ASGI_ROLES="api")
    try:
        _python(COUNT, env)
        _python(COUNT, env)
        assert sample(_python(SCRAPE, env), "novalite_bus_messages_total", topic="topic-x") == 2
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    # Without workers each process counts alone.
    alone = COUNT + "; import sys; sys.stdout.buffer.write(metrics.process_metrics_text())"
    assert sample(_python(alone, _env()), "novalite_bus_messages_total", topic="topic-x") == 1
