// Drives the module's product page script (view/frontend/web/js/tryon-product.js) in chromium
// (playwright-core from sdk_js) on the template as PHP rendered it, inside a Magento-shaped
// add-to-cart form. Usage: node page.mjs <rendered.html> <tryon-product.js> <out.json>.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";

const require = createRequire(new URL("../../../sdk_js/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const [htmlPath, scriptPath, out] = process.argv.slice(2);
const rendered = readFileSync(htmlPath, "utf8");
const browser = await chromium.launch({
  executablePath: process.env.TRYON_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const result = { errors: [], steps: {} };
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => result.errors.push(String(e)));
  await page.route("**/*", (route) => route.abort()); // no network: the SDK is not loaded
  await page.setContent(`<!doctype html><html><body>
    <script>
      // What the SDK offers the page script: on(event, handler). The handlers are kept here.
      // addedToCart records the page's own adds and answers a widget session, as the SDK does.
      window.added = [];
      window.TryOn = {
        handlers: {},
        on(name, fn) { this.handlers[name] = fn; },
        addedToCart(add) { window.added.push(add); return "wsess-page-0001"; },
      };
      window.submitted = [];
      document.addEventListener("submit", (e) => {
        e.preventDefault();
        window.submitted.push(Object.fromEntries(new FormData(e.target)));
      });
    </script>
    <form id="product_addtocart_form" action="/checkout/cart/add/" method="post">
      <input type="hidden" name="product" value="2046">
      <input type="hidden" name="selected_configurable_option" value="">
      <select name="super_attribute[93]" id="size"><option value="">Size</option>
        <option value="5">S</option><option value="6">M</option></select>
    </form>
    ${rendered}
  </body></html>`);
  await page.addScriptTag({ path: scriptPath });
  const block = page.locator("[data-tryon-block]");
  result.steps.initial = await block.getAttribute("data-tryon-variant");

  // Magento's configurable script writes the chosen simple product, then the select changes.
  const pick = async (value) => {
    await page.evaluate((v) => {
      document.querySelector('[name="selected_configurable_option"]').value = v;
      document.getElementById("size").dispatchEvent(new Event("change", { bubbles: true }));
    }, value);
    await page.waitForTimeout(50);
    return block.getAttribute("data-tryon-variant");
  };
  result.steps.picked = await pick("2048");
  result.steps.unknown = await pick("9999");
  result.steps.again = await pick("2047");

  result.steps.session = await page.evaluate(() => {
    window.TryOn.handlers.result({ productId: "2046", tryonSessionId: "sess-1234-abcd" });
    window.TryOn.handlers.result({ productId: "77", tryonSessionId: "other-product-x" });
    return document.querySelector('#product_addtocart_form [name="tryon_session"]')?.value;
  });
  result.steps.submitted = await page.evaluate(() => {
    window.TryOn.handlers.add_to_cart({
      productId: "2046",
      tryonSessionId: "sess-5678-efgh",
      widgetSessionId: "wsess-widget-01",
    });
    return window.submitted;
  });
  // The widget's add was the SDK's to report: nothing went through addedToCart.
  result.steps.addedByWidget = await page.evaluate(() => window.added.length);
  // The page's own "Add to cart": reported with addedToCart, its answer on the form.
  result.steps.own = await page.evaluate(() => {
    window.submitted = [];
    document.getElementById("product_addtocart_form").requestSubmit();
    return { submitted: window.submitted, added: window.added };
  });
  result.scriptTags = await page.evaluate(() =>
    [...document.querySelectorAll("script[src]")].map((s) => ({
      src: s.getAttribute("src"),
      integrity: s.getAttribute("integrity"),
    })),
  );
} finally {
  await browser.close();
}
writeFileSync(out, JSON.stringify(result));
