"""ProductCoupon rules across fields (reference B.0–B.5): what the models' types cannot express, each problem an
`Issue` located from the document root. The models are in `product.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from reconciler.manifest import limits
from reconciler.manifest.base import Issue, Loc
from reconciler.manifest.product import (
    CouponAvailablePeriod,
    LadderRule,
    NormalCoupon,
    ProductCouponSpec,
    Stock,
    StockBundle,
    _StockCommon,
)
from reconciler.stocks import DEFAULT_STOCK_NAME, SINGLE_TO_MAP, STOCK_NAME_PATTERN
from reconciler.times import rfc3339_to_unix

_S: Loc = ("spec",)
_T = TypeVar("_T", Stock, StockBundle)
_RULE_FIELD = {"NORMAL": "normal_coupon", "DISCOUNT": "discount_coupon", "EXCHANGE": "exchange_coupon"}


def _exclusive(present: Mapping[str, object], wanted: str | None, base: Loc, why: str) -> list[Issue]:
    """`wanted` must be set and every other key of `present` unset (None)."""
    issues: list[Issue] = []
    for key, value in present.items():
        if key == wanted and value is None:
            issues.append(Issue((*base, key), f"required {why}"))
        elif key != wanted and value is not None:
            issues.append(Issue((*base, key), f"not allowed {why}", at_key=True))
    return issues


def product_rules(spec: ProductCouponSpec) -> list[Issue]:
    """Every offline rule of B.0–B.5 that the model's types cannot express, located from the document root."""
    issues: list[Issue] = []
    if spec.type == "EXCHANGE" and spec.scope != "SINGLE":
        issues.append(Issue((*_S, "type"), "EXCHANGE requires scope SINGLE (B.2)"))
    mode = spec.usage_mode
    if mode == "SEQUENTIAL":
        # B.0: the current API (2025-11) replaced SEQUENTIAL with PROGRESSIVE_BUNDLE and the sandbox, built on that
        # model, refuses it; a warning here would only move the refusal to apply time.
        issues.append(
            Issue(
                (*_S, "usage_mode"),
                "SEQUENTIAL is the legacy 2025-08 model, which the current API no longer creates; use "
                "PROGRESSIVE_BUNDLE (B.0)",
            )
        )

    infos = {
        "single_usage_info": spec.single_usage_info,
        "progressive_bundle_usage_info": spec.progressive_bundle_usage_info,
        "sequential_usage_info": spec.sequential_usage_info,
    }
    if mode == "SINGLE":
        wanted_info = "single_usage_info" if spec.scope == "ALL" else None
        why = f"with usage_mode SINGLE and scope {spec.scope}"
        if spec.scope == "SINGLE":
            why += " (the rule goes in stock.single_usage_rule, B.5)"
        issues += _exclusive(infos, wanted_info, _S, f"{why} (B.2)" if spec.scope == "ALL" else why)
    else:
        wanted_info = "progressive_bundle_usage_info" if mode == "PROGRESSIVE_BUNDLE" else "sequential_usage_info"
        issues += _exclusive(infos, wanted_info, _S, f"with usage_mode {mode} (B.2)")

    if spec.single_usage_info is not None and mode == "SINGLE" and spec.scope == "ALL":
        rules = {
            "normal_coupon": spec.single_usage_info.normal_coupon,
            "discount_coupon": spec.single_usage_info.discount_coupon,
        }
        if spec.type in ("NORMAL", "DISCOUNT"):
            issues += _exclusive(
                rules, _RULE_FIELD[spec.type], (*_S, "single_usage_info"), f"for type {spec.type} (B.2)"
            )
        if spec.single_usage_info.normal_coupon is not None:
            issues += _normal_rules(spec.single_usage_info.normal_coupon, (*_S, "single_usage_info", "normal_coupon"))

    issues += _stock_form_rules(spec)
    for base, stock in _stock_entries(spec.stock, spec.stocks, "stock"):
        issues += _stock_rules(spec, stock, base)
    for base, bundle in _stock_entries(spec.stock_bundle, spec.stock_bundles, "stock_bundle"):
        issues += _bundle_rules(spec, bundle, base)
    issues += _display_rules(spec)
    return issues


