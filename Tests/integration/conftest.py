"""Fixtures for Satmeter's integration tests: real processes in temp dirs.

Lifetimes: the mock upstream and the mint are per session (the mint is slow
to start and to fund); nginx and satmeter are per module, so a module that
needs a special satmeter config can override the `satmeter_config` fixture.
Every process is stopped by its fixture's teardown, even when a test fails.

Tests that need the satmeter binary skip, with the reason, when it is not
built; tests marked `mint` need Nutshell's venv and skip without it. With
CI=true every skip is a failure instead (ci_skips.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pytest

from cashu_wallet import MINT_VENV, TokenFactory, Wallet
from ci_skips import pytest_runtest_makereport  # noqa: F401 (a hook: with CI=true a skip fails)
from fastcgi_stub import FastCGIStub
from litellm_upstream import LITELLM_VENV, LiteLLMUpstream, available as litellm_available
from mock_upstream import MockUpstream
from servers import NGINX_BIN, MintServer, NginxServer, SatmeterServer, satmeter_binary

UPSTREAM_KEY = "sk-upstream-test-7f3c"  # what satmeter must send to the upstream

ClientFactory = Callable[..., Any]
S = TypeVar("S", NginxServer, SatmeterServer, MintServer)


class Started(list):
    """Servers a factory fixture created, so its teardown can stop every one.

    A server is added before it starts, so one that fails half way through
    start() is still stopped.
    """

    def add(self, server: S) -> S:
        self.append(server)
        return server

    def stop_all(self) -> None:
        for server in reversed(self):
            server.stop()


# --- the mock upstream ------------------------------------------------------------


@pytest.fixture(scope="session")
def mock_upstream() -> Iterator[MockUpstream]:
    """One mock for the whole session; it requires UPSTREAM_KEY."""
    with MockUpstream(api_key=UPSTREAM_KEY) as mock:
        yield mock


@pytest.fixture
def mock(mock_upstream: MockUpstream) -> MockUpstream:
    """The session mock with an empty request log, so tests see only their own requests."""
    mock_upstream.clear_requests()
    return mock_upstream


# --- OpenAI SDK clients -------------------------------------------------------------


@pytest.fixture(scope="session")
def openai_module() -> Any:
    return pytest.importorskip("openai", reason="run the suite with the SDK venv ($SATMETER_SDK_PYTHON)")


@pytest.fixture
def openai_client(openai_module: Any) -> Iterator[ClientFactory]:
    """Factory: openai_client(base_url, api_key, **kwargs) → openai.OpenAI.

    Retries are off so a failure mode shows up as exactly one request, and the
    timeout is short so a hang fails the test quickly. Clients are closed at
    teardown.
    """
    clients: list[Any] = []

    def make(base_url: str, api_key: str, **kwargs: Any) -> Any:
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 15.0)
        client = openai_module.OpenAI(base_url=base_url, api_key=api_key, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# --- nginx ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def nginx_available() -> None:
    if not (os.path.exists(NGINX_BIN) and os.access(NGINX_BIN, os.X_OK)):
        pytest.skip(f"nginx not found at {NGINX_BIN} (set SATMETER_NGINX)")


def _admin_root(base: Path) -> Path:
    """A stand-in for /usr/share/satmeter holding admin/index.html."""
    admin = base / "admin-root" / "admin"
    admin.mkdir(parents=True, exist_ok=True)
    (admin / "index.html").write_text("<!doctype html><title>Satmeter admin</title>\n")
    return admin.parent


@pytest.fixture(scope="module")
def start_nginx(nginx_available: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Path], NginxServer]]:
    """Factory: start_nginx(socket_path) → a running NginxServer; stopped at module end."""
    started = Started()

    def start(socket_path: Path) -> NginxServer:
        prefix = tmp_path_factory.mktemp("nginx")
        return started.add(NginxServer(prefix, socket_path, _admin_root(prefix))).start()

    yield start
    started.stop_all()


@pytest.fixture(scope="module")
def nginx_no_worker(start_nginx: Callable[[Path], NginxServer], tmp_path_factory: pytest.TempPathFactory) -> NginxServer:
    """nginx whose FastCGI socket has nobody listening: the 'worker pool down' case."""
    return start_nginx(tmp_path_factory.mktemp("noworker") / "fcgi.sock")


@pytest.fixture(scope="module")
def fastcgi_stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastCGIStub]:
    with FastCGIStub(tmp_path_factory.mktemp("stub") / "fcgi.sock") as stub:
        yield stub


@pytest.fixture(scope="module")
def nginx_with_stub(start_nginx: Callable[[Path], NginxServer], fastcgi_stub: FastCGIStub) -> NginxServer:
    """nginx in front of the Python FastCGI stub worker."""
    return start_nginx(fastcgi_stub.socket_path)


# --- satmeter ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def satmeter_bin() -> Path:
    path = satmeter_binary()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"satmeter binary not built: {path} (run `swift build`, or set SATMETER_BIN)")
    return path


@pytest.fixture(scope="module")
def satmeter_config() -> str | None:
    """YAML for `satmeter serve --config`; None runs without --config.

    Override in a test module (a fixture with the same name) to test a config.
    """
    return None


def _new_satmeter(binary: Path, run_dir: Path, mock: MockUpstream, config_yaml: str | None) -> SatmeterServer:
    config = None
    if config_yaml is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        config = run_dir / "satmeter.yaml"
        config.write_text(config_yaml)
    return SatmeterServer(binary, run_dir, mock.base_url, UPSTREAM_KEY, config)


@pytest.fixture(scope="module")
def satmeter(satmeter_bin: Path, mock_upstream: MockUpstream, satmeter_config: str | None,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[SatmeterServer]:
    """A running `satmeter serve` for the module; its stderr stays readable via .stderr()."""
    server = _new_satmeter(satmeter_bin, tmp_path_factory.mktemp("satmeter"), mock_upstream, satmeter_config)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start_satmeter(satmeter_bin: Path, mock_upstream: MockUpstream, satmeter_config: str | None,
                   tmp_path: Path) -> Iterator[Callable[[], SatmeterServer]]:
    """Factory for a test's own satmeter (e.g. to test SIGTERM); stopped at test end."""
    started = Started()

    def start() -> SatmeterServer:
        run_dir = tmp_path / f"satmeter{len(started)}"
        return started.add(_new_satmeter(satmeter_bin, run_dir, mock_upstream, satmeter_config)).start()

    yield start
    started.stop_all()


