"""The guest's serial console log, as `os-getConsoleOutput` shows it."""

from __future__ import annotations

import os
from pathlib import Path

# As Nova: enough for a boot log, small enough for an API response.
MAX_CONSOLE_BYTES = 100 * 1024

CONSOLE_LOG = "console.log"


def read_tail(path: Path, max_bytes: int = MAX_CONSOLE_BYTES) -> str:
    """The last `max_bytes` of the log ("" before the guest wrote anything)."""
    try:
        with path.open("rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - max_bytes))
            data = log.read()
    except FileNotFoundError:
        return ""
    # The cut may fall inside a multi-byte character or an escape sequence; the
    # replacement character is the honest rendering of that.
    return data.decode("utf-8", errors="replace")
