"""Render bench result files (bench/results/N.json) as the Markdown tables of docs/performance.md.

Usage: .venv/bin/python bench/markdown.py bench/results/10000.json [bench/results/100000.json ...]

Every row: wall seconds and CPU seconds, each beside its floor from the same run (the parse floor for the
offline stages, the busiest operation's calls / R for the rated ones), and the process's peak RSS.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _num(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "" if value is None else f"{value:,.{digits}f}{suffix}"


def table(results: dict[str, Any]) -> str:
    """One result file as a Markdown table with its heading line."""
    head = (
        f"**{results['coupons']:,} coupons** ({results['manifest_files']:,} files, {results['manifest_mb']} MB), "
        f"median of {results['runs']} run(s), {results['cpus']} CPUs, load average "
        f"{results['load_average_start']} -> {results['load_average_end']}"
    )
    lines = [
        head,
        "",
        "| stage | seconds | floor s | ratio | CPU s | CPU ratio | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["table"]:
        lines.append(
            f"| {row['stage']} | {_num(row['seconds'])} | {_num(row['floor_s'])} | {_num(row['ratio'], suffix='×')} "
            f"| {_num(row['cpu_s'])} | {_num(row['cpu_ratio'], suffix='×')} | {_num(row['peak_rss_mb'], 0)} |"
        )
    extra = []
    if "apply_unlimited_calls_per_s" in results:
        extra.append(
            f"limits lifted: {results['apply_unlimited_calls']:,} mutating calls, "
            f"{results['apply_unlimited_calls_per_s']:.0f} calls/s end to end, "
            f"{results['apply_unlimited_client_cpu_ms_per_call']:.2f} ms client CPU per call"
        )
    for key, label in (("apply_429s", "apply at R"), ("drift_429s", "drift"), ("drift_products_429s", "products")):
        if key in results:
            extra.append(f"429s {label}: {results[key]}")
    if results.get("state_seeded"):
        extra.append("no-op plan state seeded from the manifests (bench/seed_state.py)")
    if extra:
        lines += ["", "; ".join(extra) + "."]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    for i, name in enumerate(argv):
        if i:
            print()
        print(table(json.loads(Path(name).read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main(sys.argv[1:])
