/**
 * Start servers on ports they choose, and know when they are ready, without races: the one
 * helper the browser tests use (Python's is ml_service/ports.py).
 *
 * A port found free and then released can be taken before the server binds it, so nothing here
 * picks a port for someone else. An in-process server listens on port 0 and reads back what it
 * got (`listenOnPort0`); a child server (`tryon serve`) gets `--port 0 --port-file F`, binds,
 * writes the port to F once it listens; we read F, then poll an HTTP endpoint until it answers
 * 200. The child's output goes to a log file whose tail every error shows.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const POLL_MS = 50;

/** Listen on 127.0.0.1 port 0; resolve with the port the OS chose. */
export function listenOnPort0(server: Server): Promise<number> {
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (typeof address === "object" && address) ok(address.port);
      else fail(new Error("the server has no TCP address"));
    });
  });
}

export function logTail(path: string, lines = 60): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return `(no log at ${path})`;
  }
}

export interface Started {
  url: string;
  port: number;
  process: ChildProcess;
  logPath: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  env: Record<string, string>;
  cwd: string;
  logPath: string;
  readyPath?: string;
  timeoutMs?: number;
  /** Milliseconds; injectable so a test can run the deadline out without waiting. */
  now?: () => number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", () => r()));
}

/** Run `command ...args --host 127.0.0.1 --port 0 --port-file F`; resolve once `readyPath` answers 200. */
export async function startServer(command: string, args: string[], options: StartOptions): Promise<Started> {
  const now = options.now ?? Date.now;
  const deadline = now() + (options.timeoutMs ?? 90_000);
  const dir = mkdtempSync(join(tmpdir(), "tryon-port-"));
  const portFile = join(dir, "port");
  const log = openSync(options.logPath, "a");
  const child = spawn(command, [...args, "--host", "127.0.0.1", "--port", "0", "--port-file", portFile], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const failure = async (why: string) => {
    await stop();
    return new Error(`${command} ${args.join(" ")}: ${why} (log: ${options.logPath})\n${logTail(options.logPath)}`);
  };
  let port = 0;
  while (!port) {
    try {
      port = Number.parseInt(readFileSync(portFile, "utf8"), 10) || 0;
    } catch {
      // not written yet
    }
    if (port) break;
    if (child.exitCode !== null) throw await failure(`exited with status ${child.exitCode} before reporting a port`);
    if (now() >= deadline) throw await failure("no port reported before the deadline");
    await sleep(POLL_MS);
  }
  const url = `http://127.0.0.1:${port}`;
  let last = "no answer";
  for (;;) {
    try {
      const response = await fetch(url + (options.readyPath ?? "/healthz"));
      if (response.status === 200) break;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = String(err);
    }
    if (child.exitCode !== null) throw await failure(`exited with status ${child.exitCode} before it was ready`);
    if (now() >= deadline) throw await failure(`not ready before the deadline (last: ${last})`);
    await sleep(POLL_MS);
  }
  return { url, port, process: child, logPath: options.logPath, stop };
}
