import { defineConfig } from "vitest/config";

// End-to-end tests: Debian's chromium, driven by playwright-core, against a real gateway that
// the global setup starts on an ephemeral port. One file at a time: the machine is small and
// the timings of the live test should not compete with another browser.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    globalSetup: ["e2e/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
