"""The dashboard: one-time sign-in links, the session cookie, its data, and the metrics API."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gateway.cli import app as cli
from gateway.db.session import session_scope
from gateway.events.dashboard import COOKIE, sign_in_link
from gateway.events.signing import Claims, sign
from gateway.merchants.models import Merchant, MerchantStatus
from tests.analytics.factories import event_json
from tests.conftest import TEST_SECRET
from tests.gateway.conftest import auth
from tests.gateway.test_products_auth import PRODUCT, assert_problem

ORIGIN = "https://shop.example"
SAME_SITE = {"origin": "http://testserver"}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def shop(new_merchant: Callable[..., Any]) -> Any:
    return new_merchant("Optics & Co", allowed_origins=[ORIGIN])


def link_token(client: TestClient, merchant_id: uuid.UUID, ttl_s: int = 900) -> str:
    url = sign_in_link(client.app.state.settings, merchant_id, ttl_s=ttl_s)  # type: ignore[attr-defined]
    return url.split("token=", 1)[1]


def sign_in(client: TestClient, merchant_id: uuid.UUID) -> Any:
    token = link_token(client, merchant_id)
    return client.post(
        "/dashboard/login",
        data={"token": token},
        headers=SAME_SITE,
        follow_redirects=False,
    )


def send(client: TestClient, key: str, events: list[dict[str, Any]]) -> None:
    response = client.post(
        "/v1/events", json={"events": events}, headers={**auth(key), "origin": ORIGIN}
    )
    assert response.status_code == 202, response.text
    assert client.app.state.analytics.wait_idle(10)  # type: ignore[attr-defined]


# -- sign-in --------------------------------------------------------------------------------


def test_link_page_shows_a_form_not_a_session(client: TestClient, shop: Any) -> None:
    token = link_token(client, shop.merchant.id)
    page = client.get("/dashboard/login", params={"token": token})
    assert page.status_code == 200
    assert "<form method=post action=/dashboard/login>" in page.text
    assert "set-cookie" not in page.headers  # link previewers cannot spend the token
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"


def test_sign_in_sets_a_strict_http_only_cookie(client: TestClient, shop: Any) -> None:
    response = sign_in(client, shop.merchant.id)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=v1.")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/dashboard", "Max-Age=28800"):
        assert attribute.lower() in cookie.lower(), cookie
    assert "secure" not in cookie.lower()  # plain http in tests
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert '<script src="/dashboard/static/dashboard.js" defer></script>' in page.text
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]


def test_the_cookie_is_secure_behind_https(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    from gateway.db import migrate
    from gateway.keys import service as merchants
    from gateway.main import create_app

    url = f"sqlite:///{tmp_path / 'g.db'}"
    migrate.upgrade(url)
    app = create_app(make_settings(database_url=url, public_url="https://api.tryon.example"))
    with TestClient(app, base_url="https://api.tryon.example") as client:
        with session_scope(app.state.engine) as session:
            m = merchants.create_merchant(session=session, name="M")
        token = link_token(client, m.merchant.id)
        response = client.post(
            "/dashboard/login",
            data={"token": token},
            headers={"origin": "https://api.tryon.example"},
            follow_redirects=False,
        )
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


def test_a_link_works_once(client: TestClient, shop: Any) -> None:
    token = link_token(client, shop.merchant.id)
    first = client.post(
        "/dashboard/login", data={"token": token}, headers=SAME_SITE, follow_redirects=False
    )
    assert first.status_code == 303
    client.cookies.clear()
    again = client.post("/dashboard/login", data={"token": token}, headers=SAME_SITE)
    assert "already been used" in assert_page(again, 401)


def assert_page(response: Any, status: int) -> str:
    """A page for a person (the sign-in forms are seen, not read by code), with its status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "set-cookie" not in response.headers
    return str(response.text)


def _forge(claims: Claims, purpose: Any, secret: str = TEST_SECRET) -> str:
    return sign(claims, secret=secret, purpose=purpose)


