"""The couponctl CLI that SIGKILLs itself at a chosen journal event, for the crash-safety suite (contract §2.4).

    python -m tests.support.crashing_cli <event>:<n> [couponctl arguments...]

runs `couponctl [arguments...]` in this process and kills it with SIGKILL at the n-th `<event>` (n defaults to 1):

- `after_intent`: an intent has been committed, its call not yet sent (`StateStore.open_intent` returned);
- `after_call`: a call has succeeded upstream, its result not yet committed (`close_intent` of an "ok" call record
  is about to start);
- `after_commit`: that result has been committed (`close_intent` of an "ok" call record returned).

These are the three windows of the intent journal. The applier is the only writer of intents, and it closes an
intent with an "ok" record only after a call that succeeded (errors are recorded as "error", settlements as
"settled..."), so wrapping the state store's two journal methods hits exactly those windows without the shipped
applier knowing anything about tests. The wrapping is done on the store class, in this process only, before the CLI
opens any store.
"""

from __future__ import annotations

import functools
import os
import runpy
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from reconciler.store import SqlStateStore
from reconciler.store.api import CallRecord

EVENTS = ("after_intent", "after_call", "after_commit")


class CrashAt:
    """Counts journal events and kills the process at the n-th occurrence of the chosen one."""

    def __init__(self, spec: str, kill: Callable[[], None]) -> None:
        event, _, nth = spec.partition(":")
        if event not in EVENTS:
            raise SystemExit(f"crashing_cli: unknown event {event!r} (one of {', '.join(EVENTS)})")
        self.event = event
        self.nth = int(nth or "1")
        self._kill = kill
        self._seen = 0
        self._lock = threading.Lock()

    def reached(self, event: str) -> None:
        if event != self.event:
            return
        with self._lock:
            self._seen += 1
            hit = self._seen == self.nth
        if hit:
            self._kill()


def sigkill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(crash: CrashAt, store_class: type[SqlStateStore] = SqlStateStore) -> None:
    """Wrap `store_class`'s journal methods so they report the three events to `crash`."""
    open_intent = store_class.open_intent
    close_intent = store_class.close_intent

    @functools.wraps(open_intent)
    def opened(self: SqlStateStore, *args: Any, **kwargs: Any) -> int:
        intent_id = open_intent(self, *args, **kwargs)
        crash.reached("after_intent")
        return intent_id

    @functools.wraps(close_intent)
    def closed(self: SqlStateStore, intent_id: int, *, call: CallRecord, **kwargs: Any) -> int:
        landed = call.outcome == "ok"
        if landed:
            crash.reached("after_call")
        serial = close_intent(self, intent_id, call=call, **kwargs)
        if landed:
            crash.reached("after_commit")
        return serial

    store_class.open_intent = opened  # type: ignore[method-assign]
    store_class.close_intent = closed  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    install(CrashAt(argv[0], sigkill_self))
    sys.argv = ["couponctl", *argv[1:]]
    runpy.run_module("reconciler", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
