/**
 * The review of a staged release against what is published, and the approval policy applied to it.
 * Shared by view and approve (diff uses the same baseline): the registry is read here, the core judges.
 */
import { StagePublishError } from '../errors.js'
import type { DetailedRecord, StagedRecord } from '../core/record.js'
import { reviewRelease, type ReleaseHop, type Review, type ReviewInput } from '../core/review.js'
import type { ReleaseEvidence } from '../core/trust-evidence.js'
import { manifestMismatches } from '../core/manifest-confusion.js'
import { publishManifest } from '../npm/publish-manifest.js'
import { ALWAYS_REFUSED, applyPolicy, parsePolicy, type Policy, type PolicyResult } from '../core/policy.js'
import { fetchBaseline, type Baseline } from '../npm/baseline.js'
import type { TarballContents } from '../npm/tarball.js'
import type { StagingBackend, Versioned } from '../backends/types.js'
import { loadNpmConfig } from '../npm/config.js'
import { renderPolicy, type VerifiedFacts } from '../ui/render.js'
import { renderReview, reviewColors } from '../ui/render-review.js'
import type { Output } from '../ui/output.js'
import { readProjectStageConfig, type Deps } from './context.js'
import { loadVerified } from './verify.js'
import { listedSetMembers } from './select.js'
import { factsOf } from './facts.js'
import { defaultHop, releaseEvidence } from './final-hop.js'

/** How a release will reach the registry and the trust evidence it will then carry (for TRUST_DOWNGRADE). */
export interface ReleaseTrust {
  hop: ReleaseHop
  release: ReleaseEvidence
}
import { loadProvenance, provenanceReview, provenanceShown } from './provenance.js'

export interface Reviewed {
  review: Review
  baseline: Baseline
}

/** Fetches the baseline from `registry` and reviews the verified staged contents against it. */
export async function reviewStaged(
  record: StagedRecord,
  staged: { bytes: Buffer; contents: TarballContents },
  registry: string,
  flat: Record<string, unknown>,
  registryManifest?: ReviewInput['registryManifest'],
  trust?: ReleaseTrust,
  provenance?: ReviewInput['provenance'],
): Promise<Reviewed> {
  const baseline = await fetchBaseline({ name: record.packageName, version: record.version, tag: record.tag, registry }, flat)
  // CI knows the full ref (refs/tags/v1.2.3); a local staging knows only the branch.
  const gitRef = record.ci?.ref ?? record.git?.branch
  const review = reviewRelease({
    previous: baseline.contents,
    previousVersion: baseline.baseline.version,
    staged: staged.contents,
    tag: record.tag,
    ...(gitRef && { gitRef }),
    distTags: baseline.distTags,
    publishedVersions: baseline.versions,
    packedSize: staged.bytes.length,
    ...(baseline.packedSize !== undefined && { previousPackedSize: baseline.packedSize }),
    ...(registryManifest !== undefined && { registryManifest }),
    ...(trust && { trust: { ...trust, published: baseline.evidence } }),
    ...(provenance !== undefined && { provenance }),
  })
  return { review, baseline }
}

/**
 * A registry that stages natively will publish the manifest it was sent at staging: compare the one it
 * holds (when its API shows it) with the manifest npm would send for the verified bytes. Undefined for
 * record stores, which publish the tarball's own manifest.
 */
export async function registryManifestCheck(
  current: Versioned,
  staged: { bytes: Buffer; contents: TarballContents },
  /** The publish manifest when the caller has built it already (approve); built here only when needed (view). */
  built?: Record<string, unknown>,
): Promise<ReviewInput['registryManifest']> {
  if (current.stagedManifest === undefined) return undefined
  if (current.stagedManifest === null) return 'unavailable'
  const manifest = built ?? (await publishManifest(staged))
  return { mismatched: manifestMismatches(manifest, current.stagedManifest) }
}

export interface Gate {
  policy: Policy
  /** `--allow` codes, as typed. */
  allow: string[]
}

/**
 * The policy of the project the approver runs in (package.json `stagePublish.policy` above cwd).
 * Never the staged tarball's own package.json: whoever staged it must not choose its policy.
 */
