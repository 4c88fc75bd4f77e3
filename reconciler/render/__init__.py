"""Renderers: a `Plan` (or a drift report) as text, JSON or Markdown, and the summary they share. Pure.

They depend on the plan model (`reconciler.plan.model`) and pure helpers only (`plan.diff`, `plan.kinds`,
`plan.planfile` for the digest, `reconciler.times`); never on the planner, the configuration or any I/O. The
rates behind the ETA are a parameter (`rate_limits`): the caller passes the configured `[apply] rate_limits`, the
default is the documented limits of `reconciler.upstream_facts`.
"""
