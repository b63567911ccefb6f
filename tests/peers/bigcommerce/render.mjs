// Renders a Stencil template with BigCommerce's own engine (@bigcommerce/stencil-paper-handlebars).
// Usage: node render.mjs <template file> <context JSON>  -> prints {"html", "jsContext"} as JSON.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const Paper = require("@bigcommerce/stencil-paper-handlebars");

const [templateFile, contextJson] = process.argv.slice(2);
const paper = new Paper({}, {}, "v4", { info() {}, warn() {}, error: console.error });
const template = readFileSync(templateFile, "utf8");
const context = JSON.parse(contextJson);
const html = await paper.renderString(template, context);
// What the theme's layout emits for the injected values (base.html: {{{jsContext}}}).
const jsContext = await paper.renderString("{{{jsContext}}}", context);
process.stdout.write(JSON.stringify({ html, jsContext }));
