"""The reliability harness: scratch real-mode projects wired to a served sandbox, generated campaigns, and the
convergence check every reliability test ends with (contract §2.4, §4).

A project runs the real CLI as a subprocess (`python -m reconciler`), in `[upstream] mode = "wechat"` with both
API families pointed at a sandbox served over HTTP on 127.0.0.1 (or at a hostile proxy in front of it), so the same
signing, verification, token, retry and journal code runs as against WeChat. Secrets reach the CLI only through the
environment, as in production.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.store import open_store
from tests.e2e.coupons import product_doc, shop_doc
from tests.sandbox_server import ServedSandbox
from tests.support.real_mode import served_sandbox_env, served_sandbox_toml

REPO = Path(__file__).resolve().parents[2]
MUTATING = (
    "shop.add",
    "shop.update",
    "shop.update_status",
    "product.create",
    "product.patch",
    "product.deactivate",
    # the sandbox's names of the quantity, stock and bundle calls (issue 16, decision D29)
    "shop.update_coupon_stock",
    "product.stocks.create",
    "product.stocks.patch",
    "product.stocks.update_budget",
    "product.stocks.deactivate",
    "product.stock_bundles.create",
    "product.stock_bundles.patch",
    "product.stock_bundles.update_budget",
)


@dataclass
class Project:
    """A scratch couponctl project (real mode) wired to a served sandbox."""

    root: Path
    sandbox: ServedSandbox
    state_url: str
    env: dict[str, str] = field(default_factory=dict)

    def command(self, *args: str, crash_at: str | None = None) -> list[str]:
        """The CLI command line; with `crash_at` ("after_call:2"), a CLI that SIGKILLs itself at that journal event
        (tests/support/crashing_cli.py)."""
        if crash_at is not None:
            return [sys.executable, "-m", "tests.support.crashing_cli", crash_at, "--no-color", *args]
        return [sys.executable, "-m", "reconciler", "--no-color", *args]

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 300,
        crash_at: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.command(*args, crash_at=crash_at),
            cwd=self.root,
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.assert_no_secret(result.stdout + result.stderr, f"output of couponctl {' '.join(args)}")
        return result

    def secrets(self) -> dict[str, str]:
        """The app secret and the merchant private key's PEM lines this project runs with."""
        pem = Path(self.env["COUPONCTL_WECHATPAY_KEY_FILE"]).read_text(encoding="utf-8")
        found = {"app secret": self.env["COUPONCTL_SHOP_APPSECRET"]}
        for n, line in enumerate(x for x in pem.splitlines() if x and not x.startswith("-----")):
            found[f"private key line {n}"] = line
        return found

    def assert_no_secret(self, text: str, where: str) -> None:
        """Every CLI run of the reliability suite is checked (test_secrets.py searches much more, and files)."""
        leaked = [name for name, secret in self.secrets().items() if secret in text]
        assert not leaked, f"{', '.join(leaked)} in {where}"

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.run(*args)
        assert result.returncode == 0, (
            f"couponctl {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
        return result

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            cwd=self.root,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    def write_docs(self, docs: list[dict[str, Any]]) -> None:
        for old in self.manifests.rglob("*.yaml"):
            old.unlink()
        write_docs(self.manifests / "campaign.yaml", docs)


def write_docs(path: Path, docs: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False), encoding="utf-8")


