"""Test hook: SIGKILL this process at a named point, to prove recovery from a crash there.

COBUILD_CRASH_AT names the point; COBUILD_CRASH_ONCE_FILE (optional) makes it fire once only,
so the restarted process runs through. Points: consumer.after_commit, consumer.mid_batch,
outbox.after_insert, relay.after_publish.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def crash_point(name: str) -> None:
    if os.environ.get("COBUILD_CRASH_AT") != name:
        return
    marker = os.environ.get("COBUILD_CRASH_ONCE_FILE")
    if marker:
        path = Path(marker)
        if path.exists():
            return
        path.write_text(name)
    os.kill(os.getpid(), signal.SIGKILL)
