/**
 * Approving one staged release, in two halves that a single approval and a batch share:
 *
 *   prepareApproval   settle other approvers → verify bytes → pins (--expect, --verify-local) →
 *                     credentials → already published? → review and policy.
 *                     Nothing is asked and nothing is published; what cannot be approved throws.
 *   publishApproved   record stores: claim (pending → approving) → publish the verified bytes with
 *                     libnpmpublish → approved, each by compare-and-set (see ./claim.ts);
 *                     a registry that stages natively: its approve call.
 *                     Either way with the approver's credentials and the batch's OtpSession.
 *
 * Nothing is published twice: only the holder of a claim publishes and the registry refuses a second
 * PUT; a version already published with the same bytes is recognised and reported, never re-sent.
 */
import { StagePublishError } from '../errors.js'
import { effectiveState, type DetailedRecord, type StagedRecord } from '../core/record.js'
import type { Review } from '../core/review.js'
import { normaliseRegistryUrl } from '../backends/index.js'
import { isNative, type CasStagingBackend, type NativeApproval, type StagingBackend, type Versioned } from '../backends/types.js'
import type { NpmConfig } from '../npm/config.js'
import { lookupPublished, publishOnce, whoami, type Target } from '../npm/publish.js'
import { publishManifest } from '../npm/publish-manifest.js'
import type { Manifest } from '../npm/pack.js'
import { localActor } from '../origin/origin.js'
import { manifestMismatches } from '../core/manifest-confusion.js'
import { dependenciesAmong } from '../core/batch.js'
import type { Prompts } from '../ui/prompts.js'
import type { Output } from '../ui/output.js'
import type { Deps } from './context.js'
import type { ApproveRequest } from './approve-request.js'
import { alreadyDone, claim, markApproved, release, settleOthers, thisProcess, type Self, type Timing } from './claim.js'
import { untilReleased } from './exit-guard.js'
import { withOneTimePassword, type OtpSession } from './otp.js'
import { checkPins, type Pins } from './pin.js'
import { presentReview, registryManifestCheck, type Gate, type PolicyVerdict } from './review.js'
import { listedSetMembers } from './select.js'
import { followUp } from './follow-up.js'
import { loadVerified, type Verified } from './verify.js'
import { loadProvenance, provenanceOnRegistry, provenanceReview, provenanceShown } from './provenance.js'
import type { ProvenanceFacts } from '../core/provenance.js'
import type { ProvenanceShown } from '../ui/render-provenance.js'
import { inline } from '../ui/sanitize.js'
import { notifyExpired } from './notify.js'
import type { ReleaseHop } from '../core/review.js'
import { chooseHop, describeHop, releaseEvidence, reportRecordedApprover } from './final-hop.js'
import { stageThenApprove } from './final-hop-stage.js'
import type { Quorum } from './quorum.js'

export interface ApprovalContext {
  opts: ApproveRequest
  deps: Deps
  out: Output
  prompts: Prompts
  authType: 'legacy' | 'web'
  timing: Timing
  gate: Gate
  /** The approver's npm configuration, loaded once. */
  conf: NpmConfig
  backend: StagingBackend
  /** package.json stagePublish.approvals of the approver's project, when it asks for M-of-N signed approvals. */
  quorum?: Quorum | null
}

/** What a finished approval reports. */
export interface ReportExtras {
  alreadyApproved: boolean
  alreadyPublished?: boolean
  review?: Review
  policy?: PolicyVerdict
  verified?: { expect: boolean; local?: string }
  /** Registry backend: install-relevant fields of the served manifest that differ from the tarball's package.json. */
  manifestMismatch?: string[]
  /** Record stores: how the release reached the registry (./final-hop.ts). */
  hop?: 'publish' | 'stage'
  /** Published with a provenance bundle: whether the registry shows it afterwards (dist.attestations). */
  provenance?: 'recorded' | 'not-shown' | 'unknown'
}

export interface Finished {
  record: StagedRecord
  how: ReportExtras
}