def _stock_form_rules(spec: ProductCouponSpec) -> list[Issue]:
    """Decision D29: the stocks as one `stock` or a named `stocks` map (bundles alike), never both, the map's names
    and size; `stock(s)` only with usage_mode SINGLE / SEQUENTIAL, `stock_bundle(s)` only with PROGRESSIVE_BUNDLE."""
    issues: list[Issue] = []
    mode = spec.usage_mode
    for single, named in (("stock", "stocks"), ("stock_bundle", "stock_bundles")):
        if getattr(spec, single) is not None and getattr(spec, named) is not None:
            issues.append(
                Issue(
                    (*_S, named),
                    f"{single} and {named} together: write the one {single} as `{named}: "
                    f"{{{DEFAULT_STOCK_NAME}: ...}}` or keep {single} alone (decision D29)",
                    at_key=True,
                )
            )
        stocks: dict[str, Any] | None = getattr(spec, named)
        if stocks is None:
            continue
        if not stocks:
            issues.append(Issue((*_S, named), "must declare at least one stock (decision D29)"))
        elif len(stocks) > limits.PRODUCT_STOCKS_MAX:
            issues.append(
                Issue(
                    (*_S, named),
                    f"at most {limits.PRODUCT_STOCKS_MAX} stocks per coupon, got {len(stocks)} (B.4)",
                    at_key=True,
                )
            )
        for name in stocks:
            if not STOCK_NAME_PATTERN.fullmatch(name):
                issues.append(
                    Issue(
                        (*_S, named, name),
                        f"stock name {name!r} must be 1–{limits.PRODUCT_STOCK_NAME_MAX_CHARS} characters of a-z, 0-9, "
                        "'_' and '-', starting with a letter or digit (decision D29)",
                        at_key=True,
                    )
                )
    wanted = "stock_bundle" if mode == "PROGRESSIVE_BUNDLE" else "stock"
    forms = {
        "stock": spec.stock if spec.stock is not None else spec.stocks,
        "stock_bundle": spec.stock_bundle if spec.stock_bundle is not None else spec.stock_bundles,
    }
    why = f"with usage_mode {mode} (B.4, B.5)"
    for key, value in forms.items():
        if key == wanted and value is None:
            issues.append(Issue((*_S, key), f"required {why} (or {SINGLE_TO_MAP[key]}, decision D29)"))
        elif key != wanted and value is not None:
            written = key if getattr(spec, key) is not None else SINGLE_TO_MAP[key]
            issues.append(Issue((*_S, written), f"not allowed {why}", at_key=True))
    return issues


def _stock_entries(single: _T | None, named: dict[str, _T] | None, key: str) -> list[tuple[Loc, _T]]:
    """Each stock with the location its fields are reported under: `spec.stock` or `spec.stocks.<name>`."""
    if single is not None:
        return [((*_S, key), single)]
    return [((*_S, SINGLE_TO_MAP[key], name), stock) for name, stock in (named or {}).items()]


def _normal_rules(coupon: NormalCoupon, loc: Loc) -> list[Issue]:
    # B.2 / Part F.9: the troubleshooting guide hints that the amount off must stay below the threshold [??].
    if coupon.threshold > 0 and coupon.discount_amount >= coupon.threshold:
        return [Issue((*loc, "discount_amount"), f"must be less than threshold ({coupon.threshold}) (B.2 [??])")]
    return []


