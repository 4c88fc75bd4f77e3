"""Benchmark of the pure planner: 10,000 coupons (half shop, half product) with realistic bodies, in memory.

Measures make_plan with no changes and with 1 % changed (median of 5 runs each), plus rendering and saving the
1 % plan. The pure planner should take well under 1 s so that a whole no-op `couponctl plan` stays under 3 s.

    .venv/bin/python bench/plan_bench.py [--coupons N] [--runs R] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.plan.planfile import save_plan
from reconciler.plan.planner import make_plan
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from reconciler.resources import DesiredCoupon, ResourceState, SourceRef

NOW = datetime(2026, 11, 1, tzinfo=UTC)
START, END = 1794326400, 1794412800  # 2026-11-11 .. 2026-11-12 +08:00


def shop_body(i: int, fee: int = 2000) -> dict[str, Any]:
    return {
        "out_coupon_id": f"d11-store-{i:06d}",
        "type": 102,
        "promote_type": 4,
        "coupon_info": {
            "name": f"双11满100减{fee // 100}",
            "promote_info": {"promote_type": 4, "finder": {"nickname": "视频号昵称"}},
            "discount_info": {"discount_condition": {"product_price": 10000}, "discount_fee": fee},
            "receive_info": {"start_time": START, "end_time": END, "limit_num_one_person": 1, "total_num": 10000},
            "valid_info": {"valid_type": 2, "valid_day_num": 3},
        },
    }


def product_body(i: int, name: str = "咖啡满100减20") -> dict[str, Any]:
    return {
        "scope": "ALL",
        "type": "NORMAL",
        "usage_mode": "SINGLE",
        "single_usage_info": {"normal_coupon": {"threshold": 10000, "discount_amount": 2000}},
        "display_info": {
            "name": name,
            "image_url": "https://wxpaylogo.qpic.cn/wxpaylogo/coffee.png",
            "background_url": "https://wxpaylogo.qpic.cn/wxpaylogo/coffee-bg.png",
        },
        "out_product_no": f"sku-{i:06d}",
        "stocks": {  # named stocks (decision D29)
            "main": {
                "remark": "first batch",
                "coupon_code_mode": "WECHATPAY",
                "stock_send_rule": {"max_count": 1000, "max_count_per_user": 1},
                "single_usage_rule": {
                    "coupon_available_period": {
                        "available_begin_time": "2026-11-11T00:00:00+08:00",
                        "available_end_time": "2026-12-11T00:00:00+08:00",
                    }
                },
                "usage_rule_display_info": {
                    "coupon_usage_method_list": ["MINI_PROGRAM"],
                    "mini_program_appid": "wx0000000000000001",
                    "mini_program_path": "/pages/coupon",
                    "usage_description": "全场满100可用",
                },
                "coupon_display_info": {"code_display_mode": "QRCODE"},
                "notify_config": {"notify_appid": "wx0000000000000001"},
                "store_scope": "NONE",
            }
        },
    }


def build(n: int, changed_every: int | None) -> tuple[list[DesiredCoupon], dict[str, ResourceState]]:
    """n desired coupons and the matching state; every `changed_every`-th desired coupon differs."""
    desired: list[DesiredCoupon] = []
    state: dict[str, ResourceState] = {}
    for i in range(n):
        changed = changed_every is not None and i % changed_every == 0
        file = f"manifests/campaign-{i // 500:03d}.yaml"
        if i % 2 == 0:
            name = f"d11-store-{i:06d}"
            body = shop_body(i)
            d = DesiredCoupon("ShopCoupon", name, "draft" if changed else "active", body, SourceRef(file, i))
            upstream = {**shop_body(i), "status": 2, "create_time": 1793500000, "appid": "wx0000000000000001"}
            upstream["coupon_info"] = {**upstream["coupon_info"], "ext_info": {"valid_time": 1793500100}}
            if changed:  # status 1 with different content: an update + activation
                upstream = {**shop_body(i, fee=1500), "status": 1}
                d = DesiredCoupon("ShopCoupon", name, "active", body, SourceRef(file, i))
            state[d.address] = ResourceState(d.address, "ShopCoupon", name, upstream, "", updated_at="t")
        else:
            name = f"coffee-{i:06d}"
            d = DesiredCoupon(
                "ProductCoupon",
                name,
                "active",
                product_body(i, "咖啡新名字" if changed else "咖啡满100减20"),
                SourceRef(file, i),
            )
            upstream = {**product_body(i), "product_coupon_id": str(1_000_000_000 + i), "state": "EFFECTIVE"}
            state[d.address] = ResourceState(
                d.address, "ProductCoupon", str(1_000_000_000 + i), upstream, "", brand_id="120344", updated_at="t"
            )
        desired.append(d)
    return desired, state


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def plan(desired: list[DesiredCoupon], state: dict[str, ResourceState]) -> Any:
    return make_plan(
        desired,
        state,
        lineage="bench",
        serial=1,
        manifest_digest="0" * 64,
        now=NOW,
        tool_version="bench",
        default_brand_id="120344",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coupons", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    results: dict[str, Any] = {"coupons": args.coupons, "runs": args.runs}
    same_desired, same_state = build(args.coupons, None)
    noop = plan(same_desired, same_state)
    assert not noop.actions and noop.unchanged == args.coupons, "the no-change plan must be empty"
    results["make_plan_no_changes_s"] = median_seconds(lambda: plan(same_desired, same_state), args.runs)

    some_desired, some_state = build(args.coupons, 100)
    one_percent = plan(some_desired, some_state)
    results["changed_actions"] = len(one_percent.actions)
    results["make_plan_1pct_changed_s"] = median_seconds(lambda: plan(some_desired, some_state), args.runs)
    results["render_text_1pct_s"] = median_seconds(lambda: render_text(one_percent), args.runs)
    results["render_markdown_1pct_s"] = median_seconds(lambda: render_markdown(one_percent), args.runs)
    results["save_plan_1pct_s"] = median_seconds(lambda: save_plan(one_percent), args.runs)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"couponctl planner bench: {args.coupons} coupons, median of {args.runs} runs")
    print(f"{'measure':<32} {'seconds':>9}")
    for key, value in results.items():
        if key.endswith("_s"):
            print(f"{key[:-2]:<32} {value:>9.3f}")
    print(f"{'changed actions (1 % plan)':<32} {results['changed_actions']:>9}")


if __name__ == "__main__":
    main()
