"""Deterministic `out_request_no` derivation for WeChat Pay calls (contract §2.4, reference B.9).

WeChat Pay deduplicates mutating calls on `out_request_no` (6-40 characters of `[0-9A-Za-z_-]`, reference B.9): the
same number with the same body replays the first answer, the same number with a different body is refused. So the
number must be a pure function of the change:

    out_request_no = "cc" + first 30 hex digits of sha256(lineage \\0 address \\0 action \\0 payload_digest)

- `lineage` scopes numbers to one state (two states never collide);
- `address` and `action` say what happens to which coupon; the planner puts the operation, the target id and a
  version of the resource's last-known state into `action`, so that a later, different change of the same coupon
  (even back to an earlier body, A -> B -> A) never reuses a number WeChat would replay;
- `payload_digest` is `payload_digest(payload)`: the canonical-JSON sha256 of the body *without* `out_request_no`.

The result is 32 characters of `[0-9a-f]` prefixed with `cc`, well inside the 6-40 limit. Same inputs, same
number; any different input, a different number (up to sha256 collisions on 120 bits).

**Creates are different (decision D17).** A product coupon has no list API (reference B.1): if the state is lost,
nothing but the request number can tell WeChat that a create was already made. So a `product.create` number is
derived only from what survives the loss of the state, never from the lineage or the body:

    create number = "cc" + first 30 hex digits of sha256("create" \0 brand_id \0 address \0 generation)

`generation` is 0 for an address's first coupon and goes up by one for each create-before-destroy replacement (the
state keeps it in `extra.generation`). A create planned against a lost state is therefore the same request as the
one that made the coupon: WeChat replays the first answer (same body: the coupon is adopted, nothing new is made)
or refuses the number (different body: the applier stops and names `couponctl import`). A replay of a coupon that
is DEACTIVATED (an earlier generation) moves on to the next generation. PATCH and deactivate numbers keep the
lineage-based derivation above: a state made before D17 keeps its numbers for those calls.

**Environments (decision D26).** When an environment is selected (`--env`), its name is part of every derivation:
the lineage-based one hashes `environment \0 lineage \0 ...` (`scoped_lineage`), the create number hashes
`"create" \0 environment \0 brand_id \0 ...`. Two environments that share a partner and a brand therefore never
share a number (a staging create can never replay as production's coupon). Without an environment the material is
exactly as above, so states made before environments keep every number.

**Added stocks are creates too (decision D29).** A stock (or stock bundle) added to an existing coupon is as hard to
find again as a coupon is, so its number also ignores the lineage and the body:

    add number = "cc" + first 30 hex digits of sha256("stock.add" [\0 environment] \0 brand_id \0 address
                                                       \0 stock name \0 coupon generation \0 stock generation)

(`"bundle.add"` for a stock bundle). The coupon generation is the one of the coupon the stock is added to (D17); the
stock generation is 0 for a name's first stock and goes up by one each time a stock of that name is replaced or
declared again after its removal (the state keeps it in `extra.stock_generations`). A lost state replans the same
add with the same number, and WeChat replays the first answer instead of adding a second stock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from reconciler.resources import digest

REQUEST_NO_PREFIX = "cc"
_HEX_DIGITS = 30


def payload_digest(payload: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of a call body, excluding its own `out_request_no`."""
    return digest({k: v for k, v in payload.items() if k != "out_request_no"})


def scoped_lineage(lineage: str, environment: str | None) -> str:
    """What the lineage-based derivation hashes as its first part: the lineage, preceded by the environment's name
    when one is selected (decision D26). Unchanged without an environment."""
    return lineage if environment is None else f"{environment}\0{lineage}"


def out_request_no(lineage: str, address: str, action: str, payload_digest: str) -> str:
    """The request number of one planned call; see the module docstring for the exact derivation."""
    material = "\0".join((lineage, address, action, payload_digest)).encode("utf-8")
    return REQUEST_NO_PREFIX + hashlib.sha256(material).hexdigest()[:_HEX_DIGITS]


MAX_GENERATIONS = 64  # replacements of one address that a create number can tell apart (see create_generation)


def create_request_no(brand_id: str, address: str, generation: int, environment: str | None = None) -> str:
    """The request number of a `product.create` (decision D17): the same for the same coupon in any state of one
    environment; another environment's name gives another number (decision D26)."""
    scope = ("create",) if environment is None else ("create", environment)
    material = "\0".join((*scope, brand_id, address, str(generation))).encode("utf-8")
    return REQUEST_NO_PREFIX + hashlib.sha256(material).hexdigest()[:_HEX_DIGITS]


def create_generation(number: str | None, brand_id: str, address: str, environment: str | None = None) -> int | None:
    """The generation `number` was derived for, or None for a number that is not a D17 create number (a plan or an
    intent written before D17, whose create numbers came from the lineage)."""
    if number is None:
        return None
    for generation in range(MAX_GENERATIONS):
        if create_request_no(brand_id, address, generation, environment) == number:
            return generation
    return None


def stock_add_request_no(
    brand_id: str,
    address: str,
    stock_name: str,
    coupon_generation: int,
    stock_generation: int,
    environment: str | None = None,
    *,
    bundle: bool = False,
) -> str:
    """The request number of a `product.stock.add` (`product.bundle.add` with `bundle`), decision D29: the same for
    the same stock of the same coupon in any state of one environment (see the module docstring)."""
    head = "bundle.add" if bundle else "stock.add"
    scope = (head,) if environment is None else (head, environment)
    parts = (*scope, brand_id, address, stock_name, str(coupon_generation), str(stock_generation))
    return REQUEST_NO_PREFIX + hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:_HEX_DIGITS]


def stock_add_generation(
    number: str | None,
    brand_id: str,
    address: str,
    stock_name: str,
    coupon_generation: int,
    environment: str | None = None,
    *,
    bundle: bool = False,
) -> int | None:
    """The stock generation `number` was derived for (see `stock_add_request_no`), or None when it is not one."""
    if number is None:
        return None
    for generation in range(MAX_GENERATIONS):
        if (
            stock_add_request_no(
                brand_id, address, stock_name, coupon_generation, generation, environment, bundle=bundle
            )
            == number
        ):
            return generation
    return None
