/**
 * Live capture pacing: the SDK captures at up to 30 frames per second and slows to the
 * server's `max_fps` from its hello (the server drops faster frames without an answer).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveSession, MAX_CAPTURE_FPS, captureIntervalMs } from "../src/live";

class FakeSocket {
  static last: FakeSocket | null = null;
  static readonly OPEN = 1;
  readyState = 0;
  binaryType = "";
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  message(data: unknown): void {
    this.onmessage?.({ data });
  }
  send(data: unknown): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
}

function fakeVideo(): HTMLVideoElement {
  // Not ready yet (readyState 0): every capture tick returns before drawing, which is what
  // these tests count.
  return { muted: false, playsInline: false, srcObject: null, readyState: 0, videoWidth: 0, play: () => Promise.resolve() } as unknown as HTMLVideoElement;
}

async function started(): Promise<{ session: LiveSession; socket: FakeSocket; ticks: () => number }> {
  let ticks = 0;
  const capture = vi.spyOn(LiveSession.prototype as unknown as { capture(): void }, "capture").mockImplementation(() => {
    ticks += 1;
  });
  const session = new LiveSession({ url: "ws://api.test/v1/widget/live", frameWidth: 640, quality: 0.8, onFrame: () => undefined, onFirstFrame: () => undefined, onError: () => undefined });
  const starting = session.start({} as MediaStream, fakeVideo());
  await Promise.resolve();
  await Promise.resolve();
  const socket = FakeSocket.last as FakeSocket;
  socket.open();
  await starting;
  expect(capture).not.toHaveBeenCalled();
  return { session, socket, ticks: () => ticks };
}

describe("live capture pacing", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubGlobal("WebSocket", FakeSocket);
  });
  afterEach(() => {
    vi.useRealTimers();
    FakeSocket.last = null;
  });

  it("maps the server's max_fps to an interval, never faster than the default", () => {
    expect(captureIntervalMs(10)).toBe(100);
    expect(captureIntervalMs(120)).toBeCloseTo(1000 / MAX_CAPTURE_FPS);
    for (const bad of [undefined, null, 0, -5, Number.NaN, Number.POSITIVE_INFINITY, "12", {}]) {
      expect(captureIntervalMs(bad)).toBeCloseTo(1000 / MAX_CAPTURE_FPS);
    }
  });

  it("captures at 30 per second until the hello says less, then at the server's rate", async () => {
    const { session, socket, ticks } = await started();
    vi.advanceTimersByTime(1000);
    expect(ticks()).toBe(30);
    socket.message(JSON.stringify({ type: "hello", max_fps: 10 }));
    vi.advanceTimersByTime(1000);
    expect(ticks()).toBe(40);
    session.stop();
    vi.advanceTimersByTime(1000);
    expect(ticks()).toBe(40);
  });

  it("keeps the default rate when the hello carries no usable max_fps", async () => {
    const { session, socket, ticks } = await started();
    socket.message(JSON.stringify({ type: "hello", max_fps: "fast" }));
    vi.advanceTimersByTime(1000);
    expect(ticks()).toBe(30);
    session.stop();
  });
});
