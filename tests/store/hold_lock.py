"""Test helper process: take the state lock at URL for OPERATION, say so on stdout, hold it, then release it.

    python tests/store/hold_lock.py URL OPERATION SECONDS     (SECONDS = 0: hold until killed)

Prints one JSON line (the LockInfo) once the lock is held, and `released` once it has let the lock go.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

from reconciler.store import open_store


def main(url: str, operation: str, seconds: float) -> None:
    store = open_store(url)
    with store.lock(operation) as info:
        print(json.dumps(dataclasses.asdict(info)), flush=True)
        deadline = time.monotonic() + seconds
        while seconds == 0 or time.monotonic() < deadline:
            time.sleep(0.05)
    print("released", flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
