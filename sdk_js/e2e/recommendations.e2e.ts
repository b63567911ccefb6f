/** Advice that sells, in chromium against the real gateway: face-shape advice after an eyewear
 * photo try-on, the row of products to try next on the same photo and the same camera
 * stream, and the looks to compare (memory; IndexedDB only after the shopper opts in). */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterEach, describe, expect, inject, it } from "vitest";
import { W, axe, launch, shot, type Session, until } from "./browser";
import { REPO } from "./global-setup";

let session: Session | null = null;
afterEach(async () => {
  await session?.close();
  session = null;
});

const RESULT = "[data-tryon-widget] .stage[data-state=result]";
const NEXT = "[data-tryon-widget] .next [data-next]";

function databases(page: Page): Promise<string[]> {
  return page.evaluate(async () => (await indexedDB.databases()).map((d) => String(d.name)));
}

async function title(page: Page): Promise<string> {
  return String(await page.locator("[data-tryon-widget] .product").first().textContent());
}

describe("advice, try next and looks to compare", () => {
  it("advises frames for the face, tries a recommendation on the same photo, compares the looks", async () => {
    session = await launch();
    const { page } = session;
    const uploads: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/v1/widget/tryon") && r.method() === "POST") uploads.push(r.url());
    });
    await page.goto(`${inject("baseUrl")}/demo/products/round-glasses`);
    await page.locator(W.trigger).waitFor({ state: "visible" });
    await page.locator(W.trigger).click();
    await page.locator(W.mode("photo")).click();
    await page.locator(W.action("consent")).click();
    await page.locator(W.file).setInputFiles(inject("fixtures").photo);
    await page.locator(RESULT).waitFor();

    // The face and the frames that suit it, in words.
    const face = page.locator("[data-tryon-widget] .face");
    await face.waitFor();
    expect(await face.textContent()).toMatch(/Your face looks (oval|round|square|long|heart-shaped|diamond-shaped|wider at the jaw) \((a rough guess|a fair guess|quite sure)\)/);
    expect(await face.textContent()).toMatch(/Frames about \d+–\d+ mm wide/);

    // The row: other products of the shop, never this one.
    await page.locator(NEXT).first().waitFor();
    const offered = await page.locator(NEXT).evaluateAll((bs) => bs.map((b) => b.getAttribute("data-next")));
    expect(offered.length).toBeGreaterThan(1);
    expect(offered).not.toContain("round-glasses");
    expect(await axe(session, "[data-tryon-widget]")).toEqual([]);
    await page.locator("[data-tryon-widget] .next").scrollIntoViewIfNeeded();
    await shot(page, "advice-row");

    // A recommendation is tried on the same photo: uploaded again, no file dialog.
    const pick = offered[0] as string;
    const again = page.waitForResponse((r) => r.url().includes("/v1/widget/tryon") && r.status() === 200);
    await page.locator(`${NEXT}[data-next="${pick}"]`).click();
    expect(new URL((await again).url()).searchParams.get("product")).toBe(pick);
    await until(() => title(page), (t) => !t.startsWith("Round optical frames"), "the new product's result");
    await page.locator(RESULT).waitFor();
    expect(uploads).toHaveLength(2);

    // Its events say it came from a recommendation.
    const beacon = await page.waitForResponse((r) => r.url().includes("/v1/events"), { timeout: 15_000 });
    expect(beacon.status()).toBe(202);
    const batch = JSON.parse(beacon.request().postData() ?? "{}") as { events: { type: string; product_id: string; properties: Record<string, unknown> }[] };
    const fromRec = batch.events.filter((e) => e.properties.from_recommendation === true);
    expect(fromRec.map((e) => e.type)).toEqual(expect.arrayContaining(["tryon_started", "tryon_rendered"]));
    expect(new Set(fromRec.map((e) => e.product_id))).toEqual(new Set([pick]));

    // Two looks side by side, kept in memory only.
    const compare = page.locator(W.action("compare"));
    expect(await compare.textContent()).toBe("Compare looks (2)");
    expect(await databases(page)).not.toContain("tryon-looks");
    await compare.click();
    const looks = page.locator("[data-tryon-widget] .looks li");
    expect(await looks.count()).toBe(2);
    expect(await looks.evaluateAll((ls) => ls.map((l) => l.getAttribute("data-look")))).toEqual(["round-glasses", pick]);
    await until(
      () => page.locator("[data-tryon-widget] .looks canvas").evaluateAll((cs) => cs.map((c) => (c as HTMLCanvasElement).width)),
      (ws) => ws.every((w) => w > 0),
      "both looks drawn",
    );
    expect(await axe(session, "[data-tryon-widget]")).toEqual([]);
    await shot(page, "looks-compare");

    // Opting in keeps them in IndexedDB; clearing deletes the database.
    await page.locator(W.action("keep-looks")).check();
    await until(() => databases(page), (d) => d.includes("tryon-looks"), "the looks database");
    const kept = await page.evaluate(
      () =>
        new Promise<number>((resolve, reject) => {
          const r = indexedDB.open("tryon-looks");
          r.onsuccess = () => {
            const all = r.result.transaction("looks").objectStore("looks").getAll();
            all.onsuccess = () => {
              resolve(all.result.length);
              r.result.close();
            };
          };
          r.onerror = () => reject(r.error);
        }),
    );
    expect(kept).toBe(2);

    // A page opened later shows the kept looks beside the new one.
    await page.reload();
    await page.locator(W.trigger).waitFor({ state: "visible" });
    await page.locator(W.trigger).click();
    await page.locator(W.mode("photo")).click();
    await page.locator(W.action("consent")).click();
    await page.locator(W.file).setInputFiles(inject("fixtures").photo);
    await page.locator(RESULT).waitFor();
    await until(() => page.locator(W.action("compare")).textContent(), (t) => t === "Compare looks (3)", "the kept looks restored");
    await page.locator(W.action("compare")).click();
    expect(await looks.count()).toBe(3);
    expect(await page.locator(W.action("keep-looks")).isChecked()).toBe(true);
    await page.locator(W.action("clear-looks")).click();
    await until(() => looks.count(), (n) => n === 0, "the looks cleared");
    await until(() => databases(page), (d) => !d.includes("tryon-looks"), "the database deleted");
    expect(session.problems).toEqual([]);
  });

  it("tries a recommendation on the same camera stream", async () => {
    session = await launch({ camera: inject("fixtures").camera, grantCamera: true });
    const { page } = session;
    const sockets: string[] = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    await page.goto(`${inject("baseUrl")}/demo/products/round-glasses`);
    await page.locator(W.trigger).waitFor({ state: "visible" });
    await page.locator(W.trigger).click();
    await page.locator(W.mode("live")).click();
    await page.locator(W.action("consent")).click();
    await page.locator("[data-tryon-widget] .stage[data-state=live]").waitFor({ timeout: 30_000 });
    await page.locator(NEXT).first().waitFor();
    await page.locator("[data-tryon-widget] .next").scrollIntoViewIfNeeded();
    await shot(page, "live-row");
    const pick = String(await page.locator(NEXT).first().getAttribute("data-next"));
    await page.locator(NEXT).first().click();
    await page.locator("[data-tryon-widget] .stage[data-state=live]").waitFor({ timeout: 30_000 });
    await until(() => sockets.length, (n) => n >= 2, "a second live socket");
    expect(new URL(sockets[sockets.length - 1]).searchParams.get("product")).toBe(pick);
    expect(session.problems).toEqual([]);
  });

  it("counts a recommendation tried and bought on the dashboard", async () => {
    session = await launch();
    const { page } = session;
    await page.goto(`${inject("baseUrl")}/demo/products/round-glasses`);
    await page.locator(W.trigger).waitFor({ state: "visible" });
    await page.locator(W.trigger).click();
    await page.locator(W.mode("photo")).click();
    await page.locator(W.action("consent")).click();
    await page.locator(W.file).setInputFiles(inject("fixtures").photo);
    await page.locator(RESULT).waitFor();
    await page.locator(NEXT).first().waitFor();
    const pick = String(await page.locator(NEXT).last().getAttribute("data-next"));
    await page.locator(`${NEXT}[data-next="${pick}"]`).click();
    await until(() => title(page), (t) => !t.startsWith("Round optical frames"), "the recommended product's result");
    await page.locator(RESULT).waitFor();
    const recTitle = (await title(page)).split(" — ")[0];
    await page.locator(W.action("add-to-cart")).click();
    await page.locator("[data-tryon-widget] .extras[data-cart=accepted]").waitFor();
    await page.goto(`${inject("baseUrl")}/demo/cart`);
    await page.getByRole("button", { name: "Place order" }).click();
    await page.locator("#order-number").waitFor();

    const link = execFileSync(join(REPO, ".venv", "bin", "tryon"), ["dashboard", "link", "--merchant", "Tryon demo store"], {
      cwd: REPO,
      env: inject("env"),
      encoding: "utf8",
    }).trim();
    await page.goto(link);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/dashboard$/);
    const row = page.locator("#recs-products tr", { hasText: recTitle });
    const cells = await until(
      async () => {
        await page.reload();
        await page.locator("#recs-products tr").first().waitFor();
        return (await row.count()) ? row.first().locator("td").allTextContents() : [];
      },
      (c) => c.length === 6 && Number(c[1]) >= 1 && Number(c[3]) >= 1,
      "the recommended product tried and bought on the dashboard",
    );
    expect(Number(cells[4])).toBeGreaterThanOrEqual(1); // units
    expect(await page.locator("#recs-totals").textContent()).toMatch(/try-ons from recommendations/);
    await page.locator("#recs").scrollIntoViewIfNeeded();
    await shot(page, "dashboard-recommendations");
    expect(session.problems).toEqual([]);
  });
});
