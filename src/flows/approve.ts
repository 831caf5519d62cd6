/**
 * Approval, safe for several approvers and for a crash at any point:
 *   verify bytes → pins (--expect, --verify-local) → check the registry → review and policy →
 *   confirm → one-time password →
 *   claim (pending → approving, compare-and-set) → publish → approved (compare-and-set).
 * A claim left by a crashed approver can be taken over after a timeout; the registry check
 * (same version and integrity already published → approved) then finishes the job. Nothing is
 * published twice: only the holder of the claim publishes, and the registry refuses a second PUT.
 */
import { StagePublishError } from '../errors.js'
import { effectiveState, type StagedRecord } from '../core/record.js'
import { parseDuration } from '../core/rules.js'
import type { StagingBackend, Versioned } from '../backends/types.js'
import { loadNpmConfig } from '../registry/config.js'
import { lookupPublished, manifestFromTarball, publishOnce, waitForWebAuth, whoami, type Target } from '../registry/publish.js'
import { localActor } from '../origin/origin.js'
import { createPrompts, type Prompts } from '../ui/prompts.js'
import { renderApprovalSummary } from '../ui/render.js'
import type { Review } from '../core/review.js'
import type { Output } from '../ui/output.js'
import { backendFor, findRecord, type Deps } from '../commands/shared.js'
import type { ApproveOptions } from '../commands/approve.js'
import { loadVerified } from './verify.js'
import { checkPins, parsePins } from './pin.js'
import { loadGate, presentReview, type PolicyVerdict } from './review.js'

const MAX_OTP_TRIES = 3
const DEFAULT_CLAIM_TIMEOUT = '10m'
const WEB_AUTH_TIMEOUT_MS = 5 * 60_000
/** How long a second approver waits for a first one to finish before giving up (--wait). */
const DEFAULT_WAIT_FOR_OTHER = '60s'

