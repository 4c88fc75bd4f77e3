"""Issue 17 acceptance for images from files (decision D33), end to end: the real CLI in real mode against the sandbox
served over HTTP, its call log counting the uploads and writes couponctl makes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e import coupons
from tests.e2e.conftest import Project
from tests.manifest.image_files import png

UPLOAD = "product.media.upload_image"  # the sandbox's name of the upload
WRITES = {UPLOAD, "product.create", "product.patch", "product.deactivate"}


def doc(project: Project, name: str, label: str) -> dict[str, Any]:
    document = coupons.product_doc(name, project.sandbox.credentials.appid, label)
    document["spec"]["display_info"]["image_url"] = {"file": "../images/d11.png"}
    return document


def use(project: Project, *docs: dict[str, Any]) -> None:
    shutil.rmtree(project.manifests, ignore_errors=True)
    coupons.write(project.manifests / "campaign.yaml", list(docs))


def image(project: Project, data: bytes) -> Path:
    path = project.root / "images" / "d11.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def writes(project: Project) -> list[str]:
    return [c["operation"] for c in project.sandbox.calls() if c["operation"] in WRITES and c["http_status"] < 300]


def image_url(project: Project, address: str) -> str:
    shown = json.loads(project.run("state", "show", address, check=True).stdout)
    return str(shown["upstream"]["display_info"]["image_url"])


def test_a_local_image_is_uploaded_once_then_a_no_op_and_a_new_file_is_one_upload_and_one_patch(
    project: Project,
) -> None:
    image(project, png(64, 64))
    use(project, doc(project, "d11", "图片咖啡券"))
    planned = project.run("plan", check=True)
    assert "upload of images/d11.png" in planned.stdout
    assert "product.media.upload, then product.create" in planned.stdout
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert writes(project) == [UPLOAD, "product.create"]
    first = image_url(project, "product_coupon.d11")
    assert first.startswith("https://") and "sandbox/" in first

    again = project.run("plan", "--detailed-exitcode")
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr
    drift = project.run("drift")
    assert drift.returncode == 0, drift.stdout + drift.stderr  # the uploaded URL is neither drift nor pending

    image(project, png(64, 64, salt=3))  # the same name, other bytes
    changed = project.run("plan", "--detailed-exitcode")
    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert "display_info.image_url" in changed.stdout and "upload of images/d11.png" in changed.stdout
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert writes(project) == [UPLOAD, "product.patch"]
    assert image_url(project, "product_coupon.d11") not in (first, "")
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_the_same_image_in_two_coupons_is_uploaded_once(project: Project) -> None:
    image(project, png(48, 48))
    use(project, doc(project, "first", "图片咖啡券一"), doc(project, "second", "图片咖啡券二"))
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert sorted(writes(project)) == sorted([UPLOAD, "product.create", "product.create"])
    assert image_url(project, "product_coupon.first") == image_url(project, "product_coupon.second")
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_a_bad_image_is_refused_offline_with_its_location_and_nothing_is_sent(project: Project) -> None:
    image(project, png(64, 40))
    use(project, doc(project, "d11", "图片咖啡券"))
    project.sandbox.clear_calls()
    result = project.run("apply", "--auto-approve")
    assert result.returncode != 0
    assert "campaign.yaml:" in result.stderr + result.stdout and "must be square" in result.stderr + result.stdout
    assert writes(project) == []


def test_apply_from_a_subfolder_reads_the_image_under_the_project_root(project: Project) -> None:
    """`cd manifests && couponctl apply`: the image path is the project root's, so apply finds the file."""
    image(project, png(40, 40))
    use(project, doc(project, "sub", "子目录咖啡券"))
    project.sandbox.clear_calls()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "--no-color", "apply", "--auto-approve"],
        cwd=project.manifests, env=project.env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert writes(project) == [UPLOAD, "product.create"]
    assert project.run("plan", "--detailed-exitcode").returncode == 0
