/**
 * Start the real gateway for the browser tests: a fresh data dir, the demo store seeded, an
 * ephemeral port; make the test photos and fake-camera videos; tear everything down after.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { startMerchantSite } from "./merchant-site";
import { startServer } from "./ports";

export const REPO = resolve(__dirname, "..", "..");
const VENV_BIN = join(REPO, ".venv", "bin");

declare module "vitest" {
  export interface ProvidedContext {
    /** The gateway, which also serves the demo store: pages and API on one origin. */
    baseUrl: string;
    /** A merchant's own site on another origin and site (`localhost`), whose page calls the
     * API across origins (CORS): see merchant-site.ts. */
    shopOrigin: string;
    publishableKey: string;
    fixtures: Record<"photo" | "rotated" | "noface" | "camera" | "noface_camera" | "group", string>;
    artifacts: string;
    env: Record<string, string>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const work = mkdtempSync(join(tmpdir(), "tryon-e2e-"));
  const artifacts = join(REPO, "test-artifacts", "sdk-e2e");
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const env: Record<string, string> = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TRYON_") || k === "TRYON_CACHE_DIR" || k === "TRYON_MODELS_DIR")) as Record<string, string>,
    TRYON_ENV: "test",
    TRYON_SECRET_KEY: randomBytes(36).toString("base64url"),
    TRYON_DATA_DIR: join(work, "var"),
    // The server binds a port of its choosing (--port 0) and, as `make demo` with TRYON_PORT,
    // its public URL (the demo key's origins, same-origin widget calls) follows that port.
    TRYON_HOST: "127.0.0.1",
    TRYON_LOG_JSON: "true",
    TRYON_LOG_LEVEL: "WARNING",
    TRYON_SDK_DIR: join(REPO, "sdk_js"),
    // The harness changes the quota from another process, which the server's in-process read
    // cache cannot hear about: a one-second bound (the default is 30 s) that set-quota waits out.
    TRYON_WIDGET_CACHE_TTL_S: "1",
  };
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: REPO, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

  const fixtures = JSON.parse(run(join(VENV_BIN, "python"), ["-m", "tests.sdk_js.harness", "fixtures", join(work, "fixtures")]));
  // The gateway first (its port decides the origins), then the merchant site, then the seed:
  // the demo store reads the seeded state on each request.
  const server = await startServer(join(VENV_BIN, "tryon"), ["serve"], { cwd: REPO, env, logPath: join(artifacts, "gateway.log"), readyPath: "/readyz" });
  const baseUrl = server.url;
  env.TRYON_PORT = String(server.port);
  const shop = await startMerchantSite(baseUrl);
  const origins = [baseUrl, shop.origin].flatMap((o) => ["--origin", o]);
  const seeded = JSON.parse(run(join(VENV_BIN, "tryon"), ["demo", "seed", "--json", "--model-photo", fixtures.photo, ...origins]));
  shop.publishableKey = seeded.publishable_key;

  project.provide("baseUrl", baseUrl);
  project.provide("shopOrigin", shop.origin);
  project.provide("publishableKey", seeded.publishable_key);
  project.provide("fixtures", fixtures);
  project.provide("artifacts", artifacts);
  project.provide("env", env);

  return async () => {
    await shop.close();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  };
}
