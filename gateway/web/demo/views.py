"""The demo store's pages: server-rendered HTML under a strict Content-Security-Policy.

No inline script or style anywhere: the SDK is a pinned file with Subresource Integrity,
initialised from its tag's ``data-*`` attributes, and the store's own code is a static file.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import SessionDep, SettingsDep
from gateway.errors import (
    BadRequest,
    Forbidden,
    GatewayError,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from gateway.orders import service as orders
from gateway.orders.schemas import OrderIn, OrderLineIn
from gateway.origins import normalise_origin
from gateway.products.models import Product, ProductVariant
from gateway.web.demo import cart, catalog, state
from gateway.web.sdk_files import SdkStore
from gateway.web.sdk_views import StoreDep


class _PageRoute(APIRoute):
    """Errors of the store's pages and forms are pages for the shopper, with the store around
    them, never JSON; only the widget handler's calls (``Accept: application/json``, store.js)
    get problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except GatewayError as exc:
                if "application/json" in request.headers.get("accept", ""):
                    raise
                response = _page(
                    request,
                    "error.html",
                    status=exc.status,
                    title=exc.title,
                    detail=exc.detail,
                    cart_count=0,
                )
                response.headers.update(exc.headers)
                return response

        return page_errors


router = APIRouter(prefix="/demo", tags=["demo"], include_in_schema=False, route_class=_PageRoute)

HERE = Path(__file__).resolve().parent
STATIC = {"store.js": "text/javascript; charset=utf-8", "store.css": "text/css; charset=utf-8"}
MAX_FORM_BYTES = 4096
CURRENCY = "EUR"

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


def api_origin(request: Request) -> str:
    """The origin the demo's widget calls the API on: the page's own.

    The store and the API share one origin, as when a merchant serves its pages from the
    API's domain: the widget's same-origin ``GET``s carry no ``Origin`` header, and the
    gateway takes the page's origin from ``Sec-Fetch-Site: same-origin``
    (``gateway.widget.auth``). A merchant on another origin goes through CORS; the SDK's
    browser tests cover both (``sdk_js/e2e/cross-origin.e2e.ts``)."""
    url = request.url
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.hostname}{port}"


def content_security_policy(request: Request) -> str:
    """Nothing inline, nothing from elsewhere but the API: what the widget must work under."""
    api = api_origin(request)
    ws = api.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {api} {ws}",
            "media-src 'self' blob:",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "require-trusted-types-for 'script'",
        ]
    )


def _page(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
    html = _templates.get_template(template).render(request=request, **context)
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Content-Security-Policy": content_security_policy(request),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
            "Cache-Control": "no-store",
        },
    )