@pytest.fixture(scope="module")
def gateway(satmeter: SatmeterServer, start_nginx: Callable[[Path], NginxServer]) -> NginxServer:
    """nginx with the shipped snippets in front of the module's satmeter."""
    return start_nginx(satmeter.socket_path)


@pytest.fixture
def create_key(satmeter: SatmeterServer) -> Callable[[int], dict[str, Any]]:
    """create_key(balance_msat) → {"api_key": "sk-…", "id": …, "balance_msat": …}"""
    return satmeter.create_key


@pytest.fixture
def gateway_client(gateway: NginxServer, openai_client: ClientFactory) -> Callable[..., Any]:
    """gateway_client(api_key, **kwargs) → openai.OpenAI talking to satmeter through nginx."""
    return lambda api_key, **kwargs: openai_client(f"{gateway.url}/v1", api_key, **kwargs)


# --- Cashu ------------------------------------------------------------------------


def _nutshell_or_skip() -> None:
    if not (MINT_VENV / "bin" / "mint").exists():
        pytest.skip(f"Nutshell not installed in {MINT_VENV} (set SATMETER_MINT_VENV)")


@pytest.fixture(scope="session")
def mint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MintServer]:
    """The session's mint (no input fee); make_token's tokens come from it."""
    _nutshell_or_skip()
    started = Started()
    yield started.add(MintServer(tmp_path_factory.mktemp("mint"))).start()
    started.stop_all()


@pytest.fixture(scope="module")
def start_mint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., MintServer]]:
    """Factory: start_mint(name, input_fee_ppk=0) → a module's own running mint (a second node,
    a mint with fees, the payee's node); stopped at module end."""
    _nutshell_or_skip()
    started = Started()

    def start(name: str, input_fee_ppk: int = 0) -> MintServer:
        return started.add(MintServer(tmp_path_factory.mktemp(name), input_fee_ppk=input_fee_ppk)).start()

    yield start
    started.stop_all()


@pytest.fixture(scope="session")
def make_token(mint: MintServer, tmp_path_factory: pytest.TempPathFactory) -> TokenFactory:
    """make_token(sats) → a fresh "cashuB…" token from a wallet funded once per session."""
    return TokenFactory(Wallet(mint.url, tmp_path_factory.mktemp("wallet-funding")), balance=0)


@pytest.fixture
def new_wallet(mint: MintServer, tmp_path: Path) -> Callable[[], Wallet]:
    """Factory for empty wallets on the session mint (e.g. to redeem tokens)."""
    count = iter(range(1_000_000))
    return lambda: Wallet(mint.url, tmp_path / f"wallet{next(count)}")


# --- misc -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tool() -> Callable[[str], str]:
    """tool(name) → its path, or skip the test when it is not installed."""
    def find(name: str) -> str:
        path = shutil.which(name)
        if path is None:
            pytest.skip(f"{name} not installed")
        return path
    return find


# --- a third-party upstream -------------------------------------------------------------

@pytest.fixture(scope="session")
def litellm_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiteLLMUpstream]:
    """LiteLLM's proxy with mock_response models on a free loopback port (litellm_upstream.py).
    Missing venv: skipped by hand, a failure in CI (script/bootstrap installs it there)."""
    if not litellm_available():
        message = f"LiteLLM not installed in {LITELLM_VENV} (run script/bootstrap)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with LiteLLMUpstream(tmp_path_factory.mktemp("litellm")) as upstream:
        yield upstream
