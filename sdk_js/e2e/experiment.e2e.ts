/**
 * The holdout experiment in a real browser against the real gateway and warehouse: a
 * held-out shopper never sees the try-on button, on any page, across reloads; their
 * "eligible" and add-to-cart events still arrive, and their order is attributed to the
 * holdout arm. A treatment shopper sees the button, in the same period.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { assign, type Experiment } from "../src/experiment";
import { REPO } from "./global-setup";
import { launch, type Session, shot, until, W } from "./browser";

let session: Session | null = null;
let experiment: Experiment;

function harness(...args: string[]): string {
  return execFileSync(join(REPO, ".venv", "bin", "python"), ["-m", "tests.sdk_js.harness", ...args], { cwd: REPO, env: inject("env"), encoding: "utf8" });
}

interface Held {
  events: [string, string, string, string][];
  orders: [string, string, string][];
}

/** A shopper id (as the SDK would make one) that the period puts in `arm`. */
function shopperIn(arm: string, prefix: string): string {
  for (let i = 0; ; i++) {
    const id = `${prefix}-${String(i).padStart(6, "0")}-e2e`;
    if (assign(id, experiment) === arm) return id;
  }
}

/** Open a product page and wait until the SDK has its configuration (and so its arm). */
async function openProduct(s: Session, product: string): Promise<void> {
  const config = s.page.waitForResponse((r) => r.url().includes("/v1/widget/config"));
  await s.page.goto(`${inject("baseUrl")}/demo/products/${product}`);
  await config;
  await s.page.waitForLoadState("networkidle");
}

const triggerHidden = (s: Session) => s.page.locator("[data-tryon-trigger]").first().evaluate((host) => (host as HTMLElement).hidden);

beforeAll(() => {
  const served = JSON.parse(harness("set-holdout", "0.5"));
  experiment = { id: served.id, salt: served.salt, holdoutShare: served.holdout_share };
});

afterAll(() => {
  harness("set-holdout", "0"); // the other e2e files expect every shopper to see the button
});

afterEach(async () => {
  await session?.close();
  session = null;
});

