import { describe, expect, it } from "vitest";
import { codeForMediaError, codeForProblem } from "../src/errors";
import { closeError } from "../src/live";

describe("error codes", () => {
  it.each([
    ["/problems/no-subject-found", 422, "no_face"],
    ["/problems/quota-exceeded", 429, "quota_reached"],
    ["/problems/rate-limited", 429, "rate_limited"],
    ["/problems/invalid-image", 422, "invalid_image"],
    ["/problems/image-too-large", 413, "invalid_image"],
    ["/problems/origin-not-allowed", 403, "invalid_key"],
    ["/problems/invalid-api-key", 401, "invalid_key"],
    ["/problems/not-found", 404, "not_available"],
    ["https://api.example/problems/quota-exceeded", 429, "quota_reached"],
    ["/problems/something-new", 429, "rate_limited"],
    ["/problems/something-new", 500, "server"],
    [null, 403, "invalid_key"],
    [null, 502, "server"],
  ])("problem %s (%i) is %s", (type, status, code) => {
    expect(codeForProblem(type, status)).toBe(code);
  });

  it.each([
    ["NotAllowedError", "permission_denied"],
    ["SecurityError", "permission_denied"],
    ["NotFoundError", "no_camera"],
    ["OverconstrainedError", "no_camera"],
    ["NotReadableError", "camera_busy"],
    ["SomethingElse", "no_camera"],
  ])("getUserMedia %s is %s", (name, code) => {
    expect(codeForMediaError(new DOMException("x", name))).toBe(code);
  });

  it("reads what a closed socket means", () => {
    expect(closeError({ code: 1008, reason: "origin not allowed" }, false).code).toBe("invalid_key");
    expect(closeError({ code: 4429, reason: "" }, true).code).toBe("rate_limited");
    expect(closeError({ code: 1008, reason: "monthly quota exceeded" }, true).code).toBe("quota_reached");
    expect(closeError({ code: 1006, reason: "" }, false).code).toBe("network");
    expect(closeError({ code: 1011, reason: "" }, true).code).toBe("server");
  });
});
