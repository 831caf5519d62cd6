/**
 * The approval policy: which review findings stop `approve` before the OTP prompt.
 * Set in package.json as `"stagePublish": { "policy": { "refuse": "danger", "allow": ["NATIVE_BINARY_CHANGED"] } }`;
 * `approve --allow <code>` adds to `allow` for one approval. Pure.
 */
import { StagePublishError, usageError } from '../errors.js'
import { FINDING_CODES, SEVERITIES, isFindingCode, severityRank, type Finding, type FindingCode, type Severity } from './review.js'

export interface Policy {
  /** Findings of this severity or above block the approval. Absent: nothing blocks. */
  refuse?: Severity
  /** Codes that never block, whatever their severity. */
  allow?: FindingCode[]
}

export interface PolicyResult {
  /** At or above the threshold and not allowed: approve must stop. */
  blocked: Finding[]
  /** At or above the threshold but named by `allow` or `--allow`: shown as accepted. */
  allowed: Finding[]
}

/** `install-script-added` and `INSTALL_SCRIPT_ADDED` name the same code. */
const normalizeCode = (raw: string): string => raw.trim().toUpperCase().replace(/-/g, '_')

/**
 * Splits findings into blocked and allowed. An unknown `--allow` code is a usage error rather than
 * a silent no-op, so a typo can't look like a permission that was given.
 */
export function applyPolicy(findings: Finding[], policy: Policy, cliAllow: string[]): PolicyResult {
  const allow = new Set<string>(policy.allow ?? [])
  for (const raw of cliAllow) {
    const code = normalizeCode(raw)
    if (!isFindingCode(code)) {
      throw usageError(`--allow ${JSON.stringify(raw)} is not a review finding code`, `Known codes: ${FINDING_CODES.join(', ')}`)
    }
    allow.add(code)
  }
  const result: PolicyResult = { blocked: [], allowed: [] }
  const threshold = policy.refuse === undefined ? Infinity : severityRank(policy.refuse)
  for (const f of findings) {
    if (severityRank(f.severity) < threshold && !ALWAYS_REFUSED.has(f.code)) continue
    ;(allow.has(f.code) ? result.allowed : result.blocked).push(f)
  }
  return result
}

/**
 * Findings that block whatever the policy says, unless allowed by name: the approval would publish a
 * manifest other than the one reviewed (MANIFEST_MISMATCH), or one nobody could compare
 * (MANIFEST_UNVERIFIED: a registry that stages natively and does not show the document it holds), or the
 * provenance staged with it is missing, replaced or unverifiable (PROVENANCE_UNVERIFIED: allowed by name, the
 * release is published without it).
 */
export const ALWAYS_REFUSED: ReadonlySet<FindingCode> = new Set<FindingCode>(['MANIFEST_MISMATCH', 'MANIFEST_UNVERIFIED', 'PROVENANCE_UNVERIFIED'])

/**
 * Checks package.json `stagePublish.policy`. Anything unexpected is an error rather than ignored:
 * a misspelt key (`refuses`) would otherwise turn the protection off without anyone noticing.
 */
export function parsePolicy(raw: unknown, where = 'package.json stagePublish.policy'): Policy {
  if (raw === undefined || raw === null) return {}
  const bad = (why: string): StagePublishError =>
    new StagePublishError('ECONFIG', `${where} is invalid: ${why}`, {
      hint: `Use { "refuse": "${SEVERITIES.join('" | "')}", "allow": ["<FINDING_CODE>", ...] }. Known codes: ${FINDING_CODES.join(', ')}`,
    })
  if (typeof raw !== 'object' || Array.isArray(raw)) throw bad('it must be an object')
  const policy: Policy = {}
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'refuse') {
      if (typeof value !== 'string' || !SEVERITIES.includes(value as Severity)) {
        throw bad(`"refuse" must be one of ${SEVERITIES.join(', ')}, not ${JSON.stringify(value)}`)
      }
      policy.refuse = value as Severity
    } else if (key === 'allow') {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw bad('"allow" must be an array of finding codes')
      policy.allow = value.map((v: string) => {
        const code = normalizeCode(v)
        if (!isFindingCode(code)) throw bad(`"allow" names an unknown finding code ${JSON.stringify(v)}`)
        return code
      })
    } else {
      throw bad(`unknown key ${JSON.stringify(key)} (expected "refuse" and "allow")`)
    }
  }
  return policy
}