export async function approveRelease(rawId: string, opts: ApproveOptions, deps: Deps, out: Output): Promise<void> {
  const prompts = deps.prompts ?? createPrompts(deps.promptStreams)
  const authType = opts.authType ?? 'legacy'
  if (authType !== 'legacy' && authType !== 'web') {
    throw new StagePublishError('EUSAGE', `--auth-type must be "legacy" or "web", not "${authType}"`, { exitCode: 2 })
  }
  if (opts.otp !== undefined && !/^\S{4,}$/.test(opts.otp)) {
    throw new StagePublishError('EUSAGE', '--otp needs the code from your authenticator app', { exitCode: 2 })
  }
  // Without a terminal nothing can be asked: say which flags are missing before doing anything.
  if (!prompts.interactive) {
    const missing = [...(!opts.yes ? ['--yes'] : []), ...(!opts.otp && authType === 'legacy' ? ['--otp <code>'] : [])]
    if (missing.length) {
      throw new StagePublishError(opts.otp || authType === 'web' ? 'ENEEDCONFIRM' : 'ENEEDOTP', `No terminal to ask on: approving needs ${missing.join(' and ')}`, {
        hint: `Run it in a terminal, or pass ${missing.join(' ')} (for example: stage-publish approve ${rawId} --yes --otp <code>).`,
        exitCode: 2,
      })
    }
  }
  const claimTimeoutMs = parseDuration(deps.env.STAGE_PUBLISH_CLAIM_TIMEOUT || DEFAULT_CLAIM_TIMEOUT)
  // Bad pins and policies are usage or config errors, found before anything is fetched.
  const pins = parsePins(opts)
  const gate = await loadGate(deps.cwd, opts.allow ?? [])
  const waitMs = parseDuration(opts.wait ?? DEFAULT_WAIT_FOR_OTHER)
  const timing = { claimTimeoutMs, waitMs }

  const backend = await backendFor(opts, deps)
  let current = await findRecord(backend, rawId)
  current = await settleOthers(backend, current, timing, deps, out)
  const done = alreadyDone(current.record)
  if (done) return report(current.record, { alreadyApproved: true }, out)

  const { record } = current
  const staged = await loadVerified(backend, record)
  const { bytes } = staged
  const verified = await checkPins(pins, record, staged, opts, deps, out)

  const conf = await loadNpmConfig({ cwd: deps.cwd, env: deps.env, flags: { ...(opts.userconfig && { userconfig: opts.userconfig }) } })
  const flat = conf.flat
  const target: Target = {
    name: record.packageName,
    version: record.version,
    registry: normaliseRegistry(opts.registry ?? record.registry),
    tag: record.tag,
    access: record.access,
  }
  if (!conf.hasCredentials(target.registry)) {
    throw new StagePublishError('ENEEDAUTH', `You are not logged in to ${target.registry}`, {
      hint: `Approval publishes with your own npm credentials: run \`npm login --registry ${target.registry}\` first.`,
    })
  }

  // Already published with these exact bytes (a crashed approval, or someone used npm publish)?
  const early = await idempotent(backend, current, target, flat, deps, timing, out)
  if (early) return

  // What is being approved, against what is published: before the confirmation and the OTP prompt.
  const { review, policy } = await presentReview(record, staged, target.registry, flat, gate, out)

  out.tell(renderApprovalSummary(record, target.registry, deps.now(), out.style))
  if (!opts.yes && !(await prompts.confirm(`Publish ${target.name}@${target.version} to ${target.registry}?`))) {
    throw new StagePublishError('EABORTED', 'Not approved; nothing was published', { hint: 'The release is still pending.' })
  }
  let otp = opts.otp ?? (authType === 'legacy' ? await askOtp(prompts, 'One-time password from your authenticator:') : undefined)

  const [manifest, approver] = await Promise.all([manifestFromTarball(bytes, flat), whoami(target.registry, flat)])
  const by = approver ?? localActor()

  current = await claim(backend, current, by, timing, deps, out)
  if (alreadyDone(current.record)) return report(current.record, { alreadyApproved: true }, out)

  try {
    for (let tries = 1; ; ) {
      const attempt = await publishOnce({ target, manifest, bytes, flat, ...(otp && { otp }) }, deps.publishFn)
      if (attempt.ok) break
      if (attempt.reason === 'exists') {
        if (await idempotent(backend, current, target, flat, deps, timing, out)) return
        throw new StagePublishError('EPUBLISHCONFLICT', `The registry refused ${target.name}@${target.version}: ${attempt.message}`)
      }
      if (attempt.reason === 'web-auth') {
        out.tell(`Authenticate your account at:\n  ${attempt.authUrl}\nWaiting for you to finish in the browser...`)
        otp = await waitForWebAuth(attempt.doneUrl, { ...flat, registry: target.registry }, WEB_AUTH_TIMEOUT_MS)
        continue
      }
      // The registry refused the code (wrong, expired or already used).
      if (tries >= MAX_OTP_TRIES || !prompts.interactive || authType === 'web') {
        throw new StagePublishError('EOTP', `The registry did not accept the one-time password${tries > 1 ? ` (${tries} tries)` : ''}; nothing was published`, {
          hint: `The release is still pending. Run \`stage-publish approve ${record.id}\` again with a fresh code${prompts.interactive ? '' : ' (--otp <code>)'}.`,
        })
      }
      tries++
      out.tell(out.style('yellow', 'That code was not accepted. Wait for the next one from your authenticator.'))
      otp = await askOtp(prompts, 'One-time password:')
    }
  } catch (err) {
    await release(backend, current)
    throw err
  }

  const { record: approved } = await markApproved(backend, current, by, deps, timing, out)
  report(approved, { alreadyApproved: false, review, policy, ...(verified && { verified }) }, out)
}

function normaliseRegistry(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new StagePublishError('EUSAGE', `"${url}" is not a registry URL`, { hint: 'For example https://registry.npmjs.org/', exitCode: 2 })
  }
  return parsed.href.endsWith('/') ? parsed.href : `${parsed.href}/`
}

