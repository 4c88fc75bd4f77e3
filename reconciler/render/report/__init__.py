"""The campaign report (`couponctl report`): one self-contained HTML page with the campaign timeline, the money
exposed, this plan in the text plan's words, and health (drift, history). Pure: `render_report(ReportData) -> str`.

Modules: `model` (the input values), `coupons` (timeline rows and their windows), `money`, `plan_section`,
`health`, `page` (assembly and the page's data), `style` and `script` (the inline CSS and JavaScript).
"""

from __future__ import annotations

from reconciler.render.report.model import DriftResult, ReportData, RunRow
from reconciler.render.report.page import render_report

__all__ = ["DriftResult", "ReportData", "RunRow", "render_report"]
