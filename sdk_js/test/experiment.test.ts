import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { assign, bucket, resetShopper, shopperId } from "../src/experiment";
import { createTryOn } from "../src/sdk";
import type { TryOnAPI } from "../src/types";

/** The same pairs and values as tests/analytics/test_uplift.py: the gateway checks the arm
 * the SDK reports with its own copy of the hash, so the two must agree bit for bit. */
export const AGREED: Array<[string, string, number]> = [
  ["shopper-00001", "salt-a", 0.4805026170797646],
  ["4f1c2a9e-7b3d-4e5f-8a6b-0c1d2e3f4a5b", "9f3a0c6e1b2d4f58", 0.5273986423853785],
  ["x".repeat(64), "00", 0.8992529592942446],
  ["abcdefgh", "", 0.9336882035713643],
];

function memoryStorage(): Storage {
  const data = new Map<string, string>();
  return {
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, String(v)),
    removeItem: (k) => void data.delete(k),
    clear: () => data.clear(),
    key: (i) => [...data.keys()][i] ?? null,
    get length() {
      return data.size;
    },
  };
}

describe("assignment", () => {
  beforeEach(() => resetShopper());

  it("agrees with the gateway's hash", () => {
    for (const [id, salt, value] of AGREED) expect(bucket(id, salt)).toBe(value);
  });

  it("is uniform (chi-square over 20,000 random ids) and honours the share", () => {
    const bins = new Array(20).fill(0);
    let held = 0;
    const e = { id: "e", salt: "5a1e", holdoutShare: 0.15 };
    for (let i = 0; i < 20000; i++) {
      const id = crypto.randomUUID();
      bins[Math.floor(bucket(id, e.salt) * 20)]++;
      if (assign(id, e) === "holdout") held++;
    }
    const chi2 = bins.reduce((sum, n) => sum + (n - 1000) ** 2 / 1000, 0);
    expect(chi2).toBeLessThan(43.8); // the 0.1 % critical value, 19 degrees of freedom
    expect(Math.abs(held / 20000 - 0.15)).toBeLessThan(0.01);
    expect(assign("anyone", { ...e, holdoutShare: 0 })).toBe("treatment");
  });

  it("keeps the shopper id across pages and reloads, in memory when storage is refused", () => {
    const storage = memoryStorage();
    const first = shopperId(() => storage);
    expect(first).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    resetShopper(); // a reload: a new page reads the kept id
    expect(shopperId(() => storage)).toBe(first);
    storage.setItem("tryon_shopper", "<script>"); // a tampered value is replaced
    resetShopper();
    const replaced = shopperId(() => storage);
    expect(replaced).not.toBe("<script>");
    resetShopper();
    const refused = () => {
      throw new DOMException("denied", "SecurityError");
    };
    const inMemory = shopperId(refused);
    expect(inMemory).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(shopperId(refused)).toBe(inMemory); // stable for the page
  });
});

const KEY = "pk_abcdefghijklmnopqrstuvwxyz012345";
const config = (share: number) => ({
  product: { external_id: "round-glasses", title: "Round", category: "eyewear", variants: [{ external_id: "black", title: "Black", has_asset: true }] },
  modes: ["live", "photo"],
  models: [],
  quota: { exhausted: false },
  experiment: { id: "6f1c2a9e-7b3d-4e5f-8a6b-0c1d2e3f4a5b", salt: "00aa", holdout_share: share },
});

describe("the SDK in a holdout experiment", () => {
  let tryOn: TryOnAPI;
  let sent: Array<{ type: string; properties: unknown; experiment?: { id: string; arm: string; shopper_id: string } }>;
  let share = 0.5;

  beforeEach(() => {
    resetShopper();
    localStorage.clear();
    document.body.replaceChildren();
    sent = [];
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      if (url.includes("/v1/widget/config")) return Response.json(config(share));
      if (url.includes("/v1/events")) sent.push(...JSON.parse(String(init?.body)).events);
      return new Response(null, { status: 202 });
    });
    tryOn = createTryOn("https://api.example");
  });
  afterEach(() => tryOn.close());

  async function mountWith(shopper: string): Promise<HTMLElement> {
    localStorage.setItem("tryon_shopper", shopper);
    document.body.innerHTML = '<div id="a" data-tryon-product="round-glasses"></div>';
    tryOn.init({ publishableKey: KEY });
    await new Promise((r) => setTimeout(r, 0));
    return document.querySelector("#a [data-tryon-trigger]") as HTMLElement;
  }

  function idIn(arm: string): string {
    const e = { id: "e", salt: "00aa", holdoutShare: share };
    for (let i = 0; ; i++) if (assign(`shopper-${i}`, e) === arm) return `shopper-${i}`;
  }

  it("shows a held-out shopper no button, still reports them eligible and their adds", async () => {
    share = 0.5;
    const id = idIn("holdout");
    const host = await mountWith(id);
    expect(host.hidden).toBe(true);
    tryOn.open({ productId: "round-glasses" });
    expect(document.querySelector("[data-tryon-widget]")).toBeNull();
    expect(tryOn.addedToCart({ productId: "round-glasses", variantId: "black", quantity: 2 })).toMatch(/^[0-9a-f-]{36}$/);
    window.dispatchEvent(new Event("pagehide"));
    await new Promise((r) => setTimeout(r, 0));
    expect(sent.map((e) => [e.type, e.experiment?.arm, e.experiment?.shopper_id])).toEqual([
      ["eligible", "holdout", id],
      ["add_to_cart", "holdout", id],
    ]);
    expect(sent[1].properties).toEqual({ quantity: 2 });
  });

  it("shows a treatment shopper the button, eligible and impression both carrying the arm", async () => {
    share = 0.5;
    const id = idIn("treatment");
    const host = await mountWith(id);
    expect(host.hidden).toBe(false);
    window.dispatchEvent(new Event("pagehide"));
    await new Promise((r) => setTimeout(r, 0));
    expect(sent.map((e) => [e.type, e.experiment?.arm, e.experiment?.id])).toEqual([
      ["eligible", "treatment", config(share).experiment.id],
      ["impression", "treatment", config(share).experiment.id],
    ]);
  });
});
