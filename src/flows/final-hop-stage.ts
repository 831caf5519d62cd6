/**
 * The `stage` final hop (./final-hop.ts): stage the reviewed manifest and verified bytes on the
 * registry's staging API, then approve that item there with the approver's second factor.
 *
 * The record's claim (pending → approving, ./claim.ts) still makes one approver the only one to act;
 * across the two registry calls, the stage id is written on the record by compare-and-set right after
 * staging, and an approval that resumes (a crash, a refused code, a registry still validating) reuses
 * the item staged for these bytes instead of staging twice. A reused item is checked first: same name,
 * version and sha1, staged by this approver, its tarball byte-identical (sha512) to the verified one,
 * and its document, when the registry shows it, the reviewed manifest. Any other item for the version
 * is never approved.
 */
import { StagePublishError, redact } from '../errors.js'
import { parseDuration } from '../core/duration.js'
import { manifestMismatches } from '../core/manifest-confusion.js'
import type { StagedRecord } from '../core/record.js'
import { createRegistryBackend } from '../backends/registry.js'
import type { CasStagingBackend, NativeStagingBackend, Versioned } from '../backends/types.js'
import { lookupPublished, type Target } from '../npm/publish.js'
import type { Manifest } from '../npm/pack.js'
import { sha512Integrity } from '../npm/tarball.js'
import { stageOnRegistry, versionStatus } from '../npm/stage-api.js'
import { inline } from '../ui/sanitize.js'
import { withOneTimePassword, type OtpContext, type OtpSession } from './otp.js'
import type { HopContext } from './final-hop.js'


export interface StageHopInput {
  backend: CasStagingBackend
  /** The record, claimed by this approval. Replaced as the record changes (the stage id is written). */
  held: { current: Versioned }
  target: Target
  manifest: Manifest
  bytes: Buffer
  /** The approver's name on the registry (whoami), when it says; an item is reused only if they staged it. */
  approver: string | undefined
  /** The verified provenance bundle, sent with the staged document as npm sends `--provenance-file`. */
  provenance?: Buffer | null
  session: OtpSession
  otp: OtpContext
  /** Told when the approve request is on its way, with its outcome (approved or not). */
  onApproveSent: (sent: Promise<boolean>) => void
}

/** `approved`: the registry published the item. `exists`: it says the version exists (the caller compares bytes). */
export type StageHopResult = 'approved' | 'exists'

const FIRST_WAIT_MS = 1_000
const MAX_WAIT_MS = 15_000

export async function stageThenApprove(input: StageHopInput, ctx: HopContext): Promise<StageHopResult> {
  const { target } = input
  const registry = createRegistryBackend({ registry: target.registry, flat: ctx.conf.flat, ...(ctx.deps.publishFn && { publishFn: ctx.deps.publishFn }) })
  let stageId = await reusableItem(registry, input, ctx)
  if (!stageId) {
    const staged = await stageOnRegistry({ target, manifest: input.manifest, bytes: input.bytes, flat: ctx.conf.flat, provenance: input.provenance ?? null }, ctx.deps.publishFn)
    if (!staged.ok) {
      if ((await lookupPublished(target, ctx.conf.flat)).exists) return 'exists'
      // Staged meanwhile for these bytes (an earlier approval whose answer was lost), or something else is.
      stageId = await reusableItem(registry, input, ctx)
      if (!stageId) throw otherItem(target, staged.message)
    } else stageId = staged.stageId
  }
  await recordStageId(input, stageId, ctx)
  return approveWhenValidated(registry, stageId, input, ctx)
}

/**
 * The item already staged on the registry for exactly these bytes, by this approver, or undefined when
 * there is none. An item for this version that is not ours to reuse is an error: it is never approved.
 */
async function reusableItem(registry: NativeStagingBackend, input: StageHopInput, ctx: HopContext): Promise<string | undefined> {
  const { target } = input
  const record = input.held.current.record
  const hint = record.finalHop?.registry === target.registry ? record.finalHop.stageId : undefined
  const fromHint = hint ? await registry.getRecord(hint) : null
  const candidates = fromHint ? [fromHint] : await registry.listRecords({ packageName: target.name })
  const sameVersion = candidates.filter((c) => c.record.packageName === target.name && c.record.version === target.version)
  if (!sameVersion.length) return undefined
  const item = sameVersion[0] as Versioned
  const why = await notReusable(registry, item, input)
  if (why) {
    throw new StagePublishError('EPUBLISHCONFLICT', `${target.name}@${target.version} is already staged on ${redact(target.registry)} (${item.record.id}, by ${inline(item.record.actor)}), but not as this approval would stage it: ${why}`, {
      hint: `Nothing was published; the release is still pending. Look at that item (npm stage view ${item.record.id} --registry ${redact(target.registry)}), reject it there if it is not yours (npm stage reject ${item.record.id}), then approve again.`,
    })
  }
  ctx.out.tell(`Found the item this approval staged earlier on ${inline(redact(target.registry))} for these bytes (${item.record.id}): approving that one.`)
  return item.record.id
}

