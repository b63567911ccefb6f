import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createTryOn, replay } from "../src/sdk";
import type { TryOnAPI } from "../src/types";

const KEY = "pk_abcdefghijklmnopqrstuvwxyz012345";
const CONFIG = {
  product: {
    external_id: "round-glasses",
    title: "Round optical frames",
    category: "eyewear",
    variants: [
      { external_id: "black", title: "Black", color: "Black", has_asset: true },
      { external_id: "gold", title: "Gold", color: "Gold", has_asset: true },
    ],
  },
  modes: ["live", "photo"],
  models: [],
  quota: { exhausted: false },
};

let configBody: unknown = CONFIG;
let requests: string[] = [];
/** The events the SDK sent to /v1/events, in order. */
let sentEvents: Array<{ type: string; product_id: string; variant_id: string | null }> = [];

function answer(url: string, init?: RequestInit): Response {
  requests.push(url);
  if (url.includes("/v1/widget/config")) return Response.json(configBody);
  if (url.includes("/v1/events")) {
    sentEvents.push(...JSON.parse(String(init?.body)).events);
    return new Response(null, { status: 202 });
  }
  return new Response(null, { status: 404 });
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
const widgetRoot = () => document.querySelector("[data-tryon-widget]")?.shadowRoot ?? null;
const trigger = (el: Element) => el.querySelector("[data-tryon-trigger]")?.shadowRoot?.querySelector("button") ?? null;

describe("TryOn", () => {
  let tryOn: TryOnAPI;

  beforeEach(() => {
    document.body.replaceChildren();
    configBody = CONFIG;
    requests = [];
    sentEvents = [];
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => answer(url, init));
    tryOn = createTryOn("https://api.example");
  });

  afterEach(() => {
    tryOn.close();
  });

  it("reports unknown options and a second init in the console", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    tryOn.init({ publishableKey: KEY, autoMount: false, sparkles: true } as never);
    tryOn.init({ publishableKey: KEY });
    expect(warn.mock.calls.map((c) => String(c[1]))).toEqual([
      expect.stringMatching(/unknown option "sparkles"/),
      expect.stringMatching(/already called/),
    ]);
  });

  it("stays off with an error when the key is missing", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    tryOn.init({} as never);
    expect(error).toHaveBeenCalled();
    expect(tryOn.mount(document.body, { productId: "x" })).toBeNull();
  });

  it("mounts data-tryon-product elements, shows the button once try-on is available, tracks an impression", async () => {
    document.body.innerHTML = '<div id="a" data-tryon-product="round-glasses" data-tryon-variant="gold"></div>';
    tryOn.init({ publishableKey: KEY });
    const host = document.querySelector("#a [data-tryon-trigger]") as HTMLElement;
    expect(host).not.toBeNull();
    expect(host.hidden).toBe(true);
    await flush();
    expect(host.hidden).toBe(false);
    expect(trigger(document.querySelector("#a") as Element)?.textContent).toBe("Try it on");
    expect(requests[0]).toBe("https://api.example/v1/widget/config?product=round-glasses");
    // Elements added later are mounted too.
    const late = document.createElement("div");
    late.setAttribute("data-tryon-product", "round-glasses");
    document.body.appendChild(late);
    await flush();
    expect(late.querySelector("[data-tryon-trigger]")).not.toBeNull();
    // One impression for the product (not one per element), sent when the page goes away.
    expect(sentEvents).toEqual([]);
    window.dispatchEvent(new Event("pagehide"));
    await flush();
    expect(sentEvents.map((e) => [e.type, e.product_id, e.variant_id])).toEqual([["impression", "round-glasses", "gold"]]);
  });

  it("keeps the button hidden when the product has no try-on", async () => {
    vi.stubGlobal("fetch", async () => Response.json({ type: "/problems/not-found", status: 404 }, { status: 404 }));
    const el = document.createElement("div");
    document.body.appendChild(el);
    tryOn.init({ publishableKey: KEY, autoMount: false });
    tryOn.mount(el, { productId: "nope" });
    await flush();
    expect((el.querySelector("[data-tryon-trigger]") as HTMLElement).hidden).toBe(true);
  });

  it("opens an accessible modal, traps focus, closes on Escape and gives focus back", async () => {
    const el = document.createElement("div");
    document.body.appendChild(el);
    tryOn.init({ publishableKey: KEY, autoMount: false, locale: "en" });
    const events: string[] = [];
    tryOn.on("open", (e) => events.push(`open:${e.productId}:${e.variantId}`));
    tryOn.on("close", () => events.push("close"));
    tryOn.mount(el, { productId: "round-glasses", variantId: "black" });
    await flush();
    const button = trigger(el) as HTMLButtonElement;
    button.focus();
    button.click();
    await flush();
    const root = widgetRoot() as ShadowRoot;
    const dialog = root.querySelector("[role=dialog]") as HTMLElement;
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    expect(root.getElementById(dialog.getAttribute("aria-labelledby") as string)?.textContent).toBe("Virtual try-on");
    expect([...root.querySelectorAll("[data-mode]")].map((b) => b.getAttribute("data-mode"))).toEqual(["live", "photo"]);
    expect(root.querySelector("[role=status]")).not.toBeNull();
    // The colour switcher shows both variants, the current one pressed.
    const swatches = [...root.querySelectorAll("[data-variant]")];
    expect(swatches.map((s) => [s.getAttribute("data-variant"), s.getAttribute("aria-pressed")])).toEqual([["black", "true"], ["gold", "false"]]);
    // Tab from the last focusable element wraps to the first, Shift+Tab from the first to the last.
    const focusable = [...dialog.querySelectorAll<HTMLElement>("button")];
    focusable[focusable.length - 1].focus();
    dialog.dispatchEvent(new KeyboardEvent("keydown", { key: "Tab", bubbles: true, composed: true }));
    expect(root.activeElement).toBe(focusable[0]);
    dialog.dispatchEvent(new KeyboardEvent("keydown", { key: "Tab", shiftKey: true, bubbles: true, composed: true }));
    expect(root.activeElement).toBe(focusable[focusable.length - 1]);
    dialog.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true, composed: true }));
    expect((document.querySelector("[data-tryon-widget]") as HTMLElement).hidden).toBe(true);
    expect(events).toEqual(["open:round-glasses:black", "close"]);
    expect(el.querySelector("[data-tryon-trigger]")?.shadowRoot?.activeElement).toBe(button);
  });

  it("asks for consent before the camera or a photo", async () => {
    tryOn.init({ publishableKey: KEY, autoMount: false, locale: "fr" });
    tryOn.open({ productId: "round-glasses", mode: "photo" });
    await flush();
    const root = widgetRoot() as ShadowRoot;
    expect(root.querySelector(".consent")?.textContent).toMatch(/jamais conservée/);
    (root.querySelector("[data-action=consent]") as HTMLButtonElement).click();
    expect(root.querySelector("[data-action=choose-photo]")?.textContent).toBe("Choisir une photo");
    expect((root.querySelector("input[type=file]") as HTMLInputElement).accept).toBe("image/jpeg,image/png,image/webp");
  });

  it("shows the quota state and emits an error event", async () => {
    configBody = { ...CONFIG, quota: { exhausted: true } };
    tryOn.init({ publishableKey: KEY, autoMount: false });
    const errors: string[] = [];
    tryOn.on("error", (e) => errors.push(e.code));
    tryOn.open({ productId: "round-glasses" });
    await flush();
    const alert = (widgetRoot() as ShadowRoot).querySelector("[role=alert]");
    expect(alert?.getAttribute("data-error")).toBe("quota_reached");
    expect((widgetRoot() as ShadowRoot).querySelector("[data-action=retry]")).toBeNull();
    expect(errors).toEqual(["quota_reached"]);
  });

  it("never lets a throwing listener break the widget", async () => {
    tryOn.init({ publishableKey: KEY, autoMount: false });
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    tryOn.on("open", () => {
      throw new Error("merchant bug");
    });
    tryOn.open({ productId: "round-glasses" });
    await flush();
    expect(error).toHaveBeenCalledWith(expect.stringMatching(/"open" listener threw/), expect.any(Error));
    expect((widgetRoot() as ShadowRoot).querySelectorAll("[data-mode]").length).toBe(2);
  });

  it("warns about unknown events", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    tryOn.on("purchase" as never, () => undefined);
    expect(warn).toHaveBeenCalledWith("[tryon]", expect.stringMatching(/unknown event "purchase"/));
  });
});