def _stock_rules(spec: ProductCouponSpec, stock: Stock, base: Loc) -> list[Issue]:
    issues = _common_stock_rules(stock, base)
    usage = {"single_usage_rule": stock.single_usage_rule, "sequential_usage_rule": stock.sequential_usage_rule}
    wanted = "sequential_usage_rule" if spec.usage_mode == "SEQUENTIAL" else "single_usage_rule"
    issues += _exclusive(usage, wanted, base, f"with usage_mode {spec.usage_mode} (B.4)")
    rule = stock.single_usage_rule
    if rule is not None:
        rloc: Loc = (*base, "single_usage_rule")
        issues += _period_rules(rule.coupon_available_period, (*rloc, "coupon_available_period"))
        present = {
            "normal_coupon": rule.normal_coupon,
            "discount_coupon": rule.discount_coupon,
            "exchange_coupon": rule.exchange_coupon,
        }
        if spec.scope == "SINGLE":
            issues += _exclusive(present, _RULE_FIELD[spec.type], rloc, f"for scope SINGLE and type {spec.type} (B.4)")
        else:
            issues += _exclusive(present, None, rloc, "for scope ALL: the rule goes in single_usage_info (B.5)")
        if rule.normal_coupon is not None:
            issues += _normal_rules(rule.normal_coupon, (*rloc, "normal_coupon"))
    if stock.sequential_usage_rule is not None:
        count = spec.sequential_usage_info.count if spec.sequential_usage_info else None
        issues += _ladder_rules(spec, stock.sequential_usage_rule, (*base, "sequential_usage_rule"), count)
    return issues


def _bundle_rules(spec: ProductCouponSpec, bundle: StockBundle, base: Loc) -> list[Issue]:
    issues = _common_stock_rules(bundle, base)
    count = spec.progressive_bundle_usage_info.count if spec.progressive_bundle_usage_info else None
    issues += _ladder_rules(spec, bundle.progressive_bundle_usage_rule, (*base, "progressive_bundle_usage_rule"), count)
    return issues


def _ladder_rules(spec: ProductCouponSpec, rule: LadderRule, loc: Loc, count: int | None) -> list[Issue]:
    issues = _period_rules(rule.coupon_available_period, (*loc, "coupon_available_period"))
    lists = {
        "normal_coupon_list": rule.normal_coupon_list,
        "discount_coupon_list": rule.discount_coupon_list,
        "exchange_coupon_list": rule.exchange_coupon_list,
    }
    wanted = _RULE_FIELD[spec.type] + "_list"
    issues += _exclusive(lists, wanted, loc, f"for type {spec.type} (B.4)")
    chosen = lists.get(wanted)
    info_name = "progressive_bundle_usage_info" if spec.usage_mode == "PROGRESSIVE_BUNDLE" else "sequential_usage_info"
    if chosen is not None and count is not None and len(chosen) != count:
        # B.4: one stock per step of the ladder, so one rule per use.
        issues.append(
            Issue((*loc, wanted), f"must have one entry per use: {count} ({info_name}.count), not {len(chosen)} (B.4)")
        )
    if rule.normal_coupon_list is not None:
        for i, coupon in enumerate(rule.normal_coupon_list):
            issues += _normal_rules(coupon, (*loc, "normal_coupon_list", i))
    return issues


def _common_stock_rules(stock: _StockCommon, base: Loc) -> list[Issue]:
    issues: list[Issue] = []
    usage = stock.usage_rule_display_info
    uloc: Loc = (*base, "usage_rule_display_info")
    methods = usage.coupon_usage_method_list
    issues += _unique(methods, (*uloc, "coupon_usage_method_list"))
    if "MINI_PROGRAM" in methods:
        for field in ("mini_program_appid", "mini_program_path"):
            if getattr(usage, field) is None:
                issues.append(Issue((*uloc, field), "required when coupon_usage_method_list has MINI_PROGRAM (B.4)"))
    if "APP" in methods and usage.app_path is None:
        issues.append(Issue((*uloc, "app_path"), "required when coupon_usage_method_list has APP (B.4)"))
    if usage.mini_program_path is not None and usage.mini_program_appid is None:
        issues.append(Issue((*uloc, "mini_program_path"), "needs mini_program_appid (B.4)"))
    return issues


def _unique(values: Sequence[Any], loc: Loc) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[Any] = set()
    for i, value in enumerate(values):
        if value in seen:
            issues.append(Issue((*loc, i), f"duplicate value {value!r} (our default)"))
        seen.add(value)
    return issues


