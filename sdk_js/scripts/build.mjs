// Build dist/tryon.js (IIFE, window.TryOn), dist/tryon.mjs (ES module) and dist/tryon.d.ts,
// print raw and gzip sizes, and fail when a bundle is over the gzip budget.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
export const BUDGET_GZIP_BYTES = 25 * 1024;

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  target: ["es2020", "chrome90", "firefox90", "safari15"],
  define: { __TRYON_VERSION__: JSON.stringify(pkg.version) },
  legalComments: "none",
  logLevel: "warning",
  banner: { js: `/*! tryon sdk ${pkg.version} | Apache-2.0 */` },
};

await build({ ...common, entryPoints: [join(root, "src/iife.ts")], format: "iife", outfile: join(dist, "tryon.js") });
await build({ ...common, entryPoints: [join(root, "src/index.ts")], format: "esm", outfile: join(dist, "tryon.mjs") });

// Declarations: the public types, documented, plus the two ways to get the TryOn object.
const tmp = join(dist, ".types");
execFileSync(
  join(root, "node_modules/.bin/tsc"),
  ["-p", "tsconfig.types.json"],
  { cwd: root, stdio: "inherit" },
);
const types = readFileSync(join(tmp, "types.d.ts"), "utf8");
rmSync(tmp, { recursive: true, force: true });
writeFileSync(
  join(dist, "tryon.d.ts"),
  `/*! tryon sdk ${pkg.version} type declarations */\n${types}
/** The SDK object (the default export of tryon.mjs). */
export declare const TryOn: TryOnAPI;
export default TryOn;
declare global {
  interface Window {
    /** Set by tryon.js (the script-tag build). */
    TryOn?: TryOnAPI;
  }
}
`,
);

let over = false;
for (const name of ["tryon.js", "tryon.mjs"]) {
  const bytes = readFileSync(join(dist, name));
  const gz = gzipSync(bytes, { level: 9 }).length;
  const pct = ((100 * gz) / BUDGET_GZIP_BYTES).toFixed(0);
  console.log(`${name.padEnd(10)} ${String(bytes.length).padStart(7)} B raw  ${String(gz).padStart(6)} B gzip  (${pct}% of the ${BUDGET_GZIP_BYTES / 1024} KB budget)`);
  if (gz > BUDGET_GZIP_BYTES) over = true;
}
if (over) {
  console.error("error: a bundle is over the gzip size budget");
  process.exit(1);
}
