"""Who runs couponctl: the one definition used by run history (`actor`) and the state lock (`os_user`).

Reads the environment and the host name only; no I/O beyond that.
"""

from __future__ import annotations

import getpass
import os
import socket

# CI systems name the person or bot behind a pipeline; COUPONCTL_ACTOR lets any other runner say it.
CI_ACTOR_VARIABLES = ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "COUPONCTL_ACTOR")


def os_user() -> str:
    """The operating-system user name (`getpass` can fail in containers without a passwd entry)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or f"uid {os.getuid()}"


def actor() -> str:
    """Who runs this, as history records it: CI's actor when known, else user@host."""
    for var in CI_ACTOR_VARIABLES:
        if os.environ.get(var):
            return os.environ[var]
    return f"{os_user()}@{socket.gethostname()}"
