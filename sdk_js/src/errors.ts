import type { ErrorCode } from "./types";

/** An error the widget shows to the shopper, with a stable code. */
export class TryOnError extends Error {
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    /** Seconds to wait before retrying, from `Retry-After`. */
    readonly retryAfter?: number,
    /** The API's machine-readable cause (the problem's `reason`, e.g. `body-not-visible`). */
    readonly reason?: string,
  ) {
    super(detail ?? code);
    this.name = "TryOnError";
  }
}

/** RFC 9457 problem types (`/problems/<slug>`) the API returns, mapped to widget codes. */
const PROBLEM_CODES: Record<string, ErrorCode> = {
  "no-subject-found": "no_face",
  "no-face": "no_face",
  "quota-exceeded": "quota_reached",
  "rate-limited": "rate_limited",
  "invalid-image": "invalid_image",
  "image-too-large": "invalid_image",
  "payload-too-large": "invalid_image",
  "unsupported-media-type": "invalid_image",
  "empty-body": "invalid_image",
  "invalid-api-key": "invalid_key",
  "origin-not-allowed": "invalid_key",
  "key-type-not-allowed": "invalid_key",
  "insufficient-scope": "invalid_key",
  "not-found": "not_available",
  "no-asset": "not_available",
};

/** The widget code for a problem `type` (or a bare slug) and HTTP status. */
export function codeForProblem(type: unknown, status: number): ErrorCode {
  const slug = typeof type === "string" ? type.replace(/^.*\/problems\//, "") : "";
  const known = PROBLEM_CODES[slug];
  if (known) return known;
  if (status === 401 || status === 403) return "invalid_key";
  if (status === 404) return "not_available";
  if (status === 413 || status === 415 || status === 422) return "invalid_image";
  if (status === 429) return "rate_limited";
  return "server";
}

/** The widget code for a `getUserMedia` failure. */
export function codeForMediaError(err: unknown): ErrorCode {
  const name = err instanceof Error || (typeof err === "object" && err !== null) ? (err as { name?: string }).name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return "permission_denied";
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return "no_camera";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "camera_busy";
    default:
      return "no_camera";
  }
}
