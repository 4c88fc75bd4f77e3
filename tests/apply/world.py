"""A scratch world for the applier's and settle's unit tests: a real SQLite state store in a temporary directory,
the two upstream families as in-memory fakes (tests/support/fake_provider.py), a Pacer whose sleep only records,
and builders for the plans the planner would make (same call shapes, same request-number derivation)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.apply.applier import Applier, ApplyReport
from reconciler.apply.settle import Settlement, settle
from reconciler.plan.model import Action, ActionType, Call, Plan
from reconciler.plan.request_numbers import out_request_no, payload_digest
from reconciler.providers.base import Provider
from reconciler.providers.pacing import Pacer
from reconciler.resources import ResourceState
from reconciler.store import SqlStateStore, open_store
from reconciler.store.api import CallRecord
from tests.support.fake_provider import FakeProvider

BRAND = "120344"
NOW = "2026-11-29T00:00:00Z"
MAX_ATTEMPTS = 3


class World:
    """One project's state and upstream. `reopen()` is what a new process sees after the previous one died: the
    same database through a fresh store (and fresh applier, pacer and run), the same upstream."""

    def __init__(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{tmp_path / 'state.db'}"
        self.shop = FakeProvider("shop")
        self.product = FakeProvider("product")
        self.providers: dict[str, Provider] = {"shop": self.shop, "product": self.product}
        self.sleeps: list[float] = []
        self.store: SqlStateStore = open_store(self.url)
        self.pacer = self._pacer()
        self.run_id = 0

    def _pacer(self) -> Pacer:
        async def sleep(seconds: float) -> None:  # backoff is recorded, never waited for
            self.sleeps.append(seconds)

        return Pacer({}, max_attempts=MAX_ATTEMPTS, base_delay=0.5, sleep=sleep, jitter=lambda cap: cap)

    def reopen(self) -> None:
        self.store.close()
        self.store = open_store(self.url)
        self.pacer = self._pacer()

    def close(self) -> None:
        self.store.close()

    def applier(self, *, parallelism: int = 1) -> Applier:
        self.run_id = self.store.begin_run("apply", actor="tester")
        return Applier(
            self.store, self.providers, self.pacer, run_id=self.run_id, now_iso=lambda: NOW, parallelism=parallelism
        )

    def apply(self, *actions: Action, parallelism: int = 1) -> ApplyReport:
        return asyncio.run(self.applier(parallelism=parallelism).apply(self.plan(*actions)))

    def settle(self) -> list[Settlement]:
        return asyncio.run(settle(self.applier(), self.store.lineage))

    def plan(self, *actions: Action) -> Plan:
        return Plan(
            lineage=self.store.lineage,
            serial=self.store.serial,
            manifest_digest="m",
            created_at=NOW,
            expires_at="2026-11-29T01:00:00Z",
            actions=actions,
            tool_version="test",
        )

    def history(self, run_id: int | None = None) -> list[CallRecord]:
        """The call records of a run (the latest by default). A settled intent is recorded in the run that opened
        it, the one that was interrupted."""
        return self.store.calls(self.run_id if run_id is None else run_id)

    # -- actions as the planner builds them ------------------------------------------------------------------
    def product_call(self, address: str, step: str, operation: str, body: Mapping[str, Any], **kw: Any) -> Call:
        payload = {"brand_id": BRAND, **body}
        number = out_request_no(self.store.lineage, address, step, payload_digest(payload))
        return Call(operation, {"out_request_no": number, **payload}, out_request_no=number, **kw)  # type: ignore[arg-type]

    def product_create(self, name: str, label: str | None = None) -> Action:
        address = f"product_coupon.{name}"
        body = product_body(label or name)
        return Action(
            address, "ProductCoupon", ActionType.CREATE, None, body,
            calls=(self.product_call(address, "create", "product.create", body),),
            desired_digest=f"d-{name}", brand_id=BRAND,
        )  # fmt: skip

    def product_replace(self, previous: ResourceState, label: str) -> Action:
        """Create-before-destroy (design D4): the new coupon, then the deactivation of the old one."""
        body = product_body(label)
        reason = {"deactivate_reason": f"replaced by couponctl: {previous.address}"}
        return Action(
            previous.address, "ProductCoupon", ActionType.REPLACE, previous.upstream, body,
            calls=(
                self.product_call(previous.address, "create", "product.create", body),
                self.product_call(
                    previous.address, f"deactivate-{previous.upstream_id}", "product.deactivate", reason,
                    target=previous.upstream_id, role="old",
                ),
            ),
            upstream_id=previous.upstream_id, desired_digest="d-replaced", brand_id=BRAND,
        )  # fmt: skip


def product_body(label: str) -> dict[str, Any]:
    return {"type": "NORMAL", "usage_mode": "SINGLE", "display_info": {"name": label}}


def shop_coupon(name: str) -> dict[str, Any]:
    return {"out_coupon_id": name, "type": 104, "promote_type": 4, "coupon_info": {"name": f"{name} 直减"}}


def shop_create(name: str, *, active: bool = True) -> Action:
    """A new shop coupon: add (status 1), then update_status 2 when it is to be active."""
    coupon = shop_coupon(name)
    calls = [Call("shop.add", {"coupon": coupon}, target=name)]
    if active:
        calls.append(Call("shop.update_status", {"out_coupon_id": name, "status": 2}, target=name))
    return Action(
        f"shop_coupon.{name}", "ShopCoupon", ActionType.CREATE, None, coupon, calls=tuple(calls),
        upstream_id=name, desired_digest=f"d-{name}",
    )  # fmt: skip