describe("a holdout experiment", () => {
  it("never shows a held-out shopper the button; their events and order still count, in the holdout arm", async () => {
    const shopper = shopperIn("holdout", "held");
    session = await launch();
    const s = session;
    // The first page keeps the id in the store's localStorage; later pages read it back.
    await s.page.goto(`${inject("baseUrl")}/demo`);
    await s.page.evaluate((id) => localStorage.setItem("tryon_shopper", id), shopper);
    await openProduct(s, "round-glasses");
    expect(await triggerHidden(s)).toBe(true);
    await s.page.reload();
    await s.page.waitForLoadState("networkidle");
    expect(await triggerHidden(s)).toBe(true);
    await openProduct(s, "aviator-sunglasses");
    expect(await triggerHidden(s)).toBe(true);
    expect(await s.page.locator(W.trigger).isVisible()).toBe(false);
    // TryOn.open() from the page's own code is refused too.
    await s.page.evaluate(() => (window as unknown as { TryOn: { open(o: object): void } }).TryOn.open({ productId: "aviator-sunglasses" }));
    expect(await s.page.locator(W.dialog).count()).toBe(0);
    await shot(s.page, "holdout-product");
    // The page's own "Add to cart" button; then the order.
    await s.page.getByRole("button", { name: "Add to cart" }).click();
    await s.page.waitForURL(/\/demo\/cart$/);
    await s.page.getByRole("button", { name: "Place order" }).click();
    const orderId = (await s.page.locator("#order-number").textContent())?.trim() ?? "";
    expect(orderId).toMatch(/^DEMO-/);
    // Beacons (sent as each page goes) through the API, the queue and the consumer into the
    // warehouse: the events in the holdout arm, the order too.
    const held = await until(
      () => JSON.parse(harness("shopper", shopper)) as Held,
      (h) => h.orders.length === 1 && h.events.some(([type]) => type === "add_to_cart"),
      "the holdout shopper's events and order in the warehouse",
    );
    // Every event in the holdout arm of this period; "eligible" for the products whose pages
    // (and the list's cards) loaded, never an impression, an open or a try-on.
    expect(held.events.every(([, , arm, exp]) => arm === "holdout" && exp === experiment.id)).toBe(true);
    expect(new Set(held.events.map(([type]) => type))).toEqual(new Set(["eligible", "add_to_cart", "purchase"]));
    const eligible = held.events.filter(([type]) => type === "eligible").map(([, product]) => product);
    expect(eligible).toEqual(expect.arrayContaining(["round-glasses", "aviator-sunglasses"]));
    expect(held.events.filter(([type]) => type === "add_to_cart").map(([, product]) => product)).toEqual(["aviator-sunglasses"]);
    expect(held.orders).toEqual([[orderId, "holdout", experiment.id]]);
    expect(s.problems).toEqual([]);
  });

  it("shows a treatment shopper the button, and their events carry the treatment arm", async () => {
    const shopper = shopperIn("treatment", "treated");
    session = await launch();
    const s = session;
    await s.page.goto(`${inject("baseUrl")}/demo`);
    await s.page.evaluate((id) => localStorage.setItem("tryon_shopper", id), shopper);
    await openProduct(s, "round-glasses");
    await s.page.locator(W.trigger).waitFor({ state: "visible" });
    await s.page.goto(`${inject("baseUrl")}/demo/cart`); // pagehide: the beacon takes the batch
    const stored = await until(
      () => JSON.parse(harness("shopper", shopper)) as Held,
      (h) => h.events.filter(([type, product]) => type === "impression" && product === "round-glasses").length >= 1,
      "the treatment shopper's events in the warehouse",
    );
    // The list page and the product page: eligible and impression alike, all in treatment.
    expect(stored.events.every(([, , arm, exp]) => arm === "treatment" && exp === experiment.id)).toBe(true);
    expect(new Set(stored.events.map(([type]) => type))).toEqual(new Set(["eligible", "impression"]));
  });

  it("shows the experiment on the dashboard, whose form starts a new period", async () => {
    session = await launch();
    const s = session;
    const link = execFileSync(join(REPO, ".venv", "bin", "tryon"), ["dashboard", "link", "--merchant", "Tryon demo store"], { cwd: REPO, env: inject("env"), encoding: "utf8" }).trim();
    await s.page.goto(link);
    await s.page.getByRole("button", { name: "Sign in" }).click();
    await s.page.waitForURL(/\/dashboard$/);
    await s.page.locator("#experiment-table").waitFor();
    expect(await s.page.locator("#holdout-share").inputValue()).toBe("50");
    expect(await s.page.locator("#experiment-status").textContent()).toMatch(/50% held out · not enough data yet/);
    // One holdout order, none in treatment: an early figure with its (wide) interval. Its upper
    // end depends on how many shoppers each arm holds (arms are random), so its sign may vary.
    expect(await s.page.locator("#headline-value").textContent()).toMatch(/^−100\.0% purchases \(95% interval −100\.0% to [+−][\d.]+%\)$/);
    expect(await s.page.locator("#headline-note").textContent()).toMatch(/An early figure: \d+ of [\d,.\s\u202f]+ shoppers needed/);
    const held = await s.page.locator("#experiment-arms tr").nth(1).locator("td").first().textContent();
    expect(Number(held)).toBeGreaterThanOrEqual(1); // the holdout shopper of the first test
    await shot(s.page, "dashboard-experiment");
    // A new share through the panel's form: a new period, as the API says.
    await s.page.locator("#holdout-share").fill("20");
    await s.page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => s.page.locator("#holdout-saved").textContent()).toBe("Saved: a new period started");
    await expect.poll(() => s.page.locator("#experiment-status").textContent()).toMatch(/20% held out/);
    const served = JSON.parse(harness("set-holdout", "0.2"));
    expect(served.id).not.toBe(experiment.id);
    expect(s.problems).toEqual([]);
  });
});
