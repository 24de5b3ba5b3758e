"""Boot N servers against the split deployment with 1 and 2 scheduler/conductor processes.

Starts the scaled-out shape as real processes on this machine's PostgreSQL and RabbitMQ
(API with 2 workers, placement, S schedulers, 2 cells each with S conductors and 2 fake
computes; tests/support/split.py), runs bench/boot.py's measurement against its API, and
tears it all down, once per S. Prints one row per S.

    python bench/split.py --servers 200 --concurrency 20 --processes 1 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.boot import run  # noqa: E402
from tests.support.split import SplitDeployment  # noqa: E402

COLUMNS = ("servers_per_s", "to_active_median_s", "to_active_p95_s", "post_median_ms", "delete_all_s")


def measure(processes: int, servers: int, concurrency: int) -> dict[str, float]:
    deployment = SplitDeployment(Path(tempfile.mkdtemp(prefix="novalite-split-bench-")),
                                 schedulers=processes, conductors_per_cell=processes)
    with deployment.running():
        assert deployment.api is not None
        return asyncio.run(run(deployment.api.url, servers, concurrency, "1", None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2],
                        help="scheduler processes, and conductor processes per cell, of each run")
    args = parser.parse_args()
    rows = [(n, measure(n, args.servers, args.concurrency)) for n in args.processes]
    print("| schedulers / conductors per cell | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for n, result in rows:
        print(f"| {n} | " + " | ".join(f"{result[c]:.2f}" for c in COLUMNS) + " |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
