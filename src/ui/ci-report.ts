/**
 * What CI reports and notifications say about staged releases, as data: built once from the records
 * and their reviews, then worded for each place (./ci-github.ts, ./ci-gitlab.ts, ./notify-payload.ts).
 * Names, versions and findings come from the package and are attacker-controlled: each renderer escapes
 * them for its own format; here they are only clipped and made terminal-safe (inline()). Pure.
 */
import { redact } from '../errors.js'
import type { StagedRecord } from '../core/record.js'
import { severityRank, type Review, type Severity } from '../core/review.js'
import { describeFinding } from './render-review.js'
import { inline } from './sanitize.js'

/** How many findings a report names per release (all are counted). */
export const TOP_FINDINGS = 5
/** A finding's sentence is cut here: a file name can be 100 kB long. */
const MAX_MESSAGE = 300

export interface ReportedFinding {
  code: string
  severity: Severity
  /** One sentence, terminal-safe, at most 300 characters. */
  message: string
}

export interface ReviewSummary {
  danger: number
  warn: number
  info: number
  /** The most severe findings first, at most TOP_FINDINGS. */
  top: ReportedFinding[]
  /** Every danger finding (annotations name each one), at most 50. */
  dangers: ReportedFinding[]
}

export interface ReportedRelease {
  id: string
  name: string
  version: string
  tag: string
  registry: string
  integrity: string | null
  shasum: string
  createdAt: string
  expiresAt: string | null
  /** Who staged it (CI: the workflow's actor). */
  actor: string
  /** null when the review could not be made (why in reviewError): the report still goes out. */
  review: ReviewSummary | null
  reviewError?: string
}

/** One staging: a release, several (a registry backend stages a workspace one by one), or a release set. */
export interface StagedReport {
  setId: string | null
  releases: ReportedRelease[]
  /** The exact command that approves everything staged here, with --backend when one must be named. */
  approveCommand: string
}

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

export function summariseReview(review: Review): ReviewSummary {
  const findings = [...review.findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity))
  const count = (s: Severity): number => findings.filter((f) => f.severity === s).length
  const word = (f: Review['findings'][number]): ReportedFinding => ({ code: f.code, severity: f.severity, message: clip(describeFinding(f), MAX_MESSAGE) })
  return {
    danger: count('danger'),
    warn: count('warn'),
    info: count('info'),
    top: findings.filter((f) => f.severity !== 'info').slice(0, TOP_FINDINGS).map(word),
    dangers: findings.filter((f) => f.severity === 'danger').slice(0, 50).map(word),
  }
}

export function reportedRelease(record: StagedRecord, review: Review | null, reviewError?: string): ReportedRelease {
  return {
    id: record.id,
    name: record.packageName,
    version: record.version,
    tag: record.tag,
    registry: record.registry,
    integrity: record.integrity ?? null,
    shasum: record.shasum,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt ?? null,
    actor: record.actor,
    review: review ? summariseReview(review) : null,
    // An error may quote a URL: redacted as everything we print is.
    ...(reviewError !== undefined && { reviewError: clip(inline(redact(reviewError)), MAX_MESSAGE) }),
  }
}

/** `npx stage-publish approve <set-id | ids>` plus the `--backend` the approver must name ('' when none). */
export function approveCommand(setId: string | null, ids: string[], backendHint: string): string {
  return `npx stage-publish approve ${setId ?? ids.join(' ')}${backendHint}`
}