async function askOtp(prompts: Prompts, message: string): Promise<string> {
  return prompts.otp(message)
}

function alreadyDone(record: StagedRecord): boolean {
  return record.state === 'approved'
}

/** Refuses what cannot be approved, and waits for another approver who is busy with this release. */
async function settleOthers(backend: StagingBackend, current: Versioned, timing: Timing, deps: Deps, out: Output): Promise<Versioned> {
  const started = Date.now()
  let told = false
  for (;;) {
    const { record } = current
    const state = effectiveState(record, deps.now())
    if (state === 'rejected') {
      throw new StagePublishError('ESTATE', `${record.packageName}@${record.version} (${record.id}) was rejected by ${record.rejectedBy ?? 'someone'} at ${record.rejectedAt ?? '?'}`, {
        hint: 'A rejected release cannot be approved. Stage it again if it should be published.',
      })
    }
    if (state === 'expired') {
      throw new StagePublishError('EEXPIRED', `${record.packageName}@${record.version} (${record.id}) expired at ${record.expiresAt} without approval`, {
        hint: 'Stage it again (stage-publish in the package folder, or from CI) and approve the new id.',
      })
    }
    if (state !== 'approving' || claimIsStale(record, timing.claimTimeoutMs, deps.now())) return current
    if (Date.now() - started > timing.waitMs) {
      throw new StagePublishError('ECONFLICT', `${record.packageName}@${record.version} is being approved by ${record.claim?.by ?? 'someone'} since ${record.claim?.at ?? '?'}`, {
        hint: `Check again later with \`stage-publish view ${record.id}\`. A claim older than ${Math.round(timing.claimTimeoutMs / 60000)} min is taken over (an approver that crashed).`,
      })
    }
    if (!told) {
      out.notice(`${record.claim?.by ?? 'Someone'} is approving ${record.packageName}@${record.version} right now; waiting for them to finish...`)
      told = true
    }
    await new Promise((r) => setTimeout(r, 250 + Math.random() * 250))
    const again = await backend.getRecord(record.id)
    if (!again) throw new StagePublishError('ENOTFOUND', `The staged release ${record.id} disappeared from ${backend.location}`)
    current = again
  }
}

interface Timing {
  claimTimeoutMs: number
  waitMs: number
}

const claimIsStale = (record: StagedRecord, timeoutMs: number, now: Date): boolean =>
  !record.claim || now.getTime() - Date.parse(record.claim.at) > timeoutMs

/** pending → approving, by compare-and-set. Losing the race means waiting for the winner. */
async function claim(backend: StagingBackend, current: Versioned, by: string, timing: Timing, deps: Deps, out: Output): Promise<Versioned> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const next: StagedRecord = { ...current.record, state: 'approving', claim: { by, at: deps.now().toISOString() } }
    const result = await backend.updateRecord(next, current.etag)
    if (result.updated) return { record: next, etag: result.etag }
    const again = await backend.getRecord(current.record.id)
    if (!again) throw new StagePublishError('ENOTFOUND', `The staged release ${current.record.id} disappeared from ${backend.location}`)
    current = await settleOthers(backend, again, timing, deps, out)
    if (alreadyDone(current.record)) return current
  }
  throw new StagePublishError('ECONFLICT', `Could not claim ${current.record.id}: it keeps changing`, { hint: 'Run the command again.' })
}

/** approving → pending after a failed publish, so the release can be approved again. Best effort. */
async function release(backend: StagingBackend, current: Versioned): Promise<void> {
  const { claim: _claim, ...rest } = current.record
  await backend.updateRecord({ ...rest, state: 'pending' }, current.etag).catch(() => undefined)
}

/**
 * approving (ours) or pending → approved. Returns who made the change: when another approver got
 * there first, the record is theirs to report. A fresh claim of someone else is never overwritten:
 * we wait for them (settleOthers) instead.
 */
