"""The rows of the campaign timeline: one per coupon, with its claim and validity windows, status, planned action
and the key fields a reviewer hovers for. Pure.

Windows (all in Unix seconds, drawn in +08:00):

- claim: `reconciler.claim_window` (shop `receive_info`, product `coupon_available_period`);
- validity, shop (reference A.4.4 `valid_info`): type 1 is a fixed window; types 2 and 3 run N days / seconds
  after each claim, so the window drawn is "after claim": from the first possible claim to the last claim plus N;
- validity, product (reference B.4 `coupon_available_period`): the period itself; with `available_days` each
  coupon is usable N days after its claim (from `wait_days_after_receive` on) and never past the period's end,
  drawn from the period's start plus the wait to its end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.claim_window import PRODUCT_USAGE_RULES, claim_window
from reconciler.plan import kinds
from reconciler.plan.exposure import cap_for, coupon_exposure
from reconciler.plan.model import Action, ActionType, Plan
from reconciler.render.text import REMOVED_GROUP
from reconciler.render.values import status_word
from reconciler.resources import KINDS, DesiredCoupon, Kind, ResourceState, split_address
from reconciler.stocks import iter_stocks
from reconciler.times import parse_time

DAY = 86400
NOT_CREATED = "not created yet"

# status word -> colour class of its bars (page CSS): live, not live yet, over.
STATUS_CLASS: dict[str, str] = {
    "active": "live",
    "EFFECTIVE": "live",
    "draft": "pending",
    "AUDITING": "pending",
    NOT_CREATED: "new",
    "expired": "over",
    "voided": "over",
    "DEACTIVATED": "over",
}


@dataclass(frozen=True, slots=True)
class Window:
    start: int | None  # Unix seconds
    end: int | None
    note: str = ""  # how the window is defined, e.g. "3 days after claim"
    relative: bool = False  # runs after each claim (drawn after the claim window opens)


@dataclass(frozen=True, slots=True)
class CouponRow:
    address: str
    kind: Kind
    group: str  # manifest file, or REMOVED_GROUP
    set_name: str | None  # the coupon set (`kind: CouponSet`) it was expanded from, if any
    line: int | None  # line of the manifest document
    status: str  # lifecycle word: draft / active / expired / voided, AUDITING / EFFECTIVE / DEACTIVATED, or NOT_CREATED
    action: ActionType | None  # what this plan does to it
    claim: Window
    valid: Window
    name: str | None  # the name users see
    type_text: str | None  # the coupon type, with its meaning
    quantity: int | None  # coupons in stock (shop total_num, product max_count)
    value_fen: int | None  # worst case of every coupon (plan.exposure, with the plan's order caps); None: unpriced
    claimable: bool  # after this plan, users can claim it (counted in the money section)
    upstream_id: str | None

    @property
    def status_class(self) -> str:
        return STATUS_CLASS.get(self.status, "pending")

    @property
    def group_label(self) -> str:
        """The timeline group: the manifest file, and the set within it."""
        return f"{self.group} · set {self.set_name}" if self.set_name else self.group

    @property
    def location(self) -> str:
        return self.group if self.line is None else f"{self.group}:{self.line}"


def _seconds(value: Any) -> int | None:
    moment = parse_time(value)
    return int(moment.timestamp()) if moment is not None else None


def _get(body: Mapping[str, Any], *path: str) -> Any:
    value: Any = body
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def claim_of(kind: Kind, body: Mapping[str, Any]) -> Window:
    window = claim_window(kind, body)
    if window is None:
        return Window(None, None)
    start = int(window.start.timestamp()) if window.start else None
    end = int(window.end.timestamp()) if window.end else None
    return Window(start, end, window.path)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def validity_of(kind: Kind, body: Mapping[str, Any], claim: Window) -> Window:
    """The window in which claimed coupons can be used (see the module docstring)."""
    if kind == "ShopCoupon":
        info = _get(body, "coupon_info", "valid_info")
        if not isinstance(info, Mapping):
            return Window(None, None)
        valid_type = _int(info.get("valid_type"))
        if valid_type == 1:
            return Window(_seconds(info.get("start_time")), _seconds(info.get("end_time")), "fixed window")
        after = None
        if valid_type == 2 and (days := _int(info.get("valid_day_num"))) is not None:
            after, note = days * DAY, f"{_plural(days, 'day')} after claim"
        elif valid_type == 3 and (secs := _int(info.get("valid_second"))) is not None:
            after, note = secs, f"{_plural(secs, 'second')} after claim"
        if after is None:
            return Window(None, None)
        end = claim.end + after if claim.end is not None else None
        return Window(claim.start, end, note, relative=True)
    for stock_key, rule_key in PRODUCT_USAGE_RULES:
        stocks = body.get(stock_key)
        first = next(iter(stocks.values()), None) if isinstance(stocks, Mapping) else None  # the create stock (D29)
        period = _get(first, rule_key, "coupon_available_period") if isinstance(first, Mapping) else None
        if not isinstance(period, Mapping):
            continue
        begin, end = _seconds(period.get("available_begin_time")), _seconds(period.get("available_end_time"))
        days = _int(period.get("available_days"))
        if days is None:
            return Window(begin, end, "the available period")
        wait = _int(period.get("wait_days_after_receive")) or 0
        note = f"{_plural(days, 'day')} after claim" + (f", from {_plural(wait, 'day')} after it" if wait else "")
        start = begin + wait * DAY if begin is not None else None
        return Window(start, end, note + ", within the available period", relative=True)
    return Window(None, None)


def _name(kind: Kind, body: Mapping[str, Any]) -> str | None:
    name = _get(body, "coupon_info", "name") if kind == "ShopCoupon" else _get(body, "display_info", "name")
    return name if isinstance(name, str) else None


def _type_text(kind: Kind, body: Mapping[str, Any]) -> str | None:
    value = body.get("type")
    if kind == "ShopCoupon":
        number = _int(value)
        return f"{number} {kinds.SHOP_TYPE_MEANING.get(number, '')}".strip() if number is not None else None
    if isinstance(value, str):
        return f"{value} {kinds.PRODUCT_ENUM_MEANING['type'].get(value, '')}".strip()
    return None


def _quantity(kind: Kind, body: Mapping[str, Any]) -> int | None:
    if kind == "ShopCoupon":
        return _int(_get(body, "coupon_info", "receive_info", "total_num"))
    counts = [_int(_get(stock, "stock_send_rule", "max_count")) for _, _, stock in iter_stocks(body)]
    known = [count for count in counts if count is not None]
    return sum(known) if known else None  # every stock issues its own coupons (decision D29)


def _status(kind: Kind, action: Action | None, resource: ResourceState | None) -> str:
    if resource is not None:
        return status_word(kind, resource.status)
    if action is not None and action.status_before:
        return status_word(kind, action.status_before)
    return NOT_CREATED


def _claimable(
    kind: Kind, action: Action | None, desired: DesiredCoupon | None, resource: ResourceState | None
) -> bool:
    """After this plan, users can claim the coupon: declared live (shop `active`; every declared product coupon),
    or, without manifests, live in state or made live by the plan; never when the plan deactivates or forgets it."""
    if action is not None and action.type in (ActionType.DEACTIVATE, ActionType.FORGET):
        return False
    if desired is not None:
        return kind == "ProductCoupon" or desired.status == "active"
    if action is not None and action.type is ActionType.CREATE:
        if kind == "ProductCoupon":
            return True
        return any(c.operation == "shop.update_status" and c.payload.get("status") == 2 for c in action.calls)
    if resource is not None:
        return resource.status in ("2", kinds.PRODUCT_EFFECTIVE, kinds.PRODUCT_AUDITING)
    return False


def coupon_rows(
    plan: Plan,
    desired: Sequence[DesiredCoupon],
    state: Mapping[str, ResourceState],
    *,
    manifests_loaded: bool = True,
) -> list[CouponRow]:
    """One row per coupon the manifests declare, the state holds or the plan touches, ordered like the text plan:
    by manifest file (coupons no manifest declares last), then coupon set (coupons of no set first), then kind,
    then address.

    Without the manifests (`manifests_loaded=False`: a saved plan read where they do not load), a coupon the plan
    does not touch is grouped under the manifest file apply recorded for it in state."""
    actions = {a.address: a for a in plan.actions}
    declared = {c.address: c for c in desired}
    rows: list[CouponRow] = []
    for address in sorted(set(actions) | set(declared) | set(state)):
        action, coupon, resource = actions.get(address), declared.get(address), state.get(address)
        kind = split_address(address)[0]
        body: Mapping[str, Any] = {}
        if action is not None and (action.after or action.before):
            body = action.after or action.before or {}
        elif coupon is not None:
            body = coupon.body
        elif resource is not None:
            body = resource.upstream
        source = action.source if action is not None and action.source else (coupon.source if coupon else None)
        group = source.file if source else REMOVED_GROUP
        recorded = resource.extra.get("source") if resource is not None else None
        if source is None and not manifests_loaded and action is None and isinstance(recorded, str):
            group = recorded
        claim = claim_of(kind, body)
        rows.append(
            CouponRow(
                address=address,
                kind=kind,
                group=group,
                set_name=source.set_name if source else None,
                line=source.line if source else None,
                status=_status(kind, action, resource),
                action=action.type if action is not None else None,
                claim=claim,
                valid=validity_of(kind, body, claim),
                name=_name(kind, body),
                type_text=_type_text(kind, body),
                quantity=_quantity(kind, body),
                value_fen=coupon_exposure(kind, body, cap_for(plan.meta, address)).fen,
                claimable=_claimable(kind, action, coupon, resource),
                upstream_id=(resource.upstream_id if resource else None) or (action.upstream_id if action else None),
            )
        )
    kinds_order = {k: i for i, k in enumerate(KINDS)}
    rows.sort(key=lambda r: (r.group == REMOVED_GROUP, r.group, r.set_name or "", kinds_order[r.kind], r.address))
    return rows
