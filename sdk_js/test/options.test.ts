import { describe, expect, it } from "vitest";
import { DEFAULTS, optionsFromDataset, validateOptions } from "../src/options";

const KEY = "pk_abcdefghijklmnopqrstuvwxyz012345";

describe("validateOptions", () => {
  it("applies every default and the fallback API base", () => {
    const { config, warnings, error } = validateOptions({ publishableKey: KEY }, "https://api.example/");
    expect(error).toBeNull();
    expect(warnings).toEqual([]);
    expect(config).toEqual({ ...DEFAULTS, publishableKey: KEY, apiBase: "https://api.example" });
  });

  it("reports unknown options and keeps the known ones", () => {
    const { config, warnings } = validateOptions({ publishableKey: KEY, locale: "fr", colour: "red" }, "https://x");
    expect(config?.locale).toBe("fr");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/unknown option "colour"/);
  });

  it("reports a bad value and uses the default instead", () => {
    const { config, warnings } = validateOptions(
      { publishableKey: KEY, maxPhotoSide: 99999, jpegQuality: 2, modes: ["live", "hologram"], apiBase: "ftp://x" },
      "https://fallback",
    );
    expect(config?.maxPhotoSide).toBe(DEFAULTS.maxPhotoSide);
    expect(config?.jpegQuality).toBe(DEFAULTS.jpegQuality);
    expect(config?.modes).toEqual(DEFAULTS.modes);
    expect(config?.apiBase).toBe("https://fallback");
    expect(warnings.map((w) => w.split('"')[1])).toEqual(["maxPhotoSide", "jpegQuality", "modes", "apiBase"]);
  });

  it("refuses to start without a publishable key, or with a secret key", () => {
    expect(validateOptions({}, "https://x").error).toMatch(/publishableKey/);
    expect(validateOptions({ publishableKey: "sk_abcdefghijklmnopqrstuvwxyz012345" }, "https://x").config).toBeNull();
    expect(validateOptions("pk_x", "https://x").error).toMatch(/options object/);
    expect(validateOptions(null, "https://x").config).toBeNull();
  });

  it("dedupes modes and keeps their order", () => {
    const { config } = validateOptions({ publishableKey: KEY, modes: ["photo", "live", "photo"] }, "https://x");
    expect(config?.modes).toEqual(["photo", "live"]);
  });
});

describe("optionsFromDataset", () => {
  it("reads typed values from data attributes", () => {
    const el = document.createElement("script");
    el.dataset.publishableKey = KEY;
    el.dataset.autoMount = "false";
    el.dataset.maxPhotoSide = "800";
    el.dataset.modes = "photo, model";
    expect(optionsFromDataset(el.dataset)).toEqual({ publishableKey: KEY, autoMount: false, maxPhotoSide: 800, modes: ["photo", "model"] });
  });

  it("does nothing without a key", () => {
    const el = document.createElement("script");
    el.dataset.locale = "fr";
    expect(optionsFromDataset(el.dataset)).toBeNull();
  });
});
