"""The couponctl benchmark (contract §4): every stage beside its floor, measured in the same run.

Usage: .venv/bin/python bench/run.py --coupons 10000 [--rate 20] [--runs 3] [--json FILE] [--keep DIR]

Stages (each a whole `couponctl` process, wall clock, peak RSS from wait4):
  parse floor   a process that only parses the same YAML with yaml_rs (the fastest parser available)
  validate      couponctl validate
  plan cold     couponctl plan --no-refresh against an empty state (and an empty plan cache)
  apply ∞       couponctl apply of N creates against the served sandbox, every limit lifted (client and server):
                mutating calls per second end to end, state committed after each call; leaves the full state
  plan no-op    couponctl plan --no-refresh against that full state (and, once, with refresh: reads upstream)
  plan 1%       the same after editing 1% of the coupons (1% of the files, every coupon in them)
  drift         couponctl drift of the N managed coupons at R/s (floor: reads / R, per operation)
  apply R       couponctl apply of N creates into a fresh sandbox and state, client and server at R/s
                (floor: the busiest operation's calls / R); 429s counted from the sandbox's call log
  drift 2000p   issue 7: drift of 2,000 product coupons at 200/s (floor 10 s)
  drift ended   issue 20: drift of 2,000 coupons, 80% ended, at R/s: --all against the default (bench/drift_bench.py)

The sandbox is `couponctl sandbox serve` in its own process on 127.0.0.1; projects use real mode pointed at it.
Results go to bench/results/<coupons>.json (or --json FILE) and a table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import generate_campaign
from bench.operations import CLIENT_MUTATING, MUTATING
from tests.support.real_mode import served_sandbox_env as real_mode_env
from tests.support.real_mode import served_sandbox_toml as real_mode_toml

REPO = Path(__file__).resolve().parent.parent
UNLIMITED = 1_000_000.0
# Every mutating call (bench/operations.py derives it from plan/model.py's MUTATING_OPERATIONS), then the reads.
CLIENT_OPERATIONS = (*CLIENT_MUTATING, "shop.get", "shop.get_list", "product.get", "product.stock.list")
SERVER_OPERATIONS = (
    "token", "stable_token", "shop.get", "shop.get_list", "shop.confirm", "product.get", "product.stocks.list",
    "product.stocks.get", *sorted(MUTATING),
)  # fmt: skip
# Drift and refresh read each product coupon and its stock list (decision D29): both are reads, each at R/s.
READS = {"shop.get", "shop.get_list", "product.get", "product.stocks.list"}

PARSE_FLOOR = """
import sys, pathlib, yaml_rs
for p in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    yaml_rs.loads(p.read_text(encoding="utf-8"), parse_datetime=False)
"""


# --- processes ----------------------------------------------------------------------------------------------------


@dataclass
class Proc:
    wall_s: float
    cpu_s: float  # user + system time of the process itself
    rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run(cmd: Sequence[str], *, cwd: Path, env: dict[str, str], ok: Sequence[int] = (0,)) -> Proc:
    """Run one process to completion; wall clock and its own peak RSS (wait4 on its pid)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        result = Proc(wall, cpu, usage.ru_maxrss / 1024, process.returncode, out.read().decode(), err.read().decode())
    if result.returncode not in ok:
        tail = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        raise SystemExit(f"{' '.join(cmd)} exited {result.returncode}:\n{tail}")
    return result


@dataclass
class Stage:
    """Samples of one stage: median wall clock, max peak RSS."""

    samples: list[Proc] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(p.wall_s for p in self.samples)

    @property
    def spread(self) -> tuple[float, float]:
        walls = [p.wall_s for p in self.samples]
        return min(walls), max(walls)

    @property
    def rss_mb(self) -> float:
        return max(p.rss_mb for p in self.samples)

    @property
    def cpu_s(self) -> float:
        return statistics.median(p.cpu_s for p in self.samples)


def repeat(
    runs: int, cmd: Sequence[str], *, cwd: Path, env: dict[str, str], before: Any = None, ok: Sequence[int] = (0,)
) -> Stage:
    stage = Stage()
    for _ in range(runs):
        if before is not None:
            before()
        stage.samples.append(run(cmd, cwd=cwd, env=env, ok=ok))
    return stage


# --- the served sandbox -------------------------------------------------------------------------------------------


