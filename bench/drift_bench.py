"""Benchmark (issue 20 goal 3): drift on a campaign where most coupons have ended, reading everything (`--all`,
the behaviour before decision D31) against reading only what can still change (the default), each beside its
rate-limit floor.

The campaign: N coupons (half shop, half product, bench/generate.py) applied with every limit lifted; then
ENDED % of each kind end in the console (product coupons DEACTIVATED, shop coupons voided, through the sandbox's
admin API) and `couponctl refresh --all` accepts that into state. Client and server are then held to R/s per read
operation and `couponctl drift --no-manifests` runs twice: `--all`, then the default. Each row counts the reads by
operation from the sandbox's call log; the floor is the busiest read operation's calls / R (operations are paced
by independent buckets).

    .venv/bin/python bench/drift_bench.py [--coupons 2000] [--ended 80] [--rate 20] [--json FILE]

`bench/run.py` runs it as a stage (`--ended-drift N`, 0 skips).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import generate_campaign

# Read operations as the sandbox's call log names them (the stock listing is PAY's addition of issue 16).
READ_OPERATIONS = {"shop.get", "shop.get_list", "product.get", "product.stocks.list", "product.stocks.get"}


def end_coupons(sandbox: Any, share: float) -> dict[str, int]:
    """End the first `share` of each kind in the console: deactivate product coupons, void shop coupons."""
    state = sandbox.admin("GET", "state")
    shop = sorted(str(doc["coupon"]["out_coupon_id"]) for doc in state["shop_coupons"])
    products = sorted(str(p["product_coupon_id"]) for p in state["product_coupons"])
    ended = {"voided": int(len(shop) * share), "deactivated": int(len(products) * share)}
    for out_id in shop[: ended["voided"]]:
        sandbox.admin("PATCH", f"shop-coupons/{out_id}", {"status": 4})
    for pid in products[: ended["deactivated"]]:
        sandbox.admin("PATCH", f"product-coupons/{pid}", {"state": "DEACTIVATED"})
    return ended


def ended_drift(work: Path, coupons: int, ended_percent: int, rate: float) -> tuple[dict[str, Any], list[Any]]:
    """Run the stage; returns its results and the (label, Proc, floor) rows for the caller's table."""
    from bench.run import (
        SERVER_OPERATIONS,
        UNLIMITED,
        Sandbox,
        count_by_operation,
        log,
        run,
        set_client_rate,
        throttled,
        write_project,
    )

    campaign = work / "campaign-ended"
    generate_campaign(campaign, coupons)
    sandbox = Sandbox(work / "sandbox-ended", dict.fromkeys(SERVER_OPERATIONS))
    results: dict[str, Any] = {"coupons": coupons, "ended_percent": ended_percent, "rate_per_s": rate}
    rows: list[Any] = []
    try:
        project = write_project(work / "project-ended", sandbox, UNLIMITED, campaign)
        run(project.couponctl("apply", "--auto-approve", "--no-refresh", "--quiet"), cwd=project.root, env=project.env)
        results["ended"] = end_coupons(sandbox, ended_percent / 100)
        run(project.couponctl("refresh", "--all", "--quiet"), cwd=project.root, env=project.env)
        sandbox.set_limits(dict.fromkeys(READ_OPERATIONS, rate))
        set_client_rate(project.root, sandbox, rate)
        for key, label, flags in (
            ("all", "drift --all (every managed coupon, as before D31)", ("--all",)),
            ("live", "drift (only what can still change, D31)", ()),
        ):
            sandbox.clear_calls()
            proc = run(
                project.couponctl("drift", "--no-manifests", "--quiet", *flags), cwd=project.root, env=project.env
            )
            calls = sandbox.calls()
            reads = {k: v for k, v in count_by_operation(calls).items() if k in READ_OPERATIONS}
            floor = max((n / rate for n in reads.values()), default=0.0)
            results[key] = {
                "seconds": round(proc.wall_s, 3),
                "cpu_s": round(proc.cpu_s, 3),
                "floor_s": round(floor, 3),
                "reads": reads,
                "429s": throttled(calls),
                "stdout_tail": proc.stdout.strip().splitlines()[-1:],
            }
            rows.append((f"{label}, {sum(reads.values())} reads at {rate:g}/s", proc, floor))
            log(f"ended-campaign {key}: {proc.wall_s:.2f} s (floor {floor:.2f} s), reads {reads}")
    finally:
        sandbox.stop()
    return results, rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--coupons", type=int, default=2000, help="coupons in the campaign (half shop, half product)")
    parser.add_argument("--ended", type=int, default=80, help="percent of each kind that has ended")
    parser.add_argument("--rate", type=float, default=20.0, help="rate limit per read operation (client and server)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="couponctl-drift-bench-") as tmp:
        results, rows = ended_drift(Path(tmp), args.coupons, args.ended, args.rate)
    print(f"{'stage':<78} {'seconds':>8} {'floor':>7} {'ratio':>6} {'CPU s':>6}")
    for label, proc, floor in rows:
        ratio = f"{proc.wall_s / floor:.2f}" if floor else ""
        print(f"{label:<78} {proc.wall_s:>8.2f} {floor:>7.2f} {ratio:>6} {proc.cpu_s:>6.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
