/**
 * The final hop of an approval from a record store (file, S3): how the verified bytes reach the registry.
 *
 *   publish   a direct publish with the approver's credentials (libnpmpublish PUT);
 *   stage     the registry's own staging API: stage the reviewed manifest and bytes there, then approve
 *             the item with the approver's second factor, so the registry records the human approval
 *             (`_npmUser.approver` on npm) — the evidence npm's own staged path carries
 *             (./final-hop-stage.ts does it).
 *
 * `auto` (the default) stages where the registry implements npm's staging API. Decided once per
 * registry per run, before the review, which shows the trust evidence the chosen hop gives a release.
 */
import { StagePublishError, redact } from '../errors.js'
import type { ReleaseHop } from '../core/review.js'
import { readPublishedEvidence, type ReleaseEvidence } from '../core/trust-evidence.js'
import type { StagedRecord } from '../core/record.js'
import { isNative, type StagingBackend } from '../backends/types.js'
import { lookupPublished, type PublishFn, type Target } from '../npm/publish.js'
import { detectStaging, noStaging } from '../npm/stage-api.js'
import type { Output } from '../ui/output.js'
import { inline } from '../ui/sanitize.js'

export type FinalHopChoice = 'auto' | 'publish' | 'stage'
const CHOICES: readonly FinalHopChoice[] = ['auto', 'publish', 'stage']

type Flat = Record<string, unknown>

/** What the final hop needs of an approval's context (ApprovalContext has all of it). */
export interface HopContext {
  opts: { finalHop?: FinalHopChoice }
  deps: { env: NodeJS.ProcessEnv; now: () => Date; publishFn?: PublishFn }
  out: Output
  conf: { flat: Flat }
  timing: { claimTimeoutMs: number }
}

/** --final-hop, else STAGE_PUBLISH_FINAL_HOP, else auto. A bad environment value is a usage error. */
export function finalHopChoice(flag: FinalHopChoice | undefined, env: NodeJS.ProcessEnv): FinalHopChoice {
  if (flag) return flag
  const raw = env.STAGE_PUBLISH_FINAL_HOP
  if (raw === undefined || raw === '') return 'auto'
  const choice = CHOICES.find((c) => c === raw)
  if (!choice) throw new StagePublishError('EUSAGE', `STAGE_PUBLISH_FINAL_HOP must be auto, publish or stage`, { exitCode: 2 })
  return choice
}

const detections = new WeakMap<object, Map<string, Promise<ReleaseHop>>>()

/** The hop for a release going to `target.registry`, decided once per registry per run, before the review. */
export function chooseHop(backend: StagingBackend, target: Target, ctx: HopContext): Promise<ReleaseHop> {
  if (isNative(backend)) return Promise.resolve('native')
  const asked = finalHopChoice(ctx.opts.finalHop, ctx.deps.env)
  if (asked === 'publish') return Promise.resolve('publish')
  let known = detections.get(ctx)
  if (!known) detections.set(ctx, (known = new Map<string, Promise<ReleaseHop>>()))
  let hop = known.get(target.registry)
  if (!hop) known.set(target.registry, (hop = detect(asked, target.registry, ctx)))
  return hop
}

async function detect(asked: 'auto' | 'stage', registry: string, ctx: HopContext): Promise<ReleaseHop> {
  const support = await detectStaging(registry, ctx.conf.flat)
  if (support.supported === true) return 'stage'
  const answered = `GET /-/stage answered ${support.status}`
  if (asked === 'stage') throw noStaging(registry, support.supported === false ? answered : `${answered}: your credentials may not list staged items, so it cannot be told`)
  if (support.supported === 'unknown') {
    ctx.out.warn(`Could not tell whether ${inline(redact(registry))} implements npm's staging API (${answered}): publishing directly. --final-hop stage insists on staging there.`)
  }
  return 'publish'
}

/**
 * The hop `approve` would take without --final-hop, for `view`: no warning, and a registry that cannot
 * say counts as a direct publish.
 */
export async function defaultHop(backend: StagingBackend, registry: string, env: NodeJS.ProcessEnv, flat: Flat): Promise<ReleaseHop> {
  if (isNative(backend)) return 'native'
  if (finalHopChoice(undefined, env) === 'publish') return 'publish'
  return (await detectStaging(registry, flat)).supported === true ? 'stage' : 'publish'
}

/**
 * The trust evidence a release will carry, by how it reaches the registry. Provenance only from a
 * verified bundle; a recorded approver only through a registry's staging; a trusted publisher only
 * when CI staged it on the registry with trusted publishing, never from an approver's machine.
 */
export function releaseEvidence(hop: ReleaseHop, record: StagedRecord, provenance: boolean): ReleaseEvidence {
  if (hop === 'native') return { provenance: provenance || 'unknown', trustedPublisher: record.actorType === 'trusted automation', approver: true }
  return { provenance, trustedPublisher: false, approver: hop === 'stage' }
}

/** The line shown before the confirmation and the one-time password. */
export function describeHop(hop: ReleaseHop, registry: string): string | undefined {
  const where = inline(redact(registry))
  if (hop === 'stage') return `Final hop: staged on ${where} through its staging API, then approved there with your one-time password, so the registry records your approval (--final-hop publish publishes directly instead).`
  if (hop === 'publish') return `Final hop: published directly to ${where} with your credentials.`
  return undefined
}

/**
 * After a staging final hop: whether the registry recorded the approval on the published version
 * (`_npmUser.approver`, as npmjs.com does). Said when it did not (Verdaccio 9 records none), so the
 * evidence shown before the code is not left standing as a promise.
 */
export async function reportRecordedApprover(target: Target, ctx: HopContext): Promise<void> {
  const published = await lookupPublished(target, ctx.conf.flat).catch(() => null)
  if (!published?.exists) return
  if (readPublishedEvidence(published.manifest).approver) return
  ctx.out.warn(`${inline(redact(target.registry))} published ${inline(target.name)}@${inline(target.version)} through its staging API but recorded no approver on it (_npmUser.approver): installers there see no recorded approval.`)
}