@pytest.mark.parametrize(
    "make_token",
    [
        lambda m: _forge(Claims(m, "n", int(time.time()) - 1), "dashboard-link"),  # expired
        lambda m: _forge(Claims(m, "n", int(time.time()) + 60), "dashboard-session"),  # a cookie
        lambda m: _forge(Claims(m, "n", int(time.time()) + 60), "dashboard-link", "x" * 48),
        lambda m: _forge(Claims(m, "n", int(time.time()) + 60), "dashboard-link")[:-2] + "AA",
        lambda m: "v1.e30.AAAA",
        lambda m: "v2." + "A" * 40,
        lambda m: "not-a-token",
        lambda m: "v1." + "A" * 600,
    ],
    ids=[
        "expired",
        "wrong-purpose",
        "wrong-key",
        "tampered",
        "empty-claims",
        "version",
        "junk",
        "long",
    ],
)
def test_bad_links_are_refused(
    client: TestClient, shop: Any, make_token: Callable[[uuid.UUID], str]
) -> None:
    token = make_token(shop.merchant.id)
    response = client.post("/dashboard/login", data={"token": token}, headers=SAME_SITE)
    expected = 400 if len(token) > 512 else 401
    assert "tryon dashboard link" in assert_page(response, expected)
    page = client.get("/dashboard/login", params={"token": token})
    assert_page(page, expected)


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"token=a&token=b", "application/x-www-form-urlencoded", 400),
        (b"", "application/x-www-form-urlencoded", 400),
        (b'{"token": "x"}', "application/json", 415),
        (b"token=" + b"A" * 5000, "application/x-www-form-urlencoded", 413),
    ],
)
def test_malformed_sign_in_forms(
    client: TestClient, content: bytes, content_type: str, status: int
) -> None:
    response = client.post(
        "/dashboard/login", content=content, headers={**SAME_SITE, "content-type": content_type}
    )
    assert_page(response, status)


def test_a_link_page_without_a_token_is_a_page(client: TestClient) -> None:
    assert "copy the whole link" in assert_page(client.get("/dashboard/login"), 400)
    assert_page(client.get("/dashboard/login", params={"token": ""}), 400)


def test_cross_site_sign_in_is_refused(client: TestClient, shop: Any) -> None:
    token = link_token(client, shop.merchant.id)
    response = client.post(
        "/dashboard/login", data={"token": token}, headers={"origin": "https://evil.example"}
    )
    assert "Cross-site request refused" in assert_page(response, 403)


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site", "origin": "http://testserver"},
        {"sec-fetch-site": "same-site", "origin": "null"},
        {"sec-fetch-site": "none"},
        {"origin": "null"},
    ],
    ids=["cross-site", "same-site", "none", "opaque-origin-without-fetch-metadata"],
)
def test_forged_sign_in_origins_are_refused(
    client: TestClient, shop: Any, headers: dict[str, str]
) -> None:
    token = link_token(client, shop.merchant.id)
    response = client.post("/dashboard/login", data={"token": token}, headers=headers)
    assert_page(response, 403)
    # The token was not spent: the real form still signs in with it.
    ok = client.post(
        "/dashboard/login", data={"token": token}, headers=SAME_SITE, follow_redirects=False
    )
    assert ok.status_code == 303