def write_project(
    root: Path,
    sandbox: ServedSandbox,
    *,
    state_url: str | None = None,
    wechatpay_url: str | None = None,
    shop_url: str | None = None,
    max_retries: int = 8,
    request_timeout_s: float = 2.0,
    extra_toml: str = "",
) -> Project:
    """A project under `root` with no manifests yet, in real mode against `sandbox` (or the given URLs)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifests").mkdir(exist_ok=True)
    state = state_url or f"sqlite:///{root / 'state' / 'couponctl.db'}"
    apply_toml = f"max_retries = {max_retries}\nrequest_timeout_s = {request_timeout_s}\n{extra_toml}"
    toml = served_sandbox_toml(
        sandbox.keys_dir,
        sandbox.url,
        state_url=state,
        shop_url=shop_url,
        wechatpay_url=wechatpay_url,
        apply_toml=apply_toml,
    )
    (root / "couponctl.toml").write_text(toml, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONCTL_")}
    env.update(served_sandbox_env(sandbox.keys_dir))
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(REPO)
    return Project(root=root, sandbox=sandbox, state_url=state, env=env)


# --- generated campaigns ----------------------------------------------------------------------------------------


@dataclass
class Campaign:
    """Manifest documents of one trial, all named after `tag` so trials can share one sandbox."""

    tag: str
    appid: str
    docs: list[dict[str, Any]]
    products_created: int  # product coupons the applies of this campaign create in total (for the duplicate count)
    removed: list[str] = field(default_factory=list)  # addresses removed from the manifests (destroyed upstream)

    @property
    def addresses(self) -> set[str]:
        return {address_of(d) for d in self.docs}


def address_of(doc: dict[str, Any]) -> str:
    return ("shop_coupon." if doc["kind"] == "ShopCoupon" else "product_coupon.") + str(doc["name"])


def label(tag: str, i: int) -> str:
    return f"{tag}-p{i:02d}"  # display names are 3-15 characters (B.3)


def campaign(tag: str, appid: str, *, active: int = 3, draft: int = 1, products: int = 4) -> Campaign:
    docs = [shop_doc(f"{tag}-s{i:02d}") for i in range(active)]
    docs += [shop_doc(f"{tag}-d{i:02d}", status="draft", fee=500) for i in range(draft)]
    docs += [product_doc(f"{tag}-p{i:02d}", appid, label(tag, i)) for i in range(products)]
    return Campaign(tag, appid, docs, products_created=products)


def calls_to_create(c: Campaign) -> int:
    """Mutating calls of the first apply: active shop = add + update_status, draft = add, product = create."""
    return sum(2 if d.get("status") == "active" else 1 for d in c.docs)


def changed(c: Campaign) -> tuple[Campaign, int]:
    """A second revision touching every kind of change, and the number of mutating calls it takes:
    replace p00 (create + deactivate), PATCH p01's display_info and add it a second stock, remove p02 (deactivate),
    raise p03's budget (update_budget), remove s00 (void), void s01 in place, update draft d00, add a new shop coupon
    s90 (add + activate) and product p90 (create)."""
    by_name = {d["name"]: copy.deepcopy(d) for d in c.docs}
    t = c.tag
    by_name[f"{t}-p00"] = product_doc(f"{t}-p00", c.appid, label(t, 0), discount=True)
    p01 = product_doc(f"{t}-p01", c.appid, label(t, 1), bg="bg-v2")
    main = p01["spec"].pop("stock")
    more = {**copy.deepcopy(main), "remark": "加量"}
    p01["spec"]["stocks"] = {"main": main, "more": more}  # decision D29: `stock:` is `stocks: {main: ...}`
    by_name[f"{t}-p01"] = p01
    if f"{t}-p03" in by_name:
        by_name[f"{t}-p03"]["spec"]["stock"]["stock_send_rule"]["max_count"] = 5000
    del by_name[f"{t}-p02"]
    del by_name[f"{t}-s00"]
    by_name[f"{t}-s01"]["status"] = "voided"
    by_name[f"{t}-d00"]["spec"]["coupon_info"]["discount_info"]["discount_fee"] = 800
    by_name[f"{t}-s90"] = shop_doc(f"{t}-s90")
    by_name[f"{t}-p90"] = product_doc(f"{t}-p90", c.appid, label(t, 90))
    new = Campaign(
        t,
        c.appid,
        list(by_name.values()),
        products_created=c.products_created + 2,
        removed=[f"product_coupon.{t}-p02", f"shop_coupon.{t}-s00"],
    )
    return new, 2 + 2 + 1 + (1 if f"{t}-p03" in by_name else 0) + 1 + 1 + 1 + 2 + 1


# --- the convergence check --------------------------------------------------------------------------------------


@dataclass
class Findings:
    """What a convergence check counted (for the figures of docs/reliability.md)."""

    duplicates: int = 0
    lost_records: int = 0


def tagged_upstream(sandbox: ServedSandbox, tag: str) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """(shop coupons by out_coupon_id, product coupons) of one trial, as the sandbox holds them."""
    state = sandbox.state()
    shop_ids = Counter(str(s["coupon"]["out_coupon_id"]) for s in state["shop_coupons"])
    assert all(n == 1 for n in shop_ids.values()), f"duplicate out_coupon_id upstream: {shop_ids.most_common(3)}"
    shop = {
        str(s["coupon"]["out_coupon_id"]): s["coupon"]
        for s in state["shop_coupons"]
        if str(s["coupon"]["out_coupon_id"]).startswith(tag + "-")
    }
    products = [p for p in state["product_coupons"] if str(p["display_info"]["name"]).startswith(tag + "-")]
    return shop, products


def assert_converged(project: Project, c: Campaign, *, calls_since: list[dict[str, Any]] | None = None) -> Findings:
    """After the final apply: no duplicate upstream, state = declared addresses = upstream, no pending change,
    empty journal, no deposed object, and every mutating WeChat Pay call that landed has its history record."""
    findings = Findings()
    shop, products = tagged_upstream(project.sandbox, c.tag)
    # No duplicate: exactly the product coupons the applies were meant to create, one live coupon per display name.
    live = Counter(str(p["display_info"]["name"]) for p in products if p["state"] != "DEACTIVATED")
    findings.duplicates = max(0, len(products) - c.products_created) + sum(n - 1 for n in live.values() if n > 1)
    assert findings.duplicates == 0, f"duplicate product coupons upstream: {len(products)} for {c.products_created}"
    store = open_store(project.state_url)
    try:
        resources = store.resources()
        intents = store.open_intents()
        history_numbers = {
            call.out_request_no
            for run in store.runs(limit=1000)
            for call in store.calls(run.run_id)
            if call.out_request_no
        }
    finally:
        store.close()
    assert intents == [], f"journal not empty: {intents}"
    if project.state_url.startswith("sqlite:///"):
        db = Path(project.state_url[len("sqlite:///") :])
        for path in (db, db.with_name(db.name + "-wal")):
            if path.exists():
                project.assert_no_secret(path.read_bytes().decode("latin-1"), str(path))
    assert set(resources) == c.addresses, f"state {sorted(resources)} != declared {sorted(c.addresses)}"
    by_label = {str(p["display_info"]["name"]): p for p in products if p["state"] != "DEACTIVATED"}
    for address, resource in resources.items():
        assert not resource.extra.get("deposed"), f"{address}: deposed object left in state"
        if resource.kind == "ShopCoupon":
            upstream = shop[resource.upstream_id]
            assert resource.upstream.get("status") == upstream["status"], address
            assert (
                resource.upstream.get("coupon_info", {}).get("discount_info")
                == upstream["coupon_info"]["discount_info"]
            ), address
        else:
            upstream = by_label[str(resource.upstream["display_info"]["name"])]
            assert resource.upstream_id == upstream["product_coupon_id"], address
            assert resource.upstream.get("state") == upstream["state"], address
            assert resource.upstream.get("display_info") == upstream["display_info"], address
            # Its stocks (decision D29): exactly the declared ones live upstream, one each, with the budget state has.
            live_stocks = {str(s["stock_id"]): s for s in upstream["stocks"] if s["state"] != "DEACTIVATED"}
            known = {str(s["stock_id"]): s for s in resource.upstream.get("stocks", {}).values()}
            findings.duplicates += max(0, len(live_stocks) - len(known))
            assert set(live_stocks) == set(known), (
                f"{address}: live stocks {sorted(live_stocks)} != state's {sorted(known)}"
            )
            for stock_id, stock in known.items():
                assert stock["stock_send_rule"] == live_stocks[stock_id]["stock_send_rule"], (address, stock_id)
            assert not resource.extra.get("deposed_stocks"), f"{address}: deposed stock left in state"
    for removed in c.removed:
        name = removed.split(".", 1)[1]
        if removed.startswith("shop_coupon."):
            assert shop[name]["status"] == 4, f"{removed} removed from manifests but not voided upstream"
        else:
            gone = [p for p in products if p["display_info"]["name"] == label(c.tag, int(name[-2:]))]
            assert gone and all(p["state"] == "DEACTIVATED" for p in gone), f"{removed} not deactivated upstream"
    # Every WeChat Pay mutation that landed (2xx in the sandbox's log) is in the history, by out_request_no.
    if calls_since is not None:
        landed = {
            c2["out_request_no"]
            for c2 in calls_since
            if c2["operation"].startswith("product.") and c2["operation"] in MUTATING and c2["http_status"] < 300
        }
        lost = landed - history_numbers
        findings.lost_records = len(lost)
        assert not lost, f"mutating calls that landed upstream but are missing from history: {sorted(lost)}"
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, f"plan after convergence exited {plan.returncode}:\n{plan.stdout}\n{plan.stderr}"
    return findings
