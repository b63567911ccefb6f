"""The merchant dashboard: sign-in with a one-time link, a session cookie, data and assets.

Sign-in: ``tryon dashboard link --merchant ID`` prints ``/dashboard/login?token=...`` (signed,
expiring, single-use). Opening it shows a button (so link previewers cannot use the token
up); pressing it POSTs the token, which is checked, spent, and exchanged for a session
cookie: HttpOnly, SameSite=Strict, Secure on https, scoped to ``/dashboard``.

The pages a person sees (sign-in, sign-out) answer errors with a page, never JSON; the data
endpoints answer problem+json. Forms are accepted only from this origin: browsers say so in
``Sec-Fetch-Site`` (our pages send ``Referrer-Policy: no-referrer``, under which a form POST's
``Origin`` is the opaque ``null``), else in ``Origin``.

The page is static (no data in the HTML); its script reads ``/dashboard/api/*`` with the
cookie and draws the charts as SVG. A strict Content-Security-Policy allows only this
origin's script and style.
"""

from __future__ import annotations

import html
import secrets
import time
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from analytics import metrics, recommendation_metrics
from gateway.api.deps import SessionDep
from gateway.db.base import utcnow
from gateway.errors import (
    BadRequest,
    Forbidden,
    GatewayError,
    InvalidInput,
    NotFound,
    Unauthorized,
    UnsupportedMediaType,
)
from gateway.events import experiment
from gateway.events.ingest import read_bounded
from gateway.events.lifespan import pipeline_of
from gateway.events.metrics_views import csv_response, experiment_csv_response
from gateway.events.queries import PeriodDep, ProductQuery, with_titles
from gateway.events.signing import BadToken, Claims, sign, verify
from gateway.experiments import service as experiments
from gateway.experiments.views import HoldoutIn, experiment_json
from gateway.merchants.models import Merchant, MerchantStatus
from gateway.settings import GatewaySettings

router = APIRouter(prefix="/dashboard", include_in_schema=False)