def test_a_browser_form_under_no_referrer_signs_in(client: TestClient, shop: Any) -> None:
    """What chromium sends from the link page (Referrer-Policy: no-referrer)."""
    token = link_token(client, shop.merchant.id)
    response = client.post(
        "/dashboard/login",
        data={"token": token},
        headers={"origin": "null", "sec-fetch-site": "same-origin", "sec-fetch-mode": "navigate"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert COOKIE in response.headers["set-cookie"]


def test_a_cookie_is_not_a_link(client: TestClient, shop: Any) -> None:
    sign_in(client, shop.merchant.id)
    cookie = client.cookies[COOKIE]
    response = client.post("/dashboard/login", data={"token": cookie}, headers=SAME_SITE)
    assert_page(response, 401)


def test_tampered_or_expired_cookies_are_401(client: TestClient, shop: Any) -> None:
    expired = _forge(Claims(shop.merchant.id, "s", int(time.time()) - 5), "dashboard-session")
    other = _forge(Claims(uuid.uuid4(), "s", int(time.time()) + 60), "dashboard-session")
    for value in (expired, other, "v1.x.y", "garbage"):
        client.cookies.set(COOKIE, value, path="/dashboard")
        assert_problem(client.get("/dashboard/api/summary"), 401, "unauthorized")
        client.cookies.clear()


def test_a_suspended_merchant_is_signed_out(client: TestClient, shop: Any) -> None:
    sign_in(client, shop.merchant.id)
    assert client.get("/dashboard/api/summary").status_code == 200
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        merchant = session.get(Merchant, shop.merchant.id)
        assert merchant is not None
        merchant.status = MerchantStatus.SUSPENDED
    assert_problem(client.get("/dashboard/api/summary"), 401, "unauthorized")


def test_signed_out_dashboard_explains_how_to_sign_in(client: TestClient) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 401
    assert "tryon dashboard link" in page.text


def test_logout_clears_the_cookie(client: TestClient, shop: Any) -> None:
    sign_in(client, shop.merchant.id)
    response = client.post("/dashboard/logout", headers=SAME_SITE, follow_redirects=False)
    assert response.status_code == 303
    assert (
        f'{COOKIE}=""' in response.headers["set-cookie"]
        or "Max-Age=0" in response.headers["set-cookie"]
    )
    assert_page(client.post("/dashboard/logout", headers={"origin": "https://evil.example"}), 403)
    # A session that has ended shows how to sign in, not a page whose calls all fail.
    client.cookies.set(COOKIE, "v1.x.y", path="/dashboard")
    assert "tryon dashboard link" in assert_page(client.get("/dashboard"), 401)


def test_static_assets(client: TestClient) -> None:
    js = client.get("/dashboard/static/dashboard.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in js.text  # values only ever go in as text
    assert client.get("/dashboard/static/dashboard.css").status_code == 200
    assert_problem(client.get("/dashboard/static/..%2Fdashboard.py"), 404, "not-found")
    assert_problem(client.get("/dashboard/static/dashboard.html"), 404, "not-found")


# -- data -----------------------------------------------------------------------------------


def test_dashboard_data_is_the_merchants_own(
    client: TestClient, shop: Any, new_merchant: Callable[..., Any]
) -> None:
    other = new_merchant("Other", allowed_origins=[ORIGIN])
    created = client.post("/v1/products", json=PRODUCT, headers=auth(shop.secret_key))
    assert created.status_code == 201
    send(
        client,
        shop.publishable_key,
        [
            event_json("impression", product_id="aviator-gold"),
            event_json("tryon_rendered", product_id="aviator-gold", tryon_session_id="tryon-0001"),
        ],
    )
    send(client, other.publishable_key, [event_json("impression", product_id="aviator-gold")] * 1)

    sign_in(client, shop.merchant.id)
    data = client.get("/dashboard/api/summary").json()
    assert data["merchant"]["name"] == "Optics & Co"
    assert data["totals"]["impressions"] == 1
    assert data["totals"]["tryons_rendered"] == 1
    assert data["products"][0]["product_id"] == "aviator-gold"
    assert data["products"][0]["title"] == "Aviator"  # from the catalog

    drill = client.get("/dashboard/api/summary", params={"product": "aviator-gold"}).json()
    assert drill["product_title"] == "Aviator"
    assert drill["funnel"][0] == {"step": "impression", "events": 1, "sessions": 1}

    client.cookies.clear()
    sign_in(client, other.merchant.id)
    theirs = client.get("/dashboard/api/summary").json()
    assert theirs["totals"]["impressions"] == 1
    assert theirs["totals"]["tryons_rendered"] == 0
    assert theirs["products"][0]["title"] is None  # not in the other merchant's catalog


def test_dashboard_csv_export(client: TestClient, shop: Any) -> None:
    send(client, shop.publishable_key, [event_json("impression", product_id="=cmd|' /C calc'!A0")])
    sign_in(client, shop.merchant.id)
    response = client.get("/dashboard/api/export.csv", params={"report": "products"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment;" in response.headers["content-disposition"]
    assert "\r\n'=cmd|' /C calc'!A0," in response.text  # neutralised formula


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-03-03", "to": "2026-03-01"},
        {"from": "1990-01-01", "to": "2026-03-01"},
        {"from": "yesterday"},
        {"product": "x" * 200},
        {"report": "passwords"},
        {"by": "revenue"},
    ],
)
def test_bad_dashboard_queries_are_422(
    client: TestClient, shop: Any, params: dict[str, str]
) -> None:
    sign_in(client, shop.merchant.id)
    path = "/dashboard/api/export.csv" if "report" in params else "/dashboard/api/summary"
    assert_problem(client.get(path, params=params), 422, "invalid-input")


# -- the metrics API (secret keys) ----------------------------------------------------------


def test_metrics_api_with_a_secret_key(
    client: TestClient, shop: Any, new_merchant: Callable[..., Any]
) -> None:
    send(
        client,
        shop.publishable_key,
        [
            event_json("impression", widget_session_id="wsession-a"),
            event_json(
                "tryon_rendered",
                widget_session_id="wsession-a",
                tryon_session_id="tryon-aaaa",
                properties={"mode": "photo", "category": "eyewear", "latency_ms": 50},
            ),
            event_json(
                "size_recommended", widget_session_id="wsession-a", properties={"size": "L"}
            ),
            event_json(
                "add_to_cart",
                widget_session_id="wsession-a",
                properties={"quantity": 1, "size": "L"},
            ),
            event_json("impression", widget_session_id="wsession-b"),
        ],
    )
    key = auth(shop.secret_key)
    summary = client.get("/v1/metrics/summary", headers=key).json()
    assert summary["totals"]["impressions"] == 2
    funnel = client.get("/v1/metrics/funnel", headers=key).json()["steps"]
    assert [s["sessions"] for s in funnel] == [2, 0, 0, 1, 1, 0]
    conversion = client.get("/v1/metrics/conversion", headers=key).json()
    assert conversion["with_tryon"]["sessions"] == 1
    assert conversion["with_tryon"]["added_to_cart"] == 1
    assert conversion["without_tryon"]["sessions"] == 1
    latency = client.get("/v1/metrics/latency", headers=key).json()
    assert latency["percentiles_ms"]["p50"] == 50
    assert latency["by_mode"] == {"photo": {"p50": 50, "p90": 50, "p95": 50, "p99": 50}}
    assert client.get("/v1/metrics/sizes", headers=key).json()["data"] == [
        {"size": "L", "recommended": 1, "added_to_cart": 1}
    ]
    assert client.get("/v1/metrics/attribution", headers=key).json()["orders"] == 0
    top = client.get("/v1/metrics/products", params={"by": "conversion"}, headers=key).json()
    assert top["data"][0]["tryon_sessions"] == 1
    csv = client.get("/v1/metrics/export.csv", params={"report": "sizes"}, headers=key)
    assert csv.text == "size,recommended,added_to_cart\r\nL,1,1\r\n"

    stranger = new_merchant("Stranger")
    theirs = client.get("/v1/metrics/summary", headers=auth(stranger.secret_key)).json()
    assert theirs["totals"]["impressions"] == 0


def test_metrics_api_refuses_publishable_keys_and_bad_input(client: TestClient, shop: Any) -> None:
    assert_problem(
        client.get("/v1/metrics/summary", headers=auth(shop.publishable_key)),
        403,
        "key-type-not-allowed",
    )
    assert_problem(client.get("/v1/metrics/summary"), 401, "invalid-api-key")
    key = auth(shop.secret_key)
    assert_problem(
        client.get("/v1/metrics/summary", params={"from": "2026-02-30"}, headers=key),
        422,
        "invalid-input",
    )
    assert_problem(
        client.get("/v1/metrics/products", params={"limit": 0}, headers=key), 422, "invalid-input"
    )
    # Days are YYYY-MM-DD only: no Unix times, no other spellings.
    for day in ("0", "1700000000", "2026-1-5", "20260105", "2026-01-05T00:00:00"):
        for name in ("from", "to"):
            assert_problem(
                client.get("/v1/metrics/summary", params={name: day}, headers=key),
                422,
                "invalid-input",
            )
    # A reversed range, and one over ten years.
    for start, end in (("2026-02-01", "2026-01-01"), ("2000-01-01", "2026-01-01")):
        assert_problem(
            client.get("/v1/metrics/summary", params={"from": start, "to": end}, headers=key),
            422,
            "invalid-input",
        )
    ok = client.get(
        "/v1/metrics/funnel", params={"from": "2026-01-01", "to": "2026-01-31"}, headers=key
    )
    assert ok.status_code == 200


# -- the CLI --------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, client: TestClient) -> None:
    from gateway.settings import get_settings

    monkeypatch.setenv("TRYON_DATABASE_URL", db_url)
    monkeypatch.setenv("TRYON_PUBLIC_URL", "http://testserver")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("by", ["id", "name"])
def test_cli_prints_a_link_that_signs_in(
    client: TestClient, shop: Any, cli_env: None, by: str
) -> None:
    who = str(shop.merchant.id) if by == "id" else "Optics & Co"
    result = CliRunner().invoke(cli, ["dashboard", "link", "--merchant", who])
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url.startswith("http://testserver/dashboard/login?token=v1.")
    token = url.split("token=", 1)[1]
    response = client.post(
        "/dashboard/login", data={"token": token}, headers=SAME_SITE, follow_redirects=False
    )
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--merchant", "Nobody & Co"], 1, "no merchant 'Nobody & Co'"),
        (["--merchant", "00000000-0000-0000-0000-000000000001"], 1, "no merchant"),
        (["--merchant", str(uuid.uuid4()), "--ttl-minutes", "0"], 2, ""),
    ],
)
def test_cli_errors_are_clear(
    client: TestClient, cli_env: None, args: list[str], code: int, message: str
) -> None:
    result = CliRunner().invoke(cli, ["dashboard", "link", *args])
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_cli_refuses_ambiguous_names(
    client: TestClient, new_merchant: Callable[..., Any], cli_env: None
) -> None:
    new_merchant("Twin")
    new_merchant("Twin")
    result = CliRunner().invoke(cli, ["dashboard", "link", "--merchant", "Twin"])
    assert result.exit_code == 1
    assert "several merchants" in result.stderr


def test_cli_link_follows_the_running_servers_port(
    client: TestClient, shop: Any, cli_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`TRYON_PORT=8241 make demo` in one terminal, `tryon dashboard link` in another."""
    from gateway import serving
    from gateway.settings import GatewaySettings, get_settings

    monkeypatch.delenv("TRYON_PUBLIC_URL")
    monkeypatch.delenv("TRYON_PORT", raising=False)
    monkeypatch.setenv("TRYON_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    with socket.socket() as listener:  # the running server, on a port of its own
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        noted = serving.note(GatewaySettings(env="test", data_dir=tmp_path, port=port))
        result = CliRunner().invoke(cli, ["dashboard", "link", "--merchant", "Optics & Co"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"http://127.0.0.1:{port}/dashboard/login?token=v1.")
    serving.forget(noted)
    stopped = CliRunner().invoke(cli, ["dashboard", "link", "--merchant", "Optics & Co"])
    assert stopped.stdout.startswith("http://127.0.0.1:8000/dashboard/login?token=v1.")