/** A release that passed every check and may be published once the approver confirms. */
export interface Ready {
  current: Versioned
  /** The record with every tarball fact, from the verified bytes. */
  record: DetailedRecord
  staged: Verified
  target: Target
  review: Review
  policy: PolicyVerdict
  verified?: { expect: boolean; local?: string }
  /**
   * The manifest npm would send for the verified bytes, built once before any prompt: what a record store
   * publishes, and what a registry's own staged document is compared with, before and after approval.
   */
  manifest: Manifest
  /** How the release reaches the registry (./final-hop.ts), decided before the review and shown with it. */
  hop: ReleaseHop
  /**
   * The provenance bundle staged with these bytes, when it verified for them (offline, sigstore's shipped
   * trust root) and matches the sha512 its record names: publish it with the release (publishOnce's
   * `provenance`, i.e. libnpmpublish's provenanceFile). null when none was staged, or when the staged one
   * did not hold up and the approver allowed PROVENANCE_UNVERIFIED by name (then it is published without).
   */
  provenance: { bundle: Buffer; facts: ProvenanceFacts } | null
  /** What the approval summary shows of the provenance (verified facts, or why not); absent when none was staged. */
  provenanceShown?: ProvenanceShown
}

export type Prepared = { done: Finished } | { ready: Ready }

export async function prepareApproval(current: Versioned, ctx: ApprovalContext, pins?: Pins): Promise<Prepared> {
  const { backend, deps, out, opts } = ctx
  if (!isNative(backend)) {
    // Met expired: the `expired` webhook event, once per release (./notify.ts); settleOthers then refuses it.
    if (effectiveState(current.record, deps.now()) === 'expired') await notifyExpired(backend, current, deps, out)
    current = await settleOthers(backend, current, ctx.timing, deps, out, selfFor(targetFor(current.record, ctx).registry, ctx))
    if (alreadyDone(current.record)) return { done: { record: current.record, how: { alreadyApproved: true } } }
  }
  const staged = await loadVerified(backend, current.record)
  const { record } = staged
  // A record that claims a release set its set object does not list is refused before its review is shown.
  await listedSetMembers(backend, record)
  // What will be published, from the same reading of the bytes as the review: refused here, before any prompt.
  const manifest = await publishManifest(staged, { name: record.packageName, version: record.version })
  const verified = pins ? await checkPins(pins, record, staged, opts, deps, out) : undefined

  const target = targetFor(record, ctx)
  if (!ctx.conf.hasCredentials(target.registry)) {
    throw new StagePublishError('ENEEDAUTH', `You are not logged in to ${target.registry}`, {
      hint: `Approval publishes with your own npm credentials: run \`npm login --registry ${target.registry}\` first.`,
    })
  }

  // Already published with these exact bytes (a crashed approval, or someone used npm publish)?
  const early = await alreadyPublished({ ...current, record }, target, ctx)
  if (early) return { done: early }

  // What is being approved, against what is published: before the confirmation and the OTP prompt.
  const hop = await chooseHop(backend, target, ctx)
  const stagedProvenance = await loadProvenance(backend, record)
  const provenance = stagedProvenance && 'bundle' in stagedProvenance ? stagedProvenance : null
  const trust = { hop, release: releaseEvidence(hop, record, provenance !== null) }
  const registryManifest = await registryManifestCheck(current, staged, manifest)
  const { review, policy } = await presentReview(record, staged, target.registry, ctx.conf.flat, ctx.gate, out, followUp(ctx.backend, `reject ${record.id}`), registryManifest, trust, provenanceReview(stagedProvenance, record))
  const hopLine = describeHop(hop, target.registry)
  if (hopLine) out.tell(hopLine)
  const shown = provenanceShown(stagedProvenance)
  return { ready: { current, record, staged, target, review, policy, manifest, hop, provenance, ...(shown && { provenanceShown: shown }), ...(verified && { verified }) } }
}

