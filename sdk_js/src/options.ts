import type { InitOptions, Locale, TryOnMode } from "./types";

/** Options after defaults are applied. */
export type Config = Required<Omit<InitOptions, "styleNonce">> & { styleNonce: string | undefined };

const MODES: readonly TryOnMode[] = ["live", "photo", "model"];
const LOCALES: readonly Locale[] = ["en", "fr", "auto"];
const KEY_PATTERN = /^pk_[A-Za-z0-9]{8,}$/;

export const DEFAULTS: Omit<Config, "publishableKey" | "apiBase"> = {
  locale: "auto",
  autoMount: true,
  modes: ["live", "photo", "model"],
  analytics: true,
  maxPhotoSide: 1280,
  liveFrameWidth: 640,
  jpegQuality: 0.8,
  mirror: true,
  addToCart: true,
  minSizeConfidence: 0.1,
  styleNonce: undefined,
  accentColor: "#1f5eff",
  debug: false,
};

type Check = (value: unknown) => string | null;

const isBool: Check = (v) => (typeof v === "boolean" ? null : "a boolean");
const isString: Check = (v) => (typeof v === "string" && v.length > 0 ? null : "a non-empty string");
const intBetween =
  (lo: number, hi: number): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi ? null : `an integer from ${lo} to ${hi}`;

const CHECKS: Record<keyof InitOptions, Check> = {
  publishableKey: (v) =>
    typeof v === "string" && KEY_PATTERN.test(v) ? null : "a publishable key (pk_...)",
  apiBase: (v) => {
    if (typeof v !== "string") return "an http(s) URL";
    try {
      const url = new URL(v);
      return url.protocol === "http:" || url.protocol === "https:" ? null : "an http(s) URL";
    } catch {
      return "an http(s) URL";
    }
  },
  locale: (v) => (LOCALES.includes(v as Locale) ? null : `one of ${LOCALES.join(", ")}`),
  autoMount: isBool,
  modes: (v) =>
    Array.isArray(v) && v.length > 0 && v.every((m) => MODES.includes(m as TryOnMode))
      ? null
      : `a non-empty list of ${MODES.join(", ")}`,
  analytics: isBool,
  maxPhotoSide: intBetween(256, 4096),
  liveFrameWidth: intBetween(160, 1920),
  jpegQuality: (v) => (typeof v === "number" && v > 0 && v <= 1 ? null : "a number in (0, 1]"),
  mirror: isBool,
  addToCart: isBool,
  minSizeConfidence: (v) => (typeof v === "number" && v >= 0 && v <= 1 ? null : "a number from 0 to 1"),
  styleNonce: isString,
  accentColor: isString,
  debug: isBool,
};

export interface Validated {
  config: Config | null;
  /** One line per problem; unknown options and bad values are reported, not fatal. */
  warnings: string[];
  /** Set when the options cannot work at all (no valid key). */
  error: string | null;
}

/** Check `input` against the known options, apply defaults, and say what was wrong. */
export function validateOptions(input: unknown, fallbackApiBase: string): Validated {
  const warnings: string[] = [];
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { config: null, warnings, error: "init() expects an options object" };
  }
  const given = input as Record<string, unknown>;
  const config: Record<string, unknown> = { ...DEFAULTS, apiBase: fallbackApiBase };
  for (const [name, value] of Object.entries(given)) {
    if (!Object.prototype.hasOwnProperty.call(CHECKS, name)) {
      warnings.push(`unknown option "${name}" ignored (known: ${Object.keys(CHECKS).join(", ")})`);
      continue;
    }
    if (value === undefined) continue;
    const problem = CHECKS[name as keyof InitOptions](value);
    if (problem) {
      if (name === "publishableKey") continue;
      warnings.push(`option "${name}" must be ${problem}; using the default`);
      continue;
    }
    config[name] = Array.isArray(value) ? [...new Set(value)] : value;
  }
  const keyProblem = CHECKS.publishableKey(given.publishableKey);
  if (keyProblem) {
    return { config: null, warnings, error: `option "publishableKey" must be ${keyProblem}` };
  }
  config.publishableKey = given.publishableKey;
  config.apiBase = String(config.apiBase).replace(/\/+$/, "");
  return { config: config as Config, warnings, error: null };
}

/** Options from a script tag's `data-*` attributes (`data-publishable-key`, `data-api-base`, ...). */
export function optionsFromDataset(dataset: DOMStringMap): Record<string, unknown> | null {
  if (!dataset.publishableKey) return null;
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(dataset)) {
    if (raw === undefined) continue;
    out[name] = parseDataValue(name, raw);
  }
  return out;
}

function parseDataValue(name: string, raw: string): unknown {
  if (raw === "true" || raw === "false") return raw === "true";
  if (name === "modes") return raw.split(/[\s,]+/).filter(Boolean);
  if (/^-?\d+(\.\d+)?$/.test(raw) && name !== "publishableKey") return Number(raw);
  return raw;
}
