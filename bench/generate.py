"""Deterministic synthetic campaigns for benchmarks: N coupons (half shop, half product) over N/100 files.

`generate_campaign(dir, n)` writes realistic manifests (every shop type family, product coupons of scope ALL and
SINGLE) whose claim windows lie in 2028, so they stay valid for years. Reused by the full benchmark.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

CN = timezone(timedelta(hours=8))
DEFAULT_START = datetime(2028, 3, 1, tzinfo=CN)
_IMG = "https://wxpaylogo.qpic.cn/wxpaylogo/PiajxSqBRaEIPAeia7Imvts{0:08d}{1}/0"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+08:00")


def _shop(i: int, rng: random.Random, start: datetime) -> str:
    begin = start + timedelta(hours=rng.randrange(0, 24 * 200))
    end = begin + timedelta(days=rng.randrange(1, 30))
    kind = rng.choice((1, 2, 3, 4, 101, 102, 103, 104))
    products = ", ".join(f"sku-{rng.randrange(100000):05d}" for _ in range(rng.randrange(1, 6)))
    condition: list[str] = []
    discount: list[str] = []
    if kind < 100:
        condition.append(f"        out_product_ids: [{products}]")
    if kind in (1, 101):
        condition.append(f"        product_cnt: {rng.randrange(2, 5)}")
    if kind in (2, 102):
        condition.append(f"        product_price: {rng.randrange(50, 500) * 100}")
    if kind in (1, 3, 101, 103):
        discount.append(f"      discount_num: {rng.randrange(50, 99) * 100}")
    else:
        discount.append(f"      discount_fee: {rng.randrange(1, 40) * 100}")
    cond_block = ("      discount_condition:\n" + "\n".join(condition) + "\n") if condition else ""
    valid = rng.choice(("{valid_type: 2, valid_day_num: 7}", "{valid_type: 3, valid_second: 86400}"))
    return (
        f"kind: ShopCoupon\n"
        f"name: bench-shop-{i:06d}\n"
        f"status: {'draft' if i % 10 == 0 else 'active'}\n"
        f"spec:\n"
        f"  type: {kind}\n"
        f"  promote_type: 4\n"
        f"  coupon_info:\n"
        f"    name: 压测券{i % 10000:04d}\n"
        f"    promote_info: {{promote_type: 4, finder: {{nickname: 压测视频号}}}}\n"
        f"    discount_info:\n"
        f"{cond_block}{chr(10).join(discount)}\n"
        f"    receive_info:\n"
        f"      start_time: {_iso(begin)}\n"
        f"      end_time: {_iso(end)}\n"
        f"      limit_num_one_person: {rng.randrange(1, 3)}\n"
        f"      total_num: {rng.randrange(100, 100000)}\n"
        f"    valid_info: {valid}\n"
    )


def _product(i: int, rng: random.Random, start: datetime) -> str:
    begin = start + timedelta(hours=rng.randrange(0, 24 * 200))
    end = begin + timedelta(days=rng.randrange(7, 120))
    single = i % 3 == 0
    head = f"kind: ProductCoupon\nname: bench-product-{i:06d}\nspec:\n  scope: {'SINGLE' if single else 'ALL'}\n"
    if single:
        body = (
            "  type: EXCHANGE\n"
            "  usage_mode: SINGLE\n"
            f"  out_product_no: combo-{i:06d}\n"
            "  display_info:\n"
            f"    name: 压测套餐{i % 10000:04d}\n"
            f"    image_url: {_IMG.format(i, 'img')}\n"
            f"    background_url: {_IMG.format(i, 'bg')}\n"
            f"    original_price: {rng.randrange(20, 90) * 100}\n"
            "    combo_package_list:\n"
            "      - name: 饮品2选1\n"
            "        pick_count: 1\n"
            "        choice_list:\n"
            "          - {name: 热拿铁, price: 1900, count: 1}\n"
            "          - {name: 冰美式, price: 1500, count: 1}\n"
        )
        rule = f"      exchange_coupon: {{threshold: 0, exchange_price: {rng.randrange(5, 19) * 100}}}\n"
    else:
        kind = rng.choice(("NORMAL", "DISCOUNT"))
        usage = (
            f"normal_coupon: {{threshold: 10000, discount_amount: {rng.randrange(5, 50) * 100}}}"
            if kind == "NORMAL"
            else f"discount_coupon: {{threshold: 0, percent_off: {rng.randrange(5, 50)}}}"
        )
        body = (
            f"  type: {kind}\n"
            "  usage_mode: SINGLE\n"
            "  single_usage_info:\n"
            f"    {usage}\n"
            "  display_info:\n"
            f"    name: 压测全场券{i % 10000:04d}\n"
            f"    image_url: {_IMG.format(i, 'img')}\n"
            f"    background_url: {_IMG.format(i, 'bg')}\n"
        )
        rule = ""
    stock = (
        "  stock:\n"
        "    remark: 压测批次\n"
        "    coupon_code_mode: WECHATPAY\n"
        f"    stock_send_rule: {{max_count: {rng.randrange(1000, 1000000)}, max_count_per_user: 1}}\n"
        "    single_usage_rule:\n"
        "      coupon_available_period:\n"
        f"        available_begin_time: {_iso(begin)}\n"
        f"        available_end_time: {_iso(end)}\n"
        f"{rule}"
        "    usage_rule_display_info:\n"
        "      coupon_usage_method_list: [OFFLINE, MINI_PROGRAM]\n"
        "      mini_program_appid: wx1234567890abcdef\n"
        "      mini_program_path: /pages/coupon/use\n"
        "      usage_description: 到店或小程序下单可用，每单限用一张\n"
        "    coupon_display_info: {code_display_mode: QRCODE, background_color: Color020}\n"
        "    notify_config: {notify_appid: wx1234567890abcdef}\n"
        "    store_scope: ALL\n"
    )
    return head + body + stock


def generate_campaign(directory: Path, n: int, *, seed: int = 0, start: datetime = DEFAULT_START) -> list[Path]:
    """Write `n` coupons (half ShopCoupon, half ProductCoupon) over max(1, n // 100) files; return the files."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    n_files = max(1, n // 100)
    documents: list[list[str]] = [[] for _ in range(n_files)]
    for i in range(n):
        text = _shop(i, rng, start) if i % 2 == 0 else _product(i, rng, start)
        documents[i % n_files].append(text)
    paths: list[Path] = []
    for index, docs in enumerate(documents):
        path = directory / f"campaign-{index:04d}.yaml"
        path.write_text("---\n".join(docs), encoding="utf-8")
        paths.append(path)
    return paths
