/** Launch Debian's chromium through playwright-core (never a downloaded browser). */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";
import { inject } from "vitest";

export const CHROMIUM = process.env.TRYON_CHROMIUM ?? "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

export interface Session {
  browser: Browser | null;
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and CSP violations seen so far. */
  problems: string[];
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** A .y4m file for chromium's fake camera; without it the machine has no camera at all. */
  camera?: string;
  /** Allow the camera for the store's origin (otherwise it is denied). */
  grantCamera?: boolean;
  /** The origin the camera is granted to. @defaultValue the demo store's */
  cameraOrigin?: string;
  viewport?: { width: number; height: number };
  locale?: string;
}

export async function launch(options: LaunchOptions = {}): Promise<Session> {
  const profile = mkdtempSync(join(tmpdir(), "tryon-chromium-"));
  const args = [...FLAGS];
  if (options.camera) args.push("--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${options.camera}`);
  // A persistent context on a fresh directory is chromium's --user-data-dir, set by playwright.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    locale: options.locale ?? "en-GB",
    deviceScaleFactor: 1,
  });
  const browser = context.browser();
  if (options.grantCamera) await context.grantPermissions(["camera"], { origin: options.cameraOrigin ?? inject("baseUrl") });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`http ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return {
    browser,
    context,
    page,
    problems,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Save a screenshot under test-artifacts/sdk-e2e/. */
export async function shot(page: Page, name: string): Promise<string> {
  const path = join(inject("artifacts"), `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** The widget's shadow root content, for locators: playwright's CSS pierces open shadow roots. */
export const W = {
  trigger: "[data-tryon-trigger] button",
  dialog: "[data-tryon-widget] [role=dialog]",
  mode: (m: string) => `[data-tryon-widget] [data-mode=${m}]`,
  action: (a: string) => `[data-tryon-widget] [data-action=${a}]`,
  error: "[data-tryon-widget] [role=alert]",
  stage: "[data-tryon-widget] .stage",
  status: "[data-tryon-widget] [role=status]",
  file: "[data-tryon-widget] input[type=file]",
};

const AXE = readFileSync(join(__dirname, "..", "node_modules", "axe-core", "axe.min.js"), "utf8");

/** axe-core's violations on the page (or inside `include`), shadow roots included. */
export async function axe(s: Session, include?: string): Promise<{ id: string; impact: string; nodes: number; html: string[] }[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await s.page.evaluate(AXE);
  return s.page.evaluate(async (selector) => {
    const w = window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } };
    const result = await w.axe.run(selector ? { include: [[selector]] } : document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, html: (v.nodes as { html: string }[]).map((n) => n.html).slice(0, 3) }));
  }, include ?? null);
}

/** Probe until `done` holds; throw (naming `what` and the last value) at a generous deadline.
 * For conditions, never for rates: how long it took is not checked. */
export async function until<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
