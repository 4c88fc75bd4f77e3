"""Benchmark (issue 19): 10,000 coupons declared through coupon sets plan in no more time than the same 10,000
coupons written out document by document.

Two copies of one campaign in two projects: 100 files of 100 written-out ShopCoupon documents, and 100 files of one
CouponSet each (10 thresholds x 10 discounts). The script first checks that both load to the same coupons (same
addresses and bodies), then times `couponctl plan --no-refresh` on an empty state (10,000 creates) in each, with the
manifest cache off (every file parsed and validated) and on (second run), median of --runs runs each.

    .venv/bin/python bench/sets_bench.py [--runs 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FILES = 100
THRESHOLDS = [100, 150, 200, 250, 300, 350, 400, 450, 500, 600]
DISCOUNTS = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]

SPEC = """\
  spec:
    type: 102
    promote_type: 4
    coupon_info:
      name: 满{threshold}减{discount}
      promote_info: {{promote_type: 4, finder: {{nickname: 咖啡实验室}}}}
      discount_info:
        discount_condition: {{product_price: {price}}}
        discount_fee: {fee}
      receive_info:
        start_time: 2028-11-10T20:00:00+08:00
        end_time: 2028-11-12T00:00:00+08:00
        limit_num_one_person: 1
        total_num: 10000
      valid_info: {{valid_type: 2, valid_day_num: 3}}
"""


def written_out(directory: Path) -> None:
    for f in range(FILES):
        docs = []
        for t in THRESHOLDS:
            for d in DISCOUNTS:
                body = SPEC.format(threshold=t, discount=d, price=t * 100, fee=d * 100)
                body = "\n".join(line[2:] for line in body.splitlines())  # a document's spec sits at column 0
                docs.append(f"kind: ShopCoupon\nname: b{f:02d}-{t}-off-{d}\n{body}\n")
        (directory / f"ladder-{f:02d}.yaml").write_text("---\n".join(docs), encoding="utf-8")


def through_sets(directory: Path) -> None:
    spec = SPEC.replace("{price}", '"{{threshold*100}}"').replace("{fee}", '"{{discount*100}}"')
    spec = spec.replace("{threshold}", "{{threshold}}").replace("{discount}", "{{discount}}")
    for f in range(FILES):
        template = spec.format()
        text = (
            f"kind: CouponSet\nname: ladder-{f:02d}\nmatrix:\n  threshold: {THRESHOLDS}\n"
            f"  discount: {DISCOUNTS}\ntemplate:\n  kind: ShopCoupon\n"
            f"  name: b{f:02d}-{{threshold}}-off-{{discount}}\n{template}"
        )
        (directory / f"ladder-{f:02d}.yaml").write_text(text, encoding="utf-8")


def project(root: Path, write: object) -> Path:
    root.mkdir()
    (root / "couponctl.toml").write_text('[upstream]\nmode = "sandbox"\n', encoding="utf-8")
    (root / "manifests").mkdir()
    assert callable(write)
    write(root / "manifests")
    return root


def same_coupons(a: Path, b: Path) -> int:
    from reconciler.manifest import load_manifests

    left = load_manifests([a / "manifests"]).coupons
    right = load_manifests([b / "manifests"]).coupons
    assert [(c.address, c.body) for c in left] == [(c.address, c.body) for c in right], "the two copies differ"
    return len(left)


def time_plan(root: Path, *, cache: bool) -> float:
    exe = str(Path(sys.executable).parent / "couponctl")
    env = {**os.environ, "NO_COLOR": "1", "COUPONCTL_MANIFEST_CACHE": "1" if cache else "0"}
    begin = time.perf_counter()
    done = subprocess.run([exe, "plan", "--no-refresh"], cwd=root, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - begin
    if done.returncode != 0 or "10000 to add" not in done.stdout.replace(",", ""):
        raise SystemExit(f"plan failed in {root}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="couponctl-sets-bench-") as tmp:
        plain = project(Path(tmp) / "written-out", written_out)
        sets = project(Path(tmp) / "sets", through_sets)
        n = same_coupons(plain, sets)
        results: dict[str, float] = {}
        for label, root in (("written_out", plain), ("sets", sets)):
            time_plan(root, cache=False)  # warm the OS file cache and create the state
            results[f"{label}_cold_s"] = statistics.median(time_plan(root, cache=False) for _ in range(args.runs))
            time_plan(root, cache=True)  # fills the manifest cache
            results[f"{label}_cached_s"] = statistics.median(time_plan(root, cache=True) for _ in range(args.runs))
        bytes_plain = sum(p.stat().st_size for p in (plain / "manifests").iterdir())
        bytes_sets = sum(p.stat().st_size for p in (sets / "manifests").iterdir())
    print(f"{n:,} coupons, couponctl plan --no-refresh on an empty state (10,000 creates), median of {args.runs}:")
    print(f"  {'':28} {'written out':>12} {'through sets':>13}")
    print(f"  {'manifest bytes':28} {bytes_plain:>12,} {bytes_sets:>13,}")
    print(f"  {'plan, cache off (s)':28} {results['written_out_cold_s']:>12.2f} {results['sets_cold_s']:>13.2f}")
    print(f"  {'plan, cache warm (s)':28} {results['written_out_cached_s']:>12.2f} {results['sets_cached_s']:>13.2f}")
    if args.json:
        args.json.write_text(json.dumps({"coupons": n, "runs": args.runs, **results}, indent=2), encoding="utf-8")
    if results["sets_cold_s"] > results["written_out_cold_s"] * 1.05:
        raise SystemExit("sets planned slower than the written-out coupons")


if __name__ == "__main__":
    main()
