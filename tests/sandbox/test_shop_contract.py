"""Contract tests of the Mini Program side (/cgi-bin/*, /shop/coupon/*) over real HTTP (reference A, E Family 1)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import ShopClient, shop_coupon, unique
from tests.sandbox_server import ServedSandbox

RID = re.compile(r" rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$")


def errcode(result: dict[str, Any]) -> int:
    return int(result["errcode"])


def test_token_endpoint_issues_a_token_with_expires_in(served: ServedSandbox, http: httpx.Client) -> None:
    """GET /cgi-bin/token with the right appid/secret returns access_token and expires_in 7200 (A.9.1)."""
    creds = served.credentials
    response = http.get(
        served.url + "/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": creds.appid, "secret": creds.app_secret},
    )
    body = response.json()
    assert response.status_code == 200
    assert body["expires_in"] == 7200
    assert len(body["access_token"]) >= 64


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"grant_type": "password"}, 40002),
        ({"appid": "wx0000000000000000"}, 40013),
        ({"appid": ""}, 41002),
        ({"secret": "wrong"}, 40125),
        ({"secret": ""}, 41004),
    ],
)
def test_token_endpoint_refuses_bad_client_credentials(
    served: ServedSandbox, http: httpx.Client, params: dict[str, str], expected: int
) -> None:
    """Wrong grant_type, appid or secret get the documented errcodes with a rid, never a token (A.9.1, A.8)."""
    creds = served.credentials
    query = {"grant_type": "client_credential", "appid": creds.appid, "secret": creds.app_secret, **params}
    body = http.get(served.url + "/cgi-bin/token", params=query).json()
    assert body["errcode"] == expected
    assert RID.search(body["errmsg"])
    assert "access_token" not in body


def test_stable_token_returns_the_same_token_until_force_refresh(served: ServedSandbox, http: httpx.Client) -> None:
    """stable_token repeats its token; force_refresh rotates it and the old one stops working (A.9.2)."""
    creds = served.credentials
    payload = {"grant_type": "client_credential", "appid": creds.appid, "secret": creds.app_secret}
    first = http.post(served.url + "/cgi-bin/stable_token", json=payload).json()
    second = http.post(served.url + "/cgi-bin/stable_token", json=payload).json()
    assert first["access_token"] == second["access_token"]
    rotated = http.post(served.url + "/cgi-bin/stable_token", json={**payload, "force_refresh": True}).json()
    assert rotated["access_token"] != first["access_token"]
    old = ShopClient(served.url, creds, http, token=first["access_token"]).call("get_list", {"page_size": 1})
    assert old["errcode"] == 40001
    new = ShopClient(served.url, creds, http, token=rotated["access_token"]).call("get_list", {"page_size": 1})
    assert new["errcode"] == 0
    again = http.post(served.url + "/cgi-bin/stable_token", json={**payload, "force_refresh": True}).json()
    assert again["errcode"] == 45011  # at least 30 s between force refreshes


def test_token_pools_are_isolated_and_rotation_keeps_a_grace_window(served: ServedSandbox, http: httpx.Client) -> None:
    """A new /cgi-bin/token leaves the previous one usable (grace window) and does not touch stable tokens (A.9)."""
    shop = ShopClient(served.url, served.credentials, http)
    first = shop.fetch_token()
    shop.fetch_token()
    assert (
        ShopClient(served.url, served.credentials, http, token=first).call("get_list", {"page_size": 1})["errcode"] == 0
    )


def test_missing_and_unknown_access_tokens(served: ServedSandbox, http: httpx.Client) -> None:
    """No access_token -> 41001; an unknown one -> 40001 (E Family-1 item 2)."""
    missing = http.post(served.url + "/shop/coupon/get_list", json={"page_size": 1}).json()
    assert missing["errcode"] == 41001
    unknown = http.post(
        served.url + "/shop/coupon/get_list", params={"access_token": "nope"}, json={"page_size": 1}
    ).json()
    assert unknown["errcode"] == 40001
    assert unknown["errmsg"].startswith("invalid credential")


def test_transport_errors_look_like_wechat(served: ServedSandbox, shop: ShopClient, http: httpx.Client) -> None:
    """Wrong method 43002, unknown path 40066, empty body 44002, bad JSON 47001, all HTTP 200 with a rid (A.1, A.8)."""
    token = shop.fetch_token()
    url = served.url + "/shop/coupon/add"
    cases = [
        (http.get(url, params={"access_token": token}), 43002),
        (http.post(served.url + "/shop/coupon/delete", params={"access_token": token}, json={}), 40066),
        (http.post(served.url + "/no/such/path", json={}), 40066),
        (http.post(url, params={"access_token": token}, content=b""), 44002),
        (http.post(url, params={"access_token": token}, content=b"{not json,}"), 47001),
        (http.post(url, params={"access_token": token}, content=b"[1, 2]"), 47001),
        (http.post(served.url + "/cgi-bin/token"), 43001),
    ]
    for response, expected in cases:
        assert response.status_code == 200
        assert response.json()["errcode"] == expected
        assert RID.search(response.json()["errmsg"])
        assert "Traceback" not in response.text


@pytest.mark.parametrize("coupon_type", [1, 2, 3, 4, 5, 6, 101, 102, 103, 104])
def test_add_accepts_every_type_with_its_discount_fields(shop: ShopClient, coupon_type: int) -> None:
    """add accepts each type with exactly the fields of the A.5 matrix; the coupon starts in status 1."""
    out_coupon_id = unique(f"type{coupon_type}")
    assert errcode(shop.call("add", {"coupon": shop_coupon(out_coupon_id, coupon_type)})) == 0
    got = shop.call("get", {"out_coupon_id": out_coupon_id})
    coupon = got["result"]["coupon"]
    assert coupon["status"] == 1
    assert coupon["type"] == coupon_type
    assert coupon["appid"] == shop.creds.appid
    assert coupon["create_time"] == coupon["update_time"]


def _edit(coupon: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target = coupon
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return coupon


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("out_coupon_id", _DELETE, 990007),
        ("type", 7, 40097),
        ("type", "102", 40097),
        ("coupon_info.name", _DELETE, 990007),
        ("coupon_info.discount_info.discount_fee", _DELETE, 990007),
        ("coupon_info.discount_info.discount_fee", 20001, 40097),  # above 200 元 (A.5)
        ("coupon_info.discount_info.discount_condition.product_price", -5, 40097),
        ("coupon_info.receive_info.start_time", 1_700_000_000_000, 40097),  # milliseconds
        ("coupon_info.receive_info.end_time", 1, 990009),
        ("coupon_info.receive_info.total_num", _DELETE, 990007),
        ("coupon_info.valid_info.valid_type", 4, 40097),
        ("coupon_info.valid_info.valid_day_num", _DELETE, 990007),
        ("coupon_info.promote_info.finder", _DELETE, 990007),
    ],
)
def test_add_validates_the_coupon_body(shop: ShopClient, path: str, value: Any, expected: int) -> None:
    """Every documented rule of add is enforced with an errcode and nothing is stored (E Family-1 item 5)."""
    out_coupon_id = unique("bad")
    coupon = _edit(shop_coupon(out_coupon_id), path, value)
    assert errcode(shop.call("add", {"coupon": coupon})) == expected
    assert errcode(shop.call("get", {"out_coupon_id": out_coupon_id})) == 1090057


def test_discount_num_range_and_step(shop: ShopClient) -> None:
    """discount_num must be 2000..10000 (no deeper than 2折) in steps of 100 (A.5)."""
    for value, expected in [
        (999, 40097),
        (1000, 40097),
        (1900, 40097),
        (10100, 40097),
        (8550, 40097),
        (2000, 0),
        (10000, 0),
    ]:
        coupon = shop_coupon(unique("disc"), 103)
        coupon["coupon_info"]["discount_info"]["discount_num"] = value
        assert errcode(shop.call("add", {"coupon": coupon})) == expected, value


def test_valid_type_companions(shop: ShopClient) -> None:
    """valid_type 1 needs start/end in order, 3 needs valid_second (A.4.4)."""
    fixed = shop_coupon(unique("vt1"))
    fixed["coupon_info"]["valid_info"] = {"valid_type": 1, "start_time": 100, "end_time": 50}
    assert errcode(shop.call("add", {"coupon": fixed})) == 990009
    fixed["coupon_info"]["valid_info"] = {"valid_type": 1, "start_time": 100, "end_time": 500}
    assert errcode(shop.call("add", {"coupon": fixed})) == 0
    seconds = shop_coupon(unique("vt3"))
    seconds["coupon_info"]["valid_info"] = {"valid_type": 3}
    assert errcode(shop.call("add", {"coupon": seconds})) == 990007
    seconds["coupon_info"]["valid_info"] = {"valid_type": 3, "valid_second": 3600}
    assert errcode(shop.call("add", {"coupon": seconds})) == 0


def test_out_product_ids_cap(shop: ShopClient) -> None:
    """More than the configured cap (default 128, a project assumption, A.7) of out_product_ids is refused."""
    coupon = shop_coupon(unique("cap"), 4)
    coupon["coupon_info"]["discount_info"]["discount_condition"]["out_product_ids"] = [f"p{i}" for i in range(129)]
    assert errcode(shop.call("add", {"coupon": coupon})) == 40097
    coupon["coupon_info"]["discount_info"]["discount_condition"]["out_product_ids"] = [f"p{i}" for i in range(128)]
    assert errcode(shop.call("add", {"coupon": coupon})) == 0


def test_duplicate_out_coupon_id_is_refused(shop: ShopClient) -> None:
    """A second add with the same out_coupon_id is an error (our default errcode 1090003, reference F.3)."""
    out_coupon_id = unique("dup")
    assert errcode(shop.call("add", {"coupon": shop_coupon(out_coupon_id)})) == 0
    assert errcode(shop.call("add", {"coupon": shop_coupon(out_coupon_id, 104)})) == 1090003
    assert shop.call("get", {"out_coupon_id": out_coupon_id})["result"]["coupon"]["type"] == 102


def test_update_replaces_the_whole_coupon_in_status_1_only(shop: ShopClient) -> None:
    """update is a full replacement while status is 1 and refused afterwards (A.6.2)."""
    out_coupon_id = unique("upd")
    assert errcode(shop.call("add", {"coupon": shop_coupon(out_coupon_id)})) == 0
    replacement = shop_coupon(out_coupon_id, 104)
    assert errcode(shop.call("update", {"coupon": replacement})) == 0
    coupon = shop.call("get", {"out_coupon_id": out_coupon_id})["result"]["coupon"]
    assert coupon["type"] == 104
    assert "discount_condition" not in coupon["coupon_info"]["discount_info"]  # the 102 threshold is gone
    assert coupon["status"] == 1
    assert errcode(shop.call("update_status", {"out_coupon_id": out_coupon_id, "status": 2})) == 0
    assert errcode(shop.call("update", {"coupon": shop_coupon(out_coupon_id)})) == 1090058
    assert errcode(shop.call("update", {"coupon": shop_coupon(unique("ghost"))})) == 1090057


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ([2], True),
        ([2, 3], True),
        ([2, 4], True),
        ([3], False),
        ([4], False),
        ([1], False),
        ([2, 2], False),
        ([2, 3, 4], False),
        ([2, 4, 3], False),
        ([2, 4, 2], False),
    ],
)
def test_status_machine(shop: ShopClient, path: list[int], allowed: bool) -> None:
    """Only 1->2, 2->3 and 2->4 are allowed; any other move is refused with "状态不对" (A.4.2)."""
    out_coupon_id = unique("st")
    assert errcode(shop.call("add", {"coupon": shop_coupon(out_coupon_id)})) == 0
    results = [shop.call("update_status", {"out_coupon_id": out_coupon_id, "status": s}) for s in path]
    if allowed:
        assert all(errcode(r) == 0 for r in results)
        assert shop.call("get", {"out_coupon_id": out_coupon_id})["result"]["coupon"]["status"] == path[-1]
    else:
        assert errcode(results[-1]) == 1090058
        assert "状态不对" in results[-1]["errmsg"]


def test_activation_records_valid_time_and_creates_the_stock(shop: ShopClient) -> None:
    """update_status(2) sets ext_info.valid_time and a coupon_stock that get_list shows (A.3, A.6.4)."""
    out_coupon_id = unique("act")
    shop.call("add", {"coupon": shop_coupon(out_coupon_id)})
    assert errcode(shop.call("update_coupon_stock", {"coupon_stock": {"out_coupon_id": out_coupon_id,
                   "stock_info": {"issued_num": 1, "receive_num": 0}}})) == 1090005  # fmt: skip
    shop.call("update_status", {"out_coupon_id": out_coupon_id, "status": 2})
    coupon = shop.call("get", {"out_coupon_id": out_coupon_id})["result"]["coupon"]
    assert isinstance(coupon["coupon_info"]["ext_info"]["valid_time"], int)
    update = {"coupon_stock": {"out_coupon_id": out_coupon_id, "stock_info": {"issued_num": 480, "receive_num": 0}}}
    assert errcode(shop.call("update_coupon_stock", update)) == 0  # strictness: tests/sandbox/test_shop_stock.py
    listing = shop.call("get_list", {"page_size": 200, "offset": 0})
    entry = next(e for e in listing["result_list"] if e["coupon"]["out_coupon_id"] == out_coupon_id)
    assert entry["coupon_stock"]["stock_info"] == {"issued_num": 480, "receive_num": 0}


def test_get_list_pages_and_caps_page_size(shop: ShopClient) -> None:
    """get_list pages with offset/page_size, total_num counts all, page_size > 200 -> 990005 (A.6.4)."""
    for _ in range(3):
        shop.call("add", {"coupon": shop_coupon(unique("page"))})
    everything = shop.call("get_list", {"page_size": 200, "offset": 0})
    total = everything["total_num"]
    assert total >= 3
    pages = [shop.call("get_list", {"page_size": 2, "offset": o})["result_list"] for o in range(0, total, 2)]
    ids = [e["coupon"]["out_coupon_id"] for page in pages for e in page]
    assert ids == [e["coupon"]["out_coupon_id"] for e in everything["result_list"]][:total]
    assert len(set(ids)) == total
    assert errcode(shop.call("get_list", {"page_size": 201, "offset": 0})) == 990005
    assert errcode(shop.call("get_list", {"offset": 0})) == 990007
    draft = next(e for e in everything["result_list"] if e["coupon"]["status"] == 1)
    assert "coupon_stock" not in draft


def test_user_coupon_endpoints_answer_not_supported(shop: ShopClient) -> None:
    """User-coupon endpoints are routed but answer 48001 (not emulated) rather than invalid url."""
    assert errcode(shop.call("add_user_coupon", {"openid": "o"})) == 48001


def test_confirm_answers_ok(shop: ShopClient) -> None:
    """/shop/coupon/confirm with {} succeeds (A.2; the confirm gate is off by default)."""
    assert errcode(shop.call("confirm", {})) == 0


def test_status_and_stock_argument_errors(shop: ShopClient) -> None:
    """Bad arguments to get, update_status and update_coupon_stock answer missing (990007), invalid (40097)
    or unknown-coupon (1090057) errcodes."""
    out_coupon_id = unique("args")
    shop.call("add", {"coupon": shop_coupon(out_coupon_id)})
    assert errcode(shop.call("get", {})) == 990007
    assert errcode(shop.call("update_status", {"out_coupon_id": out_coupon_id, "status": 5})) == 40097
    assert errcode(shop.call("update_status", {"out_coupon_id": out_coupon_id})) == 990007
    assert errcode(shop.call("update_status", {"out_coupon_id": unique("ghost"), "status": 2})) == 1090057
    assert errcode(shop.call("update_coupon_stock", {})) == 990007
    stock = {"out_coupon_id": unique("ghost"), "stock_info": {"issued_num": 1, "receive_num": 0}}
    assert errcode(shop.call("update_coupon_stock", {"coupon_stock": stock})) == 1090057
    negative = {"out_coupon_id": out_coupon_id, "stock_info": {"issued_num": -1, "receive_num": 0}}
    assert errcode(shop.call("update_coupon_stock", {"coupon_stock": negative})) == 40097
    assert errcode(shop.call("get_list", {"page_size": 10, "offset": -1})) == 40097


def test_response_only_fields_sent_by_the_client_are_ignored(shop: ShopClient) -> None:
    """status, times and appid in an add body do not override the sandbox's own values (A.3 "response only")."""
    out_coupon_id = unique("ro")
    coupon = shop_coupon(out_coupon_id, status=2, create_time=1, appid="wxfake")
    assert errcode(shop.call("add", {"coupon": coupon})) == 0
    stored = shop.call("get", {"out_coupon_id": out_coupon_id})["result"]["coupon"]
    assert stored["status"] == 1
    assert stored["create_time"] > 1
    assert stored["appid"] == shop.creds.appid