def _same_origin(request: Request) -> None:
    """The store's forms post only from its own pages (CSRF): browsers say where a POST
    comes from in ``Sec-Fetch-Site`` and ``Origin``, which page scripts cannot set. A client
    that sends neither is no browser on another site (and the cart cookie is SameSite=Lax,
    so a cross-site form would not carry the cart anyway)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in {"same-origin", "none"}:
        raise Forbidden("Cross-site form refused")
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    # Host and port only, as the dashboard does: a TLS-terminating proxy changes the scheme.
    if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
        raise Forbidden("Cross-site form refused")


def _secret(settings: SettingsDep) -> bytes:
    return settings.secret_key.get_secret_value().encode()


SecretDep = Annotated[bytes, Depends(_secret)]


def _price(cents: int) -> str:
    return f"€{cents // 100}.{cents % 100:02d}"


_templates.filters["price"] = _price


def _sdk_tag(request: Request, store: SdkStore) -> dict[str, str] | None:
    """The pinned SDK URL and its integrity hash, as an embedding merchant would use them."""
    build = store.get()
    if build is None:
        return None
    file = build.files["tryon.js"]
    return {"src": f"/sdk/{build.version}/tryon.js", "integrity": file.integrity}


def _products(session: SessionDep, merchant_id: uuid.UUID) -> dict[str, Product]:
    rows = session.scalars(select(Product).where(Product.merchant_id == merchant_id))
    return {p.external_id: p for p in rows if p.external_id in catalog.BY_ID}


def _not_seeded(request: Request) -> HTMLResponse:
    return _page(request, "not_seeded.html", status=503, cart_count=0)


@router.get("", response_class=HTMLResponse)
def index(
    request: Request, session: SessionDep, settings: SettingsDep, secret: SecretDep, store: StoreDep
) -> Response:
    """The product list."""
    demo = state.read(settings.data_dir)
    if demo is None:
        return _not_seeded(request)
    found = _products(session, demo.merchant_id)
    items = [(catalog.BY_ID[ext], found[ext]) for ext in catalog.BY_ID if ext in found]
    return _page(
        request,
        "index.html",
        items=items,
        demo=demo,
        sdk=_sdk_tag(request, store),
        cart_count=len(_cart(request, secret).lines),
    )


@router.get("/products/{external_id}", response_class=HTMLResponse)
def product_page(
    *,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    secret: SecretDep,
    store: StoreDep,
    external_id: Annotated[str, PathParam(max_length=128)],
) -> Response:
    """A product page with the widget and an add-to-cart form."""
    demo = state.read(settings.data_dir)
    if demo is None:
        return _not_seeded(request)
    product = _products(session, demo.merchant_id).get(external_id)
    if product is None:
        raise NotFound(f"No demo product {external_id!r}")
    return _page(
        request,
        "product.html",
        item=catalog.BY_ID[external_id],
        product=product,
        demo=demo,
        sdk=_sdk_tag(request, store),
        cart_count=len(_cart(request, secret).lines),
    )


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form body, read with a size cap."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("Send the form as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge(f"The form is over {MAX_FORM_BYTES} bytes")
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=10, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("The form cannot be read") from exc
    return {name: values[0] for name, values in fields.items() if values}


def _cart(request: Request, secret: bytes) -> cart.Cart:
    return cart.load(request.cookies.get(cart.COOKIE), secret)


CartLine = tuple[catalog.DemoProduct, Product, ProductVariant | None, cart.Line]


def _cart_lines(found: dict[str, Product], lines: list[cart.Line]) -> list[CartLine]:
    """The cart's lines whose product is still in the store, with catalog and variant."""
    out = []
    for line in lines:
        product = found.get(line.product)
        if product is None:
            continue
        variant = next((v for v in product.variants if v.external_id == line.variant), None)
        out.append((catalog.BY_ID[line.product], product, variant, line))
    return out


@router.get("/cart", response_class=HTMLResponse)
def cart_page(
    request: Request, session: SessionDep, settings: SettingsDep, secret: SecretDep
) -> Response:
    """The cart, with the try-on session each line came from."""
    demo = state.read(settings.data_dir)
    if demo is None:
        return _not_seeded(request)
    current = _cart(request, secret)
    lines = _cart_lines(_products(session, demo.merchant_id), current.lines)
    total = sum(item.price_cents for item, *_ in lines)
    return _page(
        request,
        "cart.html",
        lines=lines,
        total=total,
        widget_session=current.widget_session,
        cart_count=len(lines),
    )


def _set_cart(request: Request, response: Response, value: cart.Cart, secret: bytes) -> None:
    response.set_cookie(
        cart.COOKIE,
        cart.dump(value, secret),
        httponly=True,
        samesite="lax",
        path="/demo",
        secure=request.url.scheme == "https",
    )


def _session_field(form: dict[str, str], name: str) -> str | None:
    """An optional session id field; ``BadRequest`` unless it is one the analytics take."""
    value = form.get(name) or None
    if value is not None and not cart.SESSION_ID.match(value):
        raise BadRequest(f"The {name.replace('_', ' ')} id is malformed")
    return value


