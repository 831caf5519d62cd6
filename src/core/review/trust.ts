/**
 * No silent downgrade: a release that would be published with weaker trust evidence than the versions
 * before it (provenance, a trusted publisher, an approver recorded through npm's staging). Installers
 * with a no-downgrade policy refuse such a version (pnpm's `trustPolicy: no-downgrade` compares every
 * earlier version, prereleases left out when the new version is not one). The version the review
 * compares with is named first; otherwise the highest earlier version that carries the evidence. Pure.
 */
import semver from 'semver'
import { EVIDENCE_KINDS, missingEvidence, type EvidenceKind } from '../trust-evidence.js'
import type { Add, ReviewInput } from './findings.js'

export function reviewTrust(version: string, baselineVersion: string | null, input: ReviewInput, add: Add): void {
  const trust = input.trust
  if (!trust) return
  const stagedIsPrerelease = Boolean(semver.prerelease(version))
  const earlier = trust.published
    .filter((p) => p.version !== version && semver.valid(p.version) && (stagedIsPrerelease || !semver.prerelease(p.version)))
    // The baseline first, then the highest versions first.
    .sort((a, b) => (a.version === baselineVersion ? -1 : b.version === baselineVersion ? 1 : semver.rcompare(a.version, b.version)))
  const named = new Map<EvidenceKind, string>()
  for (const p of earlier) {
    for (const kind of missingEvidence(p.evidence, trust.release)) if (!named.has(kind)) named.set(kind, p.version)
  }
  for (const evidence of EVIDENCE_KINDS) {
    const carrier = named.get(evidence)
    if (carrier !== undefined) add('TRUST_DOWNGRADE', { evidence, version: carrier, hop: trust.hop })
  }
}
