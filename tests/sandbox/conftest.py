"""Fixtures: one served sandbox per test module (generous rate limits so contract tests never meet a 429)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.sandbox import OPERATIONS
from tests.sandbox.helpers import PayClient, ShopClient
from tests.sandbox_server import ServedSandbox, served_sandbox


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSandbox]:
    with served_sandbox(tmp_path_factory.mktemp("sandbox"), rate_limits={op: 10_000 for op in OPERATIONS}) as sbx:
        yield sbx


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def pay(served: ServedSandbox, http: httpx.Client) -> PayClient:
    return PayClient(served.url, served.credentials, http)


@pytest.fixture
def shop(served: ServedSandbox, http: httpx.Client) -> ShopClient:
    return ShopClient(served.url, served.credentials, http)
