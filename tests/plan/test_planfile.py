"""Saved plans: exact round trip, tamper and version refusal, staleness and expiry, and `couponctl show`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from reconciler.errors import SavedPlanError
from reconciler.plan.model import uses_new_operations
from reconciler.plan.planfile import check_saved_plan, load_plan, plan_digest, save_plan
from reconciler.render.json_doc import render_json
from reconciler.render.text import render_text
from reconciler.resources import digest
from tests.inprocess import couponctl
from tests.plan.literals import LINEAGE, NOW, plan_of, product, sequential_body, shop, shop_body
from tests.plan.test_render import showcase_plan

DAY = timedelta(hours=24)


def test_round_trip_is_exact() -> None:
    """load_plan(save_plan(plan)) equals the plan, field for field, and keeps its digest."""
    plan = showcase_plan()
    loaded = load_plan(save_plan(plan))
    assert loaded == plan
    assert plan_digest(loaded) == plan_digest(plan)


def test_saved_plan_holds_identity_payloads_and_request_numbers() -> None:
    """The file records format version, lineage, serial, manifest digest, expiry and every payload with its number."""
    document = json.loads(save_plan(showcase_plan()))
    content = document["plan"]
    # 1.4 once the showcase makes a call of issues 16/17 (decision D29), 1.1 before
    assert document["format_version"] == ("1.4" if uses_new_operations(showcase_plan().actions) else "1.1")
    assert (content["lineage"], content["serial"]) == (LINEAGE, 7)
    assert content["manifest_digest"].startswith("9f2b")
    assert content["expires_at"] == "2026-11-02T00:00:00Z"
    numbers = [c["out_request_no"] for a in content["actions"] for c in a["calls"] if c["out_request_no"]]
    assert numbers and all(n.startswith("cc") for n in numbers)


def test_hand_edited_plan_is_refused() -> None:
    """Changing one byte of a payload breaks the integrity digest."""
    data = save_plan(showcase_plan()).replace(b'"discount_fee": 3000', b'"discount_fee": 30000')
    with pytest.raises(SavedPlanError, match="integrity check failed"):
        load_plan(data)


def test_unknown_format_version_is_refused() -> None:
    """A plan file from a future format is refused with the supported versions named."""
    document = json.loads(save_plan(showcase_plan()))
    document["format_version"] = "9.0"
    with pytest.raises(SavedPlanError, match=r"format_version '9.0' is not supported .*supported: 1.0, 1.1"):
        load_plan(json.dumps(document).encode())


def test_a_1_0_plan_file_still_loads_with_the_new_fields_at_their_defaults() -> None:
    """Format 1.1 only added fields (issue 14): a 1.0 file (no paths, left_alone, skip_blocked, manifest_file)
    loads as a plan of every manifest that skips nothing."""
    document = json.loads(save_plan(showcase_plan()))
    content = document["plan"]
    for key in ("paths", "left_alone", "skip_blocked"):
        del content[key]
    for action in content["actions"]:
        del action["manifest_file"]
    content["format_version"] = document["format_version"] = "1.0"
    document["integrity"] = digest(content)
    loaded = load_plan(json.dumps(document).encode())
    assert (loaded.paths, loaded.left_alone, loaded.skip_blocked) == ((), 0, False)
    assert [a.address for a in loaded.actions] == [a.address for a in showcase_plan().actions]


def test_garbage_is_refused() -> None:
    """Bytes that are not a plan file give one clear error."""
    with pytest.raises(SavedPlanError, match="not a couponctl plan file"):
        load_plan(b"\x00not json")


def test_fresh_plan_passes_the_checks() -> None:
    """A plan checked against its own lineage and serial, within its age, is accepted."""
    check_saved_plan(showcase_plan(), lineage=LINEAGE, serial=7, now=NOW + timedelta(minutes=5), max_age=DAY)


def test_moved_lineage_is_stale_naming_both() -> None:
    """A plan made against another state is stale; the message names both lineages."""
    with pytest.raises(SavedPlanError, match=f"lineage {LINEAGE}, but the state's lineage is other"):
        check_saved_plan(showcase_plan(), lineage="other", serial=7, now=NOW, max_age=DAY)


def test_moved_serial_is_stale_naming_both() -> None:
    """A plan made at serial 7 is stale once the state is at serial 9."""
    with pytest.raises(SavedPlanError, match="made at state serial 7, but the state is now at serial 9"):
        check_saved_plan(showcase_plan(), lineage=LINEAGE, serial=9, now=NOW, max_age=DAY)


def test_old_plan_is_expired() -> None:
    """A plan older than the maximum age is refused."""
    with pytest.raises(SavedPlanError, match="older than the maximum age"):
        check_saved_plan(showcase_plan(), lineage=LINEAGE, serial=7, now=NOW + timedelta(hours=2), max_age=DAY / 24)


def test_plan_creating_a_coupon_whose_window_ended_is_expired() -> None:
    """A saved create whose claim window has ended by apply time is refused."""
    end = int(NOW.timestamp()) + 3600
    plan = plan_of([shop("c1", body=shop_body("c1", start=end - 60, end=end))], [])
    with pytest.raises(SavedPlanError, match=r"shop_coupon\.c1, whose claim window ended at 2026-11-01 09:00:00"):
        check_saved_plan(plan, lineage=LINEAGE, serial=7, now=NOW + timedelta(hours=2), max_age=DAY)


def test_plan_creating_a_coupon_whose_window_started_since_is_expired() -> None:
    """A saved create whose claim window opened after the plan was made is refused (it must be re-reviewed)."""
    start = int(NOW.timestamp()) + 600
    plan = plan_of([shop("c1", body=shop_body("c1", start=start, end=start + 86400))], [])
    with pytest.raises(SavedPlanError, match="claim window started at 2026-11-01 08:10:00 \\+08:00, after"):
        check_saved_plan(plan, lineage=LINEAGE, serial=7, now=NOW + timedelta(hours=1), max_age=DAY)


def test_plan_creating_a_sequential_coupon_whose_window_ended_is_expired() -> None:
    """A legacy SEQUENTIAL coupon states its window in stock.sequential_usage_rule; its saved plan expires alike."""
    body = sequential_body(begin="2026-11-01T08:30:00+08:00", end="2026-11-01T09:00:00+08:00")
    plan = plan_of([product("p1", body=body)], [])
    assert [a.type.value for a in plan.actions] == ["create"]
    with pytest.raises(SavedPlanError, match=r"product_coupon\.p1, whose claim window ended at 2026-11-01 09:00:00"):
        check_saved_plan(plan, lineage=LINEAGE, serial=7, now=NOW + timedelta(hours=2), max_age=DAY)


def test_plan_creating_a_sequential_coupon_whose_window_started_since_is_expired() -> None:
    """A SEQUENTIAL coupon whose claim window opened after the plan was made is refused, like the others."""
    body = sequential_body(begin="2026-11-01T08:10:00+08:00", end="2026-12-01T00:00:00+08:00")
    plan = plan_of([product("p1", body=body)], [])
    check_saved_plan(plan, lineage=LINEAGE, serial=7, now=NOW + timedelta(minutes=5), max_age=DAY)
    with pytest.raises(SavedPlanError, match="claim window started at 2026-11-01 08:10:00 \\+08:00, after"):
        check_saved_plan(plan, lineage=LINEAGE, serial=7, now=NOW + timedelta(hours=1), max_age=DAY)


def test_show_renders_a_saved_plan_as_text_and_json(tmp_path: Path) -> None:
    """`couponctl show PLAN_FILE` prints exactly the renderers' output for the saved plan.

    In-process and in its own directory: the command and the expected text come from the same imported code, and
    no couponctl.toml of the working directory (nor a new interpreter reading the tree later) takes part."""
    plan = showcase_plan()
    path = tmp_path / "plan.json"
    path.write_bytes(save_plan(plan))
    text = couponctl("--no-color", "show", str(path), cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert text.stdout == render_text(plan)
    as_json = couponctl("--no-color", "show", str(path), "--format", "json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    assert as_json.stdout == render_json(plan)


def test_show_refuses_a_tampered_plan_with_one_message(tmp_path: Path) -> None:
    """A hand-edited plan file exits 1 with one error line and no traceback."""
    path = tmp_path / "plan.json"
    path.write_bytes(save_plan(showcase_plan()).replace(b"d11-void", b"d11-v0id"))
    result = couponctl("--no-color", "show", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: plan file integrity check failed")
    assert "Traceback" not in result.stderr
