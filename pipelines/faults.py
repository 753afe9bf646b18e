"""Fault-injection points for the reliability tests (tests/reliability). TEST-ONLY; inert otherwise.

`checkpoint(name)` marks a moment where a crash must not lose or half-publish anything:

- `lake.temp_written`: a lake file (the Parquet part, or the manifest when the scope is empty) is
  written under its temporary name, not yet renamed;
- `lake.before_manifest`: the part is renamed into place, the manifest not yet written;
- `lake.published`: the partition is published (manifest written), the warehouse not yet loaded;
- `warehouse.before_commit`: the file's core, quarantine and audit rows are written inside the
  warehouse transaction, which is not yet committed.

With `KDS_TEST_KILL_AT=<name>` the process SIGKILLs itself there (no cleanup, no `finally`), like an
OOM kill or a pulled plug. With `KDS_TEST_PAUSE_AT=<name>` it creates `<name>.paused` in
`KDS_TEST_PAUSE_DIR` and waits (at most 120 s) for `<name>.resume` to appear there, so that a test
can act from outside at that moment (terminate the database session, take a lock). Without these
variables a checkpoint costs two dictionary lookups. Production never sets them.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def checkpoint(name: str) -> None:
    if os.environ.get("KDS_TEST_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get("KDS_TEST_PAUSE_AT") == name:
        folder = Path(os.environ.get("KDS_TEST_PAUSE_DIR") or ".")
        (folder / f"{name}.paused").touch()
        deadline = time.monotonic() + 120
        while not (folder / f"{name}.resume").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
