/**
 * A merchant's own web site for the browser tests: another server on another origin (and
 * another site: `localhost` against the API's `127.0.0.1`), whose product page embeds the
 * pinned SDK from the API with its SRI hash under a strict CSP, as a merchant would.
 */
import { type Server, createServer } from "node:http";
import { listenOnPort0 } from "./ports";

interface Manifest {
  files: Record<string, { url: string; integrity: string }>;
}

export interface MerchantSite {
  origin: string;
  /** Set once the demo is seeded: the key the page embeds. */
  publishableKey: string;
  close(): Promise<void>;
}

function page(sdk: { url: string; integrity: string }, key: string, product: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another shop</title><link rel="icon" href="data:,">
<script src="${sdk.url}" integrity="${sdk.integrity}" crossorigin="anonymous" data-publishable-key="${key}" defer></script>
</head><body><main><h1>${product}</h1>
<div data-tryon-product="${product}"></div>
</main></body></html>`;
}

/** Serve `/shop/<product>` on a port the OS chooses (127.0.0.1), reached as `http://localhost:<port>`. */
export async function startMerchantSite(api: string): Promise<MerchantSite> {
  const site: MerchantSite = { origin: "", publishableKey: "", close: async () => undefined };
  const ws = api.replace("http://", "ws://");
  const csp = ["default-src 'none'", `script-src ${api}`, `connect-src ${api} ${ws}`, "img-src data:", "require-trusted-types-for 'script'"].join("; ");
  const server: Server = createServer((req, res) => {
    const match = /^\/shop\/([a-z0-9-]{1,64})$/.exec(req.url ?? "");
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    fetch(`${api}/sdk/v1/manifest.json`)
      .then((r) => r.json() as Promise<Manifest>)
      .then((manifest) => {
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": csp, "Cache-Control": "no-store" });
        res.end(page(manifest.files["tryon.js"], site.publishableKey, match[1]));
      })
      .catch((err: unknown) => res.writeHead(502).end(String(err)));
  });
  site.origin = `http://localhost:${await listenOnPort0(server)}`;
  site.close = () => new Promise((ok) => server.close(() => ok()));
  return site;
}
