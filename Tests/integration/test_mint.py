"""The Cashu fixtures: a real Nutshell mint and real tokens from its wallet CLI.

Later tests pay Satmeter with these tokens, so the tokens must be genuinely
redeemable at the mint, exactly once.
"""

from __future__ import annotations

from typing import Callable

import pytest

from cashu_wallet import CashuCLIError, TokenFactory, Wallet
from procs import http_ok
from servers import MintServer

pytestmark = pytest.mark.mint


def test_mint_answers_keysets(mint: MintServer) -> None:
    assert http_ok(f"{mint.url}/v1/keysets")
    assert mint.url.startswith("http://127.0.0.1:")


def test_token_is_redeemable_once(make_token: TokenFactory, new_wallet: Callable[[], Wallet]) -> None:
    token = make_token(10)
    assert token.startswith("cashuB")
    receiver = new_wallet()
    receiver.receive(token)
    assert receiver.balance() == 10  # the test mint charges no input fee
    with pytest.raises(CashuCLIError, match="already spent"):
        new_wallet().receive(token)


def test_tokens_are_distinct(make_token: TokenFactory) -> None:
    assert make_token(1) != make_token(1)