def _period_rules(period: CouponAvailablePeriod, loc: Loc) -> list[Issue]:
    issues: list[Issue] = []
    begin = rfc3339_to_unix(period.available_begin_time)
    end = rfc3339_to_unix(period.available_end_time)
    if end <= begin:
        issues.append(
            Issue(
                (*loc, "available_end_time"),
                f"must be after available_begin_time ({period.available_begin_time}) (B.4)",
            )
        )
    elif end - begin > limits.PRODUCT_AVAILABLE_PERIOD_MAX_DAYS * 86400:
        issues.append(
            Issue(
                (*loc, "available_end_time"),
                f"the window may last at most {limits.PRODUCT_AVAILABLE_PERIOD_MAX_DAYS} days (B.4)",
            )
        )
    if period.wait_days_after_receive is not None and period.available_days is None:
        issues.append(
            Issue((*loc, "wait_days_after_receive"), "only allowed together with available_days (B.4)", at_key=True)
        )
    if period.irregular_available_period_list is not None:
        for field in ("available_days", "wait_days_after_receive", "weekly_available_period"):
            if getattr(period, field) is not None:
                issues.append(
                    Issue((*loc, field), "not allowed with irregular_available_period_list (B.4)", at_key=True)
                )
        for i, irregular in enumerate(period.irregular_available_period_list):
            ib, ie = rfc3339_to_unix(irregular.begin_time), rfc3339_to_unix(irregular.end_time)
            iloc: Loc = (*loc, "irregular_available_period_list", i)
            if ie <= ib:
                issues.append(Issue((*iloc, "end_time"), f"must be after begin_time ({irregular.begin_time}) (B.4)"))
            elif ib < begin or ie > end:
                issues.append(Issue(iloc, "must lie within available_begin_time … available_end_time (our default)"))
    weekly = period.weekly_available_period
    if weekly is not None:
        wloc: Loc = (*loc, "weekly_available_period")
        if weekly.day_list is not None:
            issues += _unique(weekly.day_list, (*wloc, "day_list"))
        for i, day_period in enumerate(weekly.day_period_list or ()):
            if day_period.end_time <= day_period.begin_time:
                issues.append(
                    Issue(
                        (*wloc, "day_period_list", i, "end_time"),
                        f"must be after begin_time ({day_period.begin_time}) (B.4)",
                    )
                )
    return issues


def _display_rules(spec: ProductCouponSpec) -> list[Issue]:
    issues: list[Issue] = []
    display = spec.display_info
    dloc: Loc = (*_S, "display_info")
    # B.3: original_price and combo_package_list are required when scope is SINGLE. For scope ALL the doc sentence
    # ("当且仅当 ...") is truncated [??], and the PATCH doc's own response example shows both on a scope ALL
    # coupon, so WeChat accepts them: a warning (our default, limits.STRICTER_RULES), not an error.
    for field in ("original_price", "combo_package_list"):
        value = getattr(display, field)
        if spec.scope == "SINGLE" and value is None:
            issues.append(Issue((*dloc, field), "required when scope is SINGLE (B.3)"))
        elif spec.scope == "ALL" and value is not None:
            issues.append(
                Issue(
                    (*dloc, field),
                    "meant for scope SINGLE (B.3 [??]); WeChat accepts it on a scope ALL "
                    "coupon (the PATCH doc example) but may not show it",
                    severity="warning",
                    at_key=True,
                )
            )
    for i, package in enumerate(display.combo_package_list or ()):
        ploc: Loc = (*dloc, "combo_package_list", i)
        if package.pick_count > len(package.choice_list):
            issues.append(
                Issue(
                    (*ploc, "pick_count"),
                    f"must not exceed the number of choices ({len(package.choice_list)}) (our default)",
                )
            )
        for j, choice in enumerate(package.choice_list):
            if choice.mini_program_path is not None and choice.mini_program_appid is None:
                issues.append(Issue((*ploc, "choice_list", j, "mini_program_path"), "needs mini_program_appid (B.3)"))
    return issues


def four_byte_issues(value: Any, loc: Loc) -> list[Issue]:
    """APIv3 accepts only 1–3 byte UTF-8 characters (B.11): find strings with characters beyond U+FFFF."""
    issues: list[Issue] = []
    if isinstance(value, str):
        if not value.isascii() and any(ord(c) > 0xFFFF for c in value):
            issues.append(
                Issue(loc, "contains a 4-byte UTF-8 character (e.g. an emoji), which WeChat Pay APIv3 refuses (B.11)")
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            issues += four_byte_issues(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            issues += four_byte_issues(item, (*loc, i))
    return issues
