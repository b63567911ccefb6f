/**
 * The try-on modal, inside a Shadow DOM so that the page's CSS and the widget's never mix.
 * One instance per page; it shows one product at a time.
 */
import type { Analytics } from "../analytics";
import type { ApiClient, PhotoFace, Recommendation, RenderResult, Variant, WidgetConfig } from "../api";
import type { Emitter } from "../emitter";
import { TryOnError } from "../errors";
import type { MessageKey, Translate } from "../i18n";
import { PhotoError, preparePhoto } from "../image";
import { LiveSession, openCamera } from "../live";
import type { Config } from "../options";
import type { ErrorCode, FaceAdvice, Geometry, SizeRecommendation, TryOnMode } from "../types";
import { focusables, h, replace, trapTab } from "./dom";
import { colourChoices } from "./colours";
import { Looks } from "./looks";
import { applyStyles } from "./styles";

const FACES = ["oval", "round", "square", "oblong", "heart", "diamond", "triangle"];
const FRAMES = ["round", "oval", "square", "rectangular", "cat-eye", "aviator"];

export interface WidgetContext {
  config: Config;
  t: Translate;
  api: ApiClient;
  analytics: Analytics;
  emitter: Emitter;
  /** The language the messages are in, for the dialog's `lang`. */
  lang: string;
  loadConfig(productId: string): Promise<WidgetConfig>;
}

const CAMERA_ERRORS: readonly ErrorCode[] = ["no_camera", "permission_denied", "camera_busy"];

/** What the picture lacks, by the API's reasons (`no-face`, `face-too-small`,
 * `face-turned-away`, `eyes-covered`, `face-not-found`, `body-not-visible`, ...). */
export function missingPart(reason: string | undefined): "face" | "body" | "neck" | "small" | "turned" | "eyes" | "pick" {
  if (reason === "face-too-small") return "small";
  if (reason === "face-turned-away") return "turned";
  if (reason === "eyes-covered") return "eyes";
  if (reason === "face-not-found") return "pick";
  if (reason && /neck/.test(reason)) return "neck";
  if (reason && /body|shoulder|torso/.test(reason)) return "body";
  return "face";
}

/** What a photo must show for a product category, as a message key. */
export function photoHintKey(category: string | undefined): MessageKey {
  switch (category) {
    case "hat":
    case "earrings":
    case "necklace":
    case "top":
      return `hint_${category}`;
    default:
      return "hint_eyewear";
  }
}

/** How sure size advice is, in three words a shopper understands. */
export function sureness(confidence: number): "low" | "mid" | "high" {
  return confidence >= 0.75 ? "high" : confidence >= 0.4 ? "mid" : "low";
}

export class Widget {
  private host: HTMLElement | null = null;
  private root: ShadowRoot | null = null;
  private dialog!: HTMLElement;
  private body!: HTMLElement;
  private status!: HTMLElement;
  private opener: HTMLElement | null = null;
  private productId = "";
  private variantId: string | null = null;
  private wc: WidgetConfig | null = null;
  private sessionId: string | null = null;
  private mode: TryOnMode | null = null;
  private readonly consented = new Set<"camera" | "photo">();
  private live: LiveSession | null = null;
  private stream: MediaStream | null = null;
  private photo: Blob | null = null;
  /** The photo's faces (largest first) once analysed, and the one chosen (0 = the largest). */
  private faces: PhotoFace[] | null = null;
  private face = 0;
  private modelId: string | null = null;
  private modelName = "";
  /** The size advice shown for the current result (only at or above the merchant's threshold). */
  private size: (SizeRecommendation & { size: string; confidence: number }) | null = null;
  /** Whether the shopper chose to add their own pick or the advised size. */
  private choice: "picked" | "advised" = "picked";
  private urls: string[] = [];
  /** The product was opened from the recommendations row (said in its events). */
  private fromRec = false;
  /** The face advice of the last eyewear result: the row shows which frames suit. */
  private shapeAdvice: FaceAdvice | null = null;
  private readonly recs = new Map<string, Promise<Recommendation[]>>();
  readonly looks = new Looks();
  private restored = false;
  private mirror: boolean;
  private generation = 0;
  private readonly onOffline = () => this.error(new TryOnError("offline"), () => this.restart());

  constructor(private readonly ctx: WidgetContext) {
    this.mirror = ctx.config.mirror;
  }

  get isOpen(): boolean {
    return this.host !== null && !this.host.hidden;
  }

