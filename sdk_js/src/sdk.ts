/** The `TryOn` object: init once, then mount, open, close and listen. */
import { Analytics, httpTransport } from "./analytics";
import { ApiClient, type WidgetConfig } from "./api";
import { Emitter, EVENT_NAMES } from "./emitter";
import { assign, shopperId, type Experiment } from "./experiment";
import { resolveLocale, translator, type Translate } from "./i18n";
import { validateOptions, type Config } from "./options";
import type { CartAdd, EventMap, EventName, InitOptions, ListenerResult, MountHandle, MountOptions, OpenOptions, TryOnAPI, TryOnMode } from "./types";
import { createTrigger } from "./ui/button";
import { Widget } from "./ui/widget";

export const VERSION = __TRYON_VERSION__;

declare const __TRYON_VERSION__: string;

const PREFIX = "[tryon]";
const AUTO_SELECTOR = "[data-tryon-product]";

interface State {
  config: Config;
  t: Translate;
  api: ApiClient;
  analytics: Analytics;
  widget: Widget;
  configs: Map<string, Promise<WidgetConfig>>;
}

interface Mounted {
  productId: string;
  variantId: string | null;
  handle: MountHandle;
}

/** A fresh SDK instance; `defaultApiBase` is where the script came from. */
export function createTryOn(defaultApiBase: string): TryOnAPI {
  const emitter = new Emitter();
  const mounted = new Map<Element, Mounted>();
  const impressions = new Set<string>();
  const eligible = new Set<string>();
  let state: State | null = null;
  let last: Mounted | null = null;
  let observer: MutationObserver | null = null;

  const debug = (...args: unknown[]) => {
    if (state?.config.debug) console.debug(PREFIX, ...args);
  };

  function loadConfig(productId: string): Promise<WidgetConfig> {
    const s = state as State;
    let pending = s.configs.get(productId);
    if (!pending) {
      pending = s.api.config(productId, null);
      pending.catch(() => s.configs.delete(productId));
      s.configs.set(productId, pending);
    }
    return pending;
  }

  /** Join the merchant's holdout (once per page); true when this shopper is held out. */
  function heldOut(e: Experiment | null | undefined): boolean {
    const a = (state as State).analytics;
    if (e && !a.experiment) {
      const id = shopperId();
      a.experiment = { id: e.id, arm: assign(id, e), shopper_id: id };
    }
    return a.experiment?.arm === "holdout";
  }

  function init(options: InitOptions): void {
    if (state) {
      console.warn(PREFIX, "init() was already called; this call is ignored");
      return;
    }
    const { config, warnings, error } = validateOptions(options, defaultApiBase);
    for (const warning of warnings) console.warn(PREFIX, warning);
    if (!config) {
      console.error(PREFIX, error ?? "invalid options", "- the widget stays off");
      return;
    }
    const lang = resolveLocale(config.locale);
    const t = translator(lang);
    const api = new ApiClient(config.apiBase, config.publishableKey);
    const analytics = new Analytics(httpTransport(`${config.apiBase}/v1/events`, config.publishableKey), config.analytics);
    analytics.attach(window);
    const widget = new Widget({ config, t, api, analytics, emitter, lang, loadConfig: (id) => loadConfig(id) });
    state = { config, t, api, analytics, widget, configs: new Map() };
    debug("initialised", { apiBase: config.apiBase, locale: lang });
    if (config.autoMount) {
      if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", autoMount, { once: true });
      else autoMount();
    }
  }

  function autoMount(): void {
    const scan = (root: ParentNode) => {
      const found = root instanceof Element && root.matches(AUTO_SELECTOR) ? [root] : [];
      for (const el of [...found, ...root.querySelectorAll(AUTO_SELECTOR)]) {
        const productId = el.getAttribute("data-tryon-product") ?? "";
        const variantId = el.getAttribute("data-tryon-variant");
        const existing = mounted.get(el);
        if (existing && existing.productId === productId) {
          if (existing.variantId !== variantId) existing.handle.setVariant(variantId);
          continue;
        }
        mount(el, { productId, variantId, label: el.getAttribute("data-tryon-label") ?? undefined });
      }
    };
    scan(document);
    observer = new MutationObserver((records) => {
      for (const record of records) {
        if (record.type === "attributes") scan(record.target as Element);
        else record.addedNodes.forEach((node) => node instanceof Element && scan(node));
      }
    });
    observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-tryon-product", "data-tryon-variant"] });
  }

  function mount(target: Element | string, options: MountOptions): MountHandle | null {
    const el = typeof target === "string" ? document.querySelector(target) : target;
    if (!el) {
      console.error(PREFIX, `mount(): no element matches ${String(target)}`);
      return null;
    }
    if (!options || typeof options.productId !== "string" || options.productId === "") {
      console.error(PREFIX, "mount(): options.productId must be a non-empty string");
      return null;
    }
    for (const name of Object.keys(options)) {
      if (!["productId", "variantId", "label"].includes(name)) console.warn(PREFIX, `mount(): unknown option "${name}" ignored`);
    }
    if (!state) {
      console.error(PREFIX, "mount() before init(): call TryOn.init({ publishableKey }) first");
      return null;
    }
    const s = state;
    mounted.get(el)?.handle.unmount();
    const entry: Mounted = { productId: options.productId, variantId: options.variantId ?? null, handle: null as unknown as MountHandle };
    const trigger = createTrigger(el, options.label ?? s.t("tryOn"), s.config.styleNonce, s.config.accentColor, (button) => {
      last = entry;
      void s.widget.open(entry.productId, entry.variantId, undefined, button);
    });
    entry.handle = {
      open: (mode?: TryOnMode) => void (heldOut(null) || s.widget.open(entry.productId, entry.variantId, mode, trigger.button)),
      setVariant: (variantId: string | null) => {
        entry.variantId = variantId;
      },
      unmount: () => {
        trigger.remove();
        if (mounted.get(el) === entry) mounted.delete(el);
        if (last === entry) last = null;
      },
    };
    mounted.set(el, entry);
    last = entry;
    loadConfig(entry.productId).then(
      (wc) => {
        const available = wc.modes.length > 0 && wc.product.variants.some((v) => v.hasAsset) !== false;
        if (!available || !trigger.host.isConnected) return;
        const held = heldOut(wc.experiment);
        if (s.analytics.experiment && !eligible.has(entry.productId)) {
          // Both arms alike: the button would be shown (the experiment's denominator).
          eligible.add(entry.productId);
          s.analytics.track("eligible", { productId: entry.productId, variantId: entry.variantId });
        }
        if (held) return void debug("holdout: no try-on button for this shopper");
        trigger.show();
        whenVisible(trigger.host, () => {
          if (impressions.has(entry.productId)) return;
          impressions.add(entry.productId);
          s.analytics.track("impression", { productId: entry.productId, variantId: entry.variantId });
        });
      },
      (err) => debug(`no try-on for product ${entry.productId}`, err),
    );
    return entry.handle;
  }

  function open(options: OpenOptions = {}): void {
    if (!state) {
      console.error(PREFIX, "open() before init(): call TryOn.init({ publishableKey }) first");
      return;
    }
    const productId = options.productId ?? last?.productId;
    if (!productId) {
      console.error(PREFIX, "open(): no productId given and nothing mounted");
      return;
    }
    const variantId = options.variantId !== undefined ? options.variantId : productId === last?.productId ? last.variantId : null;
    if (heldOut(null)) return void debug("holdout: open() ignored");
    void state.widget.open(productId, variantId, options.mode);
  }

  function addedToCart(cart: CartAdd): string | null {
    if (!state || typeof cart?.productId !== "string" || !cart.productId) {
      console.error(PREFIX, "addedToCart() needs init() and a productId");
      return null;
    }
    const props: Record<string, string | number> = { quantity: cart.quantity ?? 1 };
    if (cart.cartToken) props.cart_token = cart.cartToken;
    state.analytics.track("add_to_cart", { productId: cart.productId, variantId: cart.variantId ?? null }, props);
    return state.analytics.widgetSessionId;
  }

  function on<K extends EventName>(event: K, callback: (payload: EventMap[K]) => ListenerResult<K>): () => void {
    if (!EVENT_NAMES.includes(event)) {
      console.warn(PREFIX, `on(): unknown event "${String(event)}" (known: ${EVENT_NAMES.join(", ")})`);
      return () => undefined;
    }
    if (typeof callback !== "function") {
      console.error(PREFIX, "on(): the callback must be a function");
      return () => undefined;
    }
    return emitter.on(event, callback);
  }

  return {
    version: VERSION,
    init,
    mount,
    open,
    close: () => state?.widget.close(),
    addedToCart,
    on,
    off: (event, callback) => emitter.off(event, callback),
  };
}

/** Run `callback` once when `el` is at least half visible (at once without IntersectionObserver). */
function whenVisible(el: Element, callback: () => void): void {
  if (typeof IntersectionObserver === "undefined") {
    callback();
    return;
  }
  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      io.disconnect();
      callback();
    }
  }, { threshold: 0.5 });
  io.observe(el);
}

/** Replay calls a snippet stub recorded (`window.TryOn._q`) on the real object, in order. */
export function replay(api: TryOnAPI, queue: unknown): void {
  if (!Array.isArray(queue)) return;
  for (const call of queue) {
    if (!Array.isArray(call) || typeof call[0] !== "string") continue;
    const [method, args] = call as [string, unknown[]];
    const fn = (api as unknown as Record<string, unknown>)[method];
    if (typeof fn !== "function") {
      console.warn(PREFIX, `queued call to unknown method "${method}" ignored`);
      continue;
    }
    try {
      (fn as (...a: unknown[]) => unknown).apply(api, Array.isArray(args) ? args : [args]);
    } catch (err) {
      console.error(PREFIX, `queued ${method}() failed`, err);
    }
  }
}
