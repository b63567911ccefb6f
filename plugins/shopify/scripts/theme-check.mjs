/**
 * Run Shopify's theme-check (@shopify/theme-check-node, offline) on the theme app extension with
 * its theme-app-extension config, print every offense, and exit 1 on any error.
 *
 *   node scripts/theme-check.mjs [EXTENSION_DIR] [--json]
 */
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const { themeCheckRun, Severity } = require("@shopify/theme-check-node");

const args = process.argv.slice(2);
const asJson = args.includes("--json");
const root = resolve(args.find((a) => !a.startsWith("--")) ?? join(here, "..", "extensions", "tryon-theme"));
const config = require.resolve("@shopify/theme-check-node/configs/theme-app-extension.yml");

const run = await themeCheckRun(root, config, () => undefined);
const names = { [Severity.ERROR]: "error", [Severity.WARNING]: "warning", [Severity.INFO]: "info" };
const offenses = run.offenses.map((o) => ({
  check: o.check,
  severity: names[o.severity] ?? String(o.severity),
  file: relative(root, fileURLToPath(o.uri)),
  line: o.start.line + 1,
  message: o.message,
}));
const errors = offenses.filter((o) => o.severity === "error").length;
if (asJson) {
  console.log(JSON.stringify({ root, files: run.theme.length, offenses }));
} else {
  for (const o of offenses) console.log(`${o.file}:${o.line}: ${o.severity}: [${o.check}] ${o.message}`);
  console.log(`theme-check: ${run.theme.length} files, ${errors} errors, ${offenses.length - errors} other offenses`);
}
process.exit(errors > 0 ? 1 : 0);