  /** Open for a product; `mode` skips the chooser. */
  async open(productId: string, variantId: string | null, mode?: TryOnMode, opener?: HTMLElement | null): Promise<void> {
    if (this.isOpen) this.close();
    this.build();
    const gen = ++this.generation;
    this.opener = opener ?? (document.activeElement as HTMLElement | null);
    this.productId = productId;
    this.variantId = variantId;
    this.sessionId = null;
    this.size = null;
    this.fromRec = false;
    this.shapeAdvice = null;
    if (!this.restored) {
      this.restored = true;
      void this.looks.restore();
    }
    (this.host as HTMLElement).hidden = false;
    window.addEventListener("offline", this.onOffline);
    this.busy(this.ctx.t("loading"));
    this.focusFirst();
    this.ctx.emitter.emit("open", { productId, variantId });
    this.ctx.analytics.track("open", { productId, variantId });
    try {
      this.wc = await this.ctx.loadConfig(productId);
    } catch (err) {
      if (gen === this.generation) this.error(asError(err), () => void this.open(productId, variantId, mode, this.opener));
      return;
    }
    if (gen !== this.generation) return;
    if (this.variantId === null) this.variantId = this.wc.product.variants[0]?.id ?? null;
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      this.onOffline();
      return;
    }
    if (this.wc.quotaExhausted) {
      this.error(new TryOnError("quota_reached"), null);
      return;
    }
    if (mode && this.modes().includes(mode)) this.choose(mode);
    else this.home();
  }

  close(): void {
    if (!this.isOpen) return;
    this.generation++;
    this.stopLive();
    this.photo = null;
    this.modelId = null;
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
    window.removeEventListener("offline", this.onOffline);
    (this.host as HTMLElement).hidden = true;
    replace(this.body);
    this.ctx.emitter.emit("close", { productId: this.productId, variantId: this.variantId });
    if (this.opener?.isConnected) this.opener.focus();
    this.opener = null;
  }

  destroy(): void {
    this.close();
    this.host?.remove();
    this.host = null;
  }

  private build(): void {
    if (this.host) return;
    const { t, config } = this.ctx;
    const host = h("div", { "data-tryon-widget": "" });
    host.hidden = true;
    host.style.setProperty("--tryon-accent", config.accentColor);
    const root = host.attachShadow({ mode: "open" });
    applyStyles(root, config.styleNonce);
    this.status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    this.body = h("div", { class: "body" });
    this.dialog = h(
      "div",
      { class: "dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "tryon-title", lang: this.ctx.lang },
      h(
        "div",
        { class: "head" },
        h("h2", { id: "tryon-title" }, t("dialogTitle")),
        h("button", { type: "button", class: "x", "aria-label": t("close"), onclick: () => this.close() }, "×"),
      ),
      this.body,
      h("div", { class: "body" }, this.status),
    );
    const backdrop = h("div", { class: "backdrop", onclick: (e: Event) => e.target === backdrop && this.close() }, this.dialog);
    backdrop.addEventListener("keydown", (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        this.close();
      } else trapTab(e, this.dialog, root.activeElement);
    });
    root.appendChild(backdrop);
    document.body.appendChild(host);
    this.host = host;
    this.root = root;
  }

  private focusFirst(): void {
    const items = focusables(this.body);
    (items[0] ?? focusables(this.dialog)[0])?.focus();
  }

  private setStatus(text: string): void {
    this.status.textContent = text;
  }

  private busy(text: string): void {
    replace(this.body, h("div", { class: "stage", "aria-hidden": "true" }, h("div", { class: "spinner" })));
    this.setStatus(text);
  }

  private modes(): TryOnMode[] {
    const offered = this.wc?.modes.length ? this.wc.modes : (["live", "photo", "model"] as TryOnMode[]);
    return this.ctx.config.modes.filter(
      (m) => offered.includes(m) && (m !== "model" || (this.wc?.models.length ?? 0) > 0 || offered.includes("model")),
    );
  }

  /** "A photo of your face, looking at the camera", as fits the product. */
  private photoHint(): string {
    return this.ctx.t("photoOf", { hint: this.ctx.t(photoHintKey(this.wc?.product.category)) });
  }

  private title(): string {
    const variant = this.wc?.product.variants.find((v) => v.id === this.variantId);
    const title = this.wc?.product.title ?? "";
    return variant?.color ? `${title} — ${variant.color}` : title;
  }

  /** The mode chooser with the product and its colours. */
  private home(): void {
    const { t } = this.ctx;
    this.stopLive();
    const hints: Record<TryOnMode, [MessageKey, MessageKey]> = {
      live: ["modeLive", "modeLiveHint"],
      photo: ["modePhoto", "modePhotoHint"], // the hint is made for the category below
      model: ["modeModel", "modeModelHint"],
    };
    const modes = this.modes();
    replace(
      this.body,
      h("p", { class: "product" }, this.title()),
      this.variantPicker(() => this.home()),
      modes.length
        ? h("h3", { id: "tryon-modes" }, t("chooseMode"))
        : h("p", { class: "error", role: "alert" }, t("unavailable")),
      h(
        "div",
        { class: "modes", role: "group", "aria-labelledby": "tryon-modes" },
        ...modes.map((m) =>
          h("button", { type: "button", "data-mode": m, onclick: () => this.choose(m) }, h("strong", {}, t(hints[m][0])), h("small", {}, m === "photo" ? this.photoHint() : t(hints[m][1]))),
        ),
      ),
    );
    this.setStatus("");
    this.focusFirst();
  }

  /** Colour buttons (one per colour, not per size); `after` re-runs the current view with the
   * new variant. */
  private variantPicker(after: () => void): HTMLElement | null {
    const choices = colourChoices(this.wc?.product.variants ?? [], this.variantId);
    if (choices.length === 0) return null;
    return h(
      "fieldset",
      { class: "swatches" },
      h("legend", {}, this.ctx.t("colour")),
      ...choices.map((choice) => {
        const dot = h("span", { class: "dot", "aria-hidden": "true" });
        if (choice.color && typeof CSS !== "undefined" && CSS.supports?.("color", choice.color)) dot.style.background = choice.color;
        return h(
          "button",
          {
            type: "button",
            "aria-pressed": String(choice.pressed),
            "data-variant": choice.variantId,
            onclick: () => {
              if (choice.pressed) return;
              this.variantId = choice.variantId;
              this.size = null;
              after();
            },
          },
          dot,
          choice.label,
        );
      }),
    );
  }

  private choose(mode: TryOnMode): void {
    this.mode = mode;
    if (mode === "model") {
      void this.models();
      return;
    }
    const kind = mode === "live" ? "camera" : "photo";
    const go = () => (mode === "live" ? void this.startLive() : this.photoPicker());
    if (this.consented.has(kind)) go();
    else this.consent(kind, go);
  }

  private consent(kind: "camera" | "photo", accepted: () => void): void {
    const { t } = this.ctx;
    replace(
      this.body,
      h("h3", { id: "tryon-consent" }, t("consentTitle")),
      h("p", { class: "consent", id: "tryon-consent-text" }, t(kind === "camera" ? "consentCamera" : "consentPhoto")),
      h(
        "div",
        { class: "bar" },
        h("button", { type: "button", "data-action": "consent", "aria-describedby": "tryon-consent-text", onclick: () => {
          this.consented.add(kind);
          accepted();
        } }, t("consentAgree")),
        h("button", { type: "button", class: "ghost", onclick: () => this.home() }, t("cancel")),
      ),
    );
    this.setStatus("");
    this.focusFirst();
  }

  private async ensureSession(mode: TryOnMode): Promise<string | null> {
    if (this.sessionId && this.mode === mode) return this.sessionId;
    this.mode = mode;
    this.sessionId = await this.ctx.api.createSession(this.productId, this.variantId, mode);
    this.ctx.analytics.track("tryon_started", this.ids(), { mode, ...this.rec() });
    return this.sessionId;
  }

  private rec(): { from_recommendation?: true } {
    return this.fromRec ? { from_recommendation: true } : {};
  }

  private ids() {
    return { productId: this.productId, variantId: this.variantId, tryonSessionId: this.sessionId };
  }

  // ---- live ----------------------------------------------------------------------------

  private async startLive(): Promise<void> {
    const { t, config } = this.ctx;
    const gen = this.generation;
    // A new variant reconnects with the same camera stream: no second permission prompt.
    this.forgetAdvice();
    this.live?.stop();
    this.live = null;
    const canvas = h("canvas", { role: "img", "aria-label": `${t("live")}: ${this.title()}`, class: this.mirror ? "mirrored" : "" });
    const video = h("video", { "aria-hidden": "true", muted: true, playsinline: true });
    // The overlay shows on the picture what the status region (aria-live) says.
    const overlay = h("div", { class: "overlay", "aria-hidden": "true" }, t("starting"));
    const mirror = h("button", { type: "button", class: "ghost", "aria-pressed": String(this.mirror), "data-action": "mirror", onclick: () => {
      this.mirror = !this.mirror;
      mirror.setAttribute("aria-pressed", String(this.mirror));
      canvas.classList.toggle("mirrored", this.mirror);
    } }, t("mirror"));
    const snap = h("button", { type: "button", "data-action": "snapshot", disabled: true, onclick: () => void this.snapshot(canvas) }, t("snapshot"));
    replace(
      this.body,
      h("p", { class: "product" }, this.title()),
      this.variantPicker(() => void this.startLive()),
      h("div", { class: "stage", "data-state": "starting" }, canvas, video, overlay),
      h("div", { class: "bar" }, mirror, snap, h("span", { class: "grow" }), h("button", { type: "button", class: "ghost", onclick: () => this.home() }, t("back"))),
      this.actions(),
      this.nextRow(),
    );
    this.setStatus(t("starting"));
    this.focusFirst();
    let stream = this.stream;
    try {
      if (!stream || !stream.active) stream = this.stream = await openCamera(config.liveFrameWidth);
      if (gen !== this.generation) return this.stopLive();
      overlay.textContent = t("connecting");
      this.setStatus(t("connecting"));
      await this.ensureSession("live");
    } catch (err) {
      if (gen !== this.generation) return;
      const error = asError(err);
      this.stopLive();
      this.error(error, CAMERA_ERRORS.includes(error.code) ? null : () => void this.startLive());
      return;
    }
    if (gen !== this.generation) return this.stopLive();
    const stage = canvas.parentElement as HTMLElement;
    const started = performance.now();
    // "Nobody to try it on" from the server while frames come back unchanged: the shopper
    // is told in the status region (aria-live) and on the picture until someone is found.
    let hint: string | null = null;
    const show = () => {
      const live = stage.dataset.state === "live";
      const text = hint ?? t(live ? "live" : "connecting");
      overlay.textContent = text;
      overlay.hidden = live && hint === null;
      this.setStatus(text);
    };
    const session = new LiveSession({
      url: this.ctx.api.liveUrl(this.productId, this.variantId, this.sessionId),
      frameWidth: config.liveFrameWidth,
      quality: config.jpegQuality,
      onFrame: (frame) => {
        if (canvas.width !== frame.width) canvas.width = frame.width;
        if (canvas.height !== frame.height) canvas.height = frame.height;
        canvas.getContext("2d")?.drawImage(frame, 0, 0);
        frame.close();
        stage.dataset.frames = String(session.stats.received);
        stage.dataset.fps = String(session.stats.fps);
      },
      onFirstFrame: () => {
        stage.dataset.state = "live";
        snap.disabled = false;
        show();
        this.rendered("live", performance.now() - started, null);
      },
      onError: (error) => {
        this.live = null;
        this.stopLive();
        this.failed(error);
        this.error(error, () => void this.startLive());
      },
      onMessage: (message) => {
        const size = (message as { size_recommendation?: SizeRecommendation }).size_recommendation;
        if (size) this.recommend(size);
        if (message.type !== "status") return;
        const reason = message.subject_found === false ? String(message.reason ?? "no-face") : null;
        if (reason === (stage.dataset.hint ?? null)) return;
        if (reason) stage.dataset.hint = reason;
        else delete stage.dataset.hint;
        hint = reason && t(`err_live_${missingPart(reason)}`);
        show();
      },
    });
    this.live = session;
    await session.start(stream, video);
  }

  private stopLive(): void {
    this.live?.stop();
    this.live = null;
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
  }

  private async snapshot(source: HTMLCanvasElement): Promise<void> {
    const { t } = this.ctx;
    const canvas = h("canvas", { role: "img", "aria-label": `${t("snapshot")}: ${this.title()}` });
    canvas.width = source.width;
    canvas.height = source.height;
    const c = canvas.getContext("2d");
    if (!c) return;
    if (this.mirror) c.setTransform(-1, 0, 0, 1, source.width, 0);
    c.drawImage(source, 0, 0);
    this.stopLive();
    canvas.toBlob((blob) => blob && void this.keepLook(blob), "image/jpeg", 0.85);
    replace(
      this.body,
      h("p", { class: "product" }, this.title()),
      h("div", { class: "stage", "data-state": "snapshot" }, canvas),
      h("div", { class: "bar" }, await this.downloadLink(canvas), h("button", { type: "button", class: "ghost", onclick: () => void this.startLive() }, t("retake"))),
      this.actions(),
    );
    this.setStatus(t("snapshot"));
    this.focusFirst();
  }

  // ---- photo and model -----------------------------------------------------------------

  private photoPicker(): void {
    const { t } = this.ctx;
    const input = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp", class: "sr-only", id: "tryon-file", tabindex: "-1", "aria-hidden": "true" });
    input.addEventListener("change", () => {
      const file = input.files?.[0];
      if (file) void this.runPhoto(file);
    });
    replace(
      this.body,
      h("p", { class: "product" }, this.title()),
      this.variantPicker(() => this.photoPicker()),
      h("div", { class: "bar" }, h("button", { type: "button", "data-action": "choose-photo", onclick: () => input.click() }, t("choosePhoto")), h("button", { type: "button", class: "ghost", onclick: () => this.home() }, t("back"))),
      input,
    );
    this.setStatus(this.photoHint());
    this.focusFirst();
  }

  private async runPhoto(file: Blob | null): Promise<void> {
    const gen = this.generation;
    const { config, t } = this.ctx;
    this.forgetAdvice();
    this.busy(t("rendering"));
    const started = performance.now();
    try {
      if (file) {
        this.photo = (await preparePhoto(file, config.maxPhotoSide, config.jpegQuality)).blob;
        this.faces = null;
        this.face = 0;
      }
      if (!this.photo) return this.photoPicker();
      await this.ensureSession("photo");
      if (this.faces === null) {
        // Several people: the shopper picks who tries it on (the largest is preselected).
        const analysis = await this.ctx.api.analyzePhoto(this.photo);
        if (gen !== this.generation) return;
        this.faces = analysis.faces;
        if (analysis.faces.length > 1) return await this.facePicker(analysis.faces);
      }
      const result = await this.ctx.api.tryOnPhoto(this.photo, this.productId, this.variantId, this.sessionId, this.face);
      if (gen === this.generation) await this.result(result, "photo", performance.now() - started);
    } catch (err) {
      if (gen !== this.generation) return;
      const error = err instanceof PhotoError ? new TryOnError("invalid_image", err.message) : asError(err);
      this.failed(error);
      // A photo with several people: "try again" goes back to choosing who tries it on.
      const faces = this.faces;
      const retry =
        error.code === "no_face" && faces && faces.length > 1
          ? () => void this.facePicker(faces)
          : error.code === "no_face" || error.code === "invalid_image"
            ? () => this.photoPicker()
            : () => void this.runPhoto(null);
      this.error(error, retry);
    }
  }

  /** One button per face (a crop of the photo), largest first and preselected. */
  private async facePicker(faces: PhotoFace[]): Promise<void> {
    const { t } = this.ctx;
    const bitmap = this.photo ? await createImageBitmap(this.photo).catch(() => null) : null;
    const options = faces.map((face, i) => {
      const [x0, y0, x1, y1] = face.box;
      const side = Math.max(x1 - x0, y1 - y0) * 1.4;
      const thumb = h("canvas", { "aria-hidden": "true" });
      thumb.width = thumb.height = 72;
      if (bitmap) thumb.getContext("2d")?.drawImage(bitmap, (x0 + x1) / 2 - side / 2, (y0 + y1) / 2 - side / 2, side, side, 0, 0, 72, 72);
      const label = t("pickFaceOption", { n: String(i + 1) });
      const button = h(
        "button",
        { type: "button", class: "face", "data-face": String(i), "aria-pressed": String(i === this.face), "aria-label": label, title: label },
        thumb,
      );
      button.addEventListener("click", () => {
        this.face = i;
        for (const other of Array.from(button.parentElement?.children ?? [])) other.setAttribute("aria-pressed", String(other === button));
      });
      return button;
    });
    bitmap?.close();
    replace(
      this.body,
      h("p", { class: "product" }, this.title()),
      h("p", { class: "pick-face", id: "tryon-pick-face" }, t("pickFace", { count: String(faces.length) })),
      h("div", { class: "faces", role: "group", "aria-labelledby": "tryon-pick-face" }, ...options),
      h(
        "div",
        { class: "bar" },
        h("button", { type: "button", "data-action": "pick-face", onclick: () => void this.runPhoto(null) }, t("pickFaceGo")),
        h("button", { type: "button", class: "ghost", onclick: () => this.photoPicker() }, t("anotherPhoto")),
      ),
    );
    // The group is labelled by the question: the status line would only repeat it.
    this.setStatus("");
    this.focusFirst();
  }

  private async models(): Promise<void> {
    const { t, api } = this.ctx;
    const gen = this.generation;
    this.busy(t("loading"));
    let models = this.wc?.models ?? [];
    try {
      if (models.length === 0) models = await api.models(this.productId);
    } catch (err) {
      if (gen === this.generation) this.error(asError(err), () => void this.models());
      return;
    }
    if (gen !== this.generation) return;
    replace(
      this.body,
      h("p", { class: "product" }, this.title()),
      this.variantPicker(() => void this.models()),
      h("h3", { id: "tryon-models" }, t("models")),
      h(
        "div",
        { class: "models", role: "group", "aria-labelledby": "tryon-models" },
        ...models.map((m) =>
          h(
            "button",
            { type: "button", "data-model": m.id, onclick: () => {
              this.modelName = m.name || "";
              void this.runModel(m.id);
            } },
            m.imageUrl ? this.thumbnail(m.imageUrl) : null,
            m.name || m.id,
          ),
        ),
      ),
      h("div", { class: "bar" }, h("button", { type: "button", class: "ghost", onclick: () => this.home() }, t("back"))),
    );
    this.setStatus("");
    this.focusFirst();
  }

  /** A model photo drawn on a canvas once fetched with the key (no img-src needed in the CSP). */
  private thumbnail(url: string): HTMLCanvasElement {
    const canvas = h("canvas", { class: "thumb", "aria-hidden": "true" });
    this.ctx.api
      .image(url)
      .then((blob) => createImageBitmap(blob))
      .then((bitmap) => {
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
        canvas.getContext("2d")?.drawImage(bitmap, 0, 0);
        bitmap.close();
      })
      .catch(() => undefined); // the name is still there to choose by
    return canvas;
  }

  private async runModel(modelId: string): Promise<void> {
    const gen = this.generation;
    this.forgetAdvice();
    this.modelId = modelId;
    this.modelName = this.wc?.models.find((m) => m.id === modelId)?.name || this.modelName;
    this.busy(this.ctx.t("rendering"));
    const started = performance.now();
    try {
      await this.ensureSession("model");
      const result = await this.ctx.api.tryOnModel(modelId, this.productId, this.variantId, this.sessionId);
      if (gen === this.generation) await this.result(result, "model", performance.now() - started);
    } catch (err) {
      if (gen !== this.generation) return;
      const error = asError(err);
      this.failed(error);
      this.error(error, () => void this.runModel(modelId));
    }
  }

  // ---- results, size, cart, errors ------------------------------------------------------

  private async result(result: RenderResult, mode: TryOnMode, latencyMs: number): Promise<void> {
    const { t } = this.ctx;
    // Every result replaces all of the one before: its advice goes with it.
    this.forgetAdvice();
    const bitmap = await createImageBitmap(result.image).catch(() => null);
    if (!bitmap) throw new TryOnError("server", "the rendered image cannot be decoded");
    // A brand model's picture is not the shopper's: "Ava, wearing ...", never "You, wearing ...".
    const caption = mode === "model" && this.modelName ? t("modelResult", { name: this.modelName }) : mode === "model" ? "" : t("photoResult");
    const label = `${caption} ${this.title()}`.trim();
    const canvas = h("canvas", { role: "img", "aria-label": label });
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext("2d")?.drawImage(bitmap, 0, 0);
    bitmap.close();
    const again = mode === "photo" ? () => void this.runPhoto(null) : () => void this.runModel(this.modelId as string);
    replace(
      this.body,
      h("p", { class: "product" }, this.title()),
      this.variantPicker(again),
      h("div", { class: "stage", "data-state": "result", "data-mode": mode }, canvas),
      // The shopper's own glasses under the new frame: taking them off looks better.
      mode === "photo" && result.geometry?.own_glasses === true && this.wc?.product.category === "eyewear"
        ? h("p", { class: "note", "data-note": "own-glasses" }, t("ownGlasses"))
        : null,
      h(
        "div",
        { class: "bar" },
        await this.downloadLink(canvas),
        h("button", { type: "button", class: "ghost", onclick: () => (mode === "photo" ? this.photoPicker() : void this.models()) }, t(mode === "photo" ? "anotherPhoto" : "models")),
        this.compareButton(),
      ),
      this.actions(),
      this.faceAdvice(mode === "photo" ? result.geometry : null),
      this.nextRow(),
    );
    await this.keepLook(result.image);
    this.setStatus(label);
    this.rendered(mode, latencyMs, result.geometry);
    this.focusFirst();
  }

  private rendered(mode: TryOnMode, latencyMs: number, geometry: Geometry | null): void {
    const latency = Math.round(latencyMs);
    this.ctx.analytics.track("tryon_rendered", this.ids(), { mode, category: this.wc?.product.category ?? null, latency_ms: latency, ...this.rec() });
    this.ctx.emitter.emit("result", { productId: this.productId, variantId: this.variantId, mode, tryonSessionId: this.sessionId, latencyMs: latency, geometry });
    const size = geometry?.size_recommendation;
    if (size) this.recommend(size);
  }

  /** Whether the product comes in sizes at all (variants that differ only by colour do not). */
  private hasSizes(): boolean {
    return this.wc?.product.variants.some((v) => v.size) ?? false;
  }

  private forgetAdvice(): void {
    this.size = null;
    this.choice = "picked";
    this.root?.querySelector(".extras")?.replaceWith(this.actions());
  }

  private recommend(raw: SizeRecommendation): void {
    // Only a named size is advice; a colour is never shown as one.
    if (typeof raw.size !== "string" || raw.size === "" || !this.hasSizes()) return;
    const confidence = typeof raw.confidence === "number" && Number.isFinite(raw.confidence) ? Math.min(1, Math.max(0, raw.confidence)) : 0;
    // Below the merchant's threshold the widget says nothing rather than guess out loud.
    if (confidence < this.ctx.config.minSizeConfidence) return;
    const size = { ...raw, size: raw.size, variant_id: raw.variant_id ?? null, confidence };
    if (this.size?.size === size.size) return;
    this.size = size;
    this.choice = "picked";
    this.ctx.analytics.track("size_recommended", this.ids(), { size: size.size.slice(0, 32), confidence });
    this.ctx.emitter.emit("size_recommended", { productId: this.productId, variantId: this.variantId, recommendation: size });
    this.root?.querySelector(".extras")?.replaceWith(this.actions());
  }

  private variant(id: string | null): Variant | undefined {
    return this.wc?.product.variants.find((v) => v.id === id);
  }

  /** The variant the advice names: its id, else the advised size in the colour being tried. */
  private advisedVariant(): Variant | undefined {
    if (!this.size) return undefined;
    const picked = this.variant(this.variantId);
    const variants = this.wc?.product.variants ?? [];
    const advised = this.size.variant_id ? this.variant(this.size.variant_id) : undefined;
    return advised ?? variants.find((v) => v.size === this.size?.size && (!picked || v.color === picked.color));
  }

  /** The variant "Add to cart" adds: the shopper's pick unless they chose the advice. */
  private chosenVariant(): Variant | undefined {
    const advised = this.advisedVariant();
    return this.choice === "advised" && advised ? advised : this.variant(this.variantId);
  }

  /** The advice, how sure it is, and (when it differs from the shopper's pick) the choice. */
  private sizePanel(): HTMLElement {
    const { t } = this.ctx;
    const panel = h("section", { class: "size", "aria-labelledby": "tryon-size" });
    if (!this.size) {
      panel.hidden = true;
      return panel;
    }
    const level = sureness(this.size.confidence);
    panel.dataset.sureness = level;
    panel.append(
      h("h3", { id: "tryon-size" }, t("sizeTitle")),
      h("p", { class: "advice" }, t("sizeAdvice", { size: this.size.size })),
      h("p", { class: "sure" }, t(`sure_${level}`)),
    );
    const picked = this.variant(this.variantId);
    const advised = this.advisedVariant();
    if (!picked?.size || !advised?.size) return panel;
    if (picked.id === advised.id) {
      panel.append(h("p", { class: "same" }, t("sizeSame", { size: picked.size })));
      return panel;
    }
    const option = (which: "picked" | "advised", variant: Variant) =>
      h("button", {
        type: "button",
        "data-choice": which,
        "data-choice-variant": variant.id,
        "aria-pressed": String(this.choice === which),
        onclick: () => {
          if (this.choice === which) return;
          this.choice = which;
          this.root?.querySelector(".extras")?.replaceWith(this.actions());
          (this.root?.querySelector(`[data-choice=${which}]`) as HTMLElement | null)?.focus();
        },
      }, t(which === "picked" ? "choicePicked" : "choiceAdvised", { size: variant.size ?? "" }));
    panel.append(
      h("fieldset", { class: "swatches choice" }, h("legend", {}, t("sizeChoose")), option("picked", picked), option("advised", advised)),
    );
    return panel;
  }

  /** The size panel and the add-to-cart button under a result. */
  private actions(): HTMLElement {
    const { t, config } = this.ctx;
    const chosen = this.chosenVariant();
    const cart = config.addToCart
      ? h("button", { type: "button", "data-action": "add-to-cart", onclick: () => void this.addToCart(cart as HTMLButtonElement) },
          chosen?.size ? t("addSize", { size: chosen.size }) : t("addToCart"))
      : null;
    // The outcome is said next to the button too (the status region may be scrolled away);
    // hidden from assistive technology, which hears it once from the status region.
    const note = h("span", { class: "cart-note", "aria-hidden": "true" });
    return h("div", { class: "extras" }, this.sizePanel(), cart ? h("div", { class: "bar" }, cart, note) : null);
  }

  /** Ask the page's cart to take the chosen variant; say "Added" only when it did. */
  private async addToCart(button: HTMLButtonElement): Promise<void> {
    const { t } = this.ctx;
    const gen = this.generation;
    const chosen = this.chosenVariant();
    const variantId = chosen?.id ?? this.variantId;
    const size = chosen?.size ?? null;
    const recommendedSize = this.size?.size ?? null;
    const adviceFollowed = recommendedSize === null || size === null ? null : size === recommendedSize;
    const note = button.parentElement?.querySelector(".cart-note");
    const say = (text: string) => {
      this.setStatus(text);
      if (note) note.textContent = text;
    };
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    say(t("adding"));
    const { answer, cartToken } = await this.ctx.emitter.reply("add_to_cart", {
      productId: this.productId,
      variantId,
      tryonSessionId: this.sessionId,
      widgetSessionId: this.ctx.analytics.widgetSessionId,
      size,
      recommendedSize,
      adviceFollowed,
    });
    if (gen !== this.generation) return;
    button.disabled = false;
    button.removeAttribute("aria-busy");
    const extras = button.closest(".extras") as HTMLElement | null;
    if (extras) extras.dataset.cart = answer;
    if (answer !== "accepted") {
      say(t(answer === "refused" ? "cartRefused" : "cartUnheard"));
      return;
    }
    const properties: Record<string, string | number | boolean> = { quantity: 1 };
    if (size) properties.size = size.slice(0, 32);
    if (recommendedSize) properties.recommended_size = recommendedSize.slice(0, 32);
    if (adviceFollowed !== null) properties.advice_followed = adviceFollowed;
    if (cartToken) properties.cart_token = cartToken;
    if (this.fromRec) properties.from_recommendation = true;
    this.ctx.analytics.track("add_to_cart", { ...this.ids(), variantId }, properties);
    say(t("added"));
  }

  // ---- advice, what to try next, looks to compare -----------------------------------------

  /** Face shape and frame advice after an eyewear photo try-on (shown, never kept). */
  private faceAdvice(geometry: Geometry | null): HTMLElement | null {
    const { t } = this.ctx;
    const a = geometry?.face_advice;
    this.shapeAdvice = null;
    if (!a || this.wc?.product.category !== "eyewear" || !FACES.includes(a.face_shape)) return null;
    this.shapeAdvice = a;
    const shapes = (a.frame_shapes ?? []).filter((f) => FRAMES.includes(f));
    const [min, max] = a.frame_width_mm ?? [];
    return h(
      "section",
      { class: "face", "aria-labelledby": "tryon-face" },
      h("h3", { id: "tryon-face" }, t("faceTitle")),
      h("p", {}, t("faceShape", { shape: t(`face_${a.face_shape}` as MessageKey), sure: t(`faceSure_${sureness(a.confidence)}`) })),
      shapes.length ? h("p", {}, t("frameSuits", { shapes: shapes.map((f) => t(`frame_${f}` as MessageKey)).join(", ") })) : null,
      min && max ? h("p", {}, t("frameWidth", { min: String(min), max: String(max) })) : null,
      this.ctx.lang === "en" && a.why ? h("p", { class: "product" }, a.why) : null,
    );
  }

  /** Products to try next on the same photo or stream; filled when the API answers. */
  private nextRow(): HTMLElement {
    const { t } = this.ctx;
    const list = h("ul", {});
    const row = h("section", { class: "next", "aria-labelledby": "tryon-next" }, h("h3", { id: "tryon-next" }, t("tryNext")), list);
    row.hidden = true;
    const id = this.productId;
    let found = this.recs.get(id);
    if (!found) this.recs.set(id, (found = this.ctx.api.recommendations(id).catch(() => [])));
    void found.then((items) => {
      const suits = (r: Recommendation) => !!this.shapeAdvice && !!r.frameShape && this.shapeAdvice.frame_shapes.includes(r.frameShape);
      const sorted = [...items].sort((a, b) => Number(suits(b)) - Number(suits(a)));
      for (const r of sorted.slice(0, 6)) {
        list.append(h("li", {}, h("button", { type: "button", "data-next": r.id, onclick: () => void this.tryNext(r.id) }, r.title, suits(r) ? h("small", {}, t("suitsYou")) : null)));
      }
      row.hidden = sorted.length === 0;
    });
    return row;
  }

  /** Try another product on what the shopper already gave: the same photo (sent again,
   * never kept by us), the same camera stream, or the same brand model. */
  private async tryNext(productId: string): Promise<void> {
    const mode = this.mode;
    const gen = ++this.generation;
    this.busy(this.ctx.t("loading"));
    try {
      this.wc = await this.ctx.loadConfig(productId);
    } catch (err) {
      if (gen === this.generation) this.error(asError(err), () => void this.tryNext(productId));
      return;
    }
    if (gen !== this.generation) return;
    this.productId = productId;
    this.variantId = this.wc.product.variants[0]?.id ?? null;
    this.sessionId = null;
    this.fromRec = true;
    this.ctx.emitter.emit("open", { productId, variantId: this.variantId });
    if (mode === "live") void this.startLive();
    else if (mode === "model" && this.modelId) void this.runModel(this.modelId);
    else void this.runPhoto(null);
  }

  private async keepLook(image: Blob): Promise<void> {
    await this.looks.add({ id: `${Date.now()}-${Math.random()}`, productId: this.productId, title: this.title(), image });
    const button = this.root?.querySelector("[data-action=compare]");
    if (button) button.textContent = this.ctx.t("compare", { n: String(this.looks.items.length) });
  }

  private compareButton(): HTMLElement {
    return h("button", { type: "button", class: "ghost", "data-action": "compare", onclick: () => this.compare() }, this.ctx.t("compare", { n: String(this.looks.items.length) }));
  }

  /** The looks side by side, the opt-in to keep them on this device, and clearing them. */
  private compare(before: Node[] = [...this.body.childNodes]): void {
    const { t } = this.ctx;
    const back = () => {
      replace(this.body, ...before);
      const button = this.root?.querySelector("[data-action=compare]");
      if (button) button.textContent = t("compare", { n: String(this.looks.items.length) });
      this.focusFirst();
    };
    const keep = h("input", { type: "checkbox", "data-action": "keep-looks" }) as HTMLInputElement;
    keep.checked = this.looks.kept;
    keep.addEventListener("change", () => void this.looks.keep(keep.checked));
    const grid = h(
      "ul",
      { class: "looks" },
      ...this.looks.items.map((look) => {
        const canvas = h("canvas", { role: "img", "aria-label": look.title });
        void createImageBitmap(look.image)
          .then((bitmap) => {
            canvas.width = bitmap.width;
            canvas.height = bitmap.height;
            canvas.getContext("2d")?.drawImage(bitmap, 0, 0);
            bitmap.close();
          })
          .catch(() => undefined);
        return h("li", { "data-look": look.productId }, h("figure", {}, canvas, h("figcaption", {}, look.title)));
      }),
    );
    replace(
      this.body,
      h("h3", { id: "tryon-looks" }, t("looksTitle")),
      h("p", { class: "consent" }, t("looksNote")),
      grid,
      h("label", {}, keep, " ", t("looksKeep")),
      h(
        "div",
        { class: "bar" },
        h("button", { type: "button", class: "ghost", "data-action": "clear-looks", onclick: () => void this.looks.clear().then(() => this.compare(before)) }, t("looksClear")),
        h("button", { type: "button", class: "ghost", onclick: back }, t("back")),
      ),
    );
    this.setStatus(t("looksTitle"));
    this.focusFirst();
  }

  private async downloadLink(canvas: HTMLCanvasElement): Promise<HTMLElement> {
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
    const link = h("a", { class: "btn ghost", download: "try-on.jpg", "data-action": "download" }, this.ctx.t("download"));
    if (blob) {
      const url = URL.createObjectURL(blob);
      this.urls.push(url);
      link.setAttribute("href", url);
    }
    return link;
  }

  private failed(error: TryOnError): void {
    if (error.code === "offline") return;
    this.ctx.analytics.track("tryon_failed", this.ids(), { mode: this.mode, reason: error.code });
  }

  private error(error: TryOnError, retry: (() => void) | null): void {
    if (!this.isOpen) return;
    this.stopLive(); // an error view never leaves the camera on
    const { t } = this.ctx;
    const message =
      error.code === "no_face" && this.mode
        ? t(`err_${this.mode}_${missingPart(error.reason)}`, { hint: t(photoHintKey(this.wc?.product.category)) })
        : t(`err_${error.code}` as MessageKey);
    const camera = CAMERA_ERRORS.includes(error.code);
    const photoInstead = camera && this.modes().includes("photo");
    replace(
      this.body,
      h("p", { class: "error", role: "alert", "data-error": error.code }, message),
      h(
        "div",
        { class: "bar" },
        retry && error.code !== "quota_reached" ? h("button", { type: "button", "data-action": "retry", onclick: retry }, t("retry")) : null,
        photoInstead ? h("button", { type: "button", onclick: () => this.choose("photo") }, t("usePhotoInstead")) : null,
        h("button", { type: "button", class: "ghost", onclick: () => (this.wc && error.code !== "quota_reached" ? this.home() : this.close()) }, t(this.wc && error.code !== "quota_reached" ? "back" : "close")),
      ),
    );
    this.setStatus("");
    this.ctx.emitter.emit("error", { code: error.code, message, productId: this.productId || null, detail: error.message });
    this.focusFirst();
  }

  private restart(): void {
    if (this.mode === "live") void this.startLive();
    else this.home();
  }
}

function asError(err: unknown): TryOnError {
  return err instanceof TryOnError ? err : new TryOnError("server", String(err));
}
