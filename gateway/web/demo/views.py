"""The demo store's pages: server-rendered HTML under a strict Content-Security-Policy.

No inline script or style anywhere: the SDK is a pinned file with Subresource Integrity,
initialised from its tag's ``data-*`` attributes, and the store's own code is a static file.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from gateway.api.deps import SessionDep, SettingsDep
from gateway.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from gateway.products.models import Product
from gateway.web.demo import cart, catalog, state
from gateway.web.sdk_files import SdkStore
from gateway.web.sdk_views import StoreDep

router = APIRouter(prefix="/demo", tags=["demo"], include_in_schema=False)

HERE = Path(__file__).resolve().parent
STATIC = {"store.js": "text/javascript; charset=utf-8", "store.css": "text/css; charset=utf-8"}
MAX_FORM_BYTES = 4096
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

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
        cart_count=len(cart.load(request.cookies.get(cart.COOKIE), secret)),
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
        cart_count=len(cart.load(request.cookies.get(cart.COOKIE), secret)),
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


@router.get("/cart", response_class=HTMLResponse)
def cart_page(
    request: Request, session: SessionDep, settings: SettingsDep, secret: SecretDep
) -> Response:
    """The cart, with the try-on session each line came from."""
    demo = state.read(settings.data_dir)
    if demo is None:
        return _not_seeded(request)
    found = _products(session, demo.merchant_id)
    lines = []
    for line in cart.load(request.cookies.get(cart.COOKIE), secret):
        product = found.get(line.product)
        if product is None:
            continue
        variant = next((v for v in product.variants if v.external_id == line.variant), None)
        lines.append((catalog.BY_ID[line.product], product, variant, line))
    total = sum(item.price_cents for item, *_ in lines)
    return _page(request, "cart.html", lines=lines, total=total, cart_count=len(lines))


@router.post("/cart")
async def add_to_cart(
    request: Request, session: SessionDep, settings: SettingsDep, secret: SecretDep
) -> Response:
    """Add a product (form fields ``product``, ``variant``, optional ``tryon_session``)."""
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
    tryon_session = form.get("tryon_session") or None
    if tryon_session is not None and not _SESSION_ID.match(tryon_session):
        raise BadRequest("The try-on session id is malformed")
    lines = cart.load(request.cookies.get(cart.COOKIE), secret)
    lines.append(
        cart.Line(product=product.external_id, variant=variant, tryon_session=tryon_session)
    )
    response = RedirectResponse("/demo/cart", status_code=303)
    response.set_cookie(
        cart.COOKIE,
        cart.dump(lines, secret),
        httponly=True,
        samesite="lax",
        path="/demo",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/cart/clear")
def clear_cart() -> Response:
    response = RedirectResponse("/demo/cart", status_code=303)
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
