import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Analytics, FLUSH_INTERVAL_MS, MAX_BATCH, MAX_QUEUE, httpTransport, uuid4, type Transport } from "../src/analytics";

const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const IDS = { productId: "round-glasses", variantId: "round-glasses-black" };

/** A transport that records what it is given and answers as told. */
function recorder(answer: () => boolean = () => true) {
  const sent: { body: unknown; unloading: boolean }[] = [];
  const transport: Transport = {
    send: async (body, unloading) => {
      sent.push({ body: JSON.parse(body), unloading });
      return answer();
    },
  };
  return { sent, transport };
}

describe("Analytics", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("builds the agreed envelope, with nothing personal in it", async () => {
    const { sent, transport } = recorder();
    const a = new Analytics(transport, true, () => new Date("2026-05-04T10:11:12.345Z"));
    a.track("tryon_rendered", { ...IDS, tryonSessionId: "s1" }, { mode: "photo", category: "eyewear", latency_ms: 412 });
    await a.flush(false);
    expect(sent).toHaveLength(1);
    const [event] = (sent[0].body as { events: Record<string, unknown>[] }).events;
    expect((sent[0].body as { sent_at: string }).sent_at).toBe("2026-05-04T10:11:12.345Z");
    expect(Object.keys(event).sort()).toEqual(
      ["event_id", "occurred_at", "product_id", "properties", "schema_version", "tryon_session_id", "type", "variant_id", "widget_session_id"],
    );
    expect(event).toMatchObject({
      schema_version: 1,
      type: "tryon_rendered",
      occurred_at: "2026-05-04T10:11:12.345Z",
      product_id: "round-glasses",
      variant_id: "round-glasses-black",
      tryon_session_id: "s1",
      widget_session_id: a.widgetSessionId,
      properties: { mode: "photo", category: "eyewear", latency_ms: 412 },
    });
    expect(event.event_id).toMatch(UUID4);
    expect(a.widgetSessionId).toMatch(UUID4);
  });

  it("batches until the timer fires", async () => {
    const { sent, transport } = recorder();
    const a = new Analytics(transport, true);
    a.track("impression", IDS);
    a.track("open", IDS);
    expect(sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(FLUSH_INTERVAL_MS);
    expect(sent).toHaveLength(1);
    expect((sent[0].body as { events: unknown[] }).events).toHaveLength(2);
  });

  it("sends a full batch at once", async () => {
    const { sent, transport } = recorder();
    const a = new Analytics(transport, true);
    for (let i = 0; i < MAX_BATCH; i++) a.track("impression", IDS);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    expect(a.pending()).toHaveLength(0);
  });

  it("sends with keepalive when the page is hidden or left", async () => {
    const { sent, transport } = recorder();
    const a = new Analytics(transport, true);
    a.attach(window);
    a.track("open", IDS);
    window.dispatchEvent(new Event("pagehide"));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([expect.objectContaining({ unloading: true })]);
    a.track("add_to_cart", IDS);
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    document.dispatchEvent(new Event("visibilitychange"));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(2);
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
  });

  it("keeps a failed batch, in order, and sends it again later", async () => {
    let up = false;
    const { sent, transport } = recorder(() => up);
    const a = new Analytics(transport, true);
    a.track("impression", IDS);
    a.track("open", IDS);
    await a.flush(false);
    expect(a.pending().map((e) => e.type)).toEqual(["impression", "open"]);
    up = true;
    await vi.advanceTimersByTimeAsync(FLUSH_INTERVAL_MS);
    expect(a.pending()).toHaveLength(0);
    const last = sent[sent.length - 1].body as { events: { type: string; event_id: string }[] };
    expect(last.events.map((e) => e.type)).toEqual(["impression", "open"]);
    // Same event ids on the retry: the server dedupes on them.
    expect(last.events[0].event_id).toBe((sent[0].body as { events: { event_id: string }[] }).events[0].event_id);
  });

  it("bounds the queue while the server is unreachable", async () => {
    const { transport } = recorder(() => false);
    const a = new Analytics(transport, true);
    for (let i = 0; i < MAX_QUEUE * 2; i++) a.track("impression", IDS);
    await vi.advanceTimersByTimeAsync(0);
    expect(a.pending().length).toBeLessThanOrEqual(MAX_QUEUE);
  });

  it("splits an unload flush to fit the keepalive body limit", async () => {
    const { sent, transport } = recorder();
    const a = new Analytics(transport, true);
    for (let i = 0; i < MAX_BATCH - 1; i++) a.track("impression", IDS, { category: "x".repeat(4000) });
    await a.flush(true);
    expect(sent.length).toBeGreaterThan(1);
    for (const s of sent) expect(JSON.stringify(s.body).length).toBeLessThanOrEqual(60 * 1024);
  });

  it("does nothing when disabled", async () => {
    const { sent, transport } = recorder();
    const a = new Analytics(transport, false);
    a.track("open", IDS);
    await a.flush(true);
    expect(sent).toHaveLength(0);
  });

  it("makes distinct version 4 UUIDs", () => {
    const ids = new Set(Array.from({ length: 1000 }, uuid4));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(UUID4);
  });
});

describe("httpTransport", () => {
  it("hands an unloading batch to sendBeacon as text/plain with the key in the query", async () => {
    const beacons: { url: string; type: string; text: string }[] = [];
    vi.stubGlobal("fetch", async () => {
      throw new Error("fetch must not be used when the beacon is taken");
    });
    Object.defineProperty(navigator, "sendBeacon", {
      configurable: true,
      value: (url: string, data: Blob) => {
        beacons.push({ url, type: data.type, text: "" });
        return true;
      },
    });
    try {
      expect(await httpTransport("https://api.example/v1/events", "pk_test").send('{"events":[]}', true)).toBe(true);
      expect(beacons).toEqual([{ url: "https://api.example/v1/events?key=pk_test", type: "text/plain", text: "" }]);
    } finally {
      delete (navigator as unknown as { sendBeacon?: unknown }).sendBeacon;
    }
  });

  it("falls back to fetch keepalive when the beacon is refused", async () => {
    Object.defineProperty(navigator, "sendBeacon", { configurable: true, value: () => false });
    const calls: RequestInit[] = [];
    vi.stubGlobal("fetch", async (_url: string, init: RequestInit) => {
      calls.push(init);
      return new Response(null, { status: 202 });
    });
    try {
      expect(await httpTransport("https://x/v1/events", "pk").send("{}", true)).toBe(true);
      expect(calls[0].keepalive).toBe(true);
    } finally {
      delete (navigator as unknown as { sendBeacon?: unknown }).sendBeacon;
    }
  });

  it("posts JSON with the key and drops batches the server refuses for good", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const statuses = [202, 400, 429, 503];
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(null, { status: statuses[calls.length - 1] });
    });
    const t = httpTransport("https://api.example/v1/events", "pk_test");
    expect(await t.send("{}", true)).toBe(true); // 202: taken
    expect(await t.send("{}", false)).toBe(true); // 400: will never be taken, drop it
    expect(await t.send("{}", false)).toBe(false); // 429: retry later
    expect(await t.send("{}", false)).toBe(false); // 503: retry later
    expect(calls[0].url).toBe("https://api.example/v1/events");
    expect(calls[0].init).toMatchObject({ method: "POST", keepalive: true, credentials: "omit" });
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe("Bearer pk_test");
    expect(calls[1].init.keepalive).toBe(false);
  });

  it("answers false when the network fails", async () => {
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("Failed to fetch");
    });
    expect(await httpTransport("https://x/v1/events", "pk").send("{}", false)).toBe(false);
  });
});
