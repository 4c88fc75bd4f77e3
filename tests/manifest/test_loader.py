"""load_manifests, check_time_windows and the JSON Schema, exercised on real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml_rs

from reconciler.errors import ManifestError
from reconciler.manifest import check_time_windows, load_manifests, manifest_json_schema
from reconciler.manifest.positions import document_lines

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "manifests"
CN = timezone(timedelta(hours=8))

SHOP = """\
kind: ShopCoupon
name: {name}
spec:
  type: 104
  promote_type: 4
  coupon_info:
    name: 立减5元
    promote_info: {{promote_type: 4, finder: {{nickname: 咖啡实验室}}}}
    discount_info: {{discount_fee: 500}}
    receive_info:
      start_time: {start}
      end_time: 2028-11-12T00:00:00+08:00
      limit_num_one_person: 1
      total_num: 100
    valid_info: {{valid_type: 2, valid_day_num: 3}}
"""


def _shop(name: str = "five-off", start: str = "2028-11-10T20:00:00+08:00") -> str:
    return SHOP.format(name=name, start=start)


def test_example_campaign_is_valid_and_sorted() -> None:
    """manifests/ loads: at least four shop and two product coupons, sorted by address, shop ids defaulted."""
    result = load_manifests([EXAMPLE], root=REPO)
    kinds = [c.kind for c in result.coupons]
    assert kinds.count("ShopCoupon") >= 4 and kinds.count("ProductCoupon") >= 2
    assert [c.address for c in result.coupons] == sorted(c.address for c in result.coupons)
    shop_types = {c.body["type"] for c in result.coupons if c.kind == "ShopCoupon"}
    assert shop_types & {1, 2, 3, 4, 5, 6} and shop_types & {101, 102, 103, 104}
    assert {c.body["scope"] for c in result.coupons if c.kind == "ProductCoupon"} == {"ALL", "SINGLE"}
    assert "draft" in {c.status for c in result.coupons}
    by_name = {c.name: c for c in result.coupons}
    assert by_name["d11-store-100-off-20"].upstream_key == "d11-store-100-off-20"
    assert by_name["d11-beans-2-pack-80pct"].upstream_key == "d11-2028-beans-2x-8zhe"
    assert result.warnings == []


def test_example_files_match_the_json_schema() -> None:
    """Every document of the example campaign validates against `manifest_json_schema()`."""
    validator = jsonschema.Draft202012Validator(manifest_json_schema())
    documents = 0
    for path in sorted(EXAMPLE.rglob("*.yaml")):
        if path.name == "policies.yaml":  # the example policy (docs/policies.md), not a manifest
            continue
        parsed = yaml_rs.loads(path.read_text(encoding="utf-8"), parse_datetime=False)
        for document in parsed if isinstance(parsed, list) else [parsed]:
            validator.validate(document)
            documents += 1
    assert documents >= 6


def test_schema_refuses_unknown_fields_and_bad_enums() -> None:
    """The schema is strict too: an unknown field or an undocumented type fails it."""
    validator = jsonschema.Draft202012Validator(manifest_json_schema())
    document = yaml_rs.loads(_shop(), parse_datetime=False)
    assert isinstance(document, dict)
    validator.validate(document)
    assert not validator.is_valid({**document, "colour": "red"})
    assert not validator.is_valid({**document, "spec": {**document["spec"], "type": 105}})


def test_times_are_normalised_per_family(tmp_path: Path) -> None:
    """Shop times become Unix seconds; product times become RFC3339 in +08:00 whatever offset or form was given."""
    product = (REPO / "tests/good_manifests/doc_examples/product-coupon-patch.yaml").read_text(encoding="utf-8")
    product = product.replace(
        "available_begin_time: 2025-08-01T00:00:00+08:00", "available_begin_time: 2025-07-31T16:00:00Z"
    )
    product = product.replace("available_end_time: 2025-08-31T23:59:59+08:00", "available_end_time: 1756655999")
    (tmp_path / "p.yaml").write_text(product, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(_shop(start="1857470400"), encoding="utf-8")
    shop, prod = sorted(load_manifests([tmp_path]).coupons, key=lambda c: c.kind, reverse=True)
    receive = shop.body["coupon_info"]["receive_info"]
    assert receive["start_time"] == 1857470400
    assert receive["end_time"] == int(datetime(2028, 11, 12, tzinfo=CN).timestamp())
    period = prod.body["stocks"]["main"]["single_usage_rule"]["coupon_available_period"]
    assert period == {
        "available_begin_time": "2025-08-01T00:00:00+08:00",
        "available_end_time": "2025-08-31T23:59:59+08:00",
    }


def test_paths_are_reported_as_given_and_digest_is_stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Diagnostics and SourceRefs use the path as typed; the digest changes with content, not with run or cwd."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yaml").write_text(_shop("a") + "---\n" + _shop("b"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored: not a manifest", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    first = load_manifests(["."])
    assert first.files == ["sub/a.yaml"]
    assert [str(c.source) for c in first.coupons] == ["sub/a.yaml:1:1", "sub/a.yaml:17:1"]
    assert load_manifests([Path("sub")]).digest == first.digest
    (tmp_path / "sub" / "a.yaml").write_text(_shop("a"), encoding="utf-8")
    assert load_manifests(["."]).digest != first.digest


def test_missing_path_and_no_files_are_errors(tmp_path: Path) -> None:
    """A path that does not exist, or a directory without manifests, is reported rather than silently empty."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError) as caught:
        load_manifests([tmp_path / "nope", tmp_path / "empty"])
    assert [d.message for d in caught.value.diagnostics] == [
        "no manifest files (*.yaml, *.yml) in this directory",
        "no such file or directory",
    ]


