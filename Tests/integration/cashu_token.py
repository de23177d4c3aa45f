"""Just enough of a cashuB (NUT-00 V4, CBOR) reader to check amounts in tests."""

from __future__ import annotations

import base64
from typing import Any


def _cbor(data: bytes, i: int = 0) -> tuple[Any, int]:
    head = data[i]
    major, info = head >> 5, head & 31
    i += 1
    if info < 24:
        value = info
    else:
        size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        value = int.from_bytes(data[i:i + size], "big")
        i += size
    if major == 0:
        return value, i
    if major == 1:
        return -1 - value, i
    if major in (2, 3):
        raw = data[i:i + value]
        return (raw if major == 2 else raw.decode()), i + value
    if major == 4:
        items = []
        for _ in range(value):
            item, i = _cbor(data, i)
            items.append(item)
        return items, i
    if major == 5:
        mapping = {}
        for _ in range(value):
            key, i = _cbor(data, i)
            mapping[key], i = _cbor(data, i)
        return mapping, i
    if major == 7:
        return {20: False, 21: True, 22: None, 23: None}[info], i
    raise ValueError(f"unsupported CBOR major type {major}")


def decode(token: str) -> dict[str, Any]:
    assert token.startswith("cashuB"), token[:10]
    payload = token[6:]
    payload += "=" * (-len(payload) % 4)
    value, _ = _cbor(base64.urlsafe_b64decode(payload))
    return value


def amounts(token: str) -> list[int]:
    return [proof["a"] for group in decode(token)["t"] for proof in group["p"]]


def value(token: str) -> int:
    return sum(amounts(token))


def mint_of(token: str) -> str:
    return decode(token)["m"]


def input_fee(token: str, ppk: int) -> int:
    """NUT-02: ceil(inputs × ppk / 1000)."""
    return (len(amounts(token)) * ppk + 999) // 1000
