"""Support code for the test suite only (never imported by the `reconciler` package).

- `real_mode`: a real-mode couponctl.toml and environment pointing at a sandbox served over HTTP;
- `crashing_cli`: `python -m tests.support.crashing_cli <event>:<n> ARGS...` runs the CLI and SIGKILLs it at the
  n-th journal event, for the crash-safety suite;
- `fake_provider`: an in-memory `Provider` with scripted outcomes, for the applier's and settle's unit tests.
"""
