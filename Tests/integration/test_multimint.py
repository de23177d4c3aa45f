"""Several trusted mints at once: balances are per key in msat whatever mint paid them, and a
withdrawal names the mint its token comes from."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

import cashu_token
from cashu_wallet import TokenFactory, Wallet
from gateway_helpers import GATEWAY_CONFIG, audit, balance, wallet_audit
from http_client import post_json
from servers import MintServer, NginxServer, SatmeterServer

pytestmark = [pytest.mark.satmeter, pytest.mark.mint]


@pytest.fixture(scope="module")
def second_mint(start_mint: Callable[..., MintServer]) -> MintServer:
    return start_mint("second-mint")


@pytest.fixture(scope="module")
def second_tokens(second_mint: MintServer, tmp_path_factory: pytest.TempPathFactory) -> TokenFactory:
    return TokenFactory(Wallet(second_mint.url, tmp_path_factory.mktemp("second-wallet")), balance=0)


@pytest.fixture(scope="module")
def satmeter_config(mint: MintServer, second_mint: MintServer) -> str:
    return GATEWAY_CONFIG + f"""
cashu:
  mints: ["{mint.url}", "{second_mint.url}"]
"""


def test_withdraw_names_the_mint(gateway: NginxServer, satmeter: SatmeterServer, make_token: Callable[[int], str],
                                 second_tokens: TokenFactory, mint: MintServer, second_mint: MintServer,
                                 tmp_path: Path) -> None:
    reply = post_json(gateway, "/v1/wallet/create", {"cashu_token": make_token(100)})
    first = reply.json
    assert reply.status == 200, first
    reply = post_json(gateway, "/v1/wallet/create", {"cashu_token": second_tokens(100)})
    second = reply.json
    assert reply.status == 200, second
    assert first["balance"] == second["balance"] == 100_000

    # The first key was paid at the first mint, and takes 40 sat out at the second.
    reply = post_json(gateway, "/v1/wallet/withdraw", {"amount": 40, "mint": second_mint.url}, api_key=first["api_key"])
    sent = reply.json
    assert reply.status == 200, sent
    assert cashu_token.mint_of(sent["token"]) == second_mint.url and cashu_token.value(sent["token"]) == 40
    receiver = Wallet(second_mint.url, tmp_path / "receiver")
    receiver.receive(sent["token"])
    assert receiver.balance() == 40
    assert balance(gateway, first["api_key"])["balance"] == 60_000
    assert balance(gateway, second["api_key"])["balance"] == 100_000

    reply = post_json(gateway, "/v1/wallet/withdraw", {"amount": 10, "mint": "http://127.0.0.1:9"}, api_key=first["api_key"])
    refused = reply.json
    assert reply.status == 400 and refused["error"]["code"] == "untrusted_mint"
    audit(satmeter)
    wallet_audit(satmeter)