COOKIE = "tryon_dashboard"
LINK_TTL_S = 15 * 60
MAX_LINK_TTL_S = 24 * 3600
SESSION_TTL_S = 8 * 3600
STATIC = Path(__file__).parent / "static"
ASSETS = {
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
    "recommendations.js": "text/javascript",
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _secret(settings: GatewaySettings) -> str:
    return settings.secret_key.get_secret_value()


def sign_in_link(
    settings: GatewaySettings, merchant_id: uuid.UUID, *, ttl_s: int = LINK_TTL_S
) -> str:
    """A one-time sign-in URL for the merchant's dashboard."""
    if not 0 < ttl_s <= MAX_LINK_TTL_S:
        raise ValueError(f"a link lives between 1 second and {MAX_LINK_TTL_S} seconds")
    claims = Claims(merchant_id, secrets.token_urlsafe(16), int(time.time()) + ttl_s)
    token = sign(claims, secret=_secret(settings), purpose="dashboard-link")
    return f"{settings.public_url.rstrip('/')}/dashboard/login?token={token}"


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel=stylesheet href="/dashboard/static/dashboard.css">'
        '<link rel=icon href="/favicon.svg" type="image/svg+xml">'
        f'</head><body class="plain"><main class="card">{body}</main></body></html>'
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


_ERROR_HINTS = {
    401: "Ask for a new link: <code>tryon dashboard link --merchant NAME</code>.",
    403: "Open the sign-in link itself in your browser and press <b>Sign in</b> there.",
}


def _error_page(exc: GatewayError) -> HTMLResponse:
    """A gateway error as a page for a person: what went wrong and what to do."""
    hint = _ERROR_HINTS.get(
        exc.status,
        "Open your sign-in link again, or ask for a new one: "
        "<code>tryon dashboard link --merchant NAME</code>.",
    )
    return _page(
        exc.title,
        f"<h1>{html.escape(exc.title)}</h1><p>{html.escape(exc.detail)}.</p>"
        f"<p class=muted>{hint}</p>",
        status=exc.status,
    )


def _same_origin(request: Request) -> None:
    """State-changing POSTs must come from our own pages (on top of SameSite=Strict).

    ``Sec-Fetch-Site`` first: every current browser sends it and no page can forge it. Under
    ``Referrer-Policy: no-referrer`` a form's ``Origin`` is ``null``, so ``Origin`` decides
    only for browsers without fetch metadata, where ``null`` is refused too. A client that
    sends neither is no browser on another site."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site != "same-origin":
            raise Forbidden("Cross-site request refused")
        return
    origin = request.headers.get("origin")
    if origin is None:
        return
    if urlsplit(origin).netloc != request.headers.get("host"):
        raise Forbidden("Cross-site request refused")


# -- sign-in ------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, token: Annotated[str | None, Query()] = None) -> HTMLResponse:
    try:
        _check_link(request, token)
    except GatewayError as exc:
        return _error_page(exc)
    assert token is not None
    # The token only goes into a form value; it is URL-safe base64 and dots.
    return _page(
        "Sign in",
        "<h1>Try-on dashboard</h1><form method=post action=/dashboard/login>"
        f'<input type=hidden name=token value="{token}">'
        "<button type=submit>Sign in</button></form>"
        "<p class=muted>This link works once and expires soon.</p>",
    )


def _check_link(request: Request, token: str | None) -> Claims:
    if not token or len(token) > 512:
        raise BadRequest("This sign-in link is incomplete: copy the whole link")
    settings: GatewaySettings = request.app.state.settings
    try:
        return verify(
            token, secret=_secret(settings), purpose="dashboard-link", now=int(time.time())
        )
    except BadToken as exc:
        raise Unauthorized(f"This sign-in link is not valid ({exc})") from None


@router.post("/login")
async def login(request: Request) -> Response:
    try:
        return await _login(request)
    except GatewayError as exc:
        return _error_page(exc)


async def _login(request: Request) -> Response:
    _same_origin(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("Post the sign-in form")
    form = parse_qs((await read_bounded(request, 2048)).decode("ascii", "replace"))
    tokens = form.get("token", [])
    if len(tokens) != 1:
        raise BadRequest("The form needs exactly one token")
    claims = _check_link(request, tokens[0])
    settings: GatewaySettings = request.app.state.settings
    now = int(time.time())
    if not await request.app.state.dashboard_nonces.consume(
        claims.nonce, ttl_s=claims.expires_at - now + 1
    ):
        raise Unauthorized("This sign-in link has already been used")
    cookie = sign(
        Claims(claims.merchant_id, secrets.token_urlsafe(16), now + SESSION_TTL_S),
        secret=_secret(settings),
        purpose="dashboard-session",
    )
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=SESSION_TTL_S,
        path="/dashboard",
        httponly=True,
        secure=_is_https(request, settings),
        samesite="strict",
    )
    return response


def _is_https(request: Request, settings: GatewaySettings) -> bool:
    return request.url.scheme == "https" or settings.public_url.startswith("https://")


@router.post("/logout")
def logout(request: Request) -> Response:
    try:
        _same_origin(request)
    except GatewayError as exc:
        return _error_page(exc)
    response = RedirectResponse("/dashboard", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="strict")
    return response


def dashboard_merchant(request: Request, session: SessionDep) -> Merchant:
    """The signed-in merchant (valid cookie, merchant still active)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        raise Unauthorized("Sign in with a link from 'tryon dashboard link'")
    settings: GatewaySettings = request.app.state.settings
    try:
        claims = verify(
            raw, secret=_secret(settings), purpose="dashboard-session", now=int(time.time())
        )
    except BadToken:
        raise Unauthorized("Your dashboard session has ended; sign in again") from None
    merchant = session.scalar(select(Merchant).where(Merchant.id == claims.merchant_id))
    if merchant is None or merchant.status is not MerchantStatus.ACTIVE:
        raise Unauthorized("This merchant account is not active")
    return merchant


DashboardMerchant = Annotated[Merchant, Depends(dashboard_merchant)]


# -- pages and assets ---------------------------------------------------------------------


def _signed_in(request: Request) -> bool:
    """A session cookie we signed and that has not expired (the data API checks the rest)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return False
    settings: GatewaySettings = request.app.state.settings
    try:
        verify(raw, secret=_secret(settings), purpose="dashboard-session", now=int(time.time()))
    except BadToken:
        return False
    return True


@router.get("")
def dashboard_page(request: Request) -> Response:
    # An ended session gets the sign-in explanation, not a page whose data calls all fail.
    if not _signed_in(request):
        return _page(
            "Try-on dashboard",
            "<h1>Try-on dashboard</h1><p>Sign in with a one-time link:</p>"
            "<pre>tryon dashboard link --merchant MERCHANT_ID</pre>",
            status=401,
        )
    return HTMLResponse((STATIC / "dashboard.html").read_text(), headers=SECURITY_HEADERS)


@router.get("/static/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound("No such asset")
    return Response(
        (STATIC / name).read_bytes(),
        media_type=ASSETS[name],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


# -- data ---------------------------------------------------------------------------------


@router.get("/api/summary")
def api_summary(
    request: Request,
    *,
    merchant: DashboardMerchant,
    session: SessionDep,
    period: PeriodDep,
    product: ProductQuery = None,
    by: Literal["tryons", "conversion"] = "tryons",
) -> Response:
    with pipeline_of(request.app).engine.connect() as conn:
        data: dict[str, Any] = metrics.summary(
            conn, merchant_id=merchant.id, period=period, product_id=product
        )
        top = metrics.top_products(conn, merchant_id=merchant.id, period=period, by=by, limit=10)
    data["merchant"] = {"id": str(merchant.id), "name": merchant.name}
    data["products"] = with_titles(session, merchant.id, metrics.products_json(top))
    data["products_by"] = by
    if product is not None:
        data["product_title"] = with_titles(session, merchant.id, [{"product_id": product}])[0][
            "title"
        ]
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


@router.get("/api/recommendations")
def api_recommendations(
    request: Request, *, merchant: DashboardMerchant, session: SessionDep, period: PeriodDep
) -> Response:
    """Recommendations tried and bought (``analytics.recommendation_metrics``), with titles."""
    with pipeline_of(request.app).engine.connect() as conn:
        found = recommendation_metrics.recommendations(conn, merchant_id=merchant.id, period=period)
    data = recommendation_metrics.recommendations_json(found)
    data["products"] = with_titles(session, merchant.id, data["products"])
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


@router.get("/api/export.csv")
def api_export(
    request: Request,
    merchant: DashboardMerchant,
    period: PeriodDep,
    report: metrics.CsvReport = "daily",
    product: ProductQuery = None,
) -> Response:
    with pipeline_of(request.app).engine.connect() as conn:
        body = metrics.export_csv(
            conn, report=report, merchant_id=merchant.id, period=period, product_id=product
        )
    return csv_response(body, report, period)


# -- the holdout experiment ---------------------------------------------------------------


@router.get("/api/experiment")
def api_experiment(
    request: Request,
    merchant: DashboardMerchant,
    session: SessionDep,
    experiment_id: experiment.ExperimentQuery = None,
    detect_uplift: experiment.DetectQuery = 0.1,
) -> Response:
    data = experiment.report(
        session=session,
        engine=pipeline_of(request.app).engine,
        merchant_id=merchant.id,
        experiment_id=experiment_id,
        detect_uplift=detect_uplift,
    )
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


@router.get("/api/experiment.csv")
def api_experiment_csv(
    request: Request,
    merchant: DashboardMerchant,
    session: SessionDep,
    experiment_id: experiment.ExperimentQuery = None,
) -> Response:
    body, found = experiment.daily_csv(
        session=session,
        engine=pipeline_of(request.app).engine,
        merchant_id=merchant.id,
        experiment_id=experiment_id,
    )
    return experiment_csv_response(body, found)


@router.post("/api/holdout")
async def api_holdout(
    request: Request, merchant: DashboardMerchant, session: SessionDep
) -> Response:
    """Set the holdout share from the dashboard (JSON ``{"holdout_share": 0.1}``)."""
    _same_origin(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("Send JSON")
    raw = await read_bounded(request, 256)
    try:
        body = HoldoutIn.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidInput(
            "The holdout share is a number from 0 to 0.5",
            errors=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()],
        ) from None
    running = await run_in_threadpool(
        experiments.set_share,
        session=session,
        merchant_id=merchant.id,
        share=body.holdout_share,
        now=utcnow(),
    )
    await run_in_threadpool(session.commit)
    return JSONResponse(
        {"current": experiment_json(running) if running else None},
        headers={"Cache-Control": "no-store"},
    )