/** Where the release goes: where it was staged for (or --registry); a native backend publishes where it stages. */
function targetFor(record: StagedRecord, ctx: ApprovalContext): Target {
  const { backend, opts } = ctx
  let registry = normaliseRegistryUrl(opts.registry ?? record.registry)
  if (isNative(backend)) {
    if (opts.registry && registry !== backend.native.registry) {
      throw new StagePublishError('EUSAGE', `--registry ${opts.registry} is not where ${record.packageName}@${record.version} is staged (${backend.native.registry})`, {
        hint: 'A registry that stages releases itself also publishes them: leave --registry out, or name the staging registry with --backend registry+<url>.',
        exitCode: 2,
      })
    }
    registry = backend.native.registry
  }
  return { name: record.packageName, version: record.version, registry, tag: record.tag, access: record.access }
}

/**
 * A release of a set approved without the set's packages it depends on (on its own, or in a batch
 * that leaves them out) must wait for them: npm would install it against versions not published yet.
 * `inBatch`: names published in the same run, dependencies first.
 */
export async function requireSetDependencies(ready: Ready, inBatch: ReadonlySet<string>, ctx: ApprovalContext): Promise<void> {
  const { record, staged, target } = ready
  // The set object, not the record, says what the set is (ESETMISMATCH when it does not list this record).
  const listed = await listedSetMembers(ctx.backend, record)
  if (!listed) return
  const members = new Map(listed.map((m) => [m.name, m.version]))
  const missing: string[] = []
  for (const name of dependenciesAmong(staged.contents.manifest, new Set(members.keys()))) {
    if (inBatch.has(name)) continue
    const version = members.get(name) as string
    if (!(await lookupPublished({ name, version, registry: target.registry }, ctx.conf.flat)).exists) missing.push(`${name}@${version}`)
  }
  if (!missing.length) return
  throw new StagePublishError('ESTATE', `${record.packageName}@${record.version} depends on ${missing.join(', ')} of its release set, not published yet`, {
    hint: `Nothing was published. Approve the whole set, dependencies first: ${followUp(ctx.backend, `approve ${record.setId}`)}`,
  })
}

/** Publishes one prepared release after the approver confirmed. Throws what failed; the release then stays pending. */
export async function publishApproved(ready: Ready, session: OtpSession, ctx: ApprovalContext): Promise<Finished> {
  const { backend } = ctx
  return isNative(backend) ? approveNatively(backend.native, ready, session, ctx) : claimAndPublish(backend, ready, session, ctx)
}

/** How long a process asked to stop waits for the registry's answer to a publish already sent. */
const PUBLISH_GRACE_MS = 5_000

/** The approver's identity on a registry (whoami, else user@host), asked once per registry per run. */
const identities = new WeakMap<ApprovalContext, Map<string, Promise<string>>>()
function approverIdentity(registry: string, ctx: ApprovalContext): Promise<string> {
  let known = identities.get(ctx)
  if (!known) identities.set(ctx, (known = new Map<string, Promise<string>>()))
  let who = known.get(registry)
  if (!who) known.set(registry, (who = whoami(registry, ctx.conf.flat).then((name) => name ?? localActor())))
  return who
}

const selfFor = (registry: string, ctx: ApprovalContext): Self => thisProcess(() => approverIdentity(registry, ctx))

