/** The add_to_cart contract: how the page's answers settle into accepted, refused or unheard. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ANSWER_TIMEOUT_MS, Emitter } from "../src/emitter";
import type { EventMap } from "../src/types";

const PAYLOAD: EventMap["add_to_cart"] = {
  productId: "p",
  variantId: "v",
  tryonSessionId: null,
  widgetSessionId: "w",
  size: null,
  recommendedSize: null,
  adviceFollowed: null,
};

describe("Emitter.ask", () => {
  afterEach(() => vi.useRealTimers());

  it("is unheard without listeners", async () => {
    expect(await new Emitter().ask("add_to_cart", PAYLOAD)).toBe("unheard");
  });

  type Listener = () => unknown;
  const cases: Array<[string, Listener[], string]> = [
    ["true", [() => true], "accepted"],
    ["nothing (an SDK 1.0 listener)", [() => undefined], "accepted"],
    ["a promise of true and nothing", [() => Promise.resolve(true), () => undefined], "accepted"],
    ["false", [() => false], "refused"],
    ["true and a promise of false", [() => true, () => Promise.resolve(false)], "refused"],
    ["a rejected promise", [() => Promise.reject(new Error("no"))], "refused"],
  ];

  it.each(cases)("answers %s: %s", async (_, listeners, expected) => {
    const emitter = new Emitter();
    for (const listener of listeners) emitter.on("add_to_cart", listener);
    expect(await emitter.ask("add_to_cart", PAYLOAD)).toBe(expected);
  });

  it("takes a throwing listener as a refusal and reports it", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const emitter = new Emitter();
    emitter.on("add_to_cart", () => {
      throw new Error("bug");
    });
    expect(await emitter.ask("add_to_cart", PAYLOAD)).toBe("refused");
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });

  it("takes a promise that never settles as a refusal after the timeout", async () => {
    vi.useFakeTimers();
    const emitter = new Emitter();
    emitter.on("add_to_cart", () => new Promise<boolean>(() => undefined));
    let answer: string | null = null;
    void emitter.ask("add_to_cart", PAYLOAD).then((a) => (answer = a));
    await vi.advanceTimersByTimeAsync(ANSWER_TIMEOUT_MS - 1);
    expect(answer).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(answer).toBe("refused");
  });
});

describe("Emitter.reply", () => {
  it("accepts { cartToken } and gives the cart id back", async () => {
    const emitter = new Emitter();
    emitter.on("add_to_cart", () => Promise.resolve({ cartToken: "c0ffee00-1111" }));
    emitter.on("add_to_cart", () => undefined);
    expect(await emitter.reply("add_to_cart", PAYLOAD)).toEqual({ answer: "accepted", cartToken: "c0ffee00-1111" });
  });

  it.each([
    ["no token", () => true],
    ["a token that is not a cart id", () => ({ cartToken: "a b<script>" })],
    ["a token that is not a string", () => ({ cartToken: 42 })],
  ])("gives no cart id for %s", async (_, listener) => {
    const emitter = new Emitter();
    emitter.on("add_to_cart", listener);
    expect(await emitter.reply("add_to_cart", PAYLOAD)).toEqual({ answer: "accepted", cartToken: null });
  });

  it("gives no cart id when another listener refused", async () => {
    const emitter = new Emitter();
    emitter.on("add_to_cart", () => ({ cartToken: "c1" }));
    emitter.on("add_to_cart", () => false);
    expect(await emitter.reply("add_to_cart", PAYLOAD)).toEqual({ answer: "refused", cartToken: null });
  });
});