describe("replay", () => {
  it("replays the stub's calls in order and skips unknown methods", () => {
    const calls: string[] = [];
    const api = {
      init: (o: { publishableKey: string }) => calls.push(`init:${o.publishableKey}`),
      on: (name: string) => calls.push(`on:${name}`),
    } as unknown as TryOnAPI;
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    replay(api, [["init", [{ publishableKey: "pk" }]], ["dance", []], ["on", ["open", () => undefined]], "garbage"]);
    expect(calls).toEqual(["init:pk", "on:open"]);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});

describe("the script-tag build", () => {
  beforeEach(() => {
    vi.resetModules();
    document.body.replaceChildren();
    vi.stubGlobal("fetch", async (url: string) => answer(url));
    delete window.TryOn;
  });

  it("replaces the snippet stub and replays what it queued", async () => {
    const seen: string[] = [];
    const stub = { _q: [] as unknown[] };
    stub._q.push(["init", [{ publishableKey: KEY, autoMount: false }]], ["on", ["open", (e: { productId: string }) => seen.push(e.productId)]], ["open", [{ productId: "round-glasses" }]]);
    window.TryOn = stub;
    await import("../src/iife");
    expect(window.TryOn).not.toBe(stub);
    expect((window.TryOn as TryOnAPI).version).toBe("0.0.0-test");
    await flush();
    expect(seen).toEqual(["round-glasses"]);
    (window.TryOn as TryOnAPI).close();
  });
});
