/**
 * The provenance staged with a release, as view and approve see it: the bundle from the backend, held to
 * the sha512 its record names (a bundle deleted or replaced after staging is noticed), then
 * verified for the verified tarball (src/npm/provenance-verify.ts). Expected outcomes are values: a
 * bundle that does not hold up is `unverified` with the reason, which the review turns into the danger
 * finding PROVENANCE_UNVERIFIED; only a backend that cannot be read throws.
 */
import { StagePublishError } from '../errors.js'
import type { DetailedRecord } from '../core/record.js'
import type { ProvenanceReview } from '../core/review.js'
import type { ProvenanceFacts } from '../core/provenance.js'
import { isNative, type StagingBackend } from '../backends/types.js'
import { sha512Integrity } from '../npm/tarball.js'
import { lookupPublished, type Target } from '../npm/publish.js'
import type { ProvenanceShown } from '../ui/render-provenance.js'

export type StagedProvenance = { bundle: Buffer; facts: ProvenanceFacts } | { unverified: string } | undefined

export async function loadProvenance(backend: StagingBackend, record: DetailedRecord): Promise<StagedProvenance> {
  // A registry's staging API shows no bundle (npm's items list none): nothing to show or to send again.
  if (isNative(backend)) return undefined
  const named = record.provenance
  // The record is the anchor, as for the tarball: a bundle it does not name is never read, shown or
  // published (and approvers whose bucket policy predates provenance/* are not asked for it).
  if (!named) return undefined
  let bytes: Buffer | null
  try {
    bytes = await backend.getProvenance(record.id)
  } catch (err) {
    if (err instanceof StagePublishError && (err.code === 'ETOOLARGE' || err.code === 'ECORRUPT')) return { unverified: `the stored bundle cannot be read (${err.message})` }
    throw err
  }
  if (!bytes) return { unverified: 'the bundle staged with it is missing from the backend' }
  if (bytes.length !== named.size || sha512Integrity(bytes) !== named.integrity) {
    return { unverified: 'the stored bundle is not the one staged: its sha512 differs from the one in the record' }
  }
  try {
    const { verifyProvenance } = await import('../npm/provenance-verify.js')
    const verified = verifyProvenance(bytes, { name: record.packageName, version: record.version, integrity: record.integrity })
    return { bundle: verified.bundle, facts: verified.facts }
  } catch (err) {
    if (err instanceof StagePublishError && err.code === 'EPROVENANCE') return { unverified: err.message }
    throw err
  }
}

/** What the review is told: the facts with the record's claims to compare them with, or why there are none. */
export function provenanceReview(staged: StagedProvenance, record: DetailedRecord): ProvenanceReview | undefined {
  if (!staged) return undefined
  if ('unverified' in staged) return staged
  return { facts: staged.facts, claimed: { ...(record.git && { git: record.git }), ...(record.ci && { ci: record.ci }) } }
}

export const provenanceShown = (staged: StagedProvenance): ProvenanceShown | undefined => (staged && 'facts' in staged ? { facts: staged.facts } : staged)

/**
 * After a publish that carried a bundle: does the registry hold it? npmjs records provenance as the
 * version's `dist.attestations` (`{ url, provenance: { predicateType } }`); a registry that accepted the
 * body but shows none dropped it. `unknown` when the version cannot be read back.
 */
export async function provenanceOnRegistry(target: Target, flat: Record<string, unknown>): Promise<'recorded' | 'not-shown' | 'unknown'> {
  const published = await lookupPublished(target, flat).catch(() => null)
  if (!published?.exists) return 'unknown'
  const dist = published.manifest.dist
  const attestations = dist && typeof dist === 'object' && !Array.isArray(dist) ? (dist as Record<string, unknown>).attestations : undefined
  return attestations && typeof attestations === 'object' && !Array.isArray(attestations) ? 'recorded' : 'not-shown'
}