async function claimAndPublish(backend: CasStagingBackend, ready: Ready, session: OtpSession, ctx: ApprovalContext): Promise<Finished> {
  const { deps, out, timing, conf } = ctx
  const { target, staged, record, manifest } = ready
  const by = await approverIdentity(target.registry, ctx)

  const claimed = await claim(backend, ready.current, by, timing, deps, out, selfFor(target.registry, ctx))
  if (alreadyDone(claimed.record)) return { record: claimed.record, how: { alreadyApproved: true } }
  // The record as this approval last wrote it: the final hop writes the stage id on it.
  const held = { current: claimed }

  // A signal while the claim is held (at the OTP prompt, waiting for a web sign-in) lets it go. During
  // a publish (or approve) request the outcome is unknown: wait briefly for the answer; without one the
  // claim stays, so nobody else publishes while ours may still land. Its host and pid let this approver
  // take it over at once (the registry is checked first); anyone else after the claim timeout.
  let inFlight: Promise<boolean> | undefined
  const track = (sent: Promise<boolean>): void => {
    inFlight = sent.finally(() => (inFlight = undefined))
  }
  const letGo = untilReleased(async () => {
    if (inFlight) {
      const published = await Promise.race([inFlight, new Promise<undefined>((r) => setTimeout(() => r(undefined), PUBLISH_GRACE_MS).unref())])
      if (published === undefined) return
      if (published) {
        await markApproved(backend, held.current, by, deps, timing, out).catch(() => undefined)
        return
      }
    }
    // Pending again is safe even if this is wrong: the next approval checks the registry first, and
    // reuses an item the final hop staged.
    await release(backend, held.current)
  })
  const otp = otpContext(record, target.registry, ctx)
  try {
    if (ready.hop === 'stage') {
      const approver = await whoami(target.registry, conf.flat)
      const result = await stageThenApprove({ backend, held, target, manifest, bytes: staged.bytes, provenance: ready.provenance?.bundle ?? null, approver, session, otp, onApproveSent: track }, ctx)
      if (result === 'exists') {
        const finished = await alreadyPublished(held.current, target, ctx)
        if (finished) return finished
        throw new StagePublishError('EPUBLISHCONFLICT', `The registry refused ${target.name}@${target.version}: it says the version exists, but it is not published`)
      }
    } else {
      const attempt = await withOneTimePassword(
        ({ otp: code }) => {
          const sent = publishOnce({ target, manifest, bytes: staged.bytes, flat: conf.flat, provenance: ready.provenance?.bundle ?? null, ...(code && { otp: code }) }, deps.publishFn)
          track(sent.then((r) => r.ok, () => false))
          return sent
        },
        session,
        otp,
      )
      if (!attempt.ok) {
        const finished = await alreadyPublished(held.current, target, ctx)
        if (finished) return finished
        throw new StagePublishError('EPUBLISHCONFLICT', `The registry refused ${target.name}@${target.version}: ${attempt.message}`)
      }
    }
  } catch (err) {
    await release(backend, held.current)
    throw err
  } finally {
    letGo()
  }

  const { record: approved } = await markApproved(backend, held.current, by, deps, timing, out)
  const manifestMismatch = ready.hop === 'stage' ? await servedManifestCheck(ready, ctx) : []
  if (ready.hop === 'stage') await reportRecordedApprover(target, ctx)
  const provenance = ready.provenance ? await provenanceCheck(ready, ctx) : undefined
  return {
    record: approved,
    how: {
      alreadyApproved: false,
      review: ready.review,
      policy: ready.policy,
      hop: ready.hop === 'stage' ? 'stage' : 'publish',
      ...(ready.verified && { verified: ready.verified }),
      ...(manifestMismatch.length && { manifestMismatch }),
      ...(provenance && { provenance }),
    },
  }
}

async function approveNatively(native: NativeApproval, ready: Ready, session: OtpSession, ctx: ApprovalContext): Promise<Finished> {
  const { record, target } = ready
  const approver = await whoami(target.registry, ctx.conf.flat)
  const res = await withOneTimePassword((auth) => native.approve(record.id, auth), session, otpContext(record, target.registry, ctx))
  if (!res.ok) {
    // Gone: approved or rejected by someone else meanwhile. Exists: the version got published another way.
    const finished = await alreadyPublished({ ...ready.current, record }, target, ctx, res.reason === 'gone')
    if (finished) return finished
    if (res.reason === 'gone') {
      throw new StagePublishError('ENOTFOUND', `${record.packageName}@${record.version} (${record.id}) is no longer staged on ${target.registry}, and that version is not published`, {
        hint: 'Someone rejected it while you were approving. Stage it again if it should be published.',
      })
    }
    throw new StagePublishError('EPUBLISHCONFLICT', `The registry refused ${target.name}@${target.version}: ${res.message}`)
  }
  const approved: StagedRecord = { ...record, state: 'approved', approvedBy: approver ?? localActor(), approvedAt: ctx.deps.now().toISOString() }
  const manifestMismatch = await servedManifestCheck(ready, ctx)
  return {
    record: approved,
    how: { alreadyApproved: false, review: ready.review, policy: ready.policy, ...(ready.verified && { verified: ready.verified }), ...(manifestMismatch.length && { manifestMismatch }) },
  }
}