async function markApproved(backend: StagingBackend, current: Versioned, by: string, deps: Deps, timing: Timing, out: Output): Promise<{ record: StagedRecord; byUs: boolean }> {
  const ours = current.record.claim
  for (let attempt = 0; attempt < 10; attempt++) {
    const { record } = current
    if (record.state === 'approved') return { record, byUs: false }
    if (record.state === 'approving' && !sameClaim(record.claim, ours) && !claimIsStale(record, timing.claimTimeoutMs, deps.now())) {
      current = await settleOthers(backend, current, timing, deps, out)
      continue
    }
    const { claim: _claim, ...rest } = record
    const next: StagedRecord = { ...rest, state: 'approved', approvedAt: deps.now().toISOString(), approvedBy: by }
    const result = await backend.updateRecord(next, current.etag)
    if (result.updated) return { record: next, byUs: true }
    const again = await backend.getRecord(record.id)
    if (!again) break
    current = again
  }
  throw new StagePublishError('EBACKEND', `${current.record.packageName}@${current.record.version} is published, but its staged record could not be marked approved`, {
    hint: `Run \`stage-publish approve ${current.record.id}\` again: it sees the published version and marks the record approved.`,
  })
}

const sameClaim = (a: StagedRecord['claim'], b: StagedRecord['claim']): boolean => Boolean(a && b && a.by === b.by && a.at === b.at)

/**
 * The idempotency rule: the version is already on the registry. Same integrity → the record is
 * marked approved and we are done; different integrity → an error, and nothing changes.
 */
async function idempotent(backend: StagingBackend, current: Versioned, target: Target, flat: Record<string, unknown>, deps: Deps, timing: Timing, out: Output): Promise<boolean> {
  const published = await lookupPublished(target, flat)
  if (!published.exists) return false
  if (published.integrity !== current.record.integrity) {
    if (current.record.state === 'approving') await release(backend, current)
    throw new StagePublishError('EPUBLISHCONFLICT', `A different ${target.name}@${target.version} is already published on ${target.registry}`, {
      hint: `Its integrity is ${published.integrity ?? 'unknown'}, the staged one is ${current.record.integrity}. Nothing was published; reject this release (stage-publish reject ${current.record.id}).`,
    })
  }
  const by = current.record.claim?.by ?? (await whoami(target.registry, flat)) ?? localActor()
  const { record, byUs } = await markApproved(backend, current, by, deps, timing, out)
  if (!byUs) {
    report(record, { alreadyApproved: true }, out)
    return true
  }
  out.notice(`${target.name}@${target.version} is already on ${target.registry} with the same integrity; the staged release is marked approved.`)
  report(record, { alreadyApproved: false, alreadyPublished: true }, out)
  return true
}

interface ReportExtras {
  alreadyApproved: boolean
  alreadyPublished?: boolean
  review?: Review
  policy?: PolicyVerdict
  verified?: { expect: boolean; local?: string }
}

function report(record: StagedRecord, how: ReportExtras, out: Output): void {
  if (out.json) {
    out.data({
      id: record.id,
      name: record.packageName,
      version: record.version,
      registry: record.registry,
      tag: record.tag,
      integrity: record.integrity,
      state: record.state,
      approvedBy: record.approvedBy,
      approvedAt: record.approvedAt,
      alreadyApproved: how.alreadyApproved,
      alreadyPublished: Boolean(how.alreadyPublished),
      ...(how.review && { review: how.review }),
      ...(how.policy && { policy: how.policy }),
      ...(how.verified && { verified: how.verified }),
    })
    return
  }
  if (how.alreadyApproved) {
    out.line(`${record.packageName}@${record.version} was already approved by ${record.approvedBy ?? 'someone'} at ${record.approvedAt ?? '?'}; nothing to do.`)
    return
  }
  out.line(`+ ${record.packageName}@${record.version}`)
}
