/**
 * Which query parameter names carry a secret. At the bottom with src/errors.ts (which redacts error
 * text with it) so that errors import nothing above them; src/core/url.ts strips URLs with it. Pure.
 */

/** Query parameters that carry secrets on some server: OAuth, GitLab, signed S3/GCS/Azure/CloudFront URLs. */
const SECRET_PARAM_WORDS = /token|secret|passw|pwd|credential|signature|session|apikey|api_key/
const SECRET_PARAM_SEGMENTS = /(?:^|_)(?:auth|authorization|key|sig|jwt|otp|pass|policy|key_pair_id)(?:$|_)/

/** True for a query parameter name that carries a secret (matched case-insensitively, `-` and `.` as `_`). */
export function isSecretParam(name: string): boolean {
  const n = name.toLowerCase().replace(/[-.]/g, '_')
  return n.startsWith('x_amz_') || n.startsWith('x_goog_') || SECRET_PARAM_WORDS.test(n) || SECRET_PARAM_SEGMENTS.test(n)
}
