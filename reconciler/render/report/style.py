"""The report page's CSS (inlined: the page loads nothing). Status colours: live green, draft or under review grey, not
created yet blue, over light grey; claim windows solid, validity windows lighter, "after claim" ones hatched."""

CSS = """
:root { --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #fff; --panel: #f6f8fa;
  --live: #1a7f37; --pending: #6e7781; --new: #0969da; --over: #afb8c1; --now: #cf222e; --label: 320px; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", "Noto Sans", "Liberation Sans", "DejaVu Sans", sans-serif;
  color: var(--fg); background: var(--bg); }
header, section { padding: 12px 24px; }
header { border-bottom: 1px solid var(--line); background: var(--panel); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 8px 0; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 10px 0 6px; }
nav a { margin-right: 14px; color: #0969da; text-decoration: none; }
.muted, .meta { color: var(--muted); }
pre { font: 12px/1.4 "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; margin: 6px 0;
  white-space: pre; overflow-x: auto; }
code { font: 12px "DejaVu Sans Mono", monospace; background: var(--panel); padding: 1px 4px; }
.notes li { color: #9a6700; }
.summary { font-weight: 600; }
/* timeline */
.tl-legend { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; color: var(--muted); font-size: 12px; }
.tl-legend .sw { display: inline-block; width: 26px; height: 8px; vertical-align: middle; margin-right: 4px; }
.tl-tools { margin: 8px 0; display: flex; gap: 12px; align-items: center; }
.tl-tools input { width: 320px; padding: 4px 6px; }
#tl-head { display: flex; height: 30px; border-bottom: 1px solid var(--line); font-size: 11px; color: var(--muted); }
#tl-head .tl-label { padding-top: 8px; }
.tl-label { width: var(--label); flex: none; overflow: hidden; white-space: nowrap; text-overflow: ellipsis;
  padding-right: 8px; font: 12px/22px "DejaVu Sans Mono", "Liberation Mono", monospace; }
.tl-track { position: relative; flex: none; height: 100%; }
#tl-axis .tick { position: absolute; top: 0; bottom: 0; border-left: 1px solid var(--line); padding-left: 3px;
  white-space: nowrap; }
#tl-axis .now-label { position: absolute; top: 16px; color: var(--now); font-weight: 600; padding-left: 3px; }
#tl-viewport { position: relative; height: 440px; overflow-y: auto; overflow-x: hidden;
  border-bottom: 1px solid var(--line); }
#tl-inner { position: relative; }
.tl-row { position: absolute; left: 0; right: 0; height: 22px; display: flex; cursor: pointer; }
.tl-row:hover, .tl-row.pinned { background: #eef4ff; }
.tl-group { position: absolute; left: 0; right: 0; height: 22px; font-weight: 600; font-size: 12px;
  line-height: 22px; background: var(--panel); border-top: 1px solid var(--line); padding-left: 4px;
  white-space: nowrap; overflow: hidden; }
.bar { position: absolute; height: 7px; border-radius: 2px; }
.bar.claim { top: 3px; }
.bar.valid { top: 12px; opacity: .45; }
.bar.valid.rel { opacity: .6; background-image: repeating-linear-gradient(135deg, rgba(255,255,255,.7) 0 3px,
  transparent 3px 6px); }
.live { background: var(--live); } .pending { background: var(--pending); } .over { background: var(--over); }
.new { background: var(--new); }
#tl-now { position: absolute; top: 0; bottom: 0; width: 0; border-left: 2px solid var(--now); pointer-events: none;
  z-index: 2; }
.sym { display: inline-block; width: 30px; font-weight: 700; }
.t-create { color: #1a7f37; } .t-update { color: #9a6700; } .t-replace { color: #8250df; }
.t-deactivate { color: #cf222e; } .t-transition { color: #1b7c83; } .t-blocked { color: #cf222e; }
.t-deferred { color: #0969da; } .t-forget, .t-not_applied { color: var(--muted); }
.detail { margin-top: 8px; min-height: 120px; padding: 8px 12px; background: var(--panel);
  border: 1px solid var(--line); font-size: 13px; }
.detail table td { padding: 1px 12px 1px 0; vertical-align: top; }
.detail table td:first-child { color: var(--muted); white-space: nowrap; }
/* money */
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
.chart text { font-size: 12px; fill: var(--fg); }
.chart rect { fill: var(--live); }
.chart .axis { stroke: var(--line); }
.chart line.now { stroke: var(--now); stroke-width: 2; }
.chart text.now { fill: var(--now); font-weight: 600; }
.total b { font-size: 16px; }
/* plan */
.plan-tools { margin: 8px 0; display: flex; gap: 10px; align-items: center; }
.entry { border: 1px solid var(--line); border-left: 4px solid var(--line); margin: 6px 0; padding: 2px 10px;
  background: #fff; }
.entry .file { font-size: 12px; color: var(--muted); }
.entry.t-blocked { border-left-color: #cf222e; background: #fff8f8; }
.entry.t-create { border-left-color: #1a7f37; } .entry.t-update, .entry.t-transition { border-left-color: #9a6700; }
.entry.t-replace { border-left-color: #8250df; } .entry.t-deactivate { border-left-color: #cf222e; }
.entry pre { color: var(--fg); }
pre.closing { font-weight: 600; }
pre.blocked-message { color: #cf222e; }
/* health */
.drift-result.drifted h3 { color: #9a6700; } .drift-result.in-sync h3 { color: var(--live); }
table.runs { border-collapse: collapse; font-size: 13px; }
table.runs th, table.runs td { border-bottom: 1px solid var(--line); padding: 3px 10px; text-align: left; }
table.runs tr.apply td { font-weight: 600; }
#report-error { color: #cf222e; font-weight: 600; }
"""
