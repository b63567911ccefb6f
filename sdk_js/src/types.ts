/**
 * Public types of the try-on SDK. Everything a page author can pass in or get back is here,
 * with its default; the build turns this file into `dist/tryon.d.ts`.
 *
 * @packageDocumentation
 */

/** Languages the widget speaks. `"auto"` picks from `navigator.languages`, falling back to English. */
export type Locale = "en" | "fr" | "auto";

/** How a shopper tries a product on. */
export type TryOnMode = "live" | "photo" | "model";

/** Options of {@link TryOnAPI.init}. Unknown options are reported in the console and ignored. */
export interface InitOptions {
  /** The merchant's publishable key (`pk_...`). Required. */
  publishableKey: string;
  /**
   * Base URL of the try-on API, e.g. `"https://api.example.com"`.
   * @defaultValue the origin the SDK script was loaded from, else the page's origin
   */
  apiBase?: string;
  /** Widget language. @defaultValue `"auto"` */
  locale?: Locale;
  /**
   * Mount a button into every `[data-tryon-product]` element, now and when added later.
   * @defaultValue `true`
   */
  autoMount?: boolean;
  /** Modes offered, in this order, when the product supports them. @defaultValue `["live", "photo", "model"]` */
  modes?: TryOnMode[];
  /** Send anonymous usage events (no image, no personal data) to `POST /v1/events`. @defaultValue `true` */
  analytics?: boolean;
  /** Longest side, in pixels, of photos after in-browser downscaling before upload. @defaultValue `1280` */
  maxPhotoSide?: number;
  /** Width of the camera frames sent in live mode (height follows the camera's aspect ratio). @defaultValue `640` */
  liveFrameWidth?: number;
  /** JPEG quality (0-1) of frames and photos sent to the API. @defaultValue `0.8` */
  jpegQuality?: number;
  /** Show the live camera picture mirrored, like a mirror. @defaultValue `true` */
  mirror?: boolean;
  /** Show an "Add to cart" button in the widget (emits `add_to_cart`). @defaultValue `true` */
  addToCart?: boolean;
  /**
   * Size advice whose confidence (0-1) is below this is not shown at all; above it the widget
   * says in words how sure it is ("a rough guess", "a fair guess", "quite sure").
   * `1` turns size advice off. @defaultValue `0.1`
   */
  minSizeConfidence?: number;
  /**
   * Nonce for the widget's `<style>` element, needed only by browsers without constructable
   * stylesheets under a CSP without `'unsafe-inline'` for styles. @defaultValue `undefined`
   */
  styleNonce?: string;
  /** Colour of the widget's buttons and focus rings (any CSS colour). @defaultValue `"#1f5eff"` */
  accentColor?: string;
  /** Log what the SDK does to the console. @defaultValue `false` */
  debug?: boolean;
}

/** Options of {@link TryOnAPI.mount}. */
export interface MountOptions {
  /** The product's id in the merchant's catalog (its external id). Required. */
  productId: string;
  /** The variant's external id. @defaultValue the product's first variant */
  variantId?: string | null;
  /** Text of the button. @defaultValue the localised "Try it on" */
  label?: string;
}

/** Options of {@link TryOnAPI.open}: which product, and optionally which mode to start in. */
export interface OpenOptions {
  /** @defaultValue the product of the most recently mounted button */
  productId?: string;
  /** @defaultValue the mounted button's variant */
  variantId?: string | null;
  /** Start directly in this mode (after the consent notice). @defaultValue the mode chooser */
  mode?: TryOnMode;
}

/** What {@link TryOnAPI.addedToCart} reports: an add made with the page's own button. */
export interface CartAdd {
  productId: string;
  /** @defaultValue null */
  variantId?: string | null;
  /** 1-1000. @defaultValue 1 */
  quantity?: number;
  /** The store's cart id, where orders carry it instead of our ids (see {@link AddedToCart}). */
  cartToken?: string;
}

/** What {@link TryOnAPI.mount} returns. */
export interface MountHandle {
  /** Open the widget for this product. */
  open(mode?: TryOnMode): void;
  /** Change the variant the button opens with (e.g. when the page's colour picker changes). */
  setVariant(variantId: string | null): void;
  /** Remove the button. */
  unmount(): void;
}

/** Stable error codes carried by the `error` event. */
export type ErrorCode =
  | "no_camera"
  | "permission_denied"
  | "camera_busy"
  | "no_face"
  | "offline"
  | "quota_reached"
  | "rate_limited"
  | "invalid_image"
  | "not_available"
  | "invalid_key"
  | "server"
  | "network";

/** Geometry the API returns with a try-on, in pixels of the image sent. */
export interface Geometry {
  faces?: Array<{
    lens_centres?: [number, number][];
    frame_width_px?: number;
    head_pose?: { yaw: number; pitch: number; roll: number };
  }>;
  size_recommendation?: SizeRecommendation | null;
  /** Face products: which face was dressed (the index into the analysis, largest first). */
  face?: number;
  /** Face products: the shopper wears glasses of their own (photo mode). */
  own_glasses?: boolean;
  /** Eyewear: the face shape and the frames that suit it (never stored anywhere). */
  face_advice?: FaceAdvice | null;
  [key: string]: unknown;
}