async function notReusable(registry: NativeStagingBackend, item: Versioned, input: StageHopInput): Promise<string | undefined> {
  const { record } = item
  const mine = input.held.current.record
  if (record.shasum !== mine.shasum) return 'its bytes differ (shasum)'
  if (record.actorType !== 'user' || input.approver === undefined || record.actor !== input.approver) return 'it was staged by someone else'
  // sha1 alone could be made to collide: the item's bytes must be the verified ones.
  if (sha512Integrity(await registry.getTarball(record.id)) !== sha512Integrity(input.bytes)) return 'its bytes differ (sha512)'
  if (item.stagedManifest && manifestMismatches(input.manifest, item.stagedManifest).length) return 'its manifest differs from the one reviewed'
  return undefined
}

/** Writes the stage id on the claimed record by compare-and-set: a record changed by someone else means the claim was lost. */
async function recordStageId(input: StageHopInput, stageId: string, ctx: HopContext): Promise<void> {
  const { current } = input.held
  if (current.record.finalHop?.stageId === stageId && current.record.finalHop.registry === input.target.registry) return
  const next: StagedRecord = { ...current.record, finalHop: { registry: input.target.registry, stageId, at: ctx.deps.now().toISOString() } }
  const result = await input.backend.updateRecord(next, current.etag)
  if (!result.updated) {
    throw new StagePublishError('ECONFLICT', `${current.record.packageName}@${current.record.version} changed while it was being approved (its claim was taken over)`, {
      hint: `Nothing was approved on the registry. The item staged there (${stageId}) is reused by whoever approves it next; check with \`stage-publish view ${current.record.id}\`.`,
    })
  }
  input.held.current = { record: next, etag: result.etag }
}

/**
 * Approves the staged item with the approver's second factor. While the registry is still validating
 * the version (npm: 409 "automated review hasn't finished", or its status says `validating`) it waits,
 * with backoff and a bounded total, and says so on stderr.
 */
async function approveWhenValidated(registry: NativeStagingBackend, stageId: string, input: StageHopInput, ctx: HopContext): Promise<StageHopResult> {
  const { target, session } = input
  const limitMs = validationLimit(ctx)
  const started = Date.now()
  let delay = FIRST_WAIT_MS
  for (let attempt = 1; ; attempt++) {
    const status = await versionStatus(target, ctx.conf.flat)
    if (status === 'blocked' || status === 'deleted') {
      throw new StagePublishError('EREGISTRY', `${redact(target.registry)} ${status === 'blocked' ? 'blocked' : 'deleted'} the staged ${target.name}@${target.version} (${stageId})`, {
        hint: 'Nothing was published. Its automated review refused the version: see the registry\'s message to the package owners, fix it and stage a new version.',
      })
    }
    if (status !== 'validating') {
      const res = await withOneTimePassword(
        (auth) => {
          const sent = registry.native.approve(stageId, auth)
          input.onApproveSent(sent.then((r) => r.ok, () => false))
          return sent
        },
        session,
        input.otp,
      )
      if (res.ok) return 'approved'
      if (res.reason === 'gone') {
        if ((await lookupPublished(target, ctx.conf.flat)).exists) return 'exists'
        throw new StagePublishError('ENOTFOUND', `The item staged on ${redact(target.registry)} for ${target.name}@${target.version} (${stageId}) is gone, and that version is not published`, {
          hint: 'Someone rejected it on the registry. Nothing was published; the release is still pending: approve it again to stage it anew, or reject it.',
        })
      }
      if ((await lookupPublished(target, ctx.conf.flat)).exists) return 'exists'
      // A 409 passed the second factor (or never asked): a later refusal of the same code means it expired.
      if (session.code) session.accepted = true
    }
    const waited = Date.now() - started
    if (waited + delay > limitMs) throw stillValidating(target, stageId, waited, input)
    input.otp.out.tell(
      input.otp.out.style('dim', `${target.name}@${target.version} is still being validated by ${redact(target.registry)} (its automated review); trying again in ${Math.round(delay / 1000)} s (attempt ${attempt}, waited ${Math.round(waited / 1000)} s of at most ${Math.round(limitMs / 1000)} s)...`),
    )
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, MAX_WAIT_MS)
  }
}

/**
 * How long to wait for the registry's validation: STAGE_PUBLISH_VALIDATION_TIMEOUT, default 5 minutes,
 * and never more than half the claim timeout, so nobody takes the claim over while we still wait.
 */
function validationLimit(ctx: HopContext): number {
  const raw = ctx.deps.env.STAGE_PUBLISH_VALIDATION_TIMEOUT
  const asked = raw ? parseDuration(raw) : 5 * 60_000
  return Math.min(asked, ctx.timing.claimTimeoutMs / 2)
}

function stillValidating(target: Target, stageId: string, waitedMs: number, input: StageHopInput): StagePublishError {
  return new StagePublishError('EVALIDATING', `${redact(target.registry)} is still validating ${target.name}@${target.version} after ${Math.round(waitedMs / 1000)} s; nothing was published yet`, {
    hint: `It stays staged there (${stageId}) and the release stays pending. Run \`${input.otp.retry}\` again in a few minutes: it approves that same item (set STAGE_PUBLISH_VALIDATION_TIMEOUT, e.g. 10m, to wait longer).`,
  })
}

function otherItem(target: Target, message: string): StagePublishError {
  return new StagePublishError('EPUBLISHCONFLICT', `${redact(target.registry)} refused to stage ${target.name}@${target.version}: ${message}`, {
    hint: 'Nothing was published; the release is still pending. Something else holds that version on the registry: see `npm stage list` there, then approve again.',
  })
}
