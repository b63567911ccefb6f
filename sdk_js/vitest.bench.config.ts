import { defineConfig } from "vitest/config";

// Browser benchmarks (`make bench-sdk`): the e2e set-up (a real gateway, Debian's chromium),
// files named *.bench.ts, one at a time, printed to the console.
export default defineConfig({
  test: {
    include: ["e2e/**/*.bench.ts"],
    environment: "node",
    globalSetup: ["e2e/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
