import { defineConfig } from "vitest/config";

// Unit tests: pure functions and the widget's DOM behaviour in jsdom.
export default defineConfig({
  define: { __TRYON_VERSION__: JSON.stringify("0.0.0-test") },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "jsdom",
    restoreMocks: true,
    unstubGlobals: true,
  },
});
