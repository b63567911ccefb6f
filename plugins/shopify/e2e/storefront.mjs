/**
 * Drive Debian's chromium (playwright-core; never a downloaded browser) through a product page
 * rendered from the theme app extension's Liquid, with the real SDK from a real gateway. Called
 * by tests/plugins/shopify/test_storefront_e2e.py, which serves the store, starts the gateway
 * and checks what the store and the gateway received; this script reports what the page did as
 * JSON on stdout (and exits 1 with {"error"} when a step did not happen in time).
 *
 *   node e2e/storefront.mjs '{"store": URL, "handle", "variants": [ID, ID], "photo": PATH,
 *                             "artifacts": DIR, "tampered": URL?}'
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const cfg = JSON.parse(process.argv[2]);
const CHROMIUM = process.env.TRYON_CHROMIUM ?? "/usr/bin/chromium";
const TRIGGER = "[data-tryon-block] [data-tryon-trigger] button";
const W = {
  mode: (m) => `[data-tryon-widget] [data-mode=${m}]`,
  action: (a) => `[data-tryon-widget] [data-action=${a}]`,
  dialog: "[data-tryon-widget] [role=dialog]",
  file: "[data-tryon-widget] input[type=file]",
  result: "[data-tryon-widget] .stage[data-state=result]",
};
const HIDDEN = 'form[action$="/cart/add"] input[name="properties[_tryon_session]"]';
const out = { problems: [], steps: [] };

const profile = mkdtempSync(join(tmpdir(), "tryon-shopify-chromium-"));
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

const block = () => page.locator("[data-tryon-block]");
const attrs = async () => ({ product: await block().getAttribute("data-tryon-product"), variant: await block().getAttribute("data-tryon-variant") });
const shot = (name) => page.screenshot({ path: join(cfg.artifacts, `${name}.png`) });
const step = (name) => out.steps.push(name);

try {
  if (cfg.tampered) {
    // The same page with the embed pinned to a hash the SDK does not have: the browser must
    // refuse the script, so no button ever appears.
    const problems = out.problems.length;
    await page.goto(cfg.tampered);
    await page.waitForLoadState("load");
    out.tampered = {
      block: await block().count(),
      sdk_loaded: await page.evaluate(() => Boolean(window.TryOn && window.TryOn.version)),
      buttons: await page.locator(TRIGGER).count(),
      console: out.problems.slice(problems),
    };
    out.problems.splice(problems);
    step("tampered");
  }

  if (cfg.dawn) {
    // A Dawn-like page: radios outside the form; the theme sets the hidden `id` input later.
    await page.goto(cfg.dawn);
    await page.locator(TRIGGER).waitFor({ state: "visible" });
    const before = (await attrs()).variant;
    await page.locator(`label[for="pick-${cfg.variants[1]}"]`).click();
    await page.waitForFunction(([v]) => document.querySelector("[data-tryon-block]")?.getAttribute("data-tryon-variant") === v, [cfg.variants[1]]);
    out.dawn = { before, after: (await attrs()).variant, url: await page.evaluate(() => location.search) };
    step("dawn");
  }

  await page.goto(`${cfg.store}/products/${cfg.handle}`);
  out.initial = await attrs();
  await page.locator(TRIGGER).waitFor({ state: "visible" });
  out.label = (await page.locator(TRIGGER).textContent())?.trim();
  out.sdk_scripts = await page.locator("script[data-publishable-key]").count();
  await shot("shopify-product-page");
  step("button");

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
  await shot("shopify-tryon-result");
  await page.waitForFunction((sel) => document.querySelector(sel)?.value, HIDDEN);
  out.hidden_after_tryon = await page.inputValue(HIDDEN);
  step("tryon");

  // The widget's own "Add to cart": the block's script adds the line and the cart attribute.
  const attribute = page.waitForResponse((r) => r.url().endsWith("/cart/update.js"));
  await page.locator(W.action("add-to-cart")).click();
  out.cart_update_status = (await attribute).status();
  step("widget-add-to-cart");
  await page.keyboard.press("Escape");
  await page.locator(W.dialog).waitFor({ state: "hidden" });

  // The shopper picks the other colour in the theme's variant picker: the block follows, and
  // so does the SDK (the widget opens on the new variant).
  await page.selectOption('select[name="id"]', cfg.variants[1]);
  await page.waitForFunction(([v]) => document.querySelector("[data-tryon-block]")?.getAttribute("data-tryon-variant") === v, [cfg.variants[1]]);
  out.after_change = await attrs();
  await page.evaluate(() => window.TryOn.on("open", (e) => (window.__tryonOpened = e)));
  await page.locator(TRIGGER).click();
  await page.waitForFunction(() => window.__tryonOpened);
  out.opened = await page.evaluate(() => window.__tryonOpened);
  await page.keyboard.press("Escape");
  await page.locator(W.dialog).waitFor({ state: "hidden" });
  out.hidden_before_submit = await page.inputValue(HIDDEN);
  step("variant");

  // The theme's own "Add to cart": the form posts the line item property, and the block's
  // script reports the add with TryOn.addedToCart (recorded here across the navigation).
  await page.evaluate(() => {
    const real = window.TryOn.addedToCart;
    window.TryOn.addedToCart = (add) => {
      const id = real.call(window.TryOn, add);
      window.sessionStorage.setItem("e2e:added", JSON.stringify({ add, id }));
      return id;
    };
  });
  await Promise.all([page.waitForURL(/\/cart$/), page.locator('button[name="add"]').click()]);
  out.own_button_add = await page.evaluate(() => JSON.parse(window.sessionStorage.getItem("e2e:added") || "null"));
  step("form-add-to-cart");

  // French storefront (/fr/): the block's label comes from the extension's fr locale, the
  // variant from the ?variant= URL parameter.
  await page.goto(`${cfg.store}/fr/products/${cfg.handle}?variant=${cfg.variants[1]}`);
  await page.locator(TRIGGER).waitFor({ state: "visible" });
  out.fr = { ...(await attrs()), label: (await page.locator(TRIGGER).textContent())?.trim(), lang: await page.evaluate(() => document.documentElement.lang) };
  await shot("shopify-product-page-fr");
  // There the block's script ran before the SDK: its listeners were queued and replayed, so
  // a try-on still lands on the form.
  out.fr.script_order = await page.evaluate(() => [...document.scripts].map((s) => (s.dataset.publishableKey ? "sdk" : s.src.includes("tryon-block") ? "block" : "")).filter(Boolean));
  const frSession = page.waitForResponse((r) => r.url().includes("/v1/widget/sessions") && r.request().method() === "POST");
  await page.locator(TRIGGER).click();
  await page.locator(W.mode("photo")).click();
  await page.locator(W.action("consent")).click();
  await page.locator(W.file).setInputFiles(cfg.photo);
  out.fr.session = (await (await frSession).json()).session_id;
  await page.locator(W.result).waitFor();
  await page.waitForFunction((sel) => document.querySelector(sel)?.value, HIDDEN);
  out.fr.hidden = await page.inputValue(HIDDEN);
  step("fr");
} catch (err) {
  out.error = String(err?.stack ?? err);
  await shot("shopify-failure").catch(() => undefined);
} finally {
  await context.close().catch(() => undefined);
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
process.exit(out.error ? 1 : 0);
