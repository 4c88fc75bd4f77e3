"""Display images from files (issue 17 item 1, decision D33): the offline checks and the normalised `$file` form."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from reconciler.manifest.cache import ManifestCache
from tests.manifest.image_files import jpeg, png

DOC = """# a product coupon whose display images are tested below
kind: ProductCoupon
name: coffee
spec:
  scope: ALL
  type: NORMAL
  usage_mode: SINGLE
  single_usage_info:
    normal_coupon: {threshold: 10000, discount_amount: 1500}
  display_info:
    name: 咖啡满100减15
    image_url: https://wxpaylogo.qpic.cn/wxpaylogo/PiajxSqBRaEIPAeia7ImvtsCoffeeImg/0
    background_url: https://wxpaylogo.qpic.cn/wxpaylogo/PiajxSqBRaEIPAeia7ImvtsCoffeeBg/0
  stock:
    remark: 平日批次
    coupon_code_mode: WECHATPAY
    stock_send_rule: {max_count: 1000, max_count_per_user: 1}
    single_usage_rule:
      coupon_available_period:
        available_begin_time: 2028-11-01T00:00:00+08:00
        available_end_time: 2028-12-31T23:59:59+08:00
    usage_rule_display_info:
      coupon_usage_method_list: [OFFLINE]
      usage_description: 全场满100元可用
    coupon_display_info: {code_display_mode: QRCODE}
    notify_config: {notify_appid: wx1234567890abcdef}
    store_scope: ALL