/** Published with its bundle: say so when the registry does not show it (it accepted the body and dropped the attachment). */
async function provenanceCheck(ready: Ready, ctx: ApprovalContext): Promise<'recorded' | 'not-shown' | 'unknown'> {
  const held = await provenanceOnRegistry(ready.target, ctx.conf.flat)
  const what = `${inline(ready.target.name)}@${inline(ready.target.version)}`
  if (held === 'not-shown') {
    ctx.out.warn(`${what} is published, but ${inline(ready.target.registry)} does not show its provenance (the version has no dist.attestations): the registry accepted the bundle and did not record it. Installers that check provenance will see none.`)
  } else if (held === 'unknown') {
    ctx.out.warn(`${what} was published with its provenance, but ${inline(ready.target.registry)} could not be read back to check that it holds it (dist.attestations).`)
  }
  return held
}

/**
 * The registry published the manifest sent at staging, which its staging API never showed: compare
 * what it now serves with the package.json that was reviewed, and say so loudly when they differ.
 */
async function servedManifestCheck(ready: Ready, ctx: ApprovalContext): Promise<string[]> {
  const published = await lookupPublished(ready.target, ctx.conf.flat).catch(() => null)
  if (!published?.exists) return []
  const fields = manifestMismatches(ready.manifest, published.manifest)
  if (fields.length) {
    ctx.out.warn(
      `${inline(ready.target.name)}@${inline(ready.target.version)} is published, but ${inline(ready.target.registry)} serves ${fields.map(inline).join(', ')} that differ from the package.json in the tarball you reviewed ` +
        `(the manifest sent when it was staged; npm installs by it). Check with \`npm view ${inline(ready.target.name)}@${inline(ready.target.version)} ${inline(fields[0])}\` and deprecate the version if it is not what you approved.`,
    )
  }
  return fields
}

function otpContext(record: StagedRecord, registry: string, ctx: ApprovalContext) {
  return { prompts: ctx.prompts, authType: ctx.authType, out: ctx.out, flat: ctx.conf.flat, registry, retry: followUp(ctx.backend, `approve ${record.id}`) }
}

/**
 * The idempotency rule: the version is already on the registry. Same integrity → done (a record
 * store's record is marked approved); different integrity → an error, and nothing changes.
 * `byOthers`: a native item vanished while approving it — the same bytes published means someone
 * else approved it.
 */
async function alreadyPublished(current: Versioned, target: Target, ctx: ApprovalContext, byOthers = false): Promise<Finished | null> {
  const { backend, deps, out, timing, conf } = ctx
  const published = await lookupPublished(target, conf.flat)
  if (!published.exists) return null
  const { record } = current
  if (published.integrity !== record.integrity) {
    if (!isNative(backend) && record.state === 'approving') await release(backend, current)
    throw new StagePublishError('EPUBLISHCONFLICT', `A different ${target.name}@${target.version} is already published on ${target.registry}`, {
      hint: `Its integrity is ${published.integrity ?? 'unknown'}, the staged one is ${record.integrity ?? `shasum ${record.shasum}`}. Nothing was published; reject this release (${followUp(backend, `reject ${record.id}`)}).`,
    })
  }
  if (isNative(backend)) {
    if (byOthers) return { record: { ...record, state: 'approved' }, how: { alreadyApproved: true } }
    // The registry keeps the item: only approving or rejecting removes it, and approving would fail.
    out.notice(`${inline(target.name)}@${inline(target.version)} is already on ${inline(target.registry)} with the same integrity; nothing to publish. The staged item stays until it is rejected (${followUp(backend, `reject ${record.id}`)}).`)
    return { record: { ...record, state: 'approved' }, how: { alreadyApproved: false, alreadyPublished: true } }
  }
  const by = record.claim?.by ?? (await whoami(target.registry, conf.flat)) ?? localActor()
  const { record: marked, byUs } = await markApproved(backend, current, by, deps, timing, out)
  if (!byUs) return { record: marked, how: { alreadyApproved: true } }
  out.notice(`${inline(target.name)}@${inline(target.version)} is already on ${inline(target.registry)} with the same integrity; the staged release is marked approved.`)
  return { record: marked, how: { alreadyApproved: false, alreadyPublished: true } }
}
