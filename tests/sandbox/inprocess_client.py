"""A small in-process client for the sandbox (httpx.ASGITransport), sending exact bytes: the doc-example and
money-limit tests send bodies copied verbatim from the doc pages, so nothing re-serialises them on the way."""

from __future__ import annotations

import json
from typing import Any

import httpx

from reconciler.sandbox import SandboxCredentials
from tests.sandbox.helpers import PRODUCTS, authorization


class InProcess:
    """Token-holding shop calls and signed WeChat Pay calls against one in-process sandbox app."""

    def __init__(self, client: httpx.AsyncClient, creds: SandboxCredentials) -> None:
        self.client = client
        self.creds = creds
        self._token: str | None = None

    async def token(self) -> str:
        if self._token is None:
            query = {"grant_type": "client_credential", "appid": self.creds.appid, "secret": self.creds.app_secret}
            self._token = str((await self.client.get("/cgi-bin/token", params=query)).json()["access_token"])
        return self._token

    async def shop(self, name: str, body: bytes | dict[str, Any]) -> dict[str, Any]:
        """POST /shop/coupon/<name>; a dict is sent as compact JSON, bytes exactly as given."""
        content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        response = await self.client.post(
            f"/shop/coupon/{name}",
            params={"access_token": await self.token()},
            content=content,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200  # A.1: errors travel in the body
        result: dict[str, Any] = response.json()
        return result

    async def pay(self, method: str, url: str, body: bytes | dict[str, Any] | None = None) -> httpx.Response:
        """A signed WeChat Pay request (C.1); a dict is sent as compact JSON, bytes exactly as given."""
        if body is None:
            content = b""
        else:
            content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        headers = {
            "Authorization": authorization(self.creds, method, url, content),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        return await self.client.request(method, url, content=content, headers=headers)

    async def create_product(self, body: dict[str, Any]) -> httpx.Response:
        return await self.pay("POST", PRODUCTS, body)