"""
IMAGE_LINE = "    image_url: https://wxpaylogo.qpic.cn/wxpaylogo/PiajxSqBRaEIPAeia7ImvtsCoffeeImg/0\n"
BACKGROUND_LINE = "    background_url: https://wxpaylogo.qpic.cn/wxpaylogo/PiajxSqBRaEIPAeia7ImvtsCoffeeBg/0\n"


def project(tmp_path: Path, image: str = IMAGE_LINE, background: str = BACKGROUND_LINE, extra: str = "") -> Path:
    text = DOC
    assert IMAGE_LINE in text and BACKGROUND_LINE in text
    text = text.replace(IMAGE_LINE, image + extra).replace(BACKGROUND_LINE, background)
    manifest = tmp_path / "manifests" / "coffee.yaml"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(text, encoding="utf-8")
    return manifest


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def errors_of(manifest: Path, root: Path) -> list[str]:
    with pytest.raises(ManifestError) as err:
        load_manifests([manifest], root=root)
    return [f"{d.line}:{d.col} {d.field} {d.message}" for d in err.value.diagnostics]


def test_a_local_image_is_normalised_to_its_root_relative_path_digest_and_size(tmp_path: Path) -> None:
    data = write(tmp_path / "images" / "logo.png", png(64, 64)).read_bytes()
    write(tmp_path / "images" / "bg.jpg", jpeg(650, 770))
    manifest = project(
        tmp_path,
        image="    image_url: {file: ../images/logo.png}\n",
        background="    background_url: {file: ../images/bg.jpg}\n",
    )
    (coupon,) = load_manifests([manifest], root=tmp_path).coupons
    display = coupon.body["display_info"]
    assert display["image_url"] == {
        "$file": {"path": "images/logo.png", "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    }
    assert display["background_url"]["$file"]["path"] == "images/bg.jpg"


def test_detail_images_take_files_and_urls_side_by_side(tmp_path: Path) -> None:
    write(tmp_path / "manifests" / "d1.png", png(10, 30))
    extra = "    detail_image_url_list: [{file: d1.png}, https://wxpaylogo.qpic.cn/x/0]\n"
    (coupon,) = load_manifests([project(tmp_path, extra=extra)], root=tmp_path).coupons
    first, second = coupon.body["display_info"]["detail_image_url_list"]
    assert first["$file"]["path"] == "manifests/d1.png" and second == "https://wxpaylogo.qpic.cn/x/0"


@pytest.mark.parametrize(
    ("image", "data", "expected"),
    [
        ("logo.png", png(64, 40), "must be square"),
        ("logo.gif", b"GIF89a" + b"\0" * 40, "is not a PNG or JPEG image"),
        ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024), "over the limit of 2,097,152 bytes"),
        ("missing.png", None, "does not exist"),
    ],
)
def test_bad_images_are_located_at_the_field(tmp_path: Path, image: str, data: bytes | None, expected: str) -> None:
    if data is not None:
        write(tmp_path / "manifests" / image, data)
    manifest = project(tmp_path, image=f"    image_url: {{file: {image}}}\n")
    (message,) = errors_of(manifest, tmp_path)
    assert message.startswith("12:23 ") and "spec.display_info.image_url.file" in message
    assert expected in message


def test_background_must_be_65_by_77_within_one_pixel(tmp_path: Path) -> None:
    write(tmp_path / "manifests" / "ok.png", png(600, 711))  # 600 × 77 / 65 = 710.8
    write(tmp_path / "manifests" / "bad.png", png(600, 600))
    load_manifests([project(tmp_path, background="    background_url: {file: ok.png}\n")], root=tmp_path)
    (message,) = errors_of(project(tmp_path, background="    background_url: {file: bad.png}\n"), tmp_path)
    assert "spec.display_info.background_url.file" in message and "65:77" in message and "600×711" in message


def test_files_outside_the_project_root_and_symlinks_out_of_it_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "project"
    outside = write(tmp_path / "elsewhere" / "logo.png", png(8, 8))
    manifest = project(root, image="    image_url: {file: ../../elsewhere/logo.png}\n")
    (message,) = errors_of(manifest, root)
    assert "outside the project root" in message
    os.symlink(outside, root / "manifests" / "link.png")
    manifest = project(root, image="    image_url: {file: link.png}\n")
    (message,) = errors_of(manifest, root)
    assert "outside the project root" in message


def test_more_than_eight_detail_images_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "manifests" / "d.png", png(4, 4))
    extra = "    detail_image_url_list: [" + ", ".join(["{file: d.png}"] * 9) + "]\n"
    messages = errors_of(project(tmp_path, extra=extra), tmp_path)
    assert any("detail_image_url_list" in m and "8" in m for m in messages), messages


def test_a_changed_image_with_an_unchanged_manifest_is_not_served_from_the_cache(tmp_path: Path) -> None:
    image = write(tmp_path / "manifests" / "logo.png", png(16, 16))
    manifest = project(tmp_path, image="    image_url: {file: logo.png}\n")
    cache = ManifestCache(tmp_path / "cache")
    first = load_manifests([manifest], root=tmp_path, cache=cache)
    again = load_manifests([manifest], root=tmp_path, cache=cache)
    assert cache.hits == 1 and again.coupons == first.coupons and again.digest == first.digest
    image.write_bytes(png(16, 16, salt=7))
    changed = load_manifests([manifest], root=tmp_path, cache=cache)
    assert cache.hits == 1 and cache.misses == 2
    sha = changed.coupons[0].body["display_info"]["image_url"]["$file"]["sha256"]
    assert sha == hashlib.sha256(image.read_bytes()).hexdigest() and changed.digest != first.digest
    image.write_bytes(png(16, 20))  # now not square: the cached entry must not hide the error
    assert "must be square" in errors_of(manifest, tmp_path)[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://example.com/a.png", "12:16 spec.display_info.image_url must be an https:// URL"),
        ("{file: 3}", "12:23 spec.display_info.image_url.file expected a string"),
        ("{path: a.png}", "spec.display_info.image_url.file required field is missing"),
    ],
)
def test_a_bad_value_gets_the_messages_of_its_own_form_only(tmp_path: Path, value: str, expected: str) -> None:
    """A string is judged as a URL, a mapping as a file: never both (the union's tags stay out of the path)."""
    messages = errors_of(project(tmp_path, image=f"    image_url: {value}\n"), tmp_path)
    assert any(expected in m for m in messages), messages
    assert not any("<url>" in m or "<file>" in m or "ImageFile" in m for m in messages), messages
    assert len(messages) == (2 if value.startswith("{path") else 1), messages
