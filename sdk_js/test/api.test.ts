import { describe, expect, it, vi } from "vitest";
import { ApiClient, parseConfig, parseGeometryHeader } from "../src/api";
import { TryOnError } from "../src/errors";

describe("ApiClient", () => {
  it("builds the live URL with the key, over ws or wss", () => {
    const url = new URL(new ApiClient("https://api.example", "pk_k").liveUrl("p 1", null, "s1"));
    expect(url.protocol).toBe("wss:");
    expect(url.pathname).toBe("/v1/widget/live");
    expect(Object.fromEntries(url.searchParams)).toEqual({ key: "pk_k", product: "p 1", session: "s1", output: "render" });
    expect(new ApiClient("http://127.0.0.1:8000", "pk_k").liveUrl("p", "v", null)).toMatch(/^ws:\/\/127\.0\.0\.1:8000\/v1\/widget\/live\?/);
  });

  it("turns problem+json into a coded error with Retry-After", async () => {
    vi.stubGlobal("fetch", async () =>
      new Response(JSON.stringify({ type: "/problems/quota-exceeded", title: "Quota", status: 429, detail: "used up" }), {
        status: 429,
        headers: { "Content-Type": "application/problem+json", "Retry-After": "3600" },
      }),
    );
    const err = await new ApiClient("https://a", "pk_k").config("p", null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TryOnError);
    expect(err).toMatchObject({ code: "quota_reached", message: "used up", retryAfter: 3600 });
  });

  it("says offline when the browser is offline, network when the server is unreachable", async () => {
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("Failed to fetch");
    });
    const api = new ApiClient("https://a", "pk_k");
    await expect(api.config("p", null)).rejects.toMatchObject({ code: "network" });
    vi.spyOn(navigator, "onLine", "get").mockReturnValue(false);
    await expect(api.config("p", null)).rejects.toMatchObject({ code: "offline" });
  });

  it("sends the key, never cookies, and the geometry header comes back parsed", async () => {
    const seen: RequestInit[] = [];
    vi.stubGlobal("fetch", async (_url: string, init: RequestInit) => {
      seen.push(init);
      return new Response(new Blob([new Uint8Array([0xff, 0xd8, 0xff])]), {
        status: 200,
        headers: { "Content-Type": "image/jpeg", "Tryon-Geometry": '{"faces":[{"frame_width_px":120}]}' },
      });
    });
    const result = await new ApiClient("https://a", "pk_k").tryOnPhoto(new Blob([], { type: "image/jpeg" }), "p", "v", "s");
    expect(result.geometry).toEqual({ faces: [{ frame_width_px: 120 }] });
    expect(seen[0]).toMatchObject({ method: "POST", credentials: "omit" });
    expect(seen[0].headers).toMatchObject({ Authorization: "Bearer pk_k", Accept: "image/jpeg", "Content-Type": "image/jpeg" });
  });
});

describe("parsers", () => {
  it("reads a widget config, tolerating missing members", () => {
    const wc = parseConfig({
      product: { external_id: "p", title: "Round", category: "eyewear", variants: [{ id: "0b7c-uuid", external_id: "v1", color: "Black", has_asset: true }, { external_id: "v2", has_asset: false }, { title: "no id" }] },
      modes: ["live", "photo", "teleport"],
      quota: { remaining: 0 },
    });
    // Variants are known by their external ids only: that is what every API answer refers to.
    expect(wc.product.variants.map((v) => [v.id, v.hasAsset])).toEqual([["v1", true], ["v2", false]]);
    expect(wc.modes).toEqual(["live", "photo"]);
    expect(wc.quotaExhausted).toBe(true);
    expect(wc.models).toEqual([]);
    expect(() => parseConfig({})).toThrow(TryOnError);
  });

  it("ignores an unreadable geometry header", () => {
    expect(parseGeometryHeader("{not json")).toBeNull();
    expect(parseGeometryHeader(null)).toBeNull();
    expect(parseGeometryHeader("42")).toBeNull();
  });

  it("reads recommendations by external id and drops malformed items", async () => {
    const urls: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      urls.push(url);
      return new Response(
        JSON.stringify({
          product_id: "x",
          data: [
            { external_id: "cat-eye", title: "Cat-eye", frame_shape: "cat-eye", because: ["similar", 3] },
            { title: "no id" },
            null,
            { external_id: "hat", frame_shape: 7 },
          ],
        }),
        { status: 200, headers: { "Content-Type": "application/json" } },
      );
    });
    const found = await new ApiClient("https://a", "pk_k").recommendations("round glasses");
    expect(new URL(urls[0]).pathname).toBe("/v1/widget/recommendations");
    expect(new URL(urls[0]).searchParams.get("product")).toBe("round glasses");
    expect(found).toEqual([
      { id: "cat-eye", title: "Cat-eye", frameShape: "cat-eye", because: ["similar"] },
      { id: "hat", title: "hat", frameShape: null, because: [] },
    ]);
  });
});

describe("several faces", () => {
  it("reads the analysis's faces in the API's order and drops unusable boxes", async () => {
    const { parseAnalysis } = await import("../src/api");
    const parsed = parseAnalysis({
      width: 640,
      height: 480,
      faces: [
        { box: [10, 20, 110, 140], glasses: { present: true, score: 0.9, dark: false } },
        { box: [300, 40, 360, 110] },
        { box: [5, 5, 5, 9] },
        { box: ["x", 1, 2, 3] },
        { box: [1, 2, 3] },
        null,
      ],
    });
    expect(parsed).toEqual({
      width: 640,
      height: 480,
      faces: [
        { box: [10, 20, 110, 140], glasses: true },
        { box: [300, 40, 360, 110], glasses: false },
      ],
    });
    expect(parseAnalysis("nonsense").faces).toEqual([]);
  });

  it("asks for the chosen face only when it is not the largest", async () => {
    const urls: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      urls.push(url);
      return new Response(new Blob([new Uint8Array([0xff, 0xd8, 0xff])]), { status: 200, headers: { "Content-Type": "image/jpeg" } });
    });
    const api = new ApiClient("https://a", "pk_k");
    const photo = new Blob([new Uint8Array([1])], { type: "image/jpeg" });
    await api.tryOnPhoto(photo, "p", null, null);
    await api.tryOnPhoto(photo, "p", null, null, 2);
    expect(new URL(urls[0]).searchParams.has("face")).toBe(false);
    expect(new URL(urls[1]).searchParams.get("face")).toBe("2");
  });
});
