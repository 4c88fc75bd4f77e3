"""Bad input (contract §1.2, §4 "bad input of every kind gets one clear message and exit 1, never a traceback, and
nothing is sent upstream"), property-based with hypothesis:
- the manifest loader: arbitrary text and bytes, and arbitrary values at any place of a valid document, raise
  ManifestError (with located diagnostics) or load, never anything else;
- the CLI as a subprocess: generated manifest files make `apply --auto-approve` exit 1 with one message, no
  traceback, no internal error, and no call to the sandbox;
- the CLI in-process: arbitrary values in couponctl.toml give exit 0/1/2 with one clean message, never a crash;
- saved plan files edited by hand (one value of a payload, or one byte anywhere) are refused: exit 1, nothing sent.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reconciler.cli import main
from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from tests.reliability.harness import Project, campaign, product_doc, shop_doc, write_docs, write_project
from tests.sandbox_server import ServedSandbox

LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.datetimes().map(lambda d: d.isoformat())
)
VALUES = st.recursive(
    LEAVES,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
    max_leaves=10,
)
YAMLISH = st.text(
    alphabet=st.sampled_from(list(" \t\n:-[]{}#&*!|>'\"%@`,?~=<.0123456789abcdeknpsty_满减\\\x00\x85\u2028\ufeff")),
    max_size=120,
)
T = TypeVar("T")
SHOP = shop_doc("bad-input-shop")
PRODUCT = product_doc("bad-input-product", "wx0000000000000000", "bad-p00")


def load_text(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "c.yaml").write_bytes(data)
        try:
            load_manifests([Path(tmp)], root=Path(tmp))
        except ManifestError as err:
            assert err.diagnostics and all(d.line >= 1 and d.col >= 1 and d.message for d in err.diagnostics)


@settings(max_examples=200, deadline=None)
@given(st.one_of(YAMLISH, st.text(max_size=200)))
def test_arbitrary_text_is_a_manifest_error_or_loads(text: str) -> None:
    """Any text as a manifest file: ManifestError with located diagnostics, or a clean load; nothing else."""
    load_text(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_a_manifest_error_or_load(data: bytes) -> None:
    """Any bytes (not UTF-8, NULs, BOMs): ManifestError or a clean load."""
    load_text(data)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += paths_of(item, (*prefix, i))
    return out


def substituted(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    new = copy.deepcopy(doc)
    holder: Any = new
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = value
    return new


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([SHOP, PRODUCT]), st.data(), VALUES)
def test_any_value_anywhere_in_a_valid_document_is_handled(doc: dict[str, Any], data: st.DataObject, junk: Any) -> None:
    """Replacing any node of a valid ShopCoupon / ProductCoupon with any YAML value: ManifestError or a load."""
    path = data.draw(st.sampled_from(paths_of(doc)))
    import yaml

    try:
        text = yaml.safe_dump(substituted(doc, path, junk), allow_unicode=True)
    except yaml.YAMLError:
        assume(False)
    load_text(text.encode("utf-8", "surrogatepass"))


# --- the CLI ----------------------------------------------------------------------------------------------------


class Opaque(Generic[T]):
    """Hides a fixture value from hypothesis's report of a failing example (it prints dataclasses field by field,
    which would put the sandbox's test keys into the test output: see test_secrets.py)."""

    def __init__(self, value: T) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"<{type(self.value).__name__}>"


@pytest.fixture(scope="module")
def opaque_sandbox(module_sandbox: ServedSandbox) -> Opaque[ServedSandbox]:
    return Opaque(module_sandbox)


@pytest.fixture(scope="module")
def cli_project(tmp_path_factory: pytest.TempPathFactory, module_sandbox: ServedSandbox) -> Opaque[Project]:
    return Opaque(write_project(tmp_path_factory.mktemp("bad-input"), module_sandbox))


def assert_clean_failure(code: int, stdout: str, stderr: str) -> None:
    assert code == 1, f"exit {code}\n{stdout}\n{stderr}"
    assert "Traceback" not in stderr + stdout
    assert "internal error" not in stderr, stderr
    assert stderr.strip(), "an error must say what is wrong"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([SHOP, PRODUCT]), st.data(), VALUES | YAMLISH.map(lambda t: {"__raw__": t}))
def test_cli_refuses_generated_bad_manifests_cleanly_and_sends_nothing(
    cli_project: Opaque[Project], doc: dict[str, Any], data: st.DataObject, junk: Any
) -> None:
    """`couponctl apply --auto-approve` on a generated invalid manifest (subprocess): exit 1, one message, no
    traceback, and not one call reaches the sandbox."""
    import yaml

    if isinstance(junk, dict) and "__raw__" in junk:
        text = yaml.safe_dump(doc, allow_unicode=True) + junk["__raw__"]
    else:
        path = data.draw(st.sampled_from(paths_of(doc)))
        try:
            text = yaml.safe_dump(substituted(doc, path, junk), allow_unicode=True)
        except yaml.YAMLError:
            assume(False)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "c.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_manifests([Path(tmp)], root=Path(tmp))
            assume(False)  # still valid: not bad input
        except ManifestError:
            pass
    project = cli_project.value
    for old in project.manifests.rglob("*.yaml"):
        old.unlink()
    (project.manifests / "c.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    project.sandbox.clear_calls()
    result = project.run("apply", "--auto-approve")
    assert_clean_failure(result.returncode, result.stdout, result.stderr)
    assert project.sandbox.calls() == [], "bad input must send nothing upstream"


TOML_VALUES = st.recursive(
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=6), kids, max_size=3),
    max_leaves=5,
)
# Fields that cannot make couponctl touch anything outside the scratch project or loopback (no URLs, no paths).
FUZZED_FIELDS = [
    ("state", "lock_timeout"),
    ("upstream", "mode"),
    ("shop", "appid"),
    ("shop", "secret_env"),
    ("wechatpay", "mchid"),
    ("wechatpay", "serial_no"),
    ("wechatpay", "public_key_id"),
    ("wechatpay", "brand_id"),
    ("apply", "parallelism"),
    ("apply", "plan_max_age_hours"),
    ("apply", "rate_limits"),
    ("apply", "max_retries"),
    ("apply", "request_timeout_s"),
    ("apply", "unknown_key"),
]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def with_field(toml: str, section: str, key: str, value: str) -> str:
    lines = [line for line in toml.splitlines() if not line.startswith(f"{key} =")]
    out: list[str] = []
    for line in lines:
        out.append(line)
        if line.strip() == f"[{section}]":
            out.append(f"{key} = {value}")
    return "\n".join(out) + "\n"


