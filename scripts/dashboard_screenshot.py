"""Make the README's dashboard screenshot from synthetic traffic on a real embedded server.

1. a fresh embedded gateway (``tryon serve``) in a temporary data dir, a merchant and its
   catalog created through the CLI and the merchant API;
2. 30 days of synthetic shoppers sent through ``POST /v1/events`` with the publishable key
   (``TRYON_ANALYTICS_MAX_EVENT_AGE_HOURS`` is raised so that history is accepted). Orders
   have no HTTP entry point yet (order webhooks will emit them server-side), so they are
   written to the warehouse with ``analytics.warehouse.writer`` directly, the way the
   consumer stores a server-side purchase event;
3. a one-time link from ``tryon dashboard link``, spent for the session cookie, and headless
   chromium (driven over the DevTools protocol) photographs ``/dashboard``.

With ``--holdout SHARE`` (default 0.5) the merchant runs a holdout experiment (``PUT
/v1/experiment``): each synthetic shopper gets a shopper id, the arm the SDK would give it,
and, held out, sees no button (only ``eligible`` events; carts at the rate of shoppers who
never try on). ``--scale`` multiplies the shoppers per day; ``--detect`` picks the uplift the
panel sizes the experiment for before the photograph.

    .venv/bin/python scripts/dashboard_screenshot.py --out docs/images/dashboard.png
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import websockets

from analytics.schema import EventRecord, Purchase
from analytics.settings import AnalyticsSettings
from analytics.uplift import assigned_arm
from analytics.warehouse.engine import make_engine
from analytics.warehouse.writer import Warehouse
from ml_service import ports

TRYON = str(Path(sys.executable).with_name("tryon"))
PRODUCTS = [
    ("aviator-gold", "Aviator, gold", "eyewear", Decimal("129.00"), 1.0),
    ("round-tortoise", "Round, tortoiseshell", "eyewear", Decimal("99.00"), 0.8),
    ("cat-eye-sun", "Cat-eye sunglasses", "eyewear", Decimal("149.00"), 0.7),
    ("wool-fedora", "Wool fedora", "hat", Decimal("79.00"), 0.45),
    ("pearl-drops", "Pearl drop earrings", "earrings", Decimal("59.00"), 0.35),
]
SIZES = ["S", "M", "M", "L"]
LATENCY = {"live": 160.0, "photo": 620.0, "model": 300.0}


def request(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("content-type", "application/json")
    for _ in range(60):
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code != 429:  # the widget rate limit: wait as told, then send again
                raise
            time.sleep(float(exc.headers.get("retry-after") or 1))
    raise SystemExit(f"{url}: still rate limited")


def sessions(
    days: int, rng: random.Random, experiment: dict[str, Any] | None = None, scale: float = 1.0
) -> list[list[dict[str, Any]]]:
    """Synthetic shoppers: a funnel in which trying on makes a cart twice as likely or more."""
    out = []
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for d in range(days, -1, -1):
        day = today - timedelta(days=d)
        weekly = 1.25 if day.weekday() >= 5 else 1.0
        count = int((55 + (days - d) * 1.6) * weekly * rng.uniform(0.85, 1.15) * scale)
        for _ in range(count):
            start = day + timedelta(seconds=rng.uniform(8 * 3600, 23 * 3600))
            if start > datetime.now(UTC) - timedelta(minutes=2):
                continue
            out.append(shopper(start, rng, experiment))
    return out


def shopper(
    start: datetime, rng: random.Random, experiment: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    product, _, category, _, appeal = rng.choices(PRODUCTS, weights=[p[4] for p in PRODUCTS])[0]
    wsid = "w-" + uuid.uuid4().hex[:16]
    clock = [start]

    arm = None
    extra: dict[str, Any] = {}
    if experiment is not None:
        sid = "s-" + uuid.uuid4().hex
        arm = assigned_arm(sid, experiment["salt"], experiment["holdout_share"])
        extra = {"experiment": {"id": experiment["id"], "arm": arm, "shopper_id": sid}}

    def ev(kind: str, tryon: str | None = None, **props: Any) -> dict[str, Any]:
        clock[0] += timedelta(seconds=rng.uniform(3, 40))
        return {
            "schema_version": 1,
            "event_id": str(uuid.uuid4()),
            "type": kind,
            "occurred_at": clock[0].isoformat(),
            "widget_session_id": wsid,
            "tryon_session_id": tryon,
            "product_id": product,
            "properties": props,
            **extra,
        }

    events = [ev("eligible")] if arm else []
    if arm != "holdout":
        events.append(ev("impression"))
    tried = tryon = None
    if arm != "holdout" and rng.random() < 0.32 * (0.6 + appeal * 0.5):
        events.append(ev("open"))
        if rng.random() < 0.72:
            tryon = str(uuid.uuid4())
            mode = rng.choices(["live", "photo", "model"], weights=[6, 3, 2])[0]
            events.append(ev("tryon_started", tryon, mode=mode))
            if rng.random() < 0.93:
                latency = LATENCY[mode] * math.exp(rng.gauss(0, 0.35))
                events.append(
                    ev(
                        "tryon_rendered",
                        tryon,
                        mode=mode,
                        category=category,
                        latency_ms=round(latency, 1),
                    )
                )
                tried = True
                if category in {"eyewear", "hat"} and rng.random() < 0.6:
                    events.append(ev("size_recommended", tryon, size=rng.choice(SIZES)))
            else:
                events.append(
                    ev(
                        "tryon_failed",
                        tryon,
                        mode=mode,
                        reason=rng.choice(["no_face", "camera_denied"]),
                    )
                )
    cart_p = 0.27 if tried else 0.08
    if rng.random() < cart_p:
        size = (
            events[-1]["properties"].get("size")
            if events[-1]["type"] == "size_recommended"
            else None
        )
        props: dict[str, Any] = {"quantity": 1}
        if size:
            props["size"] = size
        events.append(ev("add_to_cart", tryon, **props))
    return events


def orders(
    merchant: uuid.UUID, shoppers: list[list[dict[str, Any]]], rng: random.Random
) -> list[Any]:
    prices = {p[0]: p[3] for p in PRODUCTS}
    out = []
    for events in shoppers:
        cart = next((e for e in events if e["type"] == "add_to_cart"), None)
        if cart is None or rng.random() > 0.55:
            continue
        when = datetime.fromisoformat(cart["occurred_at"]) + timedelta(minutes=rng.uniform(2, 30))
        if when > datetime.now(UTC):
            continue
        price = prices[cart["product_id"]]
        order_id = f"#{rng.randint(10_000, 99_999)}-{uuid.uuid4().hex[:4]}"
        purchase = Purchase.model_validate(
            {
                "schema_version": 1,
                "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, order_id)),
                "type": "purchase",
                "occurred_at": when.isoformat(),
                "widget_session_id": cart["widget_session_id"],
                "properties": {
                    "order_id": order_id,
                    "revenue": str(price + Decimal("4.90")),
                    "currency": "EUR",
                    "lines": [
                        {
                            "product_id": cart["product_id"],
                            "quantity": 1,
                            "price": str(price),
                            "tryon_session_id": cart["tryon_session_id"],
                        }
                    ],
                },
            }
        )
        out.append(
            EventRecord(
                merchant_id=merchant,
                store="demo-optics.myshopify.com",
                source="server",
                received_at=when,
                client_occurred_at=when,
                event=purchase,
            )
        )
    return out


def screenshot(base: str, cookie: str, out: Path, detect: str = "0.1") -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is missing: apt-get install -y chromium")
    profile = tempfile.mkdtemp(prefix="tryon-chromium-")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    proc = subprocess.Popen(
        [
            browser,
            *flags,
            "--hide-scrollbars",
            # Port 0: chromium binds one and writes it to <profile>/DevToolsActivePort.
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                debug_port = int((Path(profile) / "DevToolsActivePort").read_text().split()[0])
                targets = request("GET", f"http://127.0.0.1:{debug_port}/json/list")
                page = next(t for t in targets if t["type"] == "page")
                break
            except (OSError, ValueError, IndexError, StopIteration):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("chromium did not start") from None
                time.sleep(0.1)
        png = asyncio.run(capture(page["webSocketDebuggerUrl"], base, cookie, detect))
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(profile, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)


async def capture(ws_url: str, base: str, cookie: str, detect: str = "0.1") -> bytes:
    """Set the session cookie, open the dashboard, let it draw, photograph the whole page."""
    async with websockets.connect(ws_url, max_size=64 * 2**20) as ws:
        ids = iter(range(1, 10_000))

        async def call(method: str, **params: Any) -> Any:
            n = next(ids)
            await ws.send(json.dumps({"id": n, "method": method, "params": params}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == n:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return message.get("result", {})

        await call("Network.enable")
        await call(
            "Network.setCookie",
            name="tryon_dashboard",
            value=cookie,
            url=f"{base}/dashboard",
            httpOnly=True,
            sameSite="Strict",
        )
        await call(
            "Emulation.setDeviceMetricsOverride",
            width=1280,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        await call("Page.enable")
        await call("Page.navigate", url=f"{base}/dashboard")
        await asyncio.sleep(4)  # the page fetches its data and draws
        await call(
            "Runtime.evaluate",
            expression=(
                "(() => { const s = document.getElementById('detect'); "
                f"s.value = {json.dumps(detect)}; s.dispatchEvent(new Event('change')); }})()"
            ),
        )
        await asyncio.sleep(5)  # the page asks again and redraws
        size = await call(
            "Runtime.evaluate",
            expression="document.documentElement.scrollHeight",
            returnByValue=True,
        )
        height = int(size["result"]["value"])
        await call(
            "Emulation.setDeviceMetricsOverride",
            width=1280,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        await asyncio.sleep(0.5)
        shot = await call("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/dashboard.png"))
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--holdout", type=float, default=0.5, help="0: no experiment")
    parser.add_argument("--scale", type=float, default=4.0)
    parser.add_argument("--detect", default="0.3", choices=["0.05", "0.1", "0.2", "0.3"])
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="tryon-shot-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRYON_")}
        env.update(
            TRYON_DATA_DIR=tmp,
            TRYON_LOG_LEVEL="WARNING",
            TRYON_ANALYTICS_MAX_EVENT_AGE_HOURS=str((args.days + 2) * 24),
        )

        def run(*cli_args: str) -> str:
            done = subprocess.run(
                [TRYON, *cli_args], env=env, check=True, capture_output=True, text=True
            )
            return done.stdout

        run("db", "upgrade")
        # The server binds a port of its choosing; its public URL follows that port.
        with ports.start(
            [TRYON, "serve"], log_path=Path(tmp) / "serve.log", env=env, ready_path="/readyz"
        ) as server:
            base = server.url
            env["TRYON_PUBLIC_URL"] = base  # for the CLI calls below (dashboard link)
            merchant = json.loads(
                run("merchant", "create", "--name", "Demo Optics", "--origin", base, "--json")
            )
            secret = {"authorization": f"Bearer {merchant['secret_key']}"}
            for pid, title, category, _, _ in PRODUCTS:
                request(
                    "POST",
                    f"{base}/v1/products",
                    {"external_id": pid, "title": title, "category": category},
                    secret,
                )
            experiment = None
            if args.holdout > 0:
                current = request(
                    "PUT", f"{base}/v1/experiment", {"holdout_share": args.holdout}, secret
                )["current"]
                product = PRODUCTS[0][0]
                config = request(
                    "GET",
                    f"{base}/v1/widget/config?product={product}",
                    None,
                    {"authorization": f"Bearer {merchant['publishable_key']}", "origin": base},
                )
                experiment = config["experiment"]
                assert experiment["id"] == current["id"]
            shoppers = sessions(args.days, rng, experiment, args.scale)
            events = [e for s in shoppers for e in s]
            widget = {"authorization": f"Bearer {merchant['publishable_key']}", "origin": base}
            for i in range(0, len(events), 100):
                request("POST", f"{base}/v1/events", {"events": events[i : i + 100]}, widget)

            engine = make_engine(AnalyticsSettings(data_dir=Path(tmp)), writer=True)
            Warehouse(engine).store(orders(uuid.UUID(merchant["merchant_id"]), shoppers, rng))
            engine.dispose()

            link = run("dashboard", "link", "--merchant", merchant["merchant_id"]).strip()
            token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
            login = urllib.request.Request(
                f"{base}/dashboard/login",
                data=urllib.parse.urlencode({"token": token}).encode(),
                headers={"origin": base, "content-type": "application/x-www-form-urlencoded"},
            )

            class NoRedirect(urllib.request.HTTPRedirectHandler):
                def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                    return None

            try:
                urllib.request.build_opener(NoRedirect).open(login, timeout=10)
            except urllib.error.HTTPError as exc:  # the 303 arrives as an "error" here
                cookie_header = exc.headers["set-cookie"]
            cookie = cookie_header.split(";", 1)[0].split("=", 1)[1]
            time.sleep(1)  # the embedded consumer stores the last batches
            screenshot(base, cookie, args.out, args.detect)
            print(f"{len(events)} events from {len(shoppers)} shoppers -> {args.out}")


if __name__ == "__main__":
    main()