class Sandbox:
    """`couponctl sandbox serve` in its own process on loopback, with the few admin calls the bench needs."""

    def __init__(self, directory: Path, rate_limits: dict[str, float | None]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.keys_dir = directory / "keys"
        config = directory / "sandbox-config.json"
        config.write_text(json.dumps({"rate_limits": rate_limits, "extra_brand_ids": ["120344"]}), encoding="utf-8")
        self.log = (directory / "sandbox.log").open("a", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0", "--keys-dir", str(self.keys_dir),
             "--data", str(directory / "sandbox.db"), "--config-json", str(config)],
            stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=REPO,
        )  # fmt: skip
        line: list[str] = []
        reader = threading.Thread(
            target=lambda: line.append(
                self.process.stdout.readline()  # type: ignore[union-attr]
            ),
            daemon=True,
        )
        reader.start()
        reader.join(60)
        prefix = "couponctl sandbox serving on "
        if not line or not line[0].startswith(prefix):
            self.stop()
            raise SystemExit(f"sandbox did not start: {line!r}; see {directory / 'sandbox.log'}")
        self.url = line[0][len(prefix) :].strip()
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()  # type: ignore[union-attr]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_sandbox/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def calls(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.admin("GET", "calls")["calls"]
        return result

    def clear_calls(self) -> None:
        self.admin("DELETE", "calls")

    def set_limits(self, rates: dict[str, float | None]) -> None:
        self.admin("PUT", "limits", {"rate_limits": rates})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def throttled(calls: Sequence[dict[str, Any]]) -> int:
    """Calls the sandbox refused for rate (HTTP 429, or the shop API's errcode 300000 / 45009)."""
    return sum(1 for c in calls if c.get("http_status") == 429 or c.get("errcode") in (300000, 45009))


