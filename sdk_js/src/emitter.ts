import type { EventMap, EventName, ListenerResult } from "./types";

type Listener<K extends EventName> = (payload: EventMap[K]) => ListenerResult<K>;

export const EVENT_NAMES: readonly EventName[] = [
  "open",
  "close",
  "result",
  "error",
  "add_to_cart",
  "size_recommended",
];

/** How the page answered an event that asks it something (`add_to_cart`). */
export type Answer = "accepted" | "refused" | "unheard";

export const ANSWER_TIMEOUT_MS = 20_000;

/** An answer, and the store's cart id when the page gave one. */
export interface Reply {
  answer: Answer;
  cartToken: string | null;
}

const CART_TOKEN = /^[A-Za-z0-9_.:-]{1,128}$/;

function cartTokenOf(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return null;
  const token = (value as { cartToken?: unknown }).cartToken;
  return typeof token === "string" && CART_TOKEN.test(token) ? token : null;
}

/** A typed event emitter; a throwing listener is reported and never breaks the widget. */
export class Emitter {
  private readonly listeners = new Map<EventName, Set<Listener<EventName>>>();

  on<K extends EventName>(event: K, callback: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(callback as Listener<EventName>);
    return () => this.off(event, callback);
  }

  off<K extends EventName>(event: K, callback: Listener<K>): void {
    this.listeners.get(event)?.delete(callback as Listener<EventName>);
  }

  emit<K extends EventName>(event: K, payload: EventMap[K]): void {
    void this.call(event, payload);
  }

  /**
   * Call every listener and settle what they return: "unheard" without listeners, "refused"
   * when one returns `false`, throws, rejects or does not settle in `timeoutMs`, else
   * "accepted" (`true`, nothing, or `{ cartToken }`).
   */
  async ask<K extends EventName>(event: K, payload: EventMap[K], timeoutMs = ANSWER_TIMEOUT_MS): Promise<Answer> {
    return (await this.reply(event, payload, timeoutMs)).answer;
  }

  /** As {@link ask}, with the cart id an accepting listener gave as `{ cartToken }` (for
   * stores whose orders cannot carry our ids: the `add_to_cart` event then carries it). */
  async reply<K extends EventName>(event: K, payload: EventMap[K], timeoutMs = ANSWER_TIMEOUT_MS): Promise<Reply> {
    const results = this.call(event, payload);
    if (results.length === 0) return { answer: "unheard", cartToken: null };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), timeoutMs)));
    try {
      const answers: unknown[] = await Promise.all(
        results.map((r) => Promise.race([Promise.resolve(r).then((v) => v, () => false as const), late])),
      );
      if (answers.some((a) => a === false || a === "late")) return { answer: "refused", cartToken: null };
      return { answer: "accepted", cartToken: answers.map(cartTokenOf).find((t) => t !== null) ?? null };
    } finally {
      clearTimeout(timer);
    }
  }

  private call<K extends EventName>(event: K, payload: EventMap[K]): unknown[] {
    const out: unknown[] = [];
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        out.push(listener(payload));
      } catch (err) {
        console.error(`[tryon] a "${event}" listener threw`, err);
        out.push(false);
      }
    }
    return out;
  }
}