def test_explicit_file_is_read_whatever_its_name(tmp_path: Path) -> None:
    """A file named on the command line is loaded even without a .yaml suffix."""
    path = tmp_path / "coupon.manifest"
    path.write_text(_shop(), encoding="utf-8")
    assert [c.name for c in load_manifests([path]).coupons] == ["five-off"]


def test_legacy_sequential_model_is_refused(tmp_path: Path) -> None:
    """usage_mode SEQUENTIAL with its ladder is refused, naming the 2025-08 model: the current API (and the sandbox)
    no longer creates it, so a warning would only move the refusal to apply time (issue 15)."""
    text = (REPO / "tests/good_manifests/doc_examples/product-coupon-patch.yaml").read_text(encoding="utf-8")
    text = (
        text.replace("usage_mode: SINGLE", "usage_mode: SEQUENTIAL")
        .replace(
            "  single_usage_info:\n    discount_coupon: {threshold: 10000, percent_off: 20}\n",
            "  sequential_usage_info: {type: INCREMENTAL, count: 2, available_days: 30}\n",
        )
        .replace(
            "    single_usage_rule:\n",
            "    sequential_usage_rule:\n      discount_coupon_list: "
            "[{threshold: 0, percent_off: 10}, {threshold: 0, percent_off: 20}]\n",
        )
    )
    (tmp_path / "seq.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifests([tmp_path])
    assert [(d.severity, d.field) for d in caught.value.diagnostics] == [("error", "spec.usage_mode")]
    assert "legacy 2025-08" in caught.value.diagnostics[0].message


def test_check_time_windows_errors_for_ended_and_warns_for_started() -> None:
    """A claim window already over is an error, one already running is a warning, a future one is silent."""
    coupons = load_manifests([EXAMPLE], root=REPO).coupons
    assert check_time_windows(coupons, datetime(2028, 1, 1, tzinfo=CN)) == []
    during = check_time_windows(coupons, datetime(2028, 11, 11, 12, tzinfo=CN))
    assert len(during) == len(coupons)
    assert all(d.severity == "warning" and "already started" in d.message for d in during)
    after = check_time_windows(coupons, datetime(2029, 6, 1, tzinfo=CN))
    assert {d.address for d in after} == {c.address for c in coupons}
    assert all(d.severity == "error" and "already ended" in d.message for d in after)
    mug = next(d for d in after if d.address == "shop_coupon.d11-mug-10-off")
    assert (mug.file, mug.line, mug.field) == (
        str(EXAMPLE / "double11-2028" / "shop-coupons.yaml"),
        54,
        "spec.coupon_info.receive_info",
    )


def test_document_scan_matches_the_parser() -> None:
    """The cheap `---` scan finds the same document starts as a YAML parser, including empty and leading docs."""
    assert document_lines("a: 1\n") == [1]
    assert document_lines("---\n# c\na: 1\n") == [3]
    assert document_lines("a: 1\n---\nb: 2\n---\n") == [1, 3, 4]
    assert document_lines("a: 1\n...\n---\nb: 2\n") == [1, 4]


def test_validate_command_prints_success_and_imports_no_heavy_modules() -> None:
    """`couponctl validate manifests/` exits 0 with the success line and never imports httpx, sqlalchemy or rich."""
    code = (
        "import sys\nfrom reconciler.cli import main\n"
        "try:\n    main(['validate', 'manifests/'])\n"
        "except SystemExit as e:\n"
        "    heavy = [m for m in ('httpx', 'sqlalchemy', 'starlette', 'rich', 'cryptography') if m in sys.modules]\n"
        "    print(e.code, heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.stdout.splitlines() == ["Success! 7 coupons in 2 files are valid.", "0 []"]


def test_schema_command_prints_the_schema() -> None:
    """`couponctl schema` prints the JSON Schema, indented, that describes both kinds."""
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "schema"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    schema = json.loads(done.stdout)
    assert schema == manifest_json_schema()
    assert done.stdout.startswith('{\n  "')


def test_validate_prints_warnings_on_stderr_and_still_succeeds(tmp_path: Path) -> None:
    """original_price on a scope ALL coupon validates (exit 0: the PATCH doc's own example shows it, so WeChat
    accepts it) with its warning on stderr as FILE:LINE:COL: warning: ..."""
    text = (REPO / "tests/good_manifests/doc_examples/product-coupon-patch.yaml").read_text(encoding="utf-8")
    text = text.replace("    detail_image_url_list:", "    original_price: 10000\n    detail_image_url_list:")
    (tmp_path / "all.yaml").write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "all.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0
    assert done.stdout == "Success! 1 coupon in 1 file is valid.\n"
    assert done.stderr == (
        "all.yaml:17:5: warning: product_coupon.all-discount-80pct: "
        "spec.display_info.original_price: meant for scope SINGLE (B.3 [??]); WeChat accepts it "
        "on a scope ALL coupon (the PATCH doc example) but may not show it\n"
    )


def test_merge_keys_and_hidden_directories(tmp_path: Path) -> None:
    """`<<: *anchor` merges like YAML 1.1 (explicit keys win) and files under hidden directories are skipped."""
    text = (
        _shop()
        .replace("    receive_info:\n", "    receive_info: &window\n")
        .replace(
            "    valid_info: {valid_type: 2, valid_day_num: 3}\n",
            "    valid_info:\n      <<: [*window]\n      valid_type: 1\n      limit_num_one_person: null\n",
        )
    )
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "junk.yaml").write_text("not: a manifest\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifests([tmp_path])
    assert [(d.field, d.message) for d in caught.value.diagnostics] == [
        (
            "spec.coupon_info.valid_info.limit_num_one_person",
            "null is not allowed (WeChat Pay refuses nulls, B.11): omit the field",
        ),
    ]
    fixed = text.replace("      limit_num_one_person: null\n", "").replace("<<: [*window]", "<<: *window")
    end = "      end_time: 2028-11-12T00:00:00+08:00\n"
    (tmp_path / "m.yaml").write_text(fixed.replace(end, end + "      extra: 1\n", 1), encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifests([tmp_path])
    assert {d.field for d in caught.value.diagnostics} == {
        "spec.coupon_info.receive_info.extra",
        "spec.coupon_info.valid_info.extra",
        "spec.coupon_info.valid_info.limit_num_one_person",
        "spec.coupon_info.valid_info.total_num",
    }
