"""The admin dashboard in a real browser: headless Chromium (Debian's chromium + chromium-driver,
driven by Selenium) against nginx serving admin/ and satmeter behind it. Logs in, looks at every
page (a screenshot of each goes to Tests/integration/artifacts/, or $SATMETER_ARTIFACTS), edits a
model price, changes a key, and withdraws a key's balance as a cashuB token shown as text and as a
QR code, which is decoded back from the screenshot (zbarimg) and redeemed at the mint.

Without a Nutshell mint the withdrawal test skips (the node wallet would hold no ecash)."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from admin_client import ADMIN_PASSWORD, AdminClient, AdminGateway, start_admin_gateway
from http_client import raw_request
from mock_upstream import MockUpstream

pytestmark = pytest.mark.satmeter

ARTIFACTS = Path(os.environ.get("SATMETER_ARTIFACTS", Path(__file__).parent / "artifacts"))
CHROMIUM = os.environ.get("SATMETER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SATMETER_CHROMEDRIVER", "/usr/bin/chromedriver")
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 20}


@pytest.fixture(scope="module")
def webdriver_module() -> Any:
    selenium = pytest.importorskip("selenium.webdriver", reason="pip install selenium into the SDK venv")
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("needs Debian's chromium and chromium-driver")
    return selenium


@pytest.fixture(scope="module")
def mint_url(request: pytest.FixtureRequest) -> str | None:
    """The session mint when Nutshell is installed; else None (ecash off, withdrawal skipped)."""
    try:
        return request.getfixturevalue("mint").url
    except pytest.skip.Exception:
        return None


@pytest.fixture(scope="module")
def gateway(satmeter_bin: Path, mock_upstream: MockUpstream, nginx_available: None, mint_url: str | None,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminGateway]:
    env = {"SATMETER_CASHU_MINTS": mint_url} if mint_url else {}
    gateway = start_admin_gateway(satmeter_bin, mock_upstream, tmp_path_factory.mktemp("admin-browser"), extra_env=env)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def traffic(gateway: AdminGateway) -> dict[str, Any]:
    """Keys and requests, so every page has something to show: real requests now, and a week of
    request-log history written straight into the database for the charts."""
    api = AdminClient(gateway.nginx)
    assert api.login().status == 200
    alice = api.ok("POST", "keys", {"balance_msat": 2_000_000, "label": "alice"})
    bob = api.ok("POST", "keys", {"balance_msat": 500_000, "label": "bob", "spend_limit_msat": 300_000})
    api.ok("POST", f"keys/{alice['id']}/children", {"label": "alice's laptop", "spend_limit_msat": 50_000})
    for key, model in [(alice, "gpt-4o-mini"), (alice, "gpt-4o-mini"), (bob, "gpt-4o-mini"), (bob, "unknown-model-x")]:
        raw_request(gateway.nginx, "POST", "/v1/chat/completions", json.dumps({**CHAT, "model": model}).encode(),
                    {"Authorization": f"Bearer {key['api_key']}", "Content-Type": "application/json"})
    seed_history(gateway.satmeter.state_dir / "satmeter.db")
    return {"alice": alice, "bob": bob}


def seed_history(db_path: Path) -> None:
    rng = random.Random(5)
    now = int(time.time())
    rows = []
    for hour in range(7 * 24, 0, -3):
        at = now - hour * 3600
        for _ in range(rng.randint(2, 6)):
            model, provider = rng.choice([("gpt-4o-mini", "openai"), ("gpt-4o", "openai"), ("claude-3.5-haiku", "anthropic")])
            kind = rng.random()
            if kind < 0.3:
                rows.append((at, model, provider, 402, "payment_required", None, 0, 0, 0, None, None))
            elif kind < 0.34:
                rows.append((at, "made-up-model", None, 400, "unsupported_model", None, 0, 0, 0, None, None))
            elif kind < 0.37:
                rows.append((at, model, provider, 504, "upstream_timeout", "override", 0, 0, 0, None, None))
            else:
                revenue = rng.randint(1_000, 40_000)
                source = "fallback" if rng.random() < 0.08 else "override"
                method = rng.choice(["key", "key", "key", "x-cashu", "token"])
                rows.append((at, model, provider, 200, None, source, 1, revenue, int(revenue * rng.uniform(0.6, 0.9)), method, 200))
    with sqlite3.connect(db_path, timeout=10) as db:
        db.executemany("""
            INSERT INTO request_log(request_id, created_at, route, status, error_code, model, provider, pricing_source,
                payment_settled, cost_msat, revenue_msat, upstream_cost_msat, payment_method, upstream_status, settlement_ms, total_ms)
            VALUES (lower(hex(randomblob(16))), ?, 'POST /v1/chat/completions', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 3, 50)
            """, [(r[0], r[3], r[4], r[1], r[2], r[5], r[6], r[7], r[7], r[8], r[9], r[10]) for r in rows])
        for day in range(7, 0, -1):
            db.execute("INSERT OR IGNORE INTO balance_history(at, wallet_sat, owed_msat) VALUES (?, ?, ?)",
                       (now - day * 86400, 2500 + day * 40, (2400 - day * 30) * 1000))


@pytest.fixture(scope="module")
def browser(webdriver_module: Any, gateway: AdminGateway) -> Iterator[Any]:
    options = webdriver_module.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                     "--force-device-scale-factor=1", "--lang=en-US"]:
        options.add_argument(argument)
    service = webdriver_module.ChromeService(executable_path=CHROMEDRIVER, log_output=str(gateway.satmeter.run_dir / "chromedriver.log"))
    driver = webdriver_module.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for(driver: Any, css: str, timeout: float = 10) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css)))


def wait_text(driver: Any, css: str, text: str, timeout: float = 10) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, timeout).until(expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def screenshot(driver: Any, name: str) -> Path:
    """The whole page, not just the window (Chrome's capture beyond the viewport)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    time.sleep(0.2)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 8000), "scale": 1}})
    path = ARTIFACTS / f"admin-{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def open_page(driver: Any, gateway: AdminGateway, hash_path: str, ready_css: str) -> Any:
    driver.get(f"{gateway.url}/admin/#{hash_path}")
    return wait_for(driver, ready_css)


def test_login_page_refuses_a_wrong_password_then_logs_in(browser: Any, gateway: AdminGateway, traffic: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By
    browser.get(f"{gateway.url}/admin/")
    password = wait_for(browser, "#password")
    screenshot(browser, "login")
    password.send_keys("not the password")
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait_text(browser, "#login-form .notice", "Wrong password")
    screenshot(browser, "login-wrong-password")
    wait_for(browser, "#password").send_keys(ADMIN_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait_text(browser, "#main h1", "Dashboard")
    # (The session cookie's path is /admin/api/, so ask the browser for all of them.)
    cookies = {c["name"]: c for c in browser.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]}
    assert cookies["satmeter_admin"]["httpOnly"] and cookies["satmeter_admin"]["secure"]
    assert cookies["satmeter_admin"]["sameSite"] == "Strict"
    # The session cookie is invisible to the page's scripts.
    assert "satmeter_admin" not in browser.execute_script("return document.cookie")


def test_dashboard_draws_every_chart(browser: Any, gateway: AdminGateway) -> None:
    from selenium.webdriver.common.by import By
    open_page(browser, gateway, "/dashboard?days=7", ".stats")
    titles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".chart-card h2")]
    for wanted in ["Revenue over time", "Node wallet vs owed to users", "Margin by model", "Margin by provider",
                   "402 → paid conversion by model", "402 → paid conversion by hour or day", "Unknown-model rate",
                   "Fallback-price hit rate", "Settlement failures and timeouts"]:
        assert wanted in titles
    assert len(browser.find_elements(By.CSS_SELECTOR, ".chart-card svg.chart path")) >= 8
    assert not browser.find_elements(By.CSS_SELECTOR, ".chart-empty")
    screenshot(browser, "dashboard")
    open_page(browser, gateway, "/dashboard?days=1", ".stats")
    screenshot(browser, "dashboard-24h")


