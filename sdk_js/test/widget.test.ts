/**
 * The widget's views that react to what the API says: the live "nobody found" hint (the
 * server's `status` messages), the size panel (size advice among real sizes only) and the
 * colour buttons (colours, never sizes).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Variant } from "../src/api";
import { createTryOn } from "../src/sdk";
import type { EventMap, TryOnAPI } from "../src/types";
import { colourChoices } from "../src/ui/colours";

const KEY = "pk_abcdefghijklmnopqrstuvwxyz012345";

/** A product sold in two colours, one size (the demo's round glasses). */
const COLOURS = {
  product: {
    external_id: "round-glasses",
    title: "Round optical frames",
    category: "eyewear",
    variants: [
      { id: "0b7c4c55-7c7c-4f43-9d43-3c3c5e0c8f11", external_id: "black", title: "Black", color: "Black", size: null, has_asset: true },
      { id: "5b0e6e1c-2b3c-4a4e-8d7c-5f2d8e0b9a21", external_id: "gold", title: "Gold", color: "Gold", size: null, has_asset: true },
    ],
  },
  modes: ["live", "photo", "model"],
  models: [{ id: "m1", name: "Ann", kind: "face", image_url: "/v1/widget/models/m1/image" }],
  quota: { exhausted: false, remaining: 10 },
};

/** A t-shirt in one colour and three sizes. */
const SIZES = {
  ...COLOURS,
  product: {
    external_id: "crew-tshirt",
    title: "Crew t-shirt",
    category: "top",
    variants: ["S", "M", "L"].map((size) => ({ external_id: `navy-${size.toLowerCase()}`, title: `Navy / ${size}`, color: "Navy", size, has_asset: true })),
  },
};

let config: unknown = COLOURS;
let geometry: unknown = null;

async function answer(url: string): Promise<Response> {
  if (url.includes("/v1/widget/config")) return Response.json(config);
  if (url.includes("/v1/widget/sessions")) return Response.json({ session_id: "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d" }, { status: 201 });
  if (url.includes("/tryon")) {
    return new Response(new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: "image/jpeg" }), {
      headers: { "Content-Type": "image/jpeg", "Tryon-Geometry": JSON.stringify(geometry) },
    });
  }
  if (url.includes("/v1/events")) return new Response(null, { status: 202 });
  return new Response(null, { status: 404 });
}

/** Enough of a WebSocket for LiveSession: the test plays the server. */
class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static instances: FakeSocket[] = [];
  readyState = 0;
  binaryType = "blob";
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  say(message: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  send(): void {}
  close(): void {
    this.readyState = 3;
  }
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
const root = () => document.querySelector("[data-tryon-widget]")?.shadowRoot as ShadowRoot;
const click = (selector: string) => (root().querySelector(selector) as HTMLElement).click();

async function until<T>(probe: () => T | null | undefined): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = probe();
    if (value) return value;
    await flush();
  }
  throw new Error("timed out");
}

