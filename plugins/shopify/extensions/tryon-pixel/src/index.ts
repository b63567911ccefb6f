/**
 * The try-on web pixel: on `checkout_completed`, tell the gateway which order came from a cart
 * the widget touched. A second signal next to the orders/create webhook (themes that drop line
 * item properties); the gateway never counts an order twice. Sent only when Shopify's consent
 * allows analytics (the extension's customer_privacy), and only our `_tryon_*` values.
 */
import { register } from "@shopify/web-pixels-extension";
import { buildPayload, isAttributable } from "./payload";

interface Settings {
  apiBase?: string;
  publishableKey?: string;
}

register(({ analytics, init, settings }) => {
  const { apiBase, publishableKey } = settings as Settings;
  if (!apiBase || !/^https?:\/\//.test(apiBase) || !publishableKey) return;
  const endpoint = `${apiBase.replace(/\/+$/, "")}/platforms/shopify/pixel`;
  const shop = init.data.shop.myshopifyDomain;

  analytics.subscribe("checkout_completed", (event) => {
    const payload = buildPayload(event, shop);
    if (!isAttributable(payload)) return;
    // keepalive: the thank-you page may be left at once; the gateway dedupes on the order id.
    void fetch(endpoint, {
      method: "POST",
      keepalive: true,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${publishableKey}` },
      body: JSON.stringify(payload),
    }).catch(() => undefined);
  });
});
