/**
 * Drive Debian's chromium (playwright-core from sdk_js/node_modules; never a downloaded
 * browser) through a WooCommerce product page served by a real WordPress with the plugin, and
 * try on with the real SDK from a real gateway. Called by
 * tests/plugins/woocommerce/test_product_page_e2e.py; reports what the page did as JSON on
 * stdout (exit 1 with {"error"} when a step did not happen in time).
 *
 *   node e2e/product-page.mjs '{"page": URL, "variation": ID, "photo": PATH, "artifacts": DIR,
 *                               "playwright": FILE_URL}'
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cfg = JSON.parse(process.argv[2]);
const { chromium } = await import(cfg.playwright);
const CHROMIUM = process.env.TRYON_CHROMIUM ?? "/usr/bin/chromium";
const BOX = "[data-tryon-product]";
const TRIGGER = `${BOX} [data-tryon-trigger] button`;
const W = {
  mode: (m) => `[data-tryon-widget] [data-mode=${m}]`,
  action: (a) => `[data-tryon-widget] [data-action=${a}]`,
  file: "[data-tryon-widget] input[type=file]",
  result: "[data-tryon-widget] .stage[data-state=result]",
};
const HIDDEN = 'form.cart input[name="tryon_session"]';
const out = { problems: [], steps: [] };

const profile = mkdtempSync(join(tmpdir(), "tryon-woo-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  chromiumSandbox: false,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 860 },
  locale: "en-GB",
  deviceScaleFactor: 1,
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(60_000);
page.on("console", (m) => m.type() === "error" && out.problems.push(`console: ${m.text()}`));
page.on("pageerror", (e) => out.problems.push(`pageerror: ${e.message}`));
page.on("response", (r) => r.status() >= 400 && out.problems.push(`http ${r.status()}: ${r.request().method()} ${r.url()}`));
const shot = (name) => page.screenshot({ path: join(cfg.artifacts, `${name}.png`) });
const attrs = async () => ({ product: await page.getAttribute(BOX, "data-tryon-product"), variant: await page.getAttribute(BOX, "data-tryon-variant") });

try {
  await page.goto(cfg.page);
  out.title = await page.title();
  out.sdk_tag = await page.evaluate(() => {
    const s = document.querySelector("script[data-publishable-key]");
    return s && { src: s.src, integrity: s.integrity, defer: s.defer, crossorigin: s.crossOrigin };
  });
  out.initial = await attrs();
  await page.locator(TRIGGER).waitFor({ state: "visible" });
  out.label = (await page.locator(TRIGGER).textContent())?.trim();
  await shot("woocommerce-product-page");
  out.steps.push("button");

  // The shopper picks a colour in the variation form: the placeholder follows.
  await page.selectOption("#pick-variation", String(cfg.variation));
  await page.waitForFunction(([sel, v]) => document.querySelector(sel)?.getAttribute("data-tryon-variant") === v, [BOX, String(cfg.variation)]);
  out.after_pick = await attrs();
  out.steps.push("variation");

  // Photo try-on through the widget, as a shopper does.
  const created = page.waitForResponse((r) => r.url().includes("/v1/widget/sessions") && r.request().method() === "POST");
  const rendered = page.waitForResponse((r) => r.url().includes("/v1/widget/tryon"));
  await page.locator(TRIGGER).click();
  await page.locator(W.mode("photo")).click();
  await page.locator(W.action("consent")).click();
  await page.locator(W.file).setInputFiles(cfg.photo);
  const session = await created;
  out.session = (await session.json()).session_id;
  out.session_request = session.request().postDataJSON();
  out.tryon_status = (await rendered).status();
  await page.locator(W.result).waitFor();
  await shot("woocommerce-tryon-result");
  await page.waitForFunction((sel) => document.querySelector(sel)?.value, HIDDEN);
  out.hidden_after_tryon = await page.inputValue(HIDDEN);
  out.steps.push("tryon");

  // The page's own "Add to cart": the plugin's script reports it with TryOn.addedToCart and
  // posts its answer with the form (recorded here, the post itself stopped).
  await page.keyboard.press("Escape");
  out.own_button = await page.evaluate(() => {
    const seen = { added: [], posted: [] };
    const real = window.TryOn.addedToCart;
    window.TryOn.addedToCart = (add) => {
      const id = real.call(window.TryOn, add);
      seen.added.push({ add, id });
      return id;
    };
    document.addEventListener("submit", (e) => {
      e.preventDefault();
      seen.posted.push(Object.fromEntries(new FormData(e.target)));
    });
    document.querySelector("form.cart").requestSubmit(document.querySelector(".single_add_to_cart_button"));
    return seen;
  });
  out.steps.push("own-button");
} catch (error) {
  out.error = String(error && error.message ? error.message : error);
  await shot("woocommerce-failure").catch(() => {});
}
await context.close();
rmSync(profile, { recursive: true, force: true });
process.stdout.write(JSON.stringify(out));
process.exit(out.error ? 1 : 0);
