/** The widget API (docs/api.md), spoken with the publishable key. */
import { TryOnError, codeForProblem } from "./errors";
import type { Experiment } from "./experiment";
import type { Geometry, TryOnMode } from "./types";

export interface Variant {
  /** The external id (what pages, events and every API response use). */
  id: string;
  title: string;
  color: string | null;
  size: string | null;
  hasAsset: boolean;
}

export interface BrandModel {
  id: string;
  name: string;
  imageUrl: string | null;
}

export interface WidgetConfig {
  product: { id: string; title: string; category: string; variants: Variant[] };
  modes: TryOnMode[];
  models: BrandModel[];
  quotaExhausted: boolean;
  /** The merchant's running holdout, if any. */
  experiment?: Experiment | null;
}

/** A face in the shopper's photo (`POST /v1/widget/analyze`), in the photo's pixels. */
export interface PhotoFace {
  box: [number, number, number, number];
  /** The shopper wears glasses of their own. */
  glasses: boolean;
}

/** The faces of a photo, largest first: the order of the try-on's `face` index. */
export interface PhotoAnalysis {
  width: number;
  height: number;
  faces: PhotoFace[];
}

/** A product to try next (`GET /v1/widget/recommendations`). */
export interface Recommendation {
  /** The external id. */
  id: string;
  title: string;
  frameShape: string | null;
  /** `similar` and/or `together` (often tried or bought with the product). */
  because: string[];
}

export interface RenderResult {
  image: Blob;
  geometry: Geometry | null;
}

const JSON_TIMEOUT_MS = 10_000;
const RENDER_TIMEOUT_MS = 45_000;

export class ApiClient {
  constructor(
    readonly base: string,
    private readonly key: string,
  ) {}

  async config(productId: string, variantId: string | null): Promise<WidgetConfig> {
    const body = await this.json("GET", "/v1/widget/config", { product: productId, variant: variantId });
    return parseConfig(body);
  }

  async createSession(productId: string, variantId: string | null, mode: TryOnMode): Promise<string> {
    const body = (await this.json("POST", "/v1/widget/sessions", {}, { product_id: productId, variant_id: variantId, mode })) as {
      session_id?: unknown;
    };
    if (typeof body.session_id !== "string") throw new TryOnError("server", "no session id in the response");
    return body.session_id;
  }

  async tryOnPhoto(photo: Blob, productId: string, variantId: string | null, session: string | null, face = 0): Promise<RenderResult> {
    const url = this.url("/v1/widget/tryon", { product: productId, variant: variantId, session, face: face > 0 ? String(face) : null });
    return this.render(url, { method: "POST", body: photo, headers: { "Content-Type": photo.type || "image/jpeg" } });
  }

  /** The faces in a photo (no rendering, no try-on counted), largest first. */
  async analyzePhoto(photo: Blob): Promise<PhotoAnalysis> {
    const headers = { "Content-Type": photo.type || "image/jpeg", Accept: "application/json" };
    const response = await this.fetch(this.url("/v1/widget/analyze", {}), { method: "POST", body: photo, headers }, RENDER_TIMEOUT_MS);
    return parseAnalysis(await response.json());
  }

  /** Products to try next for a product (`GET /v1/widget/recommendations`). */
  async recommendations(productId: string): Promise<Recommendation[]> {
    const body = (await this.json("GET", "/v1/widget/recommendations", { product: productId })) as { data?: unknown };
    return (Array.isArray(body.data) ? body.data : [])
      .filter((r): r is Record<string, unknown> => typeof r === "object" && r !== null && typeof r.external_id === "string")
      .map((r) => ({
        id: r.external_id as string,
        title: typeof r.title === "string" ? r.title : (r.external_id as string),
        frameShape: typeof r.frame_shape === "string" ? r.frame_shape : null,
        because: Array.isArray(r.because) ? r.because.filter((b): b is string => typeof b === "string") : [],
      }));
  }

  async models(productId: string): Promise<BrandModel[]> {
    const body = await this.json("GET", "/v1/widget/models", { product: productId });
    const list = Array.isArray(body) ? body : ((body as { data?: unknown; models?: unknown }).data ?? (body as { models?: unknown }).models);
    return Array.isArray(list) ? list.map(parseModel).filter((m): m is BrandModel => m !== null) : [];
  }

  async tryOnModel(modelId: string, productId: string, variantId: string | null, session: string | null): Promise<RenderResult> {
    const url = this.url(`/v1/widget/models/${encodeURIComponent(modelId)}/tryon`, { product: productId, variant: variantId, session });
    return this.render(url, { method: "POST" });
  }

  /** A brand model's photo (it needs the key, so it cannot be a plain `<img src>`). */
  async image(url: string): Promise<Blob> {
    const response = await this.fetch(this.resolve(url), { method: "GET", headers: { Accept: "image/*" } }, JSON_TIMEOUT_MS);
    return response.blob();
  }

  /** The live WebSocket URL (browsers cannot set headers on a WebSocket: the key goes in the query). */
  liveUrl(productId: string, variantId: string | null, session: string | null): string {
    const url = new URL(this.url("/v1/widget/live", { key: this.key, product: productId, variant: variantId, session, output: "render" }));
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.toString();
  }