def count_by_operation(calls: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in calls:
        counts[c["operation"]] = counts.get(c["operation"], 0) + 1
    return counts


# --- projects -----------------------------------------------------------------------------------------------------


@dataclass
class Project:
    root: Path
    env: dict[str, str]

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    def couponctl(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "reconciler", "--no-color", "--config", str(self.root / "couponctl.toml"), *args]

    def reset_state(self) -> None:
        shutil.rmtree(self.root / "state", ignore_errors=True)


def write_project(root: Path, sandbox: Sandbox, client_rate: float, manifests: Path) -> Project:
    """A real-mode project against the served sandbox; every client rate limit set to `client_rate`."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "manifests").exists():
        shutil.copytree(manifests, root / "manifests")
    set_client_rate(root, sandbox, client_rate)
    # PYTHONDONTWRITEBYTECODE would make every process compile the modules edited since the last install: a user's
    # machine caches bytecode, so the bench measures with the cache.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONCTL_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(real_mode_env(sandbox.keys_dir), NO_COLOR="1", PYTHONPATH=str(REPO))
    return Project(root, env)


def set_client_rate(root: Path, sandbox: Sandbox, rate: float) -> None:
    limits = ", ".join(f'"{op}" = {rate}' for op in CLIENT_OPERATIONS)
    toml = real_mode_toml(
        sandbox.keys_dir,
        sandbox.url,
        state_url=f"sqlite:///{root / 'state' / 'couponctl.db'}",
        apply_toml=f"rate_limits = {{ {limits} }}",
    )
    (root / "couponctl.toml").write_text(toml, encoding="utf-8")


def edit_one_percent(manifests: Path, n: int) -> int:
    """Edit 1% of the coupons in place: a new display name for the first n/100 product coupons, in as few files as
    hold them (a PATCH of display_info each; active shop coupons cannot be edited upstream, so a realistic 1%
    change is product-side). Returns the number of coupons edited."""
    target = max(1, n // 100)
    edited = 0
    for path in sorted(manifests.glob("*.yaml")):
        docs = path.read_text(encoding="utf-8").split("---\n")
        changed = False
        for i, doc in enumerate(docs):
            if edited < target and doc.startswith("kind: ProductCoupon"):
                docs[i] = re.sub(r"^    name: 压测", "    name: 改版压测", doc, count=1, flags=re.M)
                edited += 1
                changed = True
        if changed:
            path.write_text("---\n".join(docs), encoding="utf-8")
        if edited >= target:
            break
    return edited


def product_only_campaign(directory: Path, n_products: int) -> None:
    """`n_products` product coupons: the product half of a 2 × n campaign."""
    source = directory.parent / (directory.name + "-mixed")
    generate_campaign(source, 2 * n_products)
    directory.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.yaml")):
        docs = [d for d in path.read_text(encoding="utf-8").split("---\n") if d.startswith("kind: ProductCoupon")]
        if docs:
            (directory / path.name).write_text("---\n".join(docs), encoding="utf-8")
    shutil.rmtree(source)


# --- the benchmark ------------------------------------------------------------------------------------------------


def rated_floor(counts: dict[str, int], rates: dict[str, float], operations: set[str]) -> float:
    """The busiest paced operation's calls / its rate (operations are paced by independent buckets)."""
    return max((n / rates[op] for op, n in counts.items() if op in operations and op in rates), default=0.0)


@dataclass
class Table:
    """Rows of the printed table: seconds (wall) and CPU seconds, each beside its floor when it has one."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, label: str, measured: Stage | Proc, floor: Stage | float | None = None) -> None:
        wall = measured.median if isinstance(measured, Stage) else measured.wall_s
        cpu = measured.cpu_s
        floor_s = floor.median if isinstance(floor, Stage) else floor
        floor_cpu = floor.cpu_s if isinstance(floor, Stage) else None
        self.rows.append({
            "stage": label, "seconds": round(wall, 3), "floor_s": None if floor_s is None else round(floor_s, 3),
            "ratio": round(wall / floor_s, 2) if floor_s else None, "cpu_s": round(cpu, 3),
            "cpu_ratio": round(cpu / floor_cpu, 2) if floor_cpu else None,
            "peak_rss_mb": round(measured.rss_mb, 1),
        })  # fmt: skip


def load_average() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


STAGES = (
    "validate", "plan-cold", "apply-unlimited", "plan-noop", "plan-1pct", "drift", "apply-rated", "drift-products",
    "drift-ended",
)  # fmt: skip


def selected_stages(args: argparse.Namespace) -> set[str]:
    """The stages to run: --stages, else all of them minus the --skip-* ones."""
    if args.stages:
        chosen = {s.strip() for s in args.stages.split(",") if s.strip()}
        unknown = chosen - set(STAGES)
        if unknown:
            raise SystemExit(f"unknown stage(s) {', '.join(sorted(unknown))}; stages: {', '.join(STAGES)}")
        return chosen
    chosen = set(STAGES)
    if args.skip_drift:
        chosen.discard("drift")
    if args.skip_rated_apply:
        chosen.discard("apply-rated")
    if not args.drift_products:
        chosen.discard("drift-products")
    if not args.ended_drift:
        chosen.discard("drift-ended")
    return chosen


def bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    stages = selected_stages(args)
    n = args.coupons
    runs = args.runs
    rate = args.rate
    results: dict[str, Any] = {
        "coupons": n,
        "runs": runs,
        "rate_per_s": rate,
        "cpus": os.cpu_count(),
        "load_average_start": load_average(),
        "stages": [s for s in STAGES if s in stages],
    }
    table = Table()

    campaign = work / "campaign"
    files = generate_campaign(campaign, n)
    results["manifest_files"] = len(files)
    results["manifest_mb"] = round(sum(f.stat().st_size for f in files) / 1e6, 2)
    log(f"campaign: {n} coupons in {len(files)} files, {results['manifest_mb']} MB")

    # A sandbox with every limit lifted: validate / plan need none, apply ∞ fills it.
    sbx = Sandbox(work / "sandbox-unlimited", dict.fromkeys(SERVER_OPERATIONS))
    try:
        project = write_project(work / "project", sbx, UNLIMITED, campaign)
        env = project.env

        def clear_cache() -> None:
            shutil.rmtree(project.root / "state" / "cache", ignore_errors=True)

        parse = repeat(runs, [sys.executable, "-c", PARSE_FLOOR, str(project.manifests)], cwd=project.root, env=env)
        results["parse_floor_s"] = parse.median
        results["parse_floor_cpu_s"] = parse.cpu_s
        table.add("parse floor (yaml_rs only)", parse)
        log(f"parse floor {parse.median:.2f} s")

        if "validate" in stages:
            validate = repeat(runs, project.couponctl("validate"), cwd=project.root, env=env, before=clear_cache)
            results["validate_s"] = validate.median
            table.add("validate (no cache)", validate, parse)
            log(f"validate {validate.median:.2f} s")
            cached = repeat(runs, project.couponctl("validate"), cwd=project.root, env=env)
            results["validate_cached_s"] = cached.median
            table.add("validate (manifest cache warm)", cached, parse)
            log(f"validate cached {cached.median:.2f} s")

        def cold_start() -> None:
            project.reset_state()

        if "plan-cold" in stages:
            plan_cmd = project.couponctl("plan", "--no-refresh")
            cold = repeat(runs, plan_cmd, cwd=project.root, env=env, before=cold_start)
            results["plan_cold_s"] = cold.median
            table.add("plan, cold (empty state, no cache)", cold, parse)
            log(f"plan cold {cold.median:.2f} s")

        project.reset_state()
        if "drift" in stages and "apply-unlimited" not in stages:
            raise SystemExit("the drift stage reads what apply-unlimited created upstream: select both")
        if stages & {"plan-noop", "plan-1pct"} and "apply-unlimited" not in stages:
            seeded = run([sys.executable, str(REPO / "bench" / "seed_state.py"), str(project.root)], cwd=REPO, env=env)
            results["state_seeded"] = True
            log(f"state seeded from the manifests without upstream (bench/seed_state.py, {seeded.wall_s:.1f} s)")
        if "apply-unlimited" in stages:
            apply_unlimited(project, sbx, results, table)
        if stages & {"plan-noop", "plan-1pct"}:
            noop_and_one_percent(args, project, sbx, parse, clear_cache, results, table, stages)

        # Drift of the N managed coupons at R/s (manifests restored first: nothing pending but the reads).
        if "drift" in stages:
            drift_stage(args, project, sbx, campaign, results, table)
    finally:
        sbx.stop()
    rated_stages(args, work, campaign, results, table, stages)
    results["load_average_end"] = load_average()
    results["peak_rss_mb"] = max(row["peak_rss_mb"] for row in table.rows)
    results["table"] = table.rows
    return results


def apply_unlimited(project: Project, sbx: Sandbox, results: dict[str, Any], table: Table) -> None:
    """apply of N creates with every limit lifted: mutating calls per second end to end; leaves the full state."""
    env = project.env
    sbx.clear_calls()
    apply_free = run(project.couponctl("apply", "--auto-approve", "--no-refresh"), cwd=project.root, env=env)
    calls = sbx.calls()
    mutating = sum(1 for c in calls if c["operation"] in MUTATING)
    results["apply_unlimited_s"] = apply_free.wall_s
    results["apply_unlimited_cpu_s"] = apply_free.cpu_s
    results["apply_unlimited_calls"] = mutating
    results["apply_unlimited_calls_per_s"] = mutating / apply_free.wall_s
    results["apply_unlimited_client_cpu_ms_per_call"] = 1000 * apply_free.cpu_s / max(1, mutating)
    results["apply_unlimited_429s"] = throttled(calls)
    table.add(f"apply, limits lifted ({mutating} calls)", apply_free)
    log(f"apply unlimited {apply_free.wall_s:.2f} s, {mutating} calls, {mutating / apply_free.wall_s:.0f}/s")


def noop_and_one_percent(
    args: argparse.Namespace, project: Project, sbx: Sandbox, parse: Stage, clear_cache: Any,
    results: dict[str, Any], table: Table, stages: set[str],
) -> None:  # fmt: skip
    """The no-op plan against the full state (cache cleared / warm), then the plan after editing 1% of coupons."""
    n, runs, env = args.coupons, args.runs, project.env
    if "plan-noop" in stages:
        noop_cmd = project.couponctl("plan", "--no-refresh")
        noop_cold = repeat(runs, noop_cmd, cwd=project.root, env=env, before=clear_cache)
        noop = repeat(runs, noop_cmd, cwd=project.root, env=env)
        if "No changes." not in noop.samples[-1].stdout:
            raise SystemExit(f"the no-op plan has changes:\n{noop.samples[-1].stdout[-2000:]}")
        results["plan_noop_s"] = noop.median
        results["plan_noop_no_cache_s"] = noop_cold.median
        table.add("plan, no-op (full state, no cache)", noop_cold, parse)
        table.add("plan, no-op (full state, cache warm)", noop, parse)
        log(f"plan no-op {noop.median:.2f} s (no cache {noop_cold.median:.2f} s)")

        if args.plan_refresh:
            sbx.clear_calls()
            refreshed = run(project.couponctl("plan"), cwd=project.root, env=env)
            reads = count_by_operation(sbx.calls())
            results["plan_noop_refresh_s"] = refreshed.wall_s
            results["plan_noop_refresh_reads"] = sum(v for k, v in reads.items() if k in READS)
            table.add("plan, no-op with refresh (unlimited reads)", refreshed)
            log(f"plan no-op with refresh {refreshed.wall_s:.2f} s")

    if "plan-1pct" in stages:
        edited = edit_one_percent(project.manifests, n)
        one = repeat(runs, project.couponctl("plan", "--no-refresh"), cwd=project.root, env=env)
        if f"{edited} to change" not in one.samples[-1].stdout:
            raise SystemExit(f"the 1% plan does not change {edited}:\n{one.samples[-1].stdout[-2000:]}")
        results["plan_1pct_s"] = one.median
        results["plan_1pct_first_s"] = one.samples[0].wall_s
        results["plan_1pct_edited"] = edited
        table.add(f"plan, 1% changed ({edited} coupons, cache warm)", one)
        log(f"plan 1% {one.median:.2f} s (first {one.samples[0].wall_s:.2f} s)")


def drift_stage(
    args: argparse.Namespace, project: Project, sbx: Sandbox, campaign: Path, results: dict[str, Any], table: Table
) -> None:
    """Drift of the N managed coupons at R/s (manifests restored first: nothing pending but the reads)."""
    rate, env = args.rate, project.env
    shutil.rmtree(project.manifests)
    shutil.copytree(campaign, project.manifests)
    sbx.set_limits(dict.fromkeys(READS, rate))
    set_client_rate(project.root, sbx, rate)
    sbx.clear_calls()
    drift = run(project.couponctl("drift"), cwd=project.root, env=env)
    calls = sbx.calls()
    reads = count_by_operation(calls)
    results["drift_s"] = drift.wall_s
    results["drift_floor_s"] = rated_floor(reads, dict.fromkeys(READS, rate), READS)
    results["drift_reads"] = {k: v for k, v in reads.items() if k in READS}
    results["drift_429s"] = throttled(calls)
    table.add(f"drift at {rate:g}/s ({sum(results['drift_reads'].values())} reads)", drift, results["drift_floor_s"])
    log(f"drift {drift.wall_s:.2f} s (floor {results['drift_floor_s']:.2f} s), 429s {results['drift_429s']}")


def rated_stages(
    args: argparse.Namespace, work: Path, campaign: Path, results: dict[str, Any], table: Table, stages: set[str]
) -> None:
    """apply of N creates at R/s into a fresh sandbox and state; issue 7's drift of product coupons."""
    rate = args.rate
    # Apply of N creates at R/s into a fresh sandbox and state.
    if "apply-rated" in stages:
        limits = {**dict.fromkeys(SERVER_OPERATIONS), **dict.fromkeys(MUTATING | READS, rate)}
        sbx = Sandbox(work / "sandbox-rated", limits)
        try:
            project = write_project(work / "project-rated", sbx, rate, campaign)
            applied = run(
                project.couponctl("apply", "--auto-approve", "--no-refresh"), cwd=project.root, env=project.env
            )
            calls = sbx.calls()
            counts = count_by_operation(calls)
            results["apply_s"] = applied.wall_s
            results["apply_floor_s"] = rated_floor(counts, dict.fromkeys(MUTATING, rate), MUTATING)
            results["apply_calls"] = sum(v for k, v in counts.items() if k in MUTATING)
            results["apply_calls_by_operation"] = {k: v for k, v in counts.items() if k in MUTATING}
            results["apply_429s"] = throttled(calls)
            table.add(f"apply at {rate:g}/s ({results['apply_calls']} calls)", applied, results["apply_floor_s"])
            log(
                f"apply at rate {applied.wall_s:.2f} s (floor {results['apply_floor_s']:.2f} s), "
                f"429s {results['apply_429s']}"
            )
        finally:
            sbx.stop()

    # Issue 7: drift of 2,000 product coupons at 200/s.
    if "drift-products" in stages:
        products, prate = args.drift_products, args.drift_rate
        sbx = Sandbox(work / "sandbox-products", dict.fromkeys(SERVER_OPERATIONS))
        try:
            product_only_campaign(work / "campaign-products", products)
            project = write_project(work / "project-products", sbx, UNLIMITED, work / "campaign-products")
            run(project.couponctl("apply", "--auto-approve", "--no-refresh"), cwd=project.root, env=project.env)
            sbx.set_limits(dict.fromkeys(READS, prate))
            set_client_rate(project.root, sbx, prate)
            sbx.clear_calls()
            drift = run(project.couponctl("drift"), cwd=project.root, env=project.env)
            calls = sbx.calls()
            reads = count_by_operation(calls)
            results["drift_products_s"] = drift.wall_s
            results["drift_products_floor_s"] = rated_floor(reads, dict.fromkeys(READS, prate), READS)
            results["drift_products_429s"] = throttled(calls)
            table.add(f"drift, {products} products at {prate:g}/s", drift, results["drift_products_floor_s"])
            log(f"drift products {drift.wall_s:.2f} s (floor {results['drift_products_floor_s']:.2f} s)")
        finally:
            sbx.stop()

    if (
        "drift-ended" in stages and args.ended_drift
    ):  # issue 20 goal 3: drift of a campaign 80% ended, --all against the default (D31)
        from bench.drift_bench import ended_drift

        results["ended_drift"], rows = ended_drift(work, args.ended_drift, 80, rate)
        for label, proc, floor in rows:
            table.add(label, proc, floor)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def print_table(results: dict[str, Any]) -> None:
    print(
        f"\ncouponctl bench: {results['coupons']} coupons in {results['manifest_files']} files "
        f"({results['manifest_mb']} MB), median of {results['runs']} runs, {results['cpus']} CPUs, "
        f"load average {results['load_average_start']} -> {results['load_average_end']}"
    )
    print(f"{'stage':<48} {'seconds':>8} {'floor':>7} {'ratio':>6} {'CPU s':>7} {'CPU ratio':>9} {'peak MB':>8}")
    for row in results["table"]:
        floor = "" if row["floor_s"] is None else f"{row['floor_s']:.2f}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        cpu_ratio = "" if row["cpu_ratio"] is None else f"{row['cpu_ratio']:.2f}"
        print(
            f"{row['stage']:<48} {row['seconds']:>8.2f} {floor:>7} {ratio:>6} {row['cpu_s']:>7.2f} "
            f"{cpu_ratio:>9} {row['peak_rss_mb']:>8.0f}"
        )
    if "apply_unlimited_calls_per_s" in results:
        print(
            f"limits lifted: {results['apply_unlimited_calls_per_s']:.0f} mutating calls/s end to end, "
            f"{results['apply_unlimited_client_cpu_ms_per_call']:.1f} ms client CPU per call"
        )
    print(
        f"429s: apply at R {results.get('apply_429s', '-')}, drift {results.get('drift_429s', '-')}, "
        f"drift products {results.get('drift_products_429s', '-')}"
    )
    if results.get("state_seeded"):
        print("state for the no-op and 1% plans seeded from the manifests (bench/seed_state.py), not applied")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--coupons", type=int, default=10_000, help="number of coupons (half shop, half product)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each short stage (median reported)")
    parser.add_argument(
        "--rate",
        type=float,
        default=20.0,
        help="rate limit R per operation for apply and drift (default: WeChat Pay's documented 20/s)",
    )
    parser.add_argument("--drift-products", type=int, default=2000, help="issue 7 stage: product coupons (0: skip)")
    parser.add_argument("--drift-rate", type=float, default=200.0, help="issue 7 stage: rate limit per second")
    parser.add_argument("--skip-rated-apply", action="store_true", help="skip the apply at R/s")
    parser.add_argument("--ended-drift", type=int, default=2000, help="issue 20 stage: coupons, 80%% ended (0: skip)")
    parser.add_argument("--plan-refresh", action="store_true", help="also time a no-op plan with refresh")
    parser.add_argument("--skip-drift", action="store_true", help="skip the drift at R/s")
    parser.add_argument("--json", type=Path, help="where to write the results (default bench/results/N.json)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (default: a temp dir)")
    parser.add_argument(
        "--stages",
        help=f"comma-separated stages to run (default: all): {', '.join(STAGES)}. Without apply-unlimited, the "
        "no-op and 1%% plans run against a state seeded from the manifests (bench/seed_state.py): how the 100,000-"
        "coupon figures are made (--coupons 100000 --stages validate,plan-cold,plan-noop --runs 1)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="for review, under 2 minutes: 1,000 coupons, every stage, rated stages at 50/s, issue 7's drift of "
        "500 products at 200/s, the ended-campaign drift of 500 coupons (the full run stays the reference)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.coupons, args.rate, args.drift_products, args.ended_drift = 1000, 50.0, 500, 500
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        args.keep.mkdir(parents=True)
        results = bench(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="couponctl-bench-") as tmp:
            results = bench(args, Path(tmp))
    out = args.json or REPO / "bench" / "results" / f"{args.coupons}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_table(results)
    print(f"results: {out}")


if __name__ == "__main__":
    main()
