// Drives the BigCommerce storefront loader in chromium (playwright-core from sdk_js).
// Usage: node loader.mjs <page url> <out.json> <photo>. Writes what the page did as JSON.
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";

const require = createRequire(new URL("../../../sdk_js/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const [url, out, photo] = process.argv.slice(2);
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
  // A real try-on in the widget (photo mode), then its "Add to cart".
  const W = {
    trigger: "[data-tryon-product] [data-tryon-trigger] button",
    mode: (m) => `[data-tryon-widget] [data-mode=${m}]`,
    action: (a) => `[data-tryon-widget] [data-action=${a}]`,
    dialog: "[data-tryon-widget] [role=dialog]",
    file: "[data-tryon-widget] input[type=file]",
    result: "[data-tryon-widget] .stage[data-state=result]",
  };
  const carried = page.waitForRequest(
    (r) => r.url().includes("/v1/events") && (r.postData() || "").includes("cart_token"),
    { timeout: 60000 },
  );
  const added = page.waitForEvent("console", { predicate: (m) => m.text() === "tryon:cart-added", timeout: 60000 });
  await page.evaluate(() => {
    document.addEventListener("tryon:cart-added", () => console.log("tryon:cart-added"));
  });
  await page.locator(W.trigger).click();
  await page.locator(W.mode("photo")).click();
  await page.locator(W.action("consent")).click();
  await page.locator(W.file).setInputFiles(photo);
  // The SDK's own events of the try-on (batched, flushed every few seconds).
  const tried = page.waitForRequest(
    (r) => r.url().includes("/v1/events") && /tryon_(started|rendered)/.test(r.postData() || ""),
    { timeout: 60000 },
  );
  await page.locator(W.result).waitFor({ timeout: 60000 });
  await page.screenshot({ path: out.replace(/\.json$/, "-result.png") });
  await page.locator(W.action("add-to-cart")).click();
  await added;
  // The loader answered the SDK's add-to-cart contract with true: the widget says so.
  await page.getByText("Added to your cart").first().waitFor({ timeout: 20000 });
  result.widgetSaidAdded = true;
  const triedRequest = await tried;
  const triedResponse = await triedRequest.response();
  result.triedStatus = triedResponse ? triedResponse.status() : null;
  const request = await carried;
  const response = await request.response();
  result.eventsStatus = response ? response.status() : null;
  await page.screenshot({ path: out.replace(/\.json$/, ".png") });
  // The page's own "Add to cart" (2 pieces), sent by the theme's script as Cornerstone does
  // (it stops the form's navigation): the loader reports it with the cart's id.
  await page.locator("[data-tryon-widget] button.x").click();
  await page.evaluate(() => {
    const form = document.querySelector("form[data-cart-item-add]");
    form.addEventListener("submit", (e) => e.preventDefault());
    form.querySelector('[name="qty[]"]').value = "2";
  });
  const own = page.waitForRequest(
    (r) => r.url().includes("/v1/events") && /"quantity":2/.test(r.postData() || ""),
    { timeout: 60000 },
  );
  own.catch(() => {}); // a failed step below is reported, not an unhandled rejection
  await page.locator("[data-tryon-widget] [role=dialog]").waitFor({ state: "hidden" });
  await page.locator("#form-action-addToCart").click();
  const ownRequest = await own;
  const ownResponse = await ownRequest.response();
  result.ownStatus = ownResponse ? ownResponse.status() : null;
} catch (e) {
  result.errors.push(String(e));
} finally {
  await browser.close();
  writeFileSync(out, JSON.stringify(result));
}
