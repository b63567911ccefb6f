import { describe, expect, it } from "vitest";
import { CATALOGS, resolveLocale, translator } from "../src/i18n";

describe("messages", () => {
  it("has every message in every language, with the same placeholders", () => {
    const keys = Object.keys(CATALOGS.en).sort();
    for (const [lang, messages] of Object.entries(CATALOGS)) {
      expect(Object.keys(messages).sort(), lang).toEqual(keys);
      for (const key of keys) {
        const text = messages[key as keyof typeof messages];
        expect(text.trim(), `${lang}.${key}`).not.toBe("");
        const holes = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
        expect(holes(text), `${lang}.${key}`).toEqual(holes(CATALOGS.en[key as keyof typeof CATALOGS.en]));
      }
    }
  });

  it("has a message for every error code", () => {
    const codes = ["no_camera", "permission_denied", "camera_busy", "no_face", "offline", "quota_reached", "rate_limited", "invalid_image", "not_available", "invalid_key", "server", "network"];
    for (const code of codes) expect(CATALOGS.en).toHaveProperty(`err_${code}`);
  });

  it("picks the first supported browser language", () => {
    expect(resolveLocale("auto", ["de-DE", "fr-CA", "en"])).toBe("fr");
    expect(resolveLocale("auto", ["de", "es"])).toBe("en");
    expect(resolveLocale("auto", [])).toBe("en");
    expect(resolveLocale("fr", ["en"])).toBe("fr");
  });

  it("fills placeholders", () => {
    expect(translator("fr")("sizeAdvice", { size: "M" })).toBe("Nous vous conseillons la taille M");
    expect(translator("en")("sizeAdvice", { size: "52-18" })).toBe("We suggest size 52-18");
  });
});
