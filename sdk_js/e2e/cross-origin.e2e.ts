/**
 * A merchant's page on another origin and site than the API, as in production (shop.example
 * embeds api.tryon.example): every widget call goes through real CORS in chromium. The page
 * is the merchant's own server's (merchant-site.ts); the SDK and the API are the gateway's.
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { W, launch, shot, type Session, until } from "./browser";

let session: Session | null = null;
afterEach(async () => {
  await session?.close();
  session = null;
});

async function open(s: Session): Promise<string> {
  await s.page.goto(`${inject("shopOrigin")}/shop/round-glasses`);
  await s.page.locator(W.trigger).waitFor({ state: "visible" });
  return inject("shopOrigin");
}

describe("a merchant page on another origin", () => {
  it("tries on a photo, sends its usage events, all through CORS", async () => {
    session = await launch();
    const { page } = session;
    const config = page.waitForResponse((r) => r.url().includes("/v1/widget/config"));
    const shop = await open(session);
    expect(shop).not.toBe(inject("baseUrl"));
    const answered = await config;
    expect(answered.status()).toBe(200);
    expect((await answered.request().allHeaders()).origin).toBe(shop);
    expect(answered.headers()["access-control-allow-origin"]).toBe(shop);

    await page.locator(W.trigger).click();
    await page.locator(W.mode("photo")).click();
    await page.locator(W.action("consent")).click();
    // The upload carries Authorization: the browser asked (preflight) before sending it.
    const rendered = page.waitForResponse((r) => r.url().includes("/v1/widget/tryon"));
    await page.locator(W.file).setInputFiles(inject("fixtures").photo);
    const response = await rendered;
    expect(new URL(response.url()).origin).toBe(inject("baseUrl"));
    expect(response.status()).toBe(200);
    expect(response.headers()["access-control-allow-origin"]).toBe(shop);
    await page.locator("[data-tryon-widget] .stage[data-state=result]").waitFor();
    await shot(page, "cross-origin-photo");

    const beacon = await page.waitForResponse((r) => r.url().includes("/v1/events"), { timeout: 15_000 });
    expect(beacon.status()).toBe(202);
    expect(beacon.headers()["access-control-allow-origin"]).toBe(shop);
    expect(session.problems).toEqual([]);
  });

  it("streams live try-on over a WebSocket to the API's origin", async () => {
    session = await launch({ camera: inject("fixtures").camera, grantCamera: true, cameraOrigin: inject("shopOrigin") });
    const { page } = session;
    let frames = 0;
    const socket = page.waitForEvent("websocket");
    page.on("websocket", (ws) => ws.on("framereceived", (f) => void (typeof f.payload !== "string" && (frames += 1))));
    await open(session);
    await page.locator(W.trigger).click();
    await page.locator(W.mode("live")).click();
    await page.locator(W.action("consent")).click();
    expect(new URL((await socket).url()).host).toBe(new URL(inject("baseUrl")).host);
    await page.locator("[data-tryon-widget] .stage[data-state=live]").waitFor({ timeout: 30_000 });
    await until(() => frames, (n) => n > 1, "rendered frames across origins");
    expect(session.problems).toEqual([]);
  });
});