def test_keys_page_lists_searches_and_edits_a_key(browser: Any, gateway: AdminGateway, traffic: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By
    open_page(browser, gateway, "/keys", "#key-search")
    assert "alice" in browser.find_element(By.CSS_SELECTOR, "table").text
    screenshot(browser, "keys")
    search = browser.find_element(By.CSS_SELECTOR, "#key-search")
    search.send_keys("bob\n")
    wait_text(browser, "#main p.muted", "matching “bob”")
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 1 and "bob" in rows[0].text
    screenshot(browser, "keys-search")

    bob = traffic["bob"]
    open_page(browser, gateway, f"/keys/{bob['id']}", "#key-settings")
    refund = browser.find_element(By.CSS_SELECTOR, "input[name=refund_address]")
    refund.send_keys("bob@example.com")
    models = browser.find_element(By.CSS_SELECTOR, "input[name=allowed_models]")
    models.send_keys("gpt-4o*")
    browser.find_element(By.CSS_SELECTOR, "input[name=requests_per_minute]").send_keys("60")
    browser.execute_script("document.querySelector('input[name=expires_at]').value = '2031-01-01T00:00'")
    browser.find_element(By.CSS_SELECTOR, "#key-settings button[type=submit]").click()
    wait_text(browser, "dl.facts", "bob@example.com")
    assert "2031-01-01 00:00 UTC" in browser.find_element(By.CSS_SELECTOR, "dl.facts").text
    api = AdminClient(gateway.nginx)
    api.login()
    stored = api.ok("GET", f"keys/{bob['id']}")
    assert stored["refund_address"] == "bob@example.com" and stored["allowed_models"] == ["gpt-4o*"]
    assert stored["expires_at"] == 1924992000 and stored["spend_limit_msat"] == 300_000
    assert (stored["requests_per_minute"], stored["tokens_per_minute"], stored["concurrent_streams"]) == (60, None, None)
    screenshot(browser, "key-detail")

    alice = traffic["alice"]
    open_page(browser, gateway, f"/keys/{alice['id']}", "#create-child")
    screenshot(browser, "key-detail-with-children")
    browser.find_element(By.CSS_SELECTOR, "#toggle-disabled").click()
    wait_text(browser, "dl.facts", "disabled")
    browser.find_element(By.CSS_SELECTOR, "#toggle-disabled").click()
    wait_text(browser, "dl.facts", "active")


def test_pricing_settings_page_saves(browser: Any, gateway: AdminGateway) -> None:
    from selenium.webdriver.common.by import By
    field = open_page(browser, gateway, "/settings/pricing", "#upstream_fee")
    screenshot(browser, "settings-pricing")
    field.clear()
    field.send_keys("1.1")
    browser.find_element(By.CSS_SELECTOR, "#pricing-form button[type=submit]").click()
    wait_text(browser, "#pricing-form .notice", "upstream_fee")
    screenshot(browser, "settings-pricing-saved")
    field = browser.find_element(By.CSS_SELECTOR, "#exchange_fee")
    field.clear()
    field.send_keys("0.5")
    browser.find_element(By.CSS_SELECTOR, "#pricing-form button[type=submit]").click()
    wait_text(browser, "#pricing-form .notice.error", "exchange_fee")


def test_edit_a_model_price(browser: Any, gateway: AdminGateway) -> None:
    from selenium.webdriver.common.by import By
    open_page(browser, gateway, "/settings/models", "#model-search")
    screenshot(browser, "settings-models")
    browser.find_element(By.CSS_SELECTOR, "#model-search").send_keys("gpt-4o-mini\n")
    prompt = wait_for(browser, "input[name='prompt-gpt-4o-mini']")
    assert prompt.get_attribute("value") == "1"
    prompt.clear()
    prompt.send_keys("1.1")
    browser.find_element(By.CSS_SELECTOR, "button[data-model='gpt-4o-mini']").click()
    wait_text(browser, "#model-status", "gpt-4o-mini: now $1.10/$2.00 per 1M")
    screenshot(browser, "settings-models-edited")
    # The running gateway charges the new price within a few seconds.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        models = json.loads(raw_request(gateway.nginx, "GET", "/v1/models")[1])["data"]
        if next(m for m in models if m["id"] == "gpt-4o-mini")["pricing"]["prompt"] == "0.0000011":
            break
        time.sleep(0.3)
    else:
        pytest.fail("the new price did not reach /v1/models")


def test_request_log_page(browser: Any, gateway: AdminGateway, traffic: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By
    open_page(browser, gateway, "/requests", "table")
    text = browser.find_element(By.CSS_SELECTOR, "table").text
    assert "unsupported_model" in text and "gpt-4o-mini" in text
    screenshot(browser, "request-log")


def test_no_script_errors_or_policy_violations(browser: Any) -> None:
    """Everything the pages did so far ran under the snippet's Content-Security-Policy."""
    problems = [e["message"] for e in browser.get_log("browser")
                if "Content Security Policy" in e["message"] or "Uncaught" in e["message"]]
    assert problems == []


@pytest.mark.mint
def test_withdraw_shows_a_token_with_copy_and_qr(browser: Any, gateway: AdminGateway, mint_url: str | None, make_token: Any,
                                                 new_wallet: Any) -> None:
    from selenium.webdriver.common.by import By
    if mint_url is None:
        pytest.skip("no mint: the node wallet holds no ecash to withdraw")
    # A client funds a new key with ecash (POST /v1/wallet/create): the node wallet now holds it.
    response, body = raw_request(gateway.nginx, "POST", "/v1/wallet/create", json.dumps({"cashu_token": make_token(300)}).encode(),
                                 {"Content-Type": "application/json"})
    assert response.status == 200, body
    created = json.loads(body)
    assert created["balance"] == 300_000
    api = AdminClient(gateway.nginx)
    api.login()
    hint = created["api_key"][:7] + "…"
    account = next(k for k in api.ok("GET", "keys?kind=key&limit=500")["keys"] if k["hint"] == hint)
    open_page(browser, gateway, f"/keys/{account['id']}", "#withdraw")
    browser.find_element(By.CSS_SELECTOR, "#withdraw input[name=amount_sat]").send_keys("120")
    browser.find_element(By.CSS_SELECTOR, "#withdraw button[type=submit]").click()
    token_box = wait_for(browser, "#withdrawn-token", timeout=30)
    token = token_box.get_attribute("value")
    assert token.startswith("cashuB")
    browser.find_element(By.CSS_SELECTOR, "#copy-token").click()
    wait_text(browser, "#copy-token", "Copied")
    browser.execute_script("document.getElementById('withdraw').scrollIntoView()")
    path = screenshot(browser, "key-withdraw")
    # The QR code on the page carries exactly the token.
    qr_only = ARTIFACTS / "admin-key-withdraw-qr.png"
    browser.find_element(By.CSS_SELECTOR, "#token-qr svg").screenshot(str(qr_only))
    if shutil.which("zbarimg"):
        decoded = subprocess.run(["zbarimg", "--raw", "-q", str(qr_only)], capture_output=True, text=True, timeout=30)
        assert decoded.stdout.strip() == token, (path, decoded.stderr)
    wallet = new_wallet()
    wallet.receive(token)
    assert wallet.balance() == 120


def test_cohorts_page_shows_the_comparison_and_the_loop(browser: Any, gateway: AdminGateway) -> None:
    from selenium.webdriver.common.by import By
    open_page(browser, gateway, "/cohorts?days=7", "#pricing-loop")
    headings = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#main h2")]
    assert headings[0] == "Pricing loop" and "Verdict" in headings and any(h.startswith("Cohorts on POST") for h in headings)
    assert "No canary is running" in browser.find_element(By.CSS_SELECTOR, "#pricing-loop").text
    screenshot(browser, "cohorts")