@router.post("/cart")
async def add_to_cart(
    request: Request, session: SessionDep, settings: SettingsDep, secret: SecretDep
) -> Response:
    """Add a product (form fields ``product``, ``variant``, optional ``tryon_session`` and
    ``widget_session``: the widget's ids, kept as a line property and a cart attribute)."""
    _same_origin(request)
    form = await _form(request)
    demo = state.read(settings.data_dir)
    if demo is None:
        return _not_seeded(request)
    product = _products(session, demo.merchant_id).get(form.get("product", ""))
    if product is None:
        raise BadRequest("Unknown product")
    variant = form.get("variant", "")
    if variant not in {v.external_id for v in product.variants}:
        raise BadRequest("Unknown variant for this product")
    tryon_session = _session_field(form, "tryon_session")
    widget_session = _session_field(form, "widget_session")
    current = _cart(request, secret)
    current.lines.append(
        cart.Line(product=product.external_id, variant=variant, tryon_session=tryon_session)
    )
    # Like a store's cart attribute: the latest widget session that added to this cart.
    current.widget_session = widget_session or current.widget_session
    # The widget's handler (store.js) asks for JSON to tell the widget the cart took it; the
    # plain form goes on to the cart page.
    response: Response
    if "application/json" in request.headers.get("accept", ""):
        response = JSONResponse({"count": len(current.lines[-cart.MAX_LINES :])})
    else:
        response = RedirectResponse("/demo/cart", status_code=303)
    _set_cart(request, response, current, secret)
    return response


@router.post("/cart/clear")
def clear_cart(request: Request) -> Response:
    _same_origin(request)
    response = RedirectResponse("/demo/cart", status_code=303)
    response.delete_cookie(cart.COOKIE, path="/demo")
    return response


def _order(current: cart.Cart, lines: list[CartLine]) -> OrderIn:
    """The cart as the order the store would send: one line per product, variant and try-on
    session, quantities added up; prices in euros."""
    quantities: dict[tuple[str, str, str | None], int] = {}
    prices: dict[str, int] = {}
    for item, _, _, line in lines:
        key = (line.product, line.variant, line.tryon_session)
        quantities[key] = quantities.get(key, 0) + 1
        prices[line.product] = item.price_cents
    return OrderIn(
        order_id=current.order_id,
        revenue=_euros(sum(prices[p] * n for (p, _, _), n in quantities.items())),
        currency=CURRENCY,
        widget_session_id=current.widget_session,
        lines=[
            OrderLineIn(
                product_id=product,
                variant_id=variant,
                quantity=n,
                price=_euros(prices[product]),
                tryon_session_id=session,
            )
            for (product, variant, session), n in quantities.items()
        ],
    )


def _store_name(public_url: str) -> str | None:
    """The store's configured origin (never the request's Host header, which anyone sets)."""
    try:
        return normalise_origin(public_url.rstrip("/"))
    except ValueError:
        return None


def _euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@router.post("/cart/checkout", response_class=HTMLResponse)
async def checkout(
    request: Request, session: SessionDep, settings: SettingsDep, secret: SecretDep
) -> Response:
    """Place the order: recorded as the demo merchant's purchase, in-process (the same
    ``gateway.orders.service.record`` that ``POST /v1/orders`` calls), then the cart is gone."""
    _same_origin(request)
    await _form(request)  # no fields, but the same media type and size rules as the others
    demo = state.read(settings.data_dir)
    if demo is None:
        return _not_seeded(request)
    current = _cart(request, secret)
    lines = _cart_lines(_products(session, demo.merchant_id), current.lines)
    if not lines:
        return _page(
            request,
            "cart.html",
            status=409,
            lines=[],
            total=0,
            cart_count=0,
            widget_session=None,
            error="Your cart is empty: there is nothing to order.",
        )
    order = _order(current, lines)
    event, _ = await run_in_threadpool(
        orders.record,
        request.app,
        merchant_id=demo.merchant_id,
        order=order,
        store=_store_name(settings.public_url),
    )
    response = _page(
        request,
        "order.html",
        order=order,
        lines=lines,
        total=sum(item.price_cents for item, *_ in lines),
        event_id=event.event_id,
        cart_count=0,
    )
    response.delete_cookie(cart.COOKIE, path="/demo")
    return response


@router.get("/static/{name}")
def static(name: Annotated[str, PathParam(max_length=32)]) -> Response:
    if name not in STATIC:
        raise NotFound("No such file")
    return FileResponse(
        HERE / "static" / name,
        media_type=STATIC[name],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/images/{asset}.png")
def image(asset: Annotated[str, PathParam(max_length=64)]) -> Response:
    """A demo product image from the project's demo asset set."""
    path = catalog.asset_path(asset)
    if path is None:
        raise NotFound("No such image")
    return FileResponse(
        path,
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
