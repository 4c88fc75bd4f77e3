"""A served sandbox for tests: `couponctl sandbox serve` in a subprocess on loopback, plus admin-API helpers.

    with served_sandbox(tmp_path, product_initial_state="AUDITING") as sbx:
        httpx.get(sbx.url + "/_sandbox/state")

Config overrides are SandboxConfig field names (passed through `--config-json`). The process is stopped on exit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from reconciler.sandbox import SandboxCredentials, load_credentials

READY_PREFIX = "couponctl sandbox serving on "


@dataclass
class ServedSandbox:
    """A running sandbox server: its URL, credentials, and admin-API helpers."""

    url: str
    keys_dir: Path
    data: Path
    credentials: SandboxCredentials
    process: subprocess.Popen[str]
    _client: httpx.Client = field(repr=False)

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self._client.request(method, f"{self.url}/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def state(self) -> dict[str, Any]:
        """Every coupon the sandbox holds: {"shop_coupons": [...], "product_coupons": [...]}."""
        result: dict[str, Any] = self._admin("GET", "state")
        return result

    def calls(self) -> list[dict[str, Any]]:
        """The call log (seq, operation, method, path, http_status, errcode/code, out_request_no, at)."""
        result: list[dict[str, Any]] = self._admin("GET", "calls")["calls"]
        return result

    def clear_calls(self) -> int:
        return int(self._admin("DELETE", "calls")["cleared"])

    def patch_shop(self, out_coupon_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Out-of-band merge edit of a shop coupon (of the coupon object; a body with a "coupon" key edits the
        whole stored document {"coupon": ..., "coupon_stock": ...})."""
        result: dict[str, Any] = self._admin("PATCH", f"shop-coupons/{out_coupon_id}", data)
        return result

    def delete_shop(self, out_coupon_id: str) -> dict[str, Any]:
        """Make a shop coupon vanish upstream (no WeChat API does this; it simulates data loss for drift tests)."""
        result: dict[str, Any] = self._admin("DELETE", f"shop-coupons/{out_coupon_id}")
        return result

    def patch_product(self, product_coupon_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Out-of-band merge edit of a product coupon entity."""
        result: dict[str, Any] = self._admin("PATCH", f"product-coupons/{product_coupon_id}", data)
        return result

    def review(self, product_coupon_id: str) -> dict[str, Any]:
        """Finish review: AUDITING -> EFFECTIVE."""
        result: dict[str, Any] = self._admin("POST", f"product-coupons/{product_coupon_id}/review")
        return result

    def send_stock(self, stock_id: str, count: int) -> dict[str, Any]:
        """Simulate users claiming `count` coupons of a SENDING stock (409 raises: beyond max_count, not SENDING)."""
        result: dict[str, Any] = self._admin("POST", f"stocks/{stock_id}/send", {"count": count})
        return result

    def move_stock(self, stock_id: str, verb: str) -> dict[str, Any]:
        """`pause`, `resume`, `stop` or `review` a stock, as the console or time would (docs/sandbox.md)."""
        result: dict[str, Any] = self._admin("POST", f"stocks/{stock_id}/{verb}")
        return result

    def set_faults(self, spec: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Replace the fault rules (see reconciler/sandbox/faults.py)."""
        result: list[dict[str, Any]] = self._admin("PUT", "faults", {"faults": spec})["faults"]
        return result

    def set_limits(self, spec: dict[str, float | None], burst_s: float | None = None) -> dict[str, float]:
        """Merge per-operation rate limits (per second; None removes one)."""
        body: dict[str, Any] = {"rate_limits": spec}
        if burst_s is not None:
            body["burst_s"] = burst_s
        result: dict[str, float] = self._admin("PUT", "limits", body)["rate_limits"]
        return result


def start_process(tmp_path: Path, config: dict[str, Any]) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m reconciler sandbox serve` and wait for its URL line."""
    args = [
        sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0",
        "--keys-dir", str(tmp_path / "keys"), "--data", str(tmp_path / "sandbox.db"),
    ]  # fmt: skip
    if config:
        config_file = tmp_path / "sandbox-config.json"
        config_file.write_text(json.dumps(config), encoding="utf-8")
        args += ["--config-json", str(config_file)]
    # stderr goes to a file: a pipe nobody reads could fill up and stall the server.
    with (tmp_path / "sandbox.log").open("a", encoding="utf-8") as log:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
    assert process.stdout is not None
    first: list[str] = []

    def read_first_line() -> None:
        first.append(process.stdout.readline() if process.stdout else "")

    reader = threading.Thread(target=read_first_line, daemon=True)
    reader.start()
    reader.join(30)
    line = first[0] if first else ""
    if not line.startswith(READY_PREFIX):
        stop_process(process)
        log_text = (tmp_path / "sandbox.log").read_text(encoding="utf-8")
        raise RuntimeError(f"sandbox did not start: {line!r} {log_text[-2000:]}")
    return process, line[len(READY_PREFIX) :].strip()


def stop_process(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


@contextmanager
def served_sandbox(tmp_path: Path, **config_overrides: Any) -> Iterator[ServedSandbox]:
    """Serve a sandbox keeping keys in tmp_path/keys and data in tmp_path/sandbox.db; stop it on exit."""
    process, url = start_process(tmp_path, config_overrides)
    client = httpx.Client(timeout=30)
    try:
        yield ServedSandbox(
            url=url,
            keys_dir=tmp_path / "keys",
            data=tmp_path / "sandbox.db",
            credentials=load_credentials(tmp_path / "keys"),
            process=process,
            _client=client,
        )
    finally:
        client.close()
        stop_process(process)
