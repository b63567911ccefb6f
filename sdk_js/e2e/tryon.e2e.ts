/** Real try-ons in chromium against the real gateway: photo, brand model, live camera. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { Page, WebSocket } from "playwright-core";
import { afterEach, describe, expect, inject, it } from "vitest";
import { W, axe, launch, shot, type Session, until } from "./browser";
import { REPO } from "./global-setup";
import { jpegInfo } from "./jpeg";

let session: Session | null = null;
afterEach(async () => {
  await session?.close();
  session = null;
});

/** Record the SDK's events in the page (evaluated over the DevTools protocol, outside the CSP). */
async function recordEvents(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { TryOn: { on(e: string, cb: (p: unknown) => void): void }; __events: [string, unknown][] };
    w.__events = [];
    for (const name of ["open", "close", "result", "error", "add_to_cart", "size_recommended"]) {
      w.TryOn.on(name, (payload) => w.__events.push([name, payload]));
    }
  });
}

/** Keep a copy of each photo the widget uploads (fetch wrapped from outside the page's CSP). */
async function recordUploads(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __uploads: Promise<string>[]; fetch: typeof fetch };
    w.__uploads = [];
    const original = w.fetch.bind(window);
    w.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input).includes("/v1/widget/tryon") && init?.body instanceof Blob) {
        const blob = init.body;
        w.__uploads.push(
          blob.arrayBuffer().then((b) => {
            let s = "";
            new Uint8Array(b).forEach((x) => (s += String.fromCharCode(x)));
            return btoa(s);
          }),
        );
      }
      return original(input, init);
    };
  });
}

async function uploads(page: Page): Promise<Buffer[]> {
  const list = await page.evaluate(() => Promise.all((window as unknown as { __uploads: Promise<string>[] }).__uploads));
  return list.map((b64) => Buffer.from(b64, "base64"));
}

/** The demo merchant's order as the warehouse joined it (`{}` until it arrives). */
function order(orderId: string): { widget_session_id?: string; lines?: { product_id: string; tryon_session_id: string | null }[] } {
  const out = execFileSync(join(REPO, ".venv", "bin", "python"), ["-m", "tests.sdk_js.harness", "order", orderId], { cwd: REPO, env: inject("env"), encoding: "utf8" });
  return JSON.parse(out) as ReturnType<typeof order>;
}

function events(page: Page): Promise<[string, Record<string, unknown>][]> {
  return page.evaluate(() => (window as unknown as { __events: [string, Record<string, unknown>][] }).__events);
}

async function openPhotoMode(page: Page, product: string): Promise<void> {
  await page.goto(`${inject("baseUrl")}/demo/products/${product}`);
  await page.locator(W.trigger).waitFor({ state: "visible" });
  await recordEvents(page);
  await recordUploads(page);
  await page.locator(W.trigger).click();
  await page.locator(W.mode("photo")).click();
  await page.locator(W.action("consent")).click();
  await page.locator(W.action("choose-photo")).waitFor();
}

