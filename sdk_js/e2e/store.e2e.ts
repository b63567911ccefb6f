/** The demo store and the widget's shell in a real browser: CSP, SRI, accessibility, errors. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import { REPO } from "./global-setup";
import { W, axe, launch, shot, type Session, until } from "./browser";

let session: Session | null = null;
afterEach(async () => {
  await session?.close();
  session = null;
});

async function openProduct(s: Session, product = "round-glasses"): Promise<void> {
  await s.page.goto(`${inject("baseUrl")}/demo/products/${product}`);
  await s.page.locator(W.trigger).first().waitFor({ state: "visible" });
}


function countEvents(type: string, product: string): number {
  const out = execFileSync(join(REPO, ".venv", "bin", "python"), ["-m", "tests.sdk_js.harness", "count-events", type, product], { cwd: REPO, env: inject("env"), encoding: "utf8" });
  return Number(out.trim());
}

function setQuota(n: number): void {
  execFileSync(join(REPO, ".venv", "bin", "python"), ["-m", "tests.sdk_js.harness", "set-quota", String(n)], { cwd: REPO, env: inject("env") });
}

describe("the demo store", () => {
  it("loads the pinned SDK (SRI checked by the browser) under its strict CSP", async () => {
    session = await launch();
    const { page } = session;
    const config = page.waitForResponse((r) => r.url().includes("/v1/widget/config"));
    const response = await page.goto(`${inject("baseUrl")}/demo`);
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await page.locator(W.trigger).first().waitFor({ state: "visible" });
    // A same-origin GET: the browser sends no Origin header, only Sec-Fetch-Site, and the
    // gateway takes the page to be on its own origin.
    const answered = await config;
    const sent = await answered.request().allHeaders();
    expect(new URL(answered.url()).origin).toBe(inject("baseUrl"));
    expect(sent.origin).toBeUndefined();
    expect(sent["sec-fetch-site"]).toBe("same-origin");
    expect(answered.status()).toBe(200);
    expect(await page.evaluate(() => (window as unknown as { TryOn: { version: string } }).TryOn.version)).toMatch(/^\d+\.\d+\.\d+$/);
    expect(await page.locator(W.trigger).count()).toBeGreaterThanOrEqual(10);
    // Product pictures are shown whole: wide glasses and tall tees alike, never cropped.
    const pictures = await page.locator(".card img").evaluateAll((imgs) =>
      (imgs as HTMLImageElement[]).map((i) => ({ fit: getComputedStyle(i).objectFit, loaded: i.naturalWidth > 0 })),
    );
    expect(pictures.length).toBeGreaterThanOrEqual(10);
    expect(pictures.every((p) => p.fit === "contain" && p.loaded)).toBe(true);
    expect(await axe(session)).toEqual([]);
    await shot(page, "store-list");
    expect(session.problems).toEqual([]);
  });

  it("sends the queued usage events with a beacon when the shopper leaves the page", async () => {
    const before = countEvents("open", "drop-earrings");
    session = await launch();
    const { page } = session;
    await openProduct(session, "drop-earrings");
    await page.locator(W.trigger).click(); // queues "open"; the batch timer (5 s) has not fired
    await page.locator(W.mode("photo")).waitFor();
    await page.goto(`${inject("baseUrl")}/demo/cart`); // pagehide: sendBeacon takes the batch
    // Through the endpoint, the queue and the consumer into the warehouse.
    const after = await until(() => countEvents("open", "drop-earrings"), (n) => n > before, "the open event in the warehouse");
    expect(after).toBe(before + 1);
  });

  it("refuses a tampered SDK: a wrong integrity hash blocks the script", async () => {
    session = await launch();
    const { page } = session;
    // Serve the page with the SDK's bytes changed in flight; the browser must refuse them.
    await page.route("**/sdk/*/tryon.js", async (route) => {
      const original = await route.fetch();
      await route.fulfill({ response: original, body: (await original.text()) + "\n// tampered" });
    });
    await page.goto(`${inject("baseUrl")}/demo/products/round-glasses`);
    await page.waitForLoadState("load");
    expect(await page.evaluate(() => "TryOn" in window)).toBe(false);
    expect(session.problems.join("\n")).toMatch(/integrity/i);
  });
});

describe("the widget", () => {
  it("opens as an accessible dialog, traps focus and closes on Escape", async () => {
    session = await launch();
    const { page } = session;
    await openProduct(session);
    expect(await page.locator("#product-image").evaluate((i) => getComputedStyle(i).objectFit)).toBe("contain");
    await page.locator(W.trigger).click();
    const dialog = page.locator(W.dialog);
    await dialog.waitFor();
    expect(await dialog.getAttribute("aria-modal")).toBe("true");
    await page.locator(W.mode("live")).waitFor();
    expect(await axe(session, "[data-tryon-widget]")).toEqual([]);
    await shot(page, "widget-modes");
    // Tab cycles inside the dialog.
    for (let i = 0; i < 12; i++) await page.keyboard.press("Tab");
    const inside = await page.evaluate(() => document.activeElement?.hasAttribute("data-tryon-widget"));
    expect(inside).toBe(true);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    // Focus is back on the button that opened it.
    expect(await page.evaluate(() => document.activeElement?.hasAttribute("data-tryon-trigger"))).toBe(true);
    expect(session.problems).toEqual([]);
  });

  it("shows a consent notice before the camera, then says when there is no camera", async () => {
    session = await launch({ grantCamera: true }); // no fake device: this machine has no camera
    const { page } = session;
    await openProduct(session);
    await page.locator(W.trigger).click();
    await page.locator(W.mode("live")).click();
    await page.locator(W.action("consent")).waitFor();
    expect(await page.locator("[data-tryon-widget] .consent").textContent()).toMatch(/never stored/);
    await page.locator(W.action("consent")).click();
    await page.locator(W.error).waitFor();
    expect(await page.locator(W.error).getAttribute("data-error")).toBe("no_camera");
    expect(await axe(session, "[data-tryon-widget]")).toEqual([]);
    await shot(page, "error-no-camera");
  });

  it("says when camera permission is denied", async () => {
    session = await launch({ camera: inject("fixtures").camera, grantCamera: false });
    const { page } = session;
    await openProduct(session);
    await page.locator(W.trigger).click();
    await page.locator(W.mode("live")).click();
    await page.locator(W.action("consent")).click();
    await page.locator(W.error).waitFor();
    expect(await page.locator(W.error).getAttribute("data-error")).toBe("permission_denied");
    await shot(page, "error-permission-denied");
  });

  it("says when the shopper is offline", async () => {
    session = await launch();
    const { page, context } = session;
    await openProduct(session, "aviator-sunglasses");
    await context.setOffline(true);
    await page.locator(W.trigger).click();
    await page.locator(W.error).waitFor();
    expect(await page.locator(W.error).getAttribute("data-error")).toBe("offline");
    await shot(page, "error-offline");
    await context.setOffline(false);
    await page.locator(W.action("retry")).click();
    await page.locator(W.mode("photo")).waitFor();
  });

  it("says when the merchant's try-on quota is used up", async () => {
    setQuota(0);
    try {
      session = await launch();
      const { page } = session;
      await openProduct(session, "fedora-hat");
      await page.locator(W.trigger).click();
      await page.locator(W.error).waitFor();
      expect(await page.locator(W.error).getAttribute("data-error")).toBe("quota_reached");
      expect(await page.locator(W.action("retry")).count()).toBe(0);
      await shot(page, "error-quota");
    } finally {
      setQuota(10_000);
    }
  });

  it("speaks French when the browser does, and fits a phone screen", async () => {
    session = await launch({ locale: "fr-FR", viewport: { width: 390, height: 844 } });
    const { page } = session;
    await openProduct(session);
    expect(await page.locator(W.trigger).textContent()).toBe("Essayer");
    await page.locator(W.trigger).click();
    await page.locator(W.mode("photo")).waitFor();
    expect(await page.locator("[data-tryon-widget] h2").textContent()).toBe("Essayage virtuel");
    const box = await page.locator(W.dialog).boundingBox();
    expect(box?.width).toBe(390);
    expect(await axe(session, "[data-tryon-widget]")).toEqual([]);
    await shot(page, "widget-mobile-fr");
  });
});
