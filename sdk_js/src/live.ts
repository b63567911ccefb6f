/**
 * Live try-on: camera frames go to the API over a WebSocket as JPEG, rendered JPEG frames come
 * back and are painted on the next animation frame (only the newest; older ones are dropped).
 * At most `MAX_IN_FLIGHT` frames are on the wire at once, so a slow network or server lowers
 * the frame rate instead of building a queue of stale frames.
 */
import { TryOnError, codeForMediaError, codeForProblem } from "./errors";

export const MAX_IN_FLIGHT = 2;
/** A frame unanswered this long is taken as dropped (the server drops stale or over-rate
 * frames without a word), so flow control never stalls. */
export const FRAME_LOST_MS = 1500;
/** Captures per second at most; lowered to the server's `max_fps` from its hello, since the
 * server drops frames above it unanswered. */
export const MAX_CAPTURE_FPS = 30;

/** Milliseconds between captures for the server's announced `max_fps` (anything else: the
 * default rate). */
export function captureIntervalMs(maxFps: unknown): number {
  const fps = typeof maxFps === "number" && Number.isFinite(maxFps) && maxFps > 0 ? Math.min(maxFps, MAX_CAPTURE_FPS) : MAX_CAPTURE_FPS;
  return 1000 / fps;
}

export interface LiveOptions {
  url: string;
  frameWidth: number;
  quality: number;
  /** A rendered frame is ready; called at most once per animation frame. */
  onFrame(frame: ImageBitmap): void;
  /** The first rendered frame arrived, `latencyMs` after the camera started. */
  onFirstFrame(latencyMs: number): void;
  onError(error: TryOnError): void;
  /** A JSON control message (`hello`, `status`, `stats`, ...) from the server. */
  onMessage?(message: Record<string, unknown>): void;
}

/** Frames in and out, and the rate of rendered frames over the last second. */
export interface LiveStats {
  sent: number;
  received: number;
  fps: number;
}

/** Ask for the front camera; failures become {@link TryOnError}s with a stable code. */
export async function openCamera(width: number): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) throw new TryOnError("no_camera", "getUserMedia unavailable");
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: "user", width: { ideal: width }, height: { ideal: Math.round((width * 3) / 4) } },
    });
  } catch (err) {
    throw new TryOnError(codeForMediaError(err), String(err));
  }
}

export class LiveSession {
  private ws: WebSocket | null = null;
  private video: HTMLVideoElement | null = null;
  private readonly canvas = document.createElement("canvas");
  /** Send times of the frames not answered yet, oldest first. */
  private inFlight: number[] = [];
  private encoding = false;
  private stopped = false;
  private startedAt = 0;
  private gotFirst = false;
  private pending: ImageBitmap | null = null;
  private raf = 0;
  private captureTimer: ReturnType<typeof setInterval> | null = null;
  private readonly arrivals: number[] = [];
  readonly stats: LiveStats = { sent: 0, received: 0, fps: 0 };

  constructor(private readonly options: LiveOptions) {}

  async start(stream: MediaStream, video: HTMLVideoElement): Promise<void> {
    this.video = video;
    this.startedAt = performance.now();
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    await video.play().catch(() => undefined);
    await this.connect();
  }

