// Drives the BigCommerce storefront loader in chromium (playwright-core from sdk_js).
// Usage: node loader.mjs <page url> <out.json>. Writes what the page did as JSON.
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";

const require = createRequire(new URL("../../../sdk_js/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const [url, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.TRYON_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const result = { events: [], errors: [] };
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => result.errors.push(String(e)));
  result.console = [];
  page.on("console", (m) => result.console.push(m.text()));
  page.on("requestfailed", (r) => result.console.push("failed " + r.url()));
  page.on("request", (r) => {
    if (r.url().includes("/v1/events")) result.events.push(r.postData());
  });
  await page.goto(url);
  const mount = page.locator("[data-tryon-product]");
  await mount.waitFor({ state: "attached", timeout: 20000 });
  await page.waitForFunction(
    () => document.querySelector("[data-tryon-product]")?.getAttribute("data-tryon-variant"),
    null,
    { timeout: 20000 },
  );
  result.product = await mount.getAttribute("data-tryon-product");
  result.firstVariant = await mount.getAttribute("data-tryon-variant");
  await page.selectOption('select[name="attribute[101]"]', "2");
  await page.waitForFunction(
    (first) => document.querySelector("[data-tryon-product]").getAttribute("data-tryon-variant") !== first,
    result.firstVariant,
    { timeout: 20000 },
  );
  result.pickedVariant = await mount.getAttribute("data-tryon-variant");
  result.sdkScript = await page.evaluate(() => {
    const s = [...document.scripts].find((x) => x.src.includes("/sdk/"));
    return s ? { src: s.src, integrity: s.integrity, key: s.getAttribute("data-publishable-key") } : null;
  });
  await page.waitForFunction(
    () => {
      const host = document.querySelector("[data-tryon-product] [data-tryon-trigger]");
      return host && !host.hidden;
    },
    null,
    { timeout: 30000 },
  );
  result.buttonShown = true;
  // What the SDK emits after a try-on and "Add to cart" in the widget (its documented event).
  const carried = page.waitForRequest(
    (r) => r.url().includes("/v1/events") && (r.postData() || "").includes("cart_token"),
    { timeout: 20000 },
  );
  const added = page.waitForEvent("console", { predicate: (m) => m.text() === "tryon:cart-added", timeout: 20000 });
  await page.evaluate(() => {
    document.addEventListener("tryon:cart-added", () => console.log("tryon:cart-added"));
    window.__tryonHandlers.add_to_cart({
      productId: document.querySelector("[data-tryon-product]").getAttribute("data-tryon-product"),
      variantId: document.querySelector("[data-tryon-product]").getAttribute("data-tryon-variant"),
      widgetSessionId: "w-4f1c2a9e7b",
      tryonSessionId: "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d",
    });
  });
  await added;
  const request = await carried;
  const response = await request.response();
  result.eventsStatus = response ? response.status() : null;
  await page.screenshot({ path: out.replace(/\.json$/, ".png") });
} catch (e) {
  result.errors.push(String(e));
} finally {
  await browser.close();
  writeFileSync(out, JSON.stringify(result));
}