  /** Absolute URL of an image path the API returned. */
  resolve(path: string): string {
    return new URL(path, this.base + "/").toString();
  }

  url(path: string, query: Record<string, string | null | undefined>): string {
    const url = new URL(this.base + path);
    for (const [name, value] of Object.entries(query)) {
      if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
    }
    return url.toString();
  }

  private async json(method: string, path: string, query: Record<string, string | null>, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await this.fetch(this.url(path, query), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }, JSON_TIMEOUT_MS);
    return response.json();
  }

  private async render(url: string, init: RequestInit): Promise<RenderResult> {
    const headers = { ...(init.headers as Record<string, string>), Accept: "image/jpeg" };
    const response = await this.fetch(url, { ...init, headers }, RENDER_TIMEOUT_MS);
    const image = await response.blob();
    return { image, geometry: parseGeometryHeader(response.headers.get("Tryon-Geometry")) };
  }

  /** `fetch` with the key, a time limit, and failures turned into {@link TryOnError}s. */
  private async fetch(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    if (typeof navigator !== "undefined" && navigator.onLine === false) throw new TryOnError("offline");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${this.key}` },
        signal: controller.signal,
        credentials: "omit",
        mode: "cors",
      });
    } catch (err) {
      const offline = typeof navigator !== "undefined" && navigator.onLine === false;
      throw new TryOnError(offline ? "offline" : "network", String(err));
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) throw await problemError(response);
    return response;
  }
}

async function problemError(response: Response): Promise<TryOnError> {
  let type: unknown = null;
  let reason: string | undefined;
  let detail = `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { type?: unknown; detail?: unknown; title?: unknown; reason?: unknown };
    type = body.type;
    detail = String(body.detail ?? body.title ?? detail);
    if (typeof body.reason === "string") reason = body.reason.slice(0, 64);
  } catch {
    // not problem+json (a proxy's error page): the status alone decides
  }
  const retry = Number(response.headers.get("Retry-After"));
  return new TryOnError(codeForProblem(type, response.status), detail, Number.isFinite(retry) && retry > 0 ? retry : undefined, reason);
}

/** The geometry JSON of the `Tryon-Geometry` header, or null when absent or unreadable. */
export function parseGeometryHeader(value: string | null): Geometry | null {
  if (!value) return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === "object" && parsed !== null ? (parsed as Geometry) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : null);

/** Read a `GET /v1/widget/config` body, tolerating absent optional members. */
export function parseConfig(raw: unknown): WidgetConfig {
  const body = (raw ?? {}) as Record<string, unknown>;
  const product = (body.product ?? {}) as Record<string, unknown>;
  const id = str(product.external_id) ?? str(product.id);
  if (!id) throw new TryOnError("server", "the widget configuration has no product");
  const variants = (Array.isArray(product.variants) ? product.variants : []).map((v: Record<string, unknown>) => ({
    id: str(v.external_id) ?? str(v.id) ?? "",
    title: str(v.title) ?? "",
    color: str(v.color),
    size: str(v.size),
    hasAsset: v.has_asset !== false && v.tryon_available !== false,
  }));
  const modes = (Array.isArray(body.modes) ? body.modes : []).filter((m): m is TryOnMode => m === "live" || m === "photo" || m === "model");
  const models = (Array.isArray(body.models) ? body.models : []).map(parseModel).filter((m): m is BrandModel => m !== null);
  const quota = (body.quota ?? {}) as Record<string, unknown>;
  const quotaExhausted = quota.exhausted === true || quota.remaining === 0;
  const e = (body.experiment ?? {}) as Record<string, unknown>;
  const share = Number(e.holdout_share);
  return {
    experiment: str(e.id) && str(e.salt) && share >= 0 && share <= 0.5 ? { id: e.id as string, salt: e.salt as string, holdoutShare: share } : null,
    product: { id, title: str(product.title) ?? "", category: str(product.category) ?? "", variants: variants.filter((v) => v.id) },
    modes,
    models,
    quotaExhausted,
  };
}

/** Read a `POST /v1/widget/analyze` body: the faces with a usable box, in the API's order. */
export function parseAnalysis(raw: unknown): PhotoAnalysis {
  const body = (raw ?? {}) as Record<string, unknown>;
  const faces = (Array.isArray(body.faces) ? body.faces : []).flatMap((f: Record<string, unknown>) => {
    const box = Array.isArray(f?.box) ? f.box.map(Number) : [];
    if (box.length !== 4 || !box.every(Number.isFinite) || box[2] <= box[0] || box[3] <= box[1]) return [];
    const glasses = (f.glasses ?? {}) as Record<string, unknown>;
    return [{ box: box as [number, number, number, number], glasses: glasses.present === true }];
  });
  return { width: Number(body.width) || 0, height: Number(body.height) || 0, faces };
}

function parseModel(raw: unknown): BrandModel | null {
  const m = (raw ?? {}) as Record<string, unknown>;
  const id = str(m.id);
  if (!id) return null;
  return { id, name: str(m.name) ?? "", imageUrl: str(m.image_url) ?? str(m.thumbnail_url) ?? str(m.url) };
}
