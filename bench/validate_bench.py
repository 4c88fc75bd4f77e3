"""Benchmark: `couponctl validate` on a synthetic campaign, beside the floor of merely parsing the same YAML.

Usage: .venv/bin/python bench/validate_bench.py [--n 10000] [--runs 3]
Both numbers are whole processes (interpreter start-up included), median of the runs. Validation is measured
cold: the manifest cache (COUPONCTL_MANIFEST_CACHE) is turned off, so every run parses and validates everything.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import generate_campaign

FLOOR = """
import sys, pathlib, yaml_rs
for p in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    yaml_rs.loads(p.read_text(encoding="utf-8"), parse_datetime=False)
"""


def _time(cmd: list[str], runs: int) -> tuple[float, float]:
    """Median wall-clock and median CPU (user + system) seconds of `runs` runs of `cmd`.

    CPU time is reported too because wall-clock time on a shared machine also measures the neighbours' load.
    """
    samples: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        env = {**os.environ, "COUPONCTL_MANIFEST_CACHE": "0"}
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
        samples.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr[-3000:]}")
    return statistics.median(samples), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of coupons")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "campaign"
        files = generate_campaign(directory, args.n)
        size = sum(f.stat().st_size for f in files)
        validate = _time([sys.executable, "-m", "reconciler", "validate", str(directory)], args.runs)
        floor = _time([sys.executable, "-c", FLOOR, str(directory)], args.runs)
    print(f"campaign: {args.n} coupons in {len(files)} files, {size / 1e6:.1f} MB")
    print(
        f"couponctl validate (cold, no cache): {validate[0]:.2f} s wall, {validate[1]:.2f} s CPU "
        f"(median of {args.runs})"
    )
    print(f"floor (yaml_rs parse only):         {floor[0]:.2f} s wall, {floor[1]:.2f} s CPU (median of {args.runs})")


if __name__ == "__main__":
    main()
