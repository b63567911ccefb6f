/**
 * The script-tag build: defines `window.TryOn`, replays the calls a snippet stub queued
 * (`window.TryOn._q`), and initialises itself from the tag's `data-*` attributes when it has
 * `data-publishable-key` (handy under a strict CSP, where inline scripts are not allowed).
 */
import { optionsFromDataset } from "./options";
import { createTryOn, replay } from "./sdk";
import type { InitOptions, TryOnAPI } from "./types";

declare global {
  interface Window {
    TryOn?: TryOnAPI | { _q?: unknown[] };
  }
}

const script = document.currentScript as HTMLScriptElement | null;
const origin = script?.src ? new URL(script.src, location.href).origin : location.origin;
const existing = window.TryOn;

if (existing && "version" in existing) {
  console.warn("[tryon] the SDK is loaded twice; the second copy is ignored");
} else {
  const api = createTryOn(origin);
  const fromTag = script ? optionsFromDataset(script.dataset) : null;
  window.TryOn = api;
  if (fromTag) api.init(fromTag as unknown as InitOptions);
  replay(api, (existing as { _q?: unknown[] } | undefined)?._q);
}
