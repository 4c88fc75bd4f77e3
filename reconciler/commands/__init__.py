"""The command layer: one plain function per couponctl command, taking settings and explicit inputs, returning data.

The CLI (`reconciler.cli`) parses options, calls one function of this package, renders what it returns and chooses
the exit code; it never touches the state store, the providers or the applier itself. Nothing here prints.

One module per command family, imported by the CLI module that needs it (nothing is imported here, so
`couponctl validate` never pays for SQLAlchemy or httpx, docs/decisions.md D1):

- `common`    the run's surroundings: clock, actor, git commit, manifest paths, the state store
- `runs`      `recorded_run`: the history record of a state-writing command (open, close, failure)
- `upstream`  the providers of a run (embedded sandbox or WeChat) and the sandbox credentials
- `validate`  validate, schema
- `plan`      build_plan (manifests -> state -> plan), plan, show
- `apply`     apply (settle, saved or fresh plan, staleness, run record, apply)
- `drift`     reading upstream; drift and refresh
- `imports`   import ADDRESS ID, import --generate
- `state`     state list/show/rm/mv/unlock/upgrade, history
- `report`    report (the campaign report: plan, coupons, state, history and drift, rendered to one HTML file)
"""
