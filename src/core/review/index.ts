/**
 * What changed between the published version and the staged one, and what of it is risky:
 * the review an approver sees before the OTP prompt. Pure: bytes in, typed findings out.
 * Everything in a tarball is untrusted: it is measured, never executed or trusted.
 *
 *   findings.ts    codes, severities and the shapes of a review
 *   versions.ts    the baseline, the semver step, the git ref
 *   manifest.ts    install scripts, dependencies, bin and entry points
 *   files.ts       added/removed/changed files and per-file risks
 *   heuristics.ts  minified, obfuscated or long-lined code
 */
import type { TarballFile } from '../tarball-contents.js'
import { FINDINGS, severityRank, str, type Add, type FileChange, type Finding, type Review, type ReviewInput } from './findings.js'
import { compareFiles, indexFiles, reviewFileRisks } from './files.js'
import { reviewManifest } from './manifest.js'
import { reviewRef, reviewVersion } from './versions.js'
import { reviewTrust } from './trust.js'
import { reviewProvenance } from './provenance.js'

export {
  FINDINGS,
  FINDING_CODES,
  SEVERITIES,
  isFindingCode,
  severityRank,
  type BaselineReason,
  type DependencyChange,
  type DependencyField,
  type FileChange,
  type FileMap,
  type Finding,
  type FindingArgs,
  type FindingArgsMap,
  type FindingCode,
  type ReleaseHop,
  type Review,
  type ReviewInput,
  type Severity,
} from './findings.js'
export { chooseBaseline } from './versions.js'
export { provenanceMismatches, type ProvenanceReview } from './provenance.js'
export { compareFiles, indexFiles, sameBytes } from './files.js'

export function reviewRelease(input: ReviewInput): Review {
  const findings: Finding[] = []
  const add: Add = (code, ...rest) => {
    const clean: Record<string, string | number> = {}
    for (const [k, v] of Object.entries(rest[0] ?? {})) if (v !== undefined) clean[k] = v
    // Add ties each code to its arguments; TypeScript cannot follow that through the generic, hence the cast.
    findings.push({ code, severity: FINDINGS[code], args: clean } as Finding)
  }
  const { staged, previous } = input
  const sm = staged.manifest
  const pm = previous?.manifest
  const name = str(sm.name) ?? ''
  const version = str(sm.version) ?? ''
  const baseVersion = previous ? (input.previousVersion ?? str(pm?.version) ?? null) : null
  const baseline: Review['baseline'] =
    baseVersion === null
      ? { version: null, reason: 'first-release' }
      : { version: baseVersion, reason: input.distTags?.[input.tag] === baseVersion ? 'tag' : 'highest' }

  if (input.registryManifest === 'unavailable') add('MANIFEST_UNVERIFIED')
  else if (input.registryManifest?.mismatched.length) add('MANIFEST_MISMATCH', { fields: input.registryManifest.mismatched.join(', ') })
  reviewProvenance(input.provenance, add)
  reviewVersion(version, baseline, input, add)
  reviewTrust(version, baseline.version, input, add)
  reviewRef(name, version, input, add)

  const now = indexFiles(staged.files, (path) => add('DUPLICATE_PATH', { path }))
  const before = indexFiles(previous?.files ?? [], () => {})
  const files = compareFiles(now, before)
  const unpacked = sum(staged.files)
  const previousUnpacked = previous ? sum(previous.files) : undefined
  if (files.added.length) add('FILES_ADDED', { count: files.added.length, bytes: sumSizes(files.added, 'size') })
  if (files.removed.length) add('FILES_REMOVED', { count: files.removed.length, bytes: sumSizes(files.removed, 'previousSize') })
  if (files.changed.length) add('FILES_CHANGED', { count: files.changed.length })
  if (previousUnpacked !== undefined && previousUnpacked !== unpacked) {
    add('SIZE_CHANGED', { from: previousUnpacked, to: unpacked, delta: unpacked - previousUnpacked })
    // Doubling and at least 512 KiB more: room for a bundled payload, beyond ordinary growth.
    if (unpacked >= 2 * previousUnpacked && unpacked - previousUnpacked >= 512 * 1024) {
      add('SIZE_GROWTH', { from: previousUnpacked, to: unpacked })
    }
  }

  const dependencies = reviewManifest(sm, pm, now, before, add)
  reviewFileRisks(sm, now, before, add)

  findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity))
  return {
    package: { name, version },
    baseline,
    files,
    size: {
      ...(input.packedSize === undefined ? {} : { packed: input.packedSize }),
      ...(input.previousPackedSize === undefined || !previous ? {} : { previousPacked: input.previousPackedSize }),
      unpacked,
      ...(previousUnpacked === undefined ? {} : { previousUnpacked }),
    },
    dependencies,
    findings,
    ...(input.trust && { trust: trustSummary(input.trust, baseline.version) }),
  }
}

function trustSummary(trust: NonNullable<ReviewInput['trust']>, baselineVersion: string | null): NonNullable<Review['trust']> {
  const baseline = trust.published.find((p) => p.version === baselineVersion)?.evidence
  return { hop: trust.hop, release: trust.release, ...(baseline && { baseline }) }
}

const sum = (files: TarballFile[]): number => files.reduce((n, f) => n + f.size, 0)
const sumSizes = (list: FileChange[], key: 'size' | 'previousSize'): number => list.reduce((n, f) => n + (f[key] ?? 0), 0)
