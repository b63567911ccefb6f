/**
 * Run the web pixel extension as Shopify's sandbox would: the built extension (src/index.ts
 * compiled by tsc, with the real @shopify/web-pixels-extension `register`) is loaded under a
 * stand-in `shopify.extend` that hands it `analytics`, `init` and `settings`; then one
 * `checkout_completed` event is published. Prints what the pixel fetched and the answer.
 *
 *   node e2e/pixel-harness.mjs BUILT_INDEX_JS '{"shop", "settings", "event"}'
 */
import { pathToFileURL } from "node:url";

const [built, raw] = process.argv.slice(2);
const { shop, settings, event } = JSON.parse(raw);
const subscribers = {};
const sent = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const response = await realFetch(url, init);
  sent.push({ url: String(url), headers: init?.headers ?? {}, body: JSON.parse(init?.body ?? "null"), status: response.status, answer: await response.text() });
  return response;
};
globalThis.shopify = {
  extend(point, extension) {
    extension({
      analytics: { subscribe: (name, callback) => ((subscribers[name] = callback), () => true) },
      init: { data: { shop: { myshopifyDomain: shop } }, context: {}, customerPrivacy: {} },
      settings,
      browser: {},
      customerPrivacy: { subscribe: () => undefined },
      _pixelInfo: { point },
    });
  },
};
await import(pathToFileURL(built).href);
if (!subscribers.checkout_completed) throw new Error("the pixel did not subscribe to checkout_completed");
subscribers.checkout_completed(event);
const deadline = Date.now() + 30_000;
while (sent.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ subscribed: Object.keys(subscribers), sent }));
