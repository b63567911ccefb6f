/** The merchant dashboard in a real browser: sign-in through the CLI's link, the pages a
 * person sees on errors, the range buttons, a phone-sized screen and the site icon. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import { REPO } from "./global-setup";
import { launch, shot, type Session } from "./browser";

let session: Session | null = null;
afterEach(async () => {
  await session?.close();
  session = null;
});

/** A fresh one-time link, printed by the CLI as a merchant gets it. */
function signInLink(): string {
  const out = execFileSync(join(REPO, ".venv", "bin", "tryon"), ["dashboard", "link", "--merchant", "Tryon demo store"], {
    cwd: REPO,
    env: inject("env"),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return out.trim();
}

async function signIn(s: Session, link = signInLink()): Promise<void> {
  await s.page.goto(link);
  await s.page.getByRole("button", { name: "Sign in" }).click();
  await s.page.waitForURL(/\/dashboard$/);
  await s.page.locator("#kpis .kpi").first().waitFor();
}

describe("dashboard sign-in", () => {
  it("signs in through the CLI's link and shows the dashboard", async () => {
    session = await launch();
    const { page } = session;
    const link = signInLink();
    expect(new URL(link).origin).toBe(inject("baseUrl"));
    const posted = page.waitForRequest((r) => r.method() === "POST" && r.url().endsWith("/dashboard/login"));
    await signIn(session, link);
    // What made it fail before: under the page's no-referrer policy the form's Origin is
    // opaque; the browser's Sec-Fetch-Site still says the form is ours.
    const headers = await (await posted).allHeaders();
    expect(headers.origin).toBe("null");
    expect(headers["sec-fetch-site"]).toBe("same-origin");
    expect(await page.locator("h1").textContent()).toBe("Try-on analytics");
    expect(await page.locator("#merchant").textContent()).toBe("Tryon demo store");
    await shot(page, "dashboard-signed-in");
    // Sign out goes through the same kind of form.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/dashboard$/);
    expect(await page.locator("body").textContent()).toContain("tryon dashboard link");
    expect(session.problems.filter((p) => !p.includes("401: GET") && !p.includes("status of 401"))).toEqual([]);
  });

  it("answers a used, a broken or a cross-site sign-in with a page, not JSON", async () => {
    session = await launch();
    const { page } = session;
    const link = signInLink();
    await signIn(session, link);
    await session.context.clearCookies();
    // The same link again: its button shows, pressing it is refused, on a page.
    await page.goto(link);
    const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/dashboard/login")), page.getByRole("button", { name: "Sign in" }).click()]);
    expect(refused.status()).toBe(401);
    expect(refused.headers()["content-type"]).toMatch(/^text\/html/);
    expect(await page.locator("h1").textContent()).toBe("Authentication required");
    expect(await page.locator("main").textContent()).toMatch(/already been used.*tryon dashboard link/s);
    await shot(page, "dashboard-link-used");
    // A link cut short (a mail client wrapped it).
    const cut = await page.goto(link.slice(0, -12));
    expect(cut?.status()).toBe(401);
    expect(cut?.headers()["content-type"]).toMatch(/^text\/html/);
    expect(await page.locator("main").textContent()).toMatch(/not valid/);
    const missing = await page.goto(`${inject("baseUrl")}/dashboard/login`);
    expect(missing?.status()).toBe(400);
    expect(missing?.headers()["content-type"]).toMatch(/^text\/html/);
    // A form on another site posting a valid token is refused, as a page too.
    const fresh = signInLink();
    const token = new URL(fresh).searchParams.get("token") ?? "";
    await page.goto(`${inject("shopOrigin")}/shop/round-glasses`);
    const [crossSite] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/dashboard/login")),
      page.evaluate(([action, value]) => {
        const form = document.createElement("form");
        form.method = "post";
        form.action = action;
        const input = document.createElement("input");
        input.name = "token";
        input.value = value;
        form.append(input);
        document.body.append(form);
        form.submit();
      }, [`${inject("baseUrl")}/dashboard/login`, token]),
    ]);
    expect(crossSite.status()).toBe(403);
    expect(crossSite.headers()["content-type"]).toMatch(/^text\/html/);
    expect(crossSite.headers()["set-cookie"]).toBeUndefined();
  });
});

describe("the dashboard page", () => {
  it("presses the button of the range shown and has a site icon", async () => {
    session = await launch();
    const { page } = session;
    const icons: number[] = [];
    page.on("response", (r) => {
      if (/\/favicon\.(svg|ico)$/.test(r.url())) icons.push(r.status());
    });
    await signIn(session);
    const pressed = () => page.locator(".presets button[aria-pressed=true]").allTextContents();
    expect(await pressed()).toEqual(["30 days"]);
    const colour = (days: string) => page.locator(`.presets button[data-days="${days}"]`).evaluate((b) => getComputedStyle(b).backgroundColor);
    expect(await colour("30")).not.toBe(await colour("7"));
    await page.locator('.presets button[data-days="7"]').click();
    await expect.poll(pressed).toEqual(["7 days"]);
    // A custom range is no preset.
    await page.locator("#from").fill("2026-01-01");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(pressed).toEqual([]);
    // The icon the page names is there (and /favicon.ico for browsers that ask on their own).
    expect(await page.locator("link[rel=icon]").getAttribute("href")).toBe("/favicon.svg");
    const ico = await page.request.get(`${inject("baseUrl")}/favicon.ico`);
    expect(ico.status()).toBe(200);
    expect(icons.every((s) => s === 200)).toBe(true);
    expect(session.problems).toEqual([]);
  });

  it("keeps chart labels readable and apart on a 390 px phone", async () => {
    session = await launch({ viewport: { width: 390, height: 844 } });
    const { page } = session;
    await signIn(session);
    await page.locator("#daily svg text").first().waitFor();
    // The font size each label is drawn at on screen, after the SVG's scaling.
    const sizes = await page.locator(".chart svg text").evaluateAll((texts) =>
      (texts as SVGTextElement[]).map((t) => (t.getScreenCTM()?.a ?? 0) * parseFloat(getComputedStyle(t).fontSize)),
    );
    expect(sizes.length).toBeGreaterThan(10);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(11);
    // The date labels under the daily chart do not run into each other.
    const boxes = await page.locator("#daily svg text[text-anchor]").evaluateAll((texts) =>
      (texts as SVGTextElement[]).filter((t) => /^\d\d-\d\d$/.test(t.textContent ?? "")).map((t) => {
        const r = t.getBoundingClientRect();
        return [r.left, r.right];
      }),
    );
    expect(boxes.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < boxes.length; i++) expect(boxes[i][0]).toBeGreaterThan(boxes[i - 1][1]);
    // Nothing wider than the phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(page, "dashboard-phone");
    await page.locator("#funnel").scrollIntoViewIfNeeded();
    await shot(page, "dashboard-phone-funnel");
  });
});
