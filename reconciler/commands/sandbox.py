"""`sandbox serve`: configure the emulator of both WeChat API families and serve it over HTTP on loopback.

The CLI parses the options and prints; this module reads the JSON settings file, creates or reuses the
credentials and runs the server until it is stopped.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Serving:
    """What a started sandbox tells its user (never a secret: only where the credentials are)."""

    url: str
    keys_dir: Path
    data: Path | None


def serve_sandbox(
    host: str,
    port: int,
    *,
    data: str | None,
    keys_dir: str | None,
    config_json: Path | None,
    overrides: Mapping[str, Any],
    announce: Callable[[Serving], None],
) -> None:
    """Serve until interrupted. `overrides` (SandboxConfig fields from options) apply over `config_json`."""
    from reconciler.sandbox import config_from_mapping, create_app, load_or_create_credentials
    from reconciler.sandbox.server import serve as serve_app

    values: dict[str, Any] = {}
    if config_json is not None:
        try:
            loaded = json.loads(config_json.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_json}: not valid JSON ({exc})") from None
        except OSError as exc:
            raise ConfigError(f"{config_json}: cannot be read ({exc.strerror or exc})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{config_json}: expected a JSON object of sandbox settings")
        values.update(loaded)
    for key, value in overrides.items():
        if key == "rate_limits":
            values["rate_limits"] = {**values.get("rate_limits", {}), **value}
        else:
            values[key] = value
    try:
        config = config_from_mapping(values)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"sandbox configuration: {exc}") from None
    keys = Path(keys_dir) if keys_dir else Path(tempfile.mkdtemp(prefix="couponctl-sandbox-"))
    try:
        credentials = load_or_create_credentials(keys)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"sandbox credentials in {keys}: {exc}") from None
    if data:
        Path(data).parent.mkdir(parents=True, exist_ok=True)
    app = create_app(credentials, config, data)
    data_path = Path(data).resolve() if data else None
    try:
        serve_app(app, host, port, lambda url: announce(Serving(url, keys.resolve(), data_path)))
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: {exc}") from None
