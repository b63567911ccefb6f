/**
 * What the pixel sends for `checkout_completed`: the order, the cart attributes and each line's
 * properties, so the gateway can join the order to the try-on (docs/attribution.md). Pure, no
 * globals: built from the event and the shop domain.
 */
import type { PixelEventsCheckoutCompleted } from "@shopify/web-pixels-extension";

export interface PixelLine {
  product_id: string | null;
  variant_id: string | null;
  quantity: number;
  price: string | null;
  properties: Record<string, string>;
}

export interface PixelPayload {
  shop: string;
  order_id: string | null;
  checkout_token: string | null;
  attributes: Record<string, string>;
  lines: PixelLine[];
  total: string | null;
  currency: string | null;
}

/** Only the underscore-prefixed names we write (`_tryon_session`, `_tryon_widget_session`). */
const OURS = /^_tryon_[a-z_]{1,40}$/;
const MAX_VALUE = 128;

/** The numeric id at the end of a Shopify id ("gid://shopify/Order/123" or "123"), as the
 * catalog sync names external ids; null when there is none. */
export function legacyId(id: string | null | undefined): string | null {
  const match = id ? /(\d+)$/.exec(id) : null;
  return match ? match[1] : null;
}

function pick(pairs: readonly { key: string; value: string | null }[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    if (OURS.test(pair.key) && typeof pair.value === "string" && pair.value.length <= MAX_VALUE) out[pair.key] = pair.value;
  }
  return out;
}

function amount(value: number | null | undefined): string | null {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(2) : null;
}

export function buildPayload(event: PixelEventsCheckoutCompleted, shop: string): PixelPayload {
  const checkout = event.data.checkout;
  return {
    shop,
    order_id: legacyId(checkout.order?.id),
    checkout_token: checkout.token ?? null,
    attributes: pick(checkout.attributes),
    lines: (checkout.lineItems ?? []).map((line) => ({
      product_id: legacyId(line.variant?.product?.id),
      variant_id: legacyId(line.variant?.id),
      quantity: line.quantity,
      price: amount(line.variant?.price?.amount),
      properties: pick(line.properties),
    })),
    total: amount(checkout.totalPrice?.amount),
    currency: checkout.currencyCode ?? checkout.totalPrice?.currencyCode ?? null,
  };
}

/** Worth sending: the order is known and something in it came from the widget. */
export function isAttributable(payload: PixelPayload): boolean {
  return payload.order_id !== null && (Object.keys(payload.attributes).length > 0 || payload.lines.some((l) => Object.keys(l.properties).length > 0));
}
