import type { EventMap, EventName } from "./types";

type Listener<K extends EventName> = (payload: EventMap[K]) => void;

export const EVENT_NAMES: readonly EventName[] = [
  "open",
  "close",
  "result",
  "error",
  "add_to_cart",
  "size_recommended",
];

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
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(payload);
      } catch (err) {
        console.error(`[tryon] a "${event}" listener threw`, err);
      }
    }
  }
}