  private connect(): Promise<void> {
    return new Promise((resolve) => {
      const ws = new WebSocket(this.options.url);
      ws.binaryType = "blob";
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        resolve();
        // Pace captures at up to 30 per second (the hello may lower it); flow control decides
        // how many go out.
        this.pace(captureIntervalMs(undefined));
      };
      ws.onmessage = (event: MessageEvent) => this.receive(event.data);
      ws.onerror = () => undefined; // onclose follows with the details
      ws.onclose = (event: CloseEvent) => {
        resolve();
        if (this.stopped) return;
        this.fail(closeError(event, opened));
      };
    });
  }

  private pace(intervalMs: number): void {
    if (this.captureTimer !== null) clearInterval(this.captureTimer);
    this.captureTimer = setInterval(() => this.capture(), intervalMs);
  }

  private capture(): void {
    const { video, ws } = this;
    if (this.stopped || !video || !ws || ws.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    while (this.inFlight.length > 0 && now - this.inFlight[0] > FRAME_LOST_MS) this.inFlight.shift();
    if (this.encoding || this.inFlight.length >= MAX_IN_FLIGHT || video.readyState < 2 || !video.videoWidth) return;
    const width = Math.min(this.options.frameWidth, video.videoWidth);
    const height = Math.round((width * video.videoHeight) / video.videoWidth);
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    ctx.drawImage(video, 0, 0, width, height);
    this.encoding = true;
    this.canvas.toBlob(
      (blob) => {
        this.encoding = false;
        if (!blob || this.stopped || ws.readyState !== WebSocket.OPEN) return;
        this.inFlight.push(performance.now());
        this.stats.sent += 1;
        ws.send(blob);
      },
      "image/jpeg",
      this.options.quality,
    );
  }

  private receive(data: unknown): void {
    if (typeof data === "string") {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(data) as Record<string, unknown>;
      } catch {
        return;
      }
      if (message.type === "error") {
        const problem = (message.problem ?? {}) as Record<string, unknown>;
        this.inFlight.shift();
        const code = codeForProblem(problem.type, Number(problem.status) || 0);
        // A frame without a face is not fatal in live mode: the shopper just moves.
        if (code !== "no_face") this.fail(new TryOnError(code, String(problem.detail ?? problem.title ?? "")));
        else this.options.onMessage?.(message);
        return;
      }
      if (message.type === "geometry") this.inFlight.shift();
      if (message.type === "hello" && !this.stopped) this.pace(captureIntervalMs(message.max_fps));
      this.options.onMessage?.(message);
      return;
    }
    if (!(data instanceof Blob)) return;
    this.inFlight.shift();
    this.stats.received += 1;
    const now = performance.now();
    this.arrivals.push(now);
    while (this.arrivals.length > 0 && now - this.arrivals[0] > 1000) this.arrivals.shift();
    this.stats.fps = this.arrivals.length;
    createImageBitmap(data).then(
      (bitmap) => this.present(bitmap),
      () => undefined, // a corrupt frame is skipped; the next one replaces it
    );
  }

  private present(bitmap: ImageBitmap): void {
    if (this.stopped) {
      bitmap.close();
      return;
    }
    this.pending?.close();
    this.pending = bitmap;
    if (!this.gotFirst) {
      this.gotFirst = true;
      this.options.onFirstFrame(performance.now() - this.startedAt);
    }
    if (this.raf === 0) {
      this.raf = requestAnimationFrame(() => {
        this.raf = 0;
        const frame = this.pending;
        this.pending = null;
        if (frame) this.options.onFrame(frame);
      });
    }
  }

  private fail(error: TryOnError): void {
    if (this.stopped) return;
    this.stop();
    this.options.onError(error);
  }

  /** Stop capturing and close the socket (the camera stream belongs to the caller). Safe to
   * call more than once. */
  stop(): void {
    this.stopped = true;
    if (this.captureTimer !== null) clearInterval(this.captureTimer);
    if (this.raf) cancelAnimationFrame(this.raf);
    this.pending?.close();
    this.pending = null;
    if (this.video) this.video.srcObject = null;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, "closed by the shopper");
    this.ws = null;
  }
}

/** What a closed socket means for the shopper. */
export function closeError(event: { code: number; reason: string }, opened: boolean): TryOnError {
  if (typeof navigator !== "undefined" && navigator.onLine === false) return new TryOnError("offline");
  const reason = event.reason || "";
  if (/quota/i.test(reason)) return new TryOnError("quota_reached", reason);
  if (event.code === 1008 || event.code === 4401 || event.code === 4403) return new TryOnError("invalid_key", reason);
  if (event.code === 4429 || /rate/i.test(reason)) return new TryOnError("rate_limited", reason);
  if (event.code === 4404) return new TryOnError("not_available", reason);
  return new TryOnError(opened ? "server" : "network", reason || `closed with ${event.code}`);
}
