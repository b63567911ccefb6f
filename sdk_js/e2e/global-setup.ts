/**
 * Start the real gateway for the browser tests: a fresh data dir, the demo store seeded, an
 * ephemeral port; make the test photos and fake-camera videos; tear everything down after.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { startMerchantSite } from "./merchant-site";

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
    fixtures: Record<"photo" | "rotated" | "noface" | "camera" | "noface_camera", string>;
    artifacts: string;
    env: Record<string, string>;
  }
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? ok(address.port) : fail(new Error("no port"))));
    });
  });
}

async function waitReady(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the gateway exited (${server.exitCode}):\n${log()}`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the gateway did not become ready:\n${log()}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const work = mkdtempSync(join(tmpdir(), "tryon-e2e-"));
  const artifacts = join(REPO, "test-artifacts", "sdk-e2e");
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TRYON_") || k === "TRYON_CACHE_DIR" || k === "TRYON_MODELS_DIR")) as Record<string, string>,
    TRYON_ENV: "test",
    TRYON_SECRET_KEY: randomBytes(36).toString("base64url"),
    TRYON_DATA_DIR: join(work, "var"),
    // As `make demo` with TRYON_PORT: the public URL (the demo key's origins, same-origin
    // widget calls) follows the port.
    TRYON_HOST: "127.0.0.1",
    TRYON_PORT: String(port),
    TRYON_LOG_JSON: "true",
    TRYON_LOG_LEVEL: "WARNING",
    TRYON_SDK_DIR: join(REPO, "sdk_js"),
    // The harness changes the quota from another process, which the server's in-process read
    // cache cannot hear about: a one-second bound (the default is 30 s) that set-quota waits out.
    TRYON_WIDGET_CACHE_TTL_S: "1",
  };
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: REPO, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

  const fixtures = JSON.parse(run(join(VENV_BIN, "python"), ["-m", "tests.sdk_js.harness", "fixtures", join(work, "fixtures")]));
  const shop = await startMerchantSite(baseUrl, await freePort());
  const origins = [baseUrl, shop.origin].flatMap((o) => ["--origin", o]);
  const seeded = JSON.parse(run(join(VENV_BIN, "tryon"), ["demo", "seed", "--json", "--model-photo", fixtures.photo, ...origins]));
  shop.publishableKey = seeded.publishable_key;

  let output = "";
  const server = spawn(join(VENV_BIN, "tryon"), ["serve"], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  server.stdout?.on("data", keep);
  server.stderr?.on("data", keep);
  await waitReady(baseUrl, server, () => output);

  project.provide("baseUrl", baseUrl);
  project.provide("shopOrigin", shop.origin);
  project.provide("publishableKey", seeded.publishable_key);
  project.provide("fixtures", fixtures);
  project.provide("artifacts", artifacts);
  project.provide("env", env);

  return async () => {
    await shop.close();
    server.kill("SIGTERM");
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once("exit", r)));
    rmSync(work, { recursive: true, force: true });
  };
}
