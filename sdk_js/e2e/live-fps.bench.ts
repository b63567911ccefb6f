/**
 * Live try-on in chromium, measured (`make bench-sdk`): the fake camera streams to the real
 * gateway for a steady window after the first rendered frame; prints rendered frames per second
 * and the p50/p95 of the round trip (a frame sent to its rendered frame back, matched in order
 * as the SDK matches them) and of the interval between rendered frames. Writes
 * test-artifacts/sdk-e2e/live-fps.json. A benchmark: it checks that frames came, not how fast.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, inject, it } from "vitest";
import { W, launch, type Session, until } from "./browser";

const WINDOW_MS = Number(process.env.TRYON_BENCH_WINDOW_MS ?? 10_000);

let session: Session | null = null;
afterEach(async () => {
  await session?.close();
  session = null;
});

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 10) / 10;
}

it("live try-on: rendered frames per second and round trip", async () => {
  session = await launch({ camera: inject("fixtures").camera, grantCamera: true });
  const { page } = session;
  const sent: number[] = [];
  const received: number[] = [];
  const roundTrips: number[] = [];
  page.on("websocket", (ws) => {
    ws.on("framesent", (f) => {
      if (typeof f.payload !== "string") sent.push(performance.now());
    });
    ws.on("framereceived", (f) => {
      if (typeof f.payload === "string") return;
      const now = performance.now();
      received.push(now);
      const oldest = sent.shift();
      if (oldest !== undefined) roundTrips.push(now - oldest);
    });
  });
  await page.goto(`${inject("baseUrl")}/demo/products/round-glasses`);
  await page.locator(W.trigger).waitFor({ state: "visible" });
  await page.locator(W.trigger).click();
  await page.locator(W.mode("live")).click();
  await page.locator(W.action("consent")).click();
  await page.locator("[data-tryon-widget] .stage[data-state=live]").waitFor({ timeout: 60_000 });
  await until(() => received.length, (n) => n >= 1, "the first rendered frame");

  const start = performance.now();
  const firstIndex = received.length;
  const tripsBefore = roundTrips.length;
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  const inWindow = received.slice(firstIndex).filter((t) => t < start + WINDOW_MS);
  const intervals = inWindow.slice(1).map((t, i) => t - inWindow[i]);
  const trips = roundTrips.slice(tripsBefore, tripsBefore + inWindow.length);
  const report = {
    window_ms: WINDOW_MS,
    frames: inWindow.length,
    fps: Math.round((inWindow.length / (WINDOW_MS / 1000)) * 10) / 10,
    round_trip_ms: { p50: percentile(trips, 50), p95: percentile(trips, 95) },
    interval_ms: { p50: percentile(intervals, 50), p95: percentile(intervals, 95) },
  };
  writeFileSync(join(inject("artifacts"), "live-fps.json"), JSON.stringify(report, null, 2));
  console.log(
    `live try-on in chromium: ${report.fps} frames/s (${report.frames} in ${WINDOW_MS} ms); ` +
      `round trip p50 ${report.round_trip_ms.p50} ms, p95 ${report.round_trip_ms.p95} ms; ` +
      `interval p50 ${report.interval_ms.p50} ms, p95 ${report.interval_ms.p95} ms`,
  );
  expect(report.frames).toBeGreaterThan(0);
});
