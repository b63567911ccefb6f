/**
 * Usage beacons: batched, flushed every few seconds and when the page is hidden, retried on
 * failure (the server dedupes on `event_id`). They carry no image, no face data and nothing
 * about the shopper but a random id per page session.
 */

export type EventType =
  | "impression"
  | "eligible"
  | "open"
  | "tryon_started"
  | "tryon_rendered"
  | "tryon_failed"
  | "size_recommended"
  | "add_to_cart";

export interface AnalyticsEvent {
  schema_version: 1;
  event_id: string;
  type: EventType;
  occurred_at: string;
  widget_session_id: string;
  tryon_session_id: string | null;
  product_id: string;
  variant_id: string | null;
  properties: Record<string, string | number | boolean | null>;
  experiment?: { id: string; arm: string; shopper_id: string };
}

export interface Transport {
  /** Send one batch; resolve true when the server took it. `unloading` asks for a keepalive send. */
  send(body: string, unloading: boolean): Promise<boolean>;
}

export const MAX_BATCH = 25;
export const MAX_QUEUE = 200;
export const FLUSH_INTERVAL_MS = 5000;
/** Browsers cap the bodies of all pending keepalive requests at 64 KiB. */
const MAX_KEEPALIVE_BODY = 60 * 1024;

/** A random RFC 4122 version 4 UUID (works outside secure contexts, unlike `randomUUID`). */
export function uuid4(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class Analytics {
  readonly widgetSessionId = uuid4();
  /** A running holdout's shopper, experiment and arm, sent with every event once known. */
  experiment: { id: string; arm: string; shopper_id: string } | null = null;
  private queue: AnalyticsEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sending = false;

  constructor(
    private readonly transport: Transport,
    private readonly enabled: boolean,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Listen for the page being hidden or left, when the queue must go out at once. */
  attach(win: Window): void {
    if (!this.enabled) return;
    const flushNow = () => void this.flush(true);
    win.addEventListener("pagehide", flushNow);
    win.document.addEventListener("visibilitychange", () => {
      if (win.document.visibilityState === "hidden") flushNow();
    });
  }

  track(
    type: EventType,
    fields: { productId: string; variantId: string | null; tryonSessionId?: string | null },
    properties: AnalyticsEvent["properties"] = {},
  ): void {
    if (!this.enabled) return;
    this.queue.push({
      schema_version: 1,
      event_id: uuid4(),
      type,
      occurred_at: this.now().toISOString(),
      widget_session_id: this.widgetSessionId,
      tryon_session_id: fields.tryonSessionId ?? null,
      product_id: fields.productId,
      variant_id: fields.variantId,
      properties,
      ...(this.experiment && { experiment: this.experiment }),
    });
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE);
    if (this.queue.length >= MAX_BATCH) void this.flush(false);
    else this.schedule();
  }

  /** Events waiting to be sent (for tests and debugging). */
  pending(): readonly AnalyticsEvent[] {
    return this.queue;
  }

  /** Send what is queued; failed batches go back to the front of the queue. */
  async flush(unloading: boolean): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0 || (this.sending && !unloading)) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch(unloading);
        let ok = false;
        try {
          ok = await this.transport.send(JSON.stringify({ events: batch, sent_at: this.now().toISOString() }), unloading);
        } catch {
          ok = false;
        }
        if (!ok) {
          this.queue.unshift(...batch);
          if (this.queue.length > MAX_QUEUE) this.queue.length = MAX_QUEUE;
          this.schedule();
          return;
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private takeBatch(unloading: boolean): AnalyticsEvent[] {
    const batch = this.queue.splice(0, MAX_BATCH);
    if (!unloading) return batch;
    while (batch.length > 1 && JSON.stringify({ events: batch }).length > MAX_KEEPALIVE_BODY) {
      this.queue.unshift(batch.pop() as AnalyticsEvent);
    }
    return batch;
  }

  private schedule(): void {
    if (this.timer === null && this.queue.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush(false);
      }, FLUSH_INTERVAL_MS);
    }
  }
}

/**
 * POST /v1/events with the publishable key. When the page goes away the batch is handed to
 * `navigator.sendBeacon` (as text/plain with `?key=`, so no preflight is needed and the
 * browser delivers it after the page is gone); otherwise, or when the beacon is refused, a
 * `fetch` with `keepalive`.
 */
export function httpTransport(url: string, key: string): Transport {
  return {
    async send(body, unloading) {
      if (unloading && typeof navigator !== "undefined" && typeof navigator.sendBeacon === "function") {
        const beaconUrl = `${url}${url.includes("?") ? "&" : "?"}key=${encodeURIComponent(key)}`;
        if (navigator.sendBeacon(beaconUrl, new Blob([body], { type: "text/plain" }))) return true;
      }
      try {
        const response = await fetch(url, {
          method: "POST",
          body,
          keepalive: unloading,
          credentials: "omit",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
        });
        // 4xx other than 429 will not get better by retrying: drop the batch.
        return response.ok || (response.status >= 400 && response.status < 500 && response.status !== 429);
      } catch {
        return false;
      }
    },
  };
}