describe("the widget", () => {
  let tryOn: TryOnAPI;

  beforeEach(() => {
    document.body.replaceChildren();
    config = COLOURS;
    geometry = null;
    FakeSocket.instances = [];
    vi.stubGlobal("fetch", (url: string) => answer(url));
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal("createImageBitmap", async () => ({ width: 4, height: 3, close: () => undefined }));
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
    vi.spyOn(HTMLCanvasElement.prototype, "toBlob").mockImplementation((callback) => callback(null));
    vi.spyOn(HTMLMediaElement.prototype, "play").mockResolvedValue(undefined);
    const stream = { active: true, getTracks: () => [{ stop: () => undefined }] };
    Object.defineProperty(navigator, "mediaDevices", { configurable: true, value: { getUserMedia: async () => stream } });
    tryOn = createTryOn("https://api.example");
    tryOn.init({ publishableKey: KEY, autoMount: false, locale: "en", analytics: false });
  });

  afterEach(() => {
    tryOn.close();
    Reflect.deleteProperty(navigator, "mediaDevices");
  });

  async function startLive(): Promise<FakeSocket> {
    tryOn.open({ productId: "round-glasses", mode: "live" });
    await until(() => root()?.querySelector("[data-action=consent]"));
    click("[data-action=consent]");
    const socket = await until(() => FakeSocket.instances[0]);
    socket.open();
    socket.say({ type: "hello", output: "render" });
    return socket;
  }

  it("tells the shopper, in its live region, when the server finds no face in live mode", async () => {
    const socket = await startLive();
    const status = root().querySelector("[role=status]") as HTMLElement;
    const stage = root().querySelector(".stage") as HTMLElement;
    const overlay = root().querySelector(".overlay") as HTMLElement;
    expect(status.getAttribute("aria-live")).toBe("polite");
    expect(stage.dataset.hint).toBeUndefined();

    socket.say({ type: "status", subject_found: false, reason: "no-face" });
    expect(stage.dataset.hint).toBe("no-face");
    expect(status.textContent).toMatch(/can’t see your face/);
    expect(overlay.hidden).toBe(false);
    expect(overlay.textContent).toBe(status.textContent);
    // The periodic stats do not hide it.
    socket.say({ type: "stats", received: 3, processed: 3, dropped_stale: 0, refused_rate: 0, fps: 12 });
    expect(overlay.hidden).toBe(false);
    expect(status.textContent).toMatch(/can’t see your face/);

    socket.say({ type: "status", subject_found: true });
    expect(stage.dataset.hint).toBeUndefined();
    expect(status.textContent).not.toMatch(/face/);

    // Tops need the body: their own words.
    socket.say({ type: "status", subject_found: false, reason: "no-body" });
    expect(status.textContent).toMatch(/shoulders\. Step back so you are in view from the waist up/);
  });

  async function modelResult(): Promise<Array<EventMap["size_recommended"]>> {
    const seen: Array<EventMap["size_recommended"]> = [];
    tryOn.on("size_recommended", (e) => seen.push(e));
    tryOn.open({ productId: "round-glasses", mode: "model" });
    await until(() => root()?.querySelector("[data-model=m1]"));
    click("[data-model=m1]");
    await until(() => root().querySelector(".stage[data-state=result]"));
    return seen;
  }

  it("gives add_to_cart both ids a store keeps to attribute the order", async () => {
    const added: Array<EventMap["add_to_cart"]> = [];
    tryOn.on("add_to_cart", (e) => {
      added.push(e);
    });
    await modelResult();
    click("[data-action=add-to-cart]");
    await until(() => root().querySelector(".extras[data-cart=accepted]"));
    click("[data-action=add-to-cart]");
    await until(() => added.length === 2);
    expect(added).toHaveLength(2);
    expect(added[0]).toMatchObject({ productId: "round-glasses", tryonSessionId: "3f2b8c1d-0a4e-4b6f-9c7d-2e1f0a9b8c7d" });
    // The page's widget session: one per page, the same as in the usage events.
    expect(added[0].widgetSessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(added[1].widgetSessionId).toBe(added[0].widgetSessionId);
  });

  it("never shows a colour as a size", async () => {
    // What the API answered before sizes were told apart from colours.
    geometry = { width: 4, height: 3, faces: [{}], size_recommendation: { variant_id: "gold", size: null, confidence: 0.6 } };
    const seen = await modelResult();
    expect((root().querySelector(".size") as HTMLElement).hidden).toBe(true);
    expect(root().textContent).not.toMatch(/recommend/);
    expect(seen).toEqual([]);
  });

  it("shows the recommended size, with the variant's external id in the event", async () => {
    config = SIZES;
    geometry = { width: 4, height: 3, bodies: [{}], size_recommendation: { variant_id: "navy-m", size: "M", confidence: 0.8, measurements: { shoulder_cm: 44 } } };
    const seen = await modelResult();
    // Sizes of one colour are no colour choice: no "Navy, Navy, Navy" buttons.
    expect(root().querySelectorAll("[data-variant]")).toHaveLength(0);
    const panel = root().querySelector(".size") as HTMLElement;
    expect(panel.hidden).toBe(false);
    expect(panel.textContent).toContain("We suggest size M");
    expect(panel.dataset.sureness).toBe("high");
    expect(panel.textContent).toContain("quite sure");
    expect(seen).toHaveLength(1);
    expect(seen[0].recommendation).toMatchObject({ size: "M", variant_id: "navy-m", confidence: 0.8 });
  });

  async function modelResultFor(variantId: string): Promise<void> {
    tryOn.open({ productId: "crew-tshirt", variantId, mode: "model" });
    await until(() => root()?.querySelector("[data-model=m1]"));
    click("[data-model=m1]");
    await until(() => root().querySelector(".stage[data-state=result]"));
  }

  it("says how sure it is in words, and nothing below the merchant's threshold", async () => {
    config = SIZES;
    geometry = { width: 4, height: 3, bodies: [{}], size_recommendation: { variant_id: "navy-s", size: "S", confidence: 0.12 } };
    await modelResultFor("navy-s");
    const panel = root().querySelector(".size") as HTMLElement;
    expect(panel.dataset.sureness).toBe("low");
    expect(panel.textContent).toContain("A rough guess");
    expect(panel.textContent).not.toMatch(/We recommend/);
    tryOn.close();
    // The same answer under a merchant who wants advice only at 0.5 and above: silence.
    const strict = createTryOn("https://api.example");
    strict.init({ publishableKey: KEY, autoMount: false, locale: "en", analytics: false, minSizeConfidence: 0.5 });
    const seen: unknown[] = [];
    strict.on("size_recommended", (e) => seen.push(e));
    strict.open({ productId: "crew-tshirt", variantId: "navy-s", mode: "model" });
    const last = () => document.querySelectorAll("[data-tryon-widget]")[1]?.shadowRoot as ShadowRoot | undefined;
    await until(() => last()?.querySelector("[data-model=m1]"));
    (last()?.querySelector("[data-model=m1]") as HTMLElement).click();
    await until(() => last()?.querySelector(".stage[data-state=result]"));
    expect((last()?.querySelector(".size") as HTMLElement).hidden).toBe(true);
    expect(seen).toEqual([]);
    strict.close();
  });

  it("clears the advice of the result before when the next has none", async () => {
    config = SIZES;
    geometry = { width: 4, height: 3, bodies: [{}], size_recommendation: { variant_id: "navy-s", size: "S", confidence: 0.6 } };
    await modelResultFor("navy-l");
    expect(root().querySelector(".size")?.textContent).toContain("size S");
    geometry = { width: 4, height: 3, bodies: [{}], size_recommendation: null };
    click("[data-action=retry], .bar button.ghost");
    await until(() => root()?.querySelector("[data-model=m1]"));
    click("[data-model=m1]");
    await until(() => root().querySelector(".stage[data-state=result]"));
    expect((root().querySelector(".size") as HTMLElement).hidden).toBe(true);
    expect(root().textContent).not.toMatch(/size S/);
    expect(root().querySelector("[data-action=add-to-cart]")?.textContent).toBe("Add size L to cart");
  });

  it("lets the shopper choose between their pick and the advice, and says which", async () => {
    config = SIZES;
    geometry = { width: 4, height: 3, bodies: [{}], size_recommendation: { variant_id: "navy-s", size: "S", confidence: 0.6 } };
    const added: Array<EventMap["add_to_cart"]> = [];
    tryOn.on("add_to_cart", (e) => {
      added.push(e);
      return true;
    });
    await modelResultFor("navy-l");
    const picked = root().querySelector("[data-choice=picked]") as HTMLElement;
    expect(picked.getAttribute("aria-pressed")).toBe("true");
    expect(picked.textContent).toBe("L, your pick");
    expect(root().querySelector("[data-choice=advised]")?.textContent).toBe("S, suggested");
    expect(root().querySelector("[data-action=add-to-cart]")?.textContent).toBe("Add size L to cart");
    click("[data-action=add-to-cart]");
    await until(() => added.length === 1);
    expect(added[0]).toMatchObject({ variantId: "navy-l", size: "L", recommendedSize: "S", adviceFollowed: false });
    click("[data-choice=advised]");
    expect(root().querySelector("[data-choice=advised]")?.getAttribute("aria-pressed")).toBe("true");
    expect(root().querySelector("[data-action=add-to-cart]")?.textContent).toBe("Add size S to cart");
    click("[data-action=add-to-cart]");
    await until(() => added.length === 2);
    expect(added[1]).toMatchObject({ variantId: "navy-s", size: "S", recommendedSize: "S", adviceFollowed: true });
  });

  it("says Added only when the page's cart took it", async () => {
    const status = () => root().querySelector("[role=status]")?.textContent ?? "";
    await modelResult();
    // Nobody listens: nothing can be added.
    click("[data-action=add-to-cart]");
    await until(() => root().querySelector(".extras[data-cart=unheard]"));
    expect(status()).toMatch(/not connected/);
    const answers: Array<() => unknown> = [
      () => false,
      () => Promise.reject(new Error("cart full")),
      () => {
        throw new Error("bug");
      },
      () => Promise.resolve(true),
    ];
    let next = 0;
    const off = tryOn.on("add_to_cart", () => answers[next++]());
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    for (const expected of ["refused", "refused", "refused", "accepted"]) {
      const extras = root().querySelector(".extras") as HTMLElement;
      delete extras.dataset.cart;
      click("[data-action=add-to-cart]");
      await until(() => extras.dataset.cart);
      expect(extras.dataset.cart).toBe(expected);
      expect(status()).toMatch(expected === "accepted" ? /^Added to your cart$/ : /did not take it/);
    }
    off();
    error.mockRestore();
  });

  it("words a model photo the API cannot use for the product as the model's, not the shopper's", async () => {
    const problem = (reason: string) => async (url: string) =>
      url.includes("/tryon")
        ? Response.json({ type: "/problems/no-subject-found", title: "No face or body", detail: "x", reason }, { status: 422 })
        : answer(url);
    const messages: string[] = [];
    for (const reason of ["body-not-visible", "no-face", "neck-not-visible"]) {
      vi.stubGlobal("fetch", problem(reason));
      tryOn.open({ productId: "round-glasses", mode: "model" });
      await until(() => root()?.querySelector("[data-model=m1]"));
      click("[data-model=m1]");
      const alert = await until(() => root().querySelector("[role=alert]"));
      expect(alert.getAttribute("data-error")).toBe("no_face");
      messages.push(alert.textContent ?? "");
      tryOn.close();
    }
    expect(messages).toEqual([
      "This model’s photo does not show enough of the body for this product. Please choose another model.",
      "We could not find this model’s face. Please choose another model.",
      "This model’s photo does not show the neck. Please choose another model.",
    ]);
  });

  it("captions a brand model's result with the model's name, not \"You\"", async () => {
    await modelResult();
    const canvas = root().querySelector(".stage canvas") as HTMLElement;
    expect(canvas.getAttribute("aria-label")).toBe("Ann, wearing Round optical frames — Black");
    expect(root().querySelector("[role=status]")?.textContent).not.toMatch(/You/);
  });
});

describe("colour choices", () => {
  const v = (id: string, color: string | null, size: string | null, hasAsset = true): Variant => ({ id, title: id, color, size, hasAsset });

  it("offers one button per colour, keeping the size when switching", () => {
    const shirts = [v("navy-s", "Navy", "S"), v("navy-m", "Navy", "M"), v("red-s", "Red", "S"), v("red-m", "red", "M")];
    expect(colourChoices(shirts, "navy-m")).toEqual([
      { variantId: "navy-m", label: "Navy", color: "Navy", pressed: true },
      { variantId: "red-m", label: "Red", color: "Red", pressed: false },
    ]);
    // A size the other colour lacks: its first variant.
    expect(colourChoices([...shirts, v("navy-xl", "Navy", "XL")], "navy-xl")[1]).toMatchObject({ variantId: "red-s", pressed: false });
  });

  it("offers nothing to choose among sizes of one colour, or one look", () => {
    expect(colourChoices([v("s", "Navy", "S"), v("m", "Navy", "M"), v("l", "Navy", "L")], "s")).toEqual([]);
    expect(colourChoices([v("s", null, "S"), v("m", null, "M")], "m")).toEqual([]);
    expect(colourChoices([v("one", "Brown", null)], "one")).toEqual([]);
  });

  it("offers colours of a one-size product, and only those that can be tried on", () => {
    const frames = [v("black", "Black", null), v("gold", "Gold", null), v("red", "Red", null, false)];
    expect(colourChoices(frames, "gold").map((c) => [c.variantId, c.pressed])).toEqual([["black", false], ["gold", true]]);
    // Variants without colour or size are looks of their own.
    expect(colourChoices([v("plain", null, null), v("dotted", null, null)], null).map((c) => c.label)).toEqual(["plain", "dotted"]);
  });
});

describe("reasons a photo cannot be used", () => {
  it("each stable reason has its own message in every language", async () => {
    const { missingPart } = await import("../src/ui/widget");
    const { CATALOGS } = await import("../src/i18n");
    const parts = {
      "no-face": "face",
      "face-too-small": "small",
      "face-turned-away": "turned",
      "eyes-covered": "eyes",
      "face-not-found": "pick",
      "body-not-visible": "body",
      "neck-not-visible": "neck",
    } as const;
    for (const [reason, part] of Object.entries(parts)) expect(missingPart(reason)).toBe(part);
    for (const catalog of Object.values(CATALOGS)) {
      const messages = new Set<string>();
      for (const part of ["face", "small", "turned", "eyes", "pick"]) {
        for (const mode of ["photo", "live", "model"]) {
          const text = (catalog as Record<string, string>)[`err_${mode}_${part}`];
          expect(text, `err_${mode}_${part}`).toBeTruthy();
          messages.add(text);
        }
      }
      expect(messages.size).toBe(15);
    }
  });
});