@contextlib.contextmanager
def env(values: dict[str, str]) -> Iterator[None]:
    import os

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_in_process(project: Project, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with env(project.env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["--no-color", "--config", str(project.root / "couponctl.toml"), *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(FUZZED_FIELDS), TOML_VALUES | st.text(max_size=10).map(lambda t: "\x00" + t))
def test_cli_with_arbitrary_config_values_never_crashes(
    tmp_path: Path, opaque_sandbox: Opaque[ServedSandbox], field: tuple[str, str], value: Any
) -> None:
    """Any value in a couponctl.toml field (or broken TOML): `drift` exits 0/1/2 with one clean message."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        project = write_project(Path(tmp), opaque_sandbox.value)
        write_docs(project.manifests / "c.yaml", [SHOP])
        toml = (project.root / "couponctl.toml").read_text(encoding="utf-8")
        raw = value[1:] if isinstance(value, str) and value.startswith("\x00") else toml_value(value)
        (project.root / "couponctl.toml").write_text(with_field(toml, *field, raw), encoding="utf-8")
        code, stdout, stderr = run_in_process(project, "drift")
    assert code in (0, 1, 2), (code, stdout, stderr)
    if code == 1:
        assert_clean_failure(code, stdout, stderr)


# --- saved plan files edited by hand ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_plan(
    tmp_path_factory: pytest.TempPathFactory, module_sandbox: ServedSandbox
) -> Opaque[tuple[Project, bytes]]:
    project = write_project(tmp_path_factory.mktemp("plan-edit"), module_sandbox)
    project.write_docs(campaign("pe", module_sandbox.credentials.appid, active=1, draft=1, products=2).docs)
    plan = project.run("plan", "--out", "plan.json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    return Opaque((project, (project.root / "plan.json").read_bytes()))


def payload_leaves(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    out = []
    for a, action in enumerate(document["plan"]["actions"]):
        for c, call in enumerate(action["calls"]):
            for path in paths_of(call["payload"]):
                if path:
                    out.append(("plan", "actions", a, "calls", c, "payload", *path))
    return out


def refuse_edited(project: Project, data: bytes) -> None:
    (project.root / "edited.json").write_bytes(data)
    project.sandbox.clear_calls()
    result = project.run("apply", "edited.json")
    assert_clean_failure(result.returncode, result.stdout, result.stderr)
    assert "plan file" in result.stderr, result.stderr
    assert [c for c in project.sandbox.calls() if not c["operation"].endswith("get")] == [], "nothing may be sent"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_plan_file_with_one_payload_value_edited_is_refused(
    saved_plan: Opaque[tuple[Project, bytes]], data: st.DataObject, figures: Counter[str]
) -> None:
    """Changing one value of any call payload in a saved plan (valid JSON, same layout) makes apply refuse it."""
    project, original = saved_plan.value
    document = json.loads(original)
    path = data.draw(
        st.sampled_from([p for p in payload_leaves(document) if not isinstance(get(document, p), dict | list)])
    )
    old = get(document, path)
    new: Any = (
        (old + 1)
        if isinstance(old, int) and not isinstance(old, bool)
        else (f"{old}x" if isinstance(old, str) else "x")
    )
    put(document, path, new)
    refuse_edited(project, json.dumps(document, ensure_ascii=False, indent=2).encode())
    figures["bad_input.edited_plans_refused"] += 1


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_plan_file_with_one_byte_changed_is_refused(
    saved_plan: Opaque[tuple[Project, bytes]], data: st.DataObject, figures: Counter[str]
) -> None:
    """Changing one significant byte anywhere in a saved plan (a letter or digit) makes apply refuse it."""
    project, original = saved_plan.value
    positions = [i for i, b in enumerate(original) if chr(b).isalnum()]
    at = data.draw(st.sampled_from(positions))
    replacement = data.draw(st.sampled_from([b for b in b"0123456789abcdefXYZ" if b != original[at]]))
    edited = original[:at] + bytes([replacement]) + original[at + 1 :]
    try:
        same = json.loads(edited) == json.loads(original)
    except ValueError:
        same = False
    assume(not same)
    refuse_edited(project, edited)
    figures["bad_input.edited_plans_refused"] += 1


def test_the_unedited_plan_file_applies(saved_plan: Opaque[tuple[Project, bytes]]) -> None:
    """Control: the plan file the edits started from is accepted (so the refusals above are the edits' doing)."""
    project, original = saved_plan.value
    (project.root / "plan.json").write_bytes(original)
    result = project.run("apply", "plan.json")
    assert result.returncode == 0, result.stdout + result.stderr


def get(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def put(document: Any, path: tuple[Any, ...], value: Any) -> None:
    get(document, path[:-1])[path[-1]] = value