/** Face shape and frame advice after an eyewear try-on on a photo. */
export interface FaceAdvice {
  /** `oval`, `round`, `square`, `oblong`, `heart`, `diamond` or `triangle`. */
  face_shape: string;
  /** 0-1: the shape's share of the likelihood among all shapes. */
  confidence: number;
  /** Frame shapes that suit, best first (`round`, `oval`, `square`, `rectangular`, `cat-eye`, `aviator`). */
  frame_shapes: string[];
  avoid: string[];
  /** Frame width range in millimetres. */
  frame_width_mm: [number, number];
  /** Why, in English. */
  why: string;
}

/**
 * A size suggestion for the product, when the API can make one. It is made only among the
 * variants that have a size, in the colour being tried on; a product whose variants differ
 * only by colour gets none.
 */
export interface SizeRecommendation {
  /** The recommended size label, e.g. `"M"` or `"52-18"`; null when the API names none
   * (the widget then shows no advice). */
  size: string | null;
  /** The recommended variant: your external id, as everywhere in the SDK. */
  variant_id?: string | null;
  /** 0-1, how sure the recommendation is. */
  confidence?: number;
  /** The measurements it rests on, e.g. `{"face_width_mm": 139}`. */
  measurements?: Record<string, number>;
  [key: string]: unknown;
}

/** Payloads of each event, by name. */
export interface EventMap {
  /** The widget opened. */
  open: { productId: string; variantId: string | null };
  /** The widget closed. */
  close: { productId: string; variantId: string | null };
  /** A try-on image is shown (the first frame in live mode, each photo or model result). */
  result: {
    productId: string;
    variantId: string | null;
    mode: TryOnMode;
    tryonSessionId: string | null;
    latencyMs: number;
    geometry: Geometry | null;
  };
  /** Something went wrong; `code` is stable, `message` is localised for the shopper. */
  error: { code: ErrorCode; message: string; productId: string | null; detail?: string };
  /**
   * The shopper pressed "Add to cart" in the widget. Add the item to your cart here and
   * return whether your cart took it: `true`, `false`, or a promise of either (see
   * {@link AddToCartResult}). The widget says "Added" only when it did.
   */
  add_to_cart: {
    productId: string;
    /** The variant the shopper chose to add (their own pick or the advised size). */
    variantId: string | null;
    /** Keep it as the cart line's `_tryon_session` property: it attributes the line to try-on. */
    tryonSessionId: string | null;
    /** This page's widget session (the usage events' `widget_session_id`): keep it as the cart's `_tryon_widget_session` attribute. */
    widgetSessionId: string;
    /** The size of the variant to add, when the product has sizes. */
    size: string | null;
    /** The size the widget advised, when it showed advice; else null. */
    recommendedSize: string | null;
    /** Whether the shopper chose the advised size; null when no advice was shown. */
    adviceFollowed: boolean | null;
  };
  /** The widget showed size advice (`recommendation.size` is always set here; advice below
   * `minSizeConfidence` is not shown and not reported). */
  size_recommended: { productId: string; variantId: string | null; recommendation: SizeRecommendation & { size: string } };
}

/**
 * What an `add_to_cart` listener returns: whether the page's cart accepted the item.
 * `true` (or a promise of it): the widget says "Added" and sends the `add_to_cart` usage
 * event. `false`, a rejected promise or a throw: the widget says the cart did not take it and
 * sends no event. Nothing (`undefined`, as listeners written for SDK 1.0 return) counts as
 * accepted, and so does `{ cartToken }` ({@link AddedToCart}). With no listener at all
 * nothing can be added, and the widget says so. A promise
 * that has not settled after 20 s counts as refused.
 */
export type AddToCartResult = boolean | void | AddedToCart | Promise<boolean | void | AddedToCart>;

/** An accepting answer that names the store's cart (`^[A-Za-z0-9_.:-]{1,128}$`): for stores
 * whose orders carry the cart id but not our session ids (BigCommerce's `cart_id`), the
 * `add_to_cart` usage event then carries it as `cart_token`, which the order joins on. */
export interface AddedToCart {
  cartToken: string;
}

/** What a listener of `event` may return: only `add_to_cart` listeners' results are used
 * ({@link AddToCartResult}); any other value is ignored, as in SDK 1.0. */
export type ListenerResult<K extends EventName> = [K] extends ["add_to_cart"] ? AddToCartResult | unknown : unknown;

/** Names of the events {@link TryOnAPI.on} accepts. */
export type EventName = keyof EventMap;

/** The `TryOn` object: `window.TryOn` from the script tag, or the default export of the ES module. */
export interface TryOnAPI {
  /** The SDK version, e.g. `"1.0.0"`. */
  readonly version: string;
  /** Configure the SDK. Call once; later calls are reported and ignored. */
  init(options: InitOptions): void;
  /** Put a "Try it on" button in `target` (an element or a CSS selector). */
  mount(target: Element | string, options: MountOptions): MountHandle | null;
  /** Open the widget. */
  open(options?: OpenOptions): void;
  /** Close the widget (stops the camera). */
  close(): void;
  /**
   * Report an add to cart made with the page's own button (the widget reports its own): it
   * counts in the holdout experiment, whichever arm the shopper is in. Returns this page's
   * widget session id, to keep as the cart's `_tryon_widget_session` attribute so the order
   * joins (null before `init()`).
   */
  addedToCart(cart: CartAdd): string | null;
  /** Listen to an event; returns a function that stops listening. */
  on<K extends EventName>(event: K, callback: (payload: EventMap[K]) => ListenerResult<K>): () => void;
  /** Stop listening. */
  off<K extends EventName>(event: K, callback: (payload: EventMap[K]) => ListenerResult<K>): void;
}
