"""The couponctl command line: the only place that prints and chooses exit codes.

Commands live in one module each under `reconciler.cli` and are imported lazily (start-up stays fast for
`validate` and `plan`). Every `CouponctlError` is caught here once: its message goes to stderr, the process exits
with its exit code (1), and a traceback is shown only with `--debug`.

Exit codes everywhere: 0 success / no changes / in sync; 1 error; 2 changes pending (`plan --detailed-exitcode`)
or drift found (`drift`).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler import __version__
from reconciler.errors import CouponctlError, redact_url

if TYPE_CHECKING:
    from reconciler.config import Settings

# command name -> "module:attribute" (a click.Command). Add a line when you add a command module.
COMMANDS: dict[str, str] = {
    "plan": "reconciler.cli.plan:plan",
    "apply": "reconciler.cli.apply:apply",
    "drift": "reconciler.cli.drift:drift",
    "refresh": "reconciler.cli.drift:refresh",
    "import": "reconciler.cli.drift:import_",
    "sandbox": "reconciler.cli.sandbox:sandbox",
    "show": "reconciler.cli.show:show",
    "validate": "reconciler.cli.validate:validate",
    "schema": "reconciler.cli.validate:schema",
    "state": "reconciler.cli.state:state",
    "history": "reconciler.cli.state:history",
    "report": "reconciler.cli.report:report",
    "render": "reconciler.cli.render:render",
    "fmt": "reconciler.cli.fmt:fmt",
    "env": "reconciler.cli.env:env",
    "doctor": "reconciler.cli.doctor:doctor",
}

EXAMPLES = """\b
Examples:
  couponctl validate manifests/
  couponctl plan --out plan.bin
  couponctl apply plan.bin
  couponctl drift --format json
"""


@dataclass
class AppContext:
    """What every command gets: global options and lazily loaded settings."""

    config_path: str | None
    color: bool
    verbose: int
    debug: bool
    cwd: Path = field(default_factory=Path.cwd)
    environment: str | None = None  # --env / COUPONCTL_ENV (decision D26)
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from reconciler.config import load_settings

            self._settings = load_settings(self.config_path, cwd=self.cwd, environment=self.environment)
        return self._settings


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


def color_enabled(no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


@click.group(cls=LazyGroup, lazy=COMMANDS, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="couponctl")
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    envvar="COUPONCTL_CONFIG",
    help="Configuration file (also COUPONCTL_CONFIG; default: couponctl.toml here or in the nearest folder above).",
)
@click.option(
    "--env",
    "environment",
    metavar="NAME",
    envvar="COUPONCTL_ENV",
    help="The environment of couponctl.toml to use ([env.NAME]; also COUPONCTL_ENV; `couponctl env list`).",
)
@click.option("--no-color", is_flag=True, help="Plain output (also when NO_COLOR is set or stdout is not a TTY).")
@click.option("-v", "--verbose", count=True, help="More detail (repeat for more).")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, environment: str | None, no_color: bool, verbose: int, debug: bool
) -> None:
    """couponctl: Terraform for WeChat coupons.

    Declare coupons in YAML manifests, review the plan, apply exactly the calls it needs, and detect drift.
    """
    if config_path is not None and not Path(config_path).is_file():
        from reconciler.errors import ConfigError

        source = ctx.get_parameter_source("config_path")
        origin = " (from COUPONCTL_CONFIG)" if source is click.core.ParameterSource.ENVIRONMENT else ""
        raise ConfigError(f"config file not found: {config_path}{origin}")
    ctx.obj = AppContext(
        config_path=config_path,
        color=color_enabled(no_color),
        verbose=verbose,
        debug=debug,
        environment=environment or None,
    )


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI, turning every error into one message and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # With standalone_mode=False click returns the code of `ctx.exit(code)` instead of raising it.
        code = cli.main(args=argv, prog_name="couponctl", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)  # usage errors are errors: exit 1 like every other error (click's default would be 2)
    except CouponctlError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: still one message, never a traceback unless --debug
        if debug:
            traceback.print_exc()
        click.echo(
            f"Error: internal error ({type(exc).__name__}): {redact_url(str(exc))}\n"
            "This is a bug in couponctl; run again with --debug for the traceback.",
            err=True,
        )
        sys.exit(1)
    sys.exit(0)


def app(ctx: click.Context) -> AppContext:
    """The AppContext of the running command."""
    obj = ctx.find_root().obj
    assert isinstance(obj, AppContext)
    return obj
