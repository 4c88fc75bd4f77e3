"""The calls that change a product coupon's stocks (批次) and stock bundles (批次组) after creation, and what the
planner reads from a stock in state: its state, its sent count, its upstream id (decision D29; reference B.1, B.4,
B.10). Pure.

Bodies, as the upstream takes them (field names from the third-party SDK models of the stock pages [3P]):

- add: `{out_request_no, brand_id, stock: {...}}` (`stock_bundle` for a bundle), numbered like a create (D29);
- patch: `{out_request_no, brand_id, <the changed PATCH-able top-level fields, whole>}`;
- update budget: `{out_request_no, brand_id, update_mode, current_max_count, target_max_count}` (or the
  `_per_day` pair), one dimension per call; `update_mode` values are our inference [INF];
- deactivate: `{out_request_no, brand_id, deactivate_reason}` (the coupon's body, reference B.8).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.plan.actions import PlanContext, numbered
from reconciler.plan.kinds import STOCK_RESPONSE_ONLY
from reconciler.plan.model import Call, Operation
from reconciler.plan.request_numbers import stock_add_request_no
from reconciler.resources import ResourceState

# The top-level stock fields a stock (or bundle) PATCH may change (reference B.4; doc 4015781556 [3P]).
PATCHABLE: tuple[str, ...] = (
    "remark",
    "usage_rule_display_info",
    "coupon_display_info",
    "notify_config",
    "store_scope",
)
# stock_send_rule field -> update-budget `update_mode` [INF] (doc 4015781561; field names [3P]).
BUDGET_MODES: dict[str, str] = {"max_count": "MAX_COUNT", "max_count_per_day": "MAX_COUNT_PER_DAY"}
# What upstream adds to a stock it answers (reference B.4): never compared, never sent (the one list, plan/kinds.py).
RESPONSE_ONLY: frozenset[str] = STOCK_RESPONSE_ONLY
STOCK_CAP = 200  # reference B.4: at most 200 effective stocks per coupon [S]
CHANGEABLE_STATES = frozenset({"SENDING", "PAUSED"})  # reference B.10
AUDITING = "AUDITING"
ENDED_STATES = frozenset({"STOPPED", "DEACTIVATED"})
KNOWN_STATES = CHANGEABLE_STATES | ENDED_STATES | {AUDITING}
DEACTIVATE_REASON_MAX = 150  # reference B.8


@dataclass(frozen=True, slots=True)
class Family:
    """Stocks (usage_mode SINGLE) or stock bundles (PROGRESSIVE_BUNDLE): where they live and which calls they take."""

    key: str  # the body's map: "stocks" | "stock_bundles"
    body_key: str  # the add request's field: "stock" | "stock_bundle"
    id_field: str  # "stock_id" | "stock_bundle_id"
    add: Operation
    patch: Operation
    update_budget: Operation
    noun: str

    @property
    def bundle(self) -> bool:
        return self.key == "stock_bundles"


STOCKS = Family(
    "stocks", "stock", "stock_id", "product.stock.add", "product.stock.patch", "product.stock.update_budget", "stock"
)
BUNDLES = Family(
    "stock_bundles",
    "stock_bundle",
    "stock_bundle_id",
    "product.bundle.add",
    "product.bundle.patch",
    "product.bundle.update_budget",
    "stock bundle",
)
FAMILIES: tuple[Family, ...] = (STOCKS, BUNDLES)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def comparable(stock: Mapping[str, Any]) -> dict[str, Any]:
    """A stock without its response-only fields: what the manifest declares."""
    return {k: v for k, v in stock.items() if k not in RESPONSE_ONLY}


def _steps(stock: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    steps = stock.get("stock_list")
    return [s for s in steps if isinstance(s, Mapping)] if isinstance(steps, list) else []


def stock_state(family: Family, stock: Mapping[str, Any]) -> str | None:
    """The stock's upstream state (B.10), or None when state does not know it. A bundle has the state of its steps:
    the first step that is not SENDING (AUDITING, PAUSED, ended) speaks for the bundle [INF]."""
    own = stock.get("state")
    if isinstance(own, str) or not family.bundle:
        return own if isinstance(own, str) else None
    states = [s.get("state") for s in _steps(stock) if isinstance(s.get("state"), str)]
    for state in states:
        if state != "SENDING":
            return str(state)
    return "SENDING" if states else None


def _sent(stock: Mapping[str, Any], field: str) -> int | None:
    info = stock.get("sent_count_info")
    if not isinstance(info, Mapping):
        return None
    # `total_sent_count` / `today_sent_count` (decision D29); the sandbox's first stocks said `total_count`.
    for key in (f"{field}_sent_count", f"{field}_count"):
        found = _int(info.get(key))
        if found is not None:
            return found
    return None


def sent_count(family: Family, stock: Mapping[str, Any]) -> int | None:
    """Coupons of this stock already sent (`sent_count_info.total_sent_count`, response-only, recorded by refresh),
    or None when state does not know. A bundle: the most any of its step stocks has sent."""
    own = _sent(stock, "total")
    if own is not None or not family.bundle:
        return own
    counts = [c for c in (_sent(s, "total") for s in _steps(stock)) if c is not None]
    return max(counts) if counts else None


def upstream_id(family: Family, stock: Mapping[str, Any]) -> str | None:
    found = stock.get(family.id_field)
    return str(found) if isinstance(found, str | int) and not isinstance(found, bool) else None


def step_stock_ids(stock: Mapping[str, Any]) -> list[str]:
    """The stock_id of each step stock of a bundle, in order (its `stock_list`)."""
    return [str(s["stock_id"]) for s in _steps(stock) if isinstance(s.get("stock_id"), str)]


@dataclass(frozen=True, slots=True)
class Calls:
    """Builds the numbered calls of one coupon's stocks (`coupon_id` None: the coupon is created by this action)."""

    ctx: PlanContext
    address: str
    brand: str
    coupon_id: str | None
    coupon_generation: int
    have: ResourceState | None

    def _numbered(self, operation: str, stock_key: str, body: Mapping[str, Any]) -> dict[str, Any]:
        target = f"{self.coupon_id or '-'}/{stock_key}"
        return numbered(self.ctx, self.address, operation, body, target=target, state=self.have)

    def add(self, family: Family, name: str, stock: Mapping[str, Any], stock_generation: int) -> Call:
        number = stock_add_request_no(
            self.brand,
            self.address,
            name,
            self.coupon_generation,
            stock_generation,
            self.ctx.environment,
            bundle=family.bundle,
        )
        sent = {k: v for k, v in stock.items() if k != "stores"}  # associated after the add (decision D34)
        payload = {"out_request_no": number, "brand_id": self.brand, family.body_key: sent}
        return Call(family.add, payload, self.coupon_id, number, stock_name=name, stock_id=None)

    def patch(self, family: Family, name: str, stock_id: str, fields: Mapping[str, Any]) -> Call:
        payload = self._numbered(family.patch, stock_id, {"brand_id": self.brand, **fields})
        return Call(
            family.patch, payload, self.coupon_id, payload["out_request_no"], stock_name=name, stock_id=stock_id
        )

    def update_budget(self, family: Family, name: str, stock_id: str, field: str, current: int, target: int) -> Call:
        body = {
            "brand_id": self.brand,
            "update_mode": BUDGET_MODES[field],
            f"current_{field}": current,
            f"target_{field}": target,
        }
        payload = self._numbered(family.update_budget, stock_id, body)
        return Call(
            family.update_budget, payload, self.coupon_id, payload["out_request_no"], stock_name=name, stock_id=stock_id
        )

    def deactivate(self, name: str, stock_id: str, why: str, *, old: bool = False) -> Call:
        body = {"brand_id": self.brand, "deactivate_reason": why[:DEACTIVATE_REASON_MAX]}
        payload = self._numbered("product.stock.deactivate", stock_id, body)
        return Call(
            "product.stock.deactivate",
            payload,
            self.coupon_id,
            payload["out_request_no"],
            role="old" if old else "new",
            stock_name=name,
            stock_id=stock_id,
        )


def stock_generations(have: ResourceState | None) -> Mapping[str, int]:
    """The generation of each stock name's latest stock, as apply recorded it (`extra.stock_generations`)."""
    recorded = have.extra.get("stock_generations") if have is not None and have.extra else None
    if not isinstance(recorded, Mapping):
        return {}
    return {str(k): v for k, v in recorded.items() if _int(v) is not None}


def coupon_generation(have: ResourceState | None) -> int:
    """The D17 generation of the coupon in state (0 when not recorded: a state from before D17, an import)."""
    recorded = _int(have.extra.get("generation")) if have is not None and have.extra else None
    return recorded if recorded is not None else 0