describe("photo try-on", () => {
  it("lets the shopper pick a person in a group photo, largest first, and tips about own glasses", async () => {
    session = await launch();
    const { page } = session;
    await openPhotoMode(page, "round-glasses");
    const analyzed = page.waitForResponse((r) => r.url().includes("/v1/widget/analyze"));
    await page.locator(W.file).setInputFiles(inject("fixtures").group);
    expect((await analyzed).status()).toBe(200);
    // bus.jpg: two faces (the short-range detector alone found none); the largest preselected.
    const faces = page.locator("[data-tryon-widget] .faces button");
    await faces.first().waitFor();
    expect(await faces.count()).toBe(2);
    expect(await faces.nth(0).getAttribute("aria-pressed")).toBe("true");
    expect(await faces.nth(1).getAttribute("aria-pressed")).toBe("false");
    expect(await page.locator("[data-tryon-widget] .pick-face").textContent()).toBe("We see 2 people. Who is trying it on?");
    expect(await axe(session, "[data-tryon-widget]")).toEqual([]);
    await shot(page, "photo-pick-face");
    // The second person (light orange glasses of his own): rendered on him, and the tip shown.
    await faces.nth(1).click();
    expect(await faces.nth(1).getAttribute("aria-pressed")).toBe("true");
    expect(await faces.nth(0).getAttribute("aria-pressed")).toBe("false");
    const tryon = page.waitForResponse((r) => r.url().includes("/v1/widget/tryon"));
    await page.locator(W.action("pick-face")).click();
    const response = await tryon;
    expect(response.status()).toBe(200);
    expect(new URL(response.url()).searchParams.get("face")).toBe("1");
    await page.locator("[data-tryon-widget] .stage[data-state=result]").waitFor();
    const result = (await events(page)).find(([name]) => name === "result")?.[1];
    const geometry = result?.geometry as { face: number; faces: unknown[]; own_glasses: boolean };
    expect(geometry.face).toBe(1);
    expect(geometry.faces).toHaveLength(1);
    expect(geometry.own_glasses).toBe(true);
    expect(await page.locator("[data-tryon-widget] [data-note=own-glasses]").textContent()).toBe("Tip: take off your own glasses for a better result.");
    await shot(page, "photo-picked-face-result");
    // The largest person wears dark sunglasses: eyewear is refused with its own message.
    await page.locator("[data-tryon-widget] button", { hasText: "Try another photo" }).click();
    await page.locator(W.file).setInputFiles(inject("fixtures").group);
    await faces.first().waitFor();
    await page.locator(W.action("pick-face")).click();
    const error = page.locator("[data-tryon-widget] .error");
    await error.waitFor();
    expect(await error.textContent()).toMatch(/can’t see the eyes/);
    await shot(page, "photo-eyes-covered");
    // "Try again" offers the people of the same photo again.
    await page.locator(W.action("retry")).click();
    await faces.first().waitFor();
    expect(await faces.count()).toBe(2);
  });

  it("renders glasses on a photo, adds to cart with the try-on session, places the order", async () => {
    session = await launch();
    const { page } = session;
    await openPhotoMode(page, "round-glasses");
    const upload = page.waitForRequest((r) => r.url().includes("/v1/widget/tryon") && r.method() === "POST");
    await page.locator(W.file).setInputFiles(inject("fixtures").photo);
    const request = await upload;
    // The demo store and the API share one origin (cross-origin pages: cross-origin.e2e.ts).
    expect(new URL(request.url()).origin).toBe(inject("baseUrl"));
    await page.locator("[data-tryon-widget] .stage[data-state=result]").waitFor();
    expect(jpegInfo((await uploads(page))[0])).toEqual({ width: 512, height: 512, exif: false });
    const result = (await events(page)).find(([name]) => name === "result")?.[1];
    expect(result).toMatchObject({ productId: "round-glasses", variantId: "round-glasses-black", mode: "photo" });
    expect(result?.tryonSessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect((result?.geometry as { faces: unknown[] }).faces).toHaveLength(1);
    expect(await page.locator(W.action("download")).getAttribute("href")).toMatch(/^blob:/);
    // Black and gold, one size: no size advice (never "We recommend size Gold").
    expect(await page.locator("[data-tryon-widget] .size").isVisible()).toBe(false);
    expect((await events(page)).some(([name]) => name === "size_recommended")).toBe(false);
    expect(await axe(session, "[data-tryon-widget]")).toEqual([]);
    await shot(page, "photo-result");

    // Another colour re-renders the same photo, uploaded again, no new file dialog.
    const again = page.waitForResponse((r) => r.url().includes("/v1/widget/tryon") && r.status() === 200);
    await page.locator("[data-tryon-widget] [data-variant=round-glasses-gold]").click();
    expect(new URL((await again).url()).searchParams.get("variant")).toBe("round-glasses-gold");
    await page.locator("[data-tryon-widget] .stage[data-state=result]").waitFor();

    // The usage events went out (batched) and were accepted by the analytics endpoint.
    const beacon = await page.waitForResponse((r) => r.url().includes("/v1/events"), { timeout: 15_000 });
    expect(beacon.status()).toBe(202);
    const batch = JSON.parse(beacon.request().postData() ?? "{}") as { events: { type: string; properties: object }[] };
    expect(batch.events.map((e) => e.type)).toEqual(expect.arrayContaining(["impression", "open", "tryon_started", "tryon_rendered"]));
    expect(JSON.stringify(batch)).not.toMatch(/data:image|base64/);

    await page.locator(W.action("add-to-cart")).click();
    // The page's cart took it (store.js answers the widget): then, and only then, "Added".
    await page.locator("[data-tryon-widget] .extras[data-cart=accepted]").waitFor();
    expect(await page.locator(".cart-link").textContent()).toBe("Cart (1)");
    await page.goto(`${inject("baseUrl")}/demo/cart`);
    const cartText = await page.locator("table.cart").textContent();
    expect(cartText).toContain("Round optical frames");
    expect(cartText).toContain("Gold");
    expect(cartText).toContain("tried on");

    // Checkout: the order reaches the warehouse carrying the try-on session on its line and
    // the widget session of the page the try-on ran in (the usage events' id).
    const widgetSession = (batch.events as unknown as { widget_session_id: string }[])[0].widget_session_id;
    await page.getByRole("button", { name: "Place order" }).click();
    await page.locator("#order-number").waitFor();
    const orderId = String(await page.locator("#order-number").textContent());
    expect(orderId).toMatch(/^DEMO-[0-9A-F]{10}$/);
    let stored: { widget_session_id?: string; lines?: { product_id: string; tryon_session_id: string | null }[] } = {};
    stored = await until(() => order(orderId), (o) => o.lines !== undefined, "the order in the warehouse");
    expect(stored).toEqual({
      widget_session_id: widgetSession,
      lines: [{ product_id: "round-glasses", tryon_session_id: result?.tryonSessionId }],
    });
    expect(await page.locator(".cart-link").textContent()).toBe("Cart (0)");
    expect(session.problems).toEqual([]);
  });

  it("recommends one of a t-shirt's sizes, with no colour buttons for its sizes", async () => {
    session = await launch();
    const { page } = session;
    await openPhotoMode(page, "crew-tshirt");
    await page.locator(W.file).setInputFiles(inject("fixtures").photo);
    await page.locator("[data-tryon-widget] .stage[data-state=result]").waitFor();
    expect(await page.locator("[data-tryon-widget] [data-variant]").count()).toBe(0); // one colour
    expect(await page.locator("[data-tryon-widget] .size").textContent()).toMatch(/We suggest size (S|M|L)/);
    const advice = (await events(page)).find(([name]) => name === "size_recommended")?.[1];
    const recommendation = advice?.recommendation as { size: string; variant_id: string };
    expect(recommendation.variant_id).toBe(`crew-tshirt-navy-${recommendation.size.toLowerCase()}`);
    await shot(page, "photo-size");
    expect(session.problems).toEqual([]);
  });

  it("uploads a big sideways phone photo upright, downscaled and without EXIF", async () => {
    session = await launch();
    const { page } = session;
    await openPhotoMode(page, "aviator-sunglasses");
    await page.locator(W.file).setInputFiles(inject("fixtures").rotated); // 2048x1600 stored, EXIF 6
    // Upright, the face is found: a sideways upload would not have been rendered.
    await page.locator("[data-tryon-widget] .stage[data-state=result]").waitFor();
    expect(jpegInfo((await uploads(page))[0])).toEqual({ width: 1000, height: 1280, exif: false });
    await shot(page, "photo-rotated-result");
  });

  it("says when the photo has no face", async () => {
    session = await launch();
    const { page } = session;
    await openPhotoMode(page, "round-glasses");
    await page.locator(W.file).setInputFiles(inject("fixtures").noface);
    await page.locator(W.error).waitFor();
    expect(await page.locator(W.error).getAttribute("data-error")).toBe("no_face");
    const error = (await events(page)).find(([name]) => name === "error")?.[1];
    expect(error).toMatchObject({ code: "no_face", productId: "round-glasses" });
    await shot(page, "error-no-face");
    // Retry leads back to the photo picker.
    await page.locator(W.action("retry")).click();
    await page.locator(W.action("choose-photo")).waitFor();
  });

  it("refuses a file that is not a photo before uploading anything", async () => {
    session = await launch();
    const { page } = session;
    await openPhotoMode(page, "round-glasses");
    let uploaded = false;
    page.on("request", (r) => {
      if (r.url().includes("/v1/widget/tryon")) uploaded = true;
    });
    await page.locator(W.file).setInputFiles({ name: "notes.jpg", mimeType: "image/jpeg", buffer: Buffer.from("not a photo at all") });
    await page.locator(W.error).waitFor();
    expect(await page.locator(W.error).getAttribute("data-error")).toBe("invalid_image");
    expect(uploaded).toBe(false);
  });
});

describe("brand model try-on", () => {
  it("lists the brand's models and renders the product on one", async () => {
    session = await launch();
    const { page } = session;
    await page.goto(`${inject("baseUrl")}/demo/products/cateye-glasses`);
    await page.locator(W.trigger).waitFor({ state: "visible" });
    await page.locator(W.trigger).click();
    await page.locator(W.mode("model")).click();
    const model = page.locator("[data-tryon-widget] [data-model]").first();
    await model.waitFor();
    await model.click();
    await page.locator("[data-tryon-widget] .stage[data-state=result][data-mode=model]").waitFor();
    await shot(page, "model-result");
    expect(session.problems).toEqual([]);
  });
});

describe("live try-on", () => {
  it("streams the fake camera and shows rendered frames", async () => {
    // How fast is measured by `make bench-sdk` (e2e/live-fps.bench.ts), not here.
    session = await launch({ camera: inject("fixtures").camera, grantCamera: true });
    const { page } = session;
    const received: number[] = [];
    const sockets: WebSocket[] = [];
    page.on("websocket", (ws) => {
      sockets.push(ws);
      ws.on("framereceived", (f) => {
        if (typeof f.payload !== "string") received.push(Date.now());
      });
    });
    await page.goto(`${inject("baseUrl")}/demo/products/round-glasses`);
    await page.locator(W.trigger).waitFor({ state: "visible" });
    await recordEvents(page);
    await page.locator(W.trigger).click();
    await page.locator(W.mode("live")).click();
    await page.locator(W.action("consent")).click();
    await page.locator("[data-tryon-widget] .stage[data-state=live]").waitFor({ timeout: 30_000 });
    const first = (await events(page)).find(([name]) => name === "result")?.[1];
    expect(first).toMatchObject({ mode: "live", productId: "round-glasses" });

    // Frames keep coming after the first, and the stage shows them.
    const before = received.length;
    await until(() => received.length, (n) => n >= before + 3, "three more rendered frames");
    const shownCount = () => page.locator("[data-tryon-widget] .stage").getAttribute("data-frames").then(Number);
    const shown = await until(shownCount, (n) => n >= before + 3, "the stage to show them");
    expect(shown).toBeLessThanOrEqual(received.length); // nothing shown that did not arrive

    // The canvas shows a picture, not an empty stage.
    const spread = await page.locator("[data-tryon-widget] .stage canvas").evaluate((c: HTMLCanvasElement) => {
      const d = (c.getContext("2d") as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
      let lo = 255;
      let hi = 0;
      for (let i = 0; i < d.length; i += 4 * 97) {
        lo = Math.min(lo, d[i]);
        hi = Math.max(hi, d[i]);
      }
      return { w: c.width, h: c.height, range: hi - lo };
    });
    expect(spread.w).toBe(640);
    expect(spread.h).toBe(480);
    expect(spread.range).toBeGreaterThan(100);
    expect(await axe(session, "[data-tryon-widget]")).toEqual([]);
    await shot(page, "live");

    // Another colour reconnects with the same camera and renders the new variant.
    const socket = page.waitForEvent("websocket");
    await page.locator("[data-tryon-widget] [data-variant=round-glasses-gold]").click();
    expect(new URL((await socket).url()).searchParams.get("variant")).toBe("round-glasses-gold");
    await page.locator("[data-tryon-widget] .stage[data-state=live]").waitFor();

    // Mirror toggles; a snapshot can be downloaded; closing stops the stream.
    const mirror = page.locator(W.action("mirror"));
    expect(await mirror.getAttribute("aria-pressed")).toBe("true");
    await mirror.click();
    expect(await mirror.getAttribute("aria-pressed")).toBe("false");
    await page.locator(W.action("snapshot")).click();
    await page.locator("[data-tryon-widget] .stage[data-state=snapshot]").waitFor();
    expect(await page.locator(W.action("download")).getAttribute("href")).toMatch(/^blob:/);
    await shot(page, "live-snapshot");
    // The stream stopped: the socket is closed, and no other one was opened.
    const openSockets = sockets.length;
    await until(() => sockets[sockets.length - 1].isClosed(), (closed) => closed, "the live socket to close");
    expect(sockets.length).toBe(openSockets);
    const live = await page.evaluate(async () => {
      const devices = await navigator.mediaDevices.enumerateDevices();
      return devices.filter((d) => d.kind === "videoinput").length;
    });
    expect(live).toBeGreaterThan(0);
    expect(session.problems).toEqual([]);
  });
});

describe("live try-on without a face", () => {
  it("tells the shopper that no face is found, in the status region, while frames keep coming", async () => {
    session = await launch({ camera: inject("fixtures").noface_camera, grantCamera: true });
    const { page } = session;
    const status: string[] = [];
    let frames = 0;
    page.on("websocket", (ws) => {
      ws.on("framereceived", (f) => {
        if (typeof f.payload !== "string") frames += 1;
        else if (f.payload.includes('"status"')) status.push(f.payload);
      });
    });
    await page.goto(`${inject("baseUrl")}/demo/products/round-glasses`);
    await page.locator(W.trigger).waitFor({ state: "visible" });
    await page.locator(W.trigger).click();
    await page.locator(W.mode("live")).click();
    await page.locator(W.action("consent")).click();
    const stage = page.locator("[data-tryon-widget] .stage[data-hint=no-face]");
    await stage.waitFor({ timeout: 30_000 });
    const region = page.locator(W.status);
    expect(await region.getAttribute("aria-live")).toBe("polite");
    expect(await region.textContent()).toMatch(/can’t see your face/);
    expect(await page.locator("[data-tryon-widget] .overlay").isVisible()).toBe(true);
    expect(JSON.parse(status[0])).toEqual({ type: "status", subject_found: false, reason: "no-face" });
    // The stream goes on (unchanged frames), and the hint is said once, not per frame.
    const before = frames;
    await until(() => frames, (n) => n >= before + 3, "more frames without a face");
    expect(status).toHaveLength(1);
    expect(await axe(session, "[data-tryon-widget]")).toEqual([]);
    await shot(page, "live-no-face");
    expect(session.problems).toEqual([]);
  });
});
