/**
 * Trust evidence on a published version, as installers read it from the packument (pnpm
 * `resolving/npm-resolver/src/trustChecks.ts` getTrustEvidence): provenance when
 * `dist.attestations.provenance` is there, a trusted publisher when `_npmUser.trustedPublisher` is,
 * and, for a version approved through npm's staging, `_npmUser.approver`. Presence follows the
 * installers' rule (any value that is set), so nothing an installer counts is missed; the details
 * shown to a person are read strictly: short plain strings only, anything else is left out. Pure.
 */
import { hasUnsafeChar } from './text.js'

export type EvidenceKind = 'provenance' | 'trustedPublisher' | 'approver'
export const EVIDENCE_KINDS: readonly EvidenceKind[] = ['provenance', 'trustedPublisher', 'approver']

/** What a published version carries; a kind is present when its key is. `detail`: a safe short label. */
export type PublishedEvidence = { [K in EvidenceKind]?: { detail?: string } }

/**
 * What a staged release will carry once published: `true`, `false`, or `unknown` when nothing here
 * can tell (a registry's staged item does not say whether it was staged with a provenance bundle).
 */
export type ReleaseEvidence = { [K in EvidenceKind]: boolean | 'unknown' }

type Obj = Record<string, unknown>
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const own = (o: unknown, key: string): unknown => (isObject(o) && Object.hasOwn(o, key) ? o[key] : undefined)
/** Set, the way a JavaScript installer tests it (`if (x.y)`). */
const truthy = (v: unknown): boolean => Boolean(v)

/** A label for people: a plain string of at most 100 safe characters, or nothing. */
function label(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '' || v.length > 100 || hasUnsafeChar(v)) return undefined
  return /^[\w@./:+ -]+$/.test(v) ? v : undefined
}

/** The evidence in one version object of a packument (untrusted). */
export function readPublishedEvidence(manifest: unknown): PublishedEvidence {
  const evidence: PublishedEvidence = {}
  const provenance = own(own(own(manifest, 'dist'), 'attestations'), 'provenance')
  if (truthy(provenance)) evidence.provenance = withDetail(label(own(provenance, 'predicateType')))
  const user = own(manifest, '_npmUser')
  const trusted = own(user, 'trustedPublisher')
  if (truthy(trusted)) evidence.trustedPublisher = withDetail(label(own(trusted, 'id')))
  const approver = own(user, 'approver')
  if (truthy(approver)) evidence.approver = withDetail(typeof approver === 'string' ? label(approver) : label(own(approver, 'name')))
  return evidence
}

const withDetail = (detail: string | undefined): { detail?: string } => (detail === undefined ? {} : { detail })

/** Evidence kinds that `published` carries and `release` definitely will not. */
export function missingEvidence(published: PublishedEvidence, release: ReleaseEvidence): EvidenceKind[] {
  return EVIDENCE_KINDS.filter((k) => published[k] !== undefined && release[k] === false)
}