export async function loadGate(cwd: string, allow: string[]): Promise<Gate> {
  const { config, dir } = await readProjectStageConfig(cwd)
  const policy = parsePolicy(config?.policy, `${dir ? `${dir}/` : ''}package.json stagePublish.policy`)
  applyPolicy([], policy, allow) // an unknown --allow code is a usage error before anything else happens
  return { policy, allow }
}

/** What approve --json reports of the policy. */
export interface PolicyVerdict {
  refuse: string | null
  blocked: string[]
  allowed: string[]
}

/**
 * Reviews the release for approve and shows the review and the policy's verdict to the approver
 * (on stderr, even with --json: it is what they are about to ratify). Blocked findings stop the
 * approval here with EPOLICY, before any prompt, with the release still pending.
 */
export async function presentReview(
  record: StagedRecord,
  staged: { bytes: Buffer; contents: TarballContents },
  registry: string,
  flat: Record<string, unknown>,
  gate: Gate,
  out: Output,
  /** `stage-publish reject <id> [--backend ...]`, for the hint when the policy refuses. */
  rejectCommand: string,
  registryManifest?: ReviewInput['registryManifest'],
  trust?: ReleaseTrust,
  provenance?: ReviewInput['provenance'],
): Promise<{ review: Review; policy: PolicyVerdict }> {
  const { review } = await reviewStaged(record, staged, registry, flat, registryManifest, trust, provenance)
  out.tell(renderReview(review, { color: reviewColors(out.style) }))
  const result = applyPolicy(review.findings, gate.policy, gate.allow)
  const verdict = renderPolicy(gate.policy, result, out.style)
  if (verdict) out.tell(verdict)
  if (result.blocked.length) throw policyError(result, gate.policy, record, rejectCommand)
  return {
    review,
    policy: { refuse: gate.policy.refuse ?? null, blocked: [], allowed: [...new Set(result.allowed.map((f) => f.code))] },
  }
}

function policyError(result: PolicyResult, policy: Policy, record: StagedRecord, rejectCommand: string): StagePublishError {
  const codes = [...new Set(result.blocked.map((f) => f.code))]
  const one = codes.length === 1
  const why = policy.refuse === undefined || codes.every((c) => ALWAYS_REFUSED.has(c)) ? `${codes.join(', ')} ${one ? 'is' : 'are'} refused unless allowed by name` : `The approval policy refuses ${policy.refuse} findings`
  return new StagePublishError('EPOLICY', `${why}, and ${record.packageName}@${record.version} has ${one ? 'one' : codes.length}: ${codes.join(', ')}`, {
    hint: `Nothing was published; the release is still pending. If you have reviewed ${one ? 'it' : 'them'} and accept ${one ? 'it' : 'them'}, run approve again with --allow ${codes.join(' ')}; otherwise reject it (${rejectCommand}).`,
  })
}

/**
 * The review for `view`: never fatal. A registry that cannot be reached, or bytes that fail their
 * check, become a warning and `review: null`, so the record itself is always shown. With the review
 * comes the record completed from the verified bytes (a registry's item lists no files or sizes).
 */
export async function reviewForView(
  backend: StagingBackend,
  current: Versioned,
  deps: Deps,
  registry = current.record.registry,
): Promise<{ review: Review; record: DetailedRecord; manifest: Record<string, unknown>; facts: VerifiedFacts } | { error: unknown; facts?: VerifiedFacts }> {
  const { record } = current
  // The bytes are described when they verify, even if the review then fails (registry unreachable).
  let facts: VerifiedFacts | undefined
  try {
    const staged = await loadVerified(backend, record)
    const provenance = await loadProvenance(backend, staged.record)
    facts = factsOf(staged, provenanceShown(provenance))
    // A record claiming a release set that does not list it is refused: view says so instead of reviewing it.
    await listedSetMembers(backend, record)
    const conf = await loadNpmConfig({ cwd: deps.cwd, env: deps.env })
    const registryManifest = await registryManifestCheck(current, staged)
    const hop = await defaultHop(backend, registry, deps.env, conf.flat)
    const trust = { hop, release: releaseEvidence(hop, staged.record, Boolean(provenance && 'bundle' in provenance)) }
    const { review } = await reviewStaged(staged.record, staged, registry, conf.flat, registryManifest, trust, provenanceReview(provenance, staged.record))
    return { review, record: staged.record, manifest: staged.contents.manifest, facts }
  } catch (error) {
    return { error, ...(facts && { facts }) }
  }
}
