"""Guardrails for money (issue 18): the policy file's rules, their evaluation on a plan, overrides and freezes.

`model` (the rules as plain data), `evaluate` (plan + desired coupons -> findings) and `freeze` are pure; `document`
and `loader` read `policies.yaml` with positions, like manifests, at the I/O edge.
"""
