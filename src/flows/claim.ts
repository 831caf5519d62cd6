/**
 * The approval protocol on record stores (file, S3), by compare-and-set on the record:
 *   pending → approving (claim, with who and when) → publish → approved.
 * Safe for several approvers and for a crash at any point: only the holder of the claim publishes;
 * a claim left by a crashed approver is taken over after a timeout, or at once by the same approver
 * on the same host when the claiming process is gone; a fresh claim of someone else is waited for,
 * never overwritten. Registries that stage natively do not use this (they arbitrate).
 */
import os from 'node:os'
import { StagePublishError } from '../errors.js'
import { effectiveState, type Claim, type StagedRecord } from '../core/record.js'
import type { CasStagingBackend, Versioned } from '../backends/types.js'
import type { Output } from '../ui/output.js'
import { inline } from '../ui/sanitize.js'
import { formatTime } from '../ui/format.js'
import { followUp } from './follow-up.js'

export interface Timing {
  claimTimeoutMs: number
  /** How long to wait for another approver busy with the same release (--wait). */
  waitMs: number
}

interface Clock {
  now: () => Date
}

/** Who is asking: a claim of this identity, on this host, by a process that is gone, is ours to take over. */
export interface Self {
  host: string
  pid: number
  /** The approver's identity as claims record it (the registry's whoami, else user@host); asked only when needed. */
  identity: () => Promise<string>
}

export const thisProcess = (identity: () => Promise<string>): Self => ({ host: os.hostname(), pid: process.pid, identity })

/** Claims come from an untrusted backend: a clock far ahead of ours must not hold a release for ever. */
const CLOCK_SKEW_MS = 5 * 60_000

export const alreadyDone = (record: StagedRecord): boolean => record.state === 'approved'

function claimIsStale(record: StagedRecord, timeoutMs: number, now: Date): boolean {
  if (!record.claim) return true
  const at = Date.parse(record.claim.at)
  return Number.isNaN(at) || now.getTime() - at > timeoutMs || at - now.getTime() > CLOCK_SKEW_MS
}

/** Whether a process with this id exists here. EPERM: it does, it is someone else's. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/**
 * A claim left by this approver on this host by a process that has exited (terminal closed, killed):
 * nobody else can be publishing under it, so it is taken over at once instead of after the timeout.
 * Only a plain positive pid is ever signalled (0 and negatives address process groups), and only
 * with signal 0, which tests for existence and delivers nothing.
 */
export async function abandonedByUs(claim: Claim | undefined, self: Self | undefined): Promise<boolean> {
  if (!claim || !self || claim.host !== self.host) return false
  const { pid } = claim
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 1 || pid === self.pid || processAlive(pid)) return false
  return claim.by === (await self.identity())
}

const sameClaim = (a: StagedRecord['claim'], b: StagedRecord['claim']): boolean => Boolean(a && b && a.by === b.by && a.at === b.at)

/** Refuses what cannot be approved, and waits for another approver who is busy with this release. */
export async function settleOthers(backend: CasStagingBackend, current: Versioned, timing: Timing, deps: Clock, out: Output, self?: Self): Promise<Versioned> {
  const started = Date.now()
  let told = false
  for (;;) {
    const { record } = current
    const state = effectiveState(record, deps.now())
    if (state === 'rejected') {
      throw new StagePublishError('ESTATE', `${record.packageName}@${record.version} (${record.id}) was rejected by ${inline(record.rejectedBy ?? 'someone')} ${formatTime(record.rejectedAt, deps.now())}${record.rejectReason ? `: ${inline(record.rejectReason)}` : ''}`, {
        hint: 'A rejected release cannot be approved. Stage it again if it should be published.',
      })
    }
    if (state === 'expired') {
      throw new StagePublishError('EEXPIRED', `${record.packageName}@${record.version} (${record.id}) expired ${formatTime(record.expiresAt, deps.now())} without approval`, {
        hint: 'Stage it again (stage-publish in the package folder, or from CI) and approve the new id.',
      })
    }
    if (state !== 'approving' || claimIsStale(record, timing.claimTimeoutMs, deps.now())) return current
    if (await abandonedByUs(record.claim, self)) {
      out.notice(`Taking over ${record.packageName}@${record.version}: your earlier approval on this host (pid ${record.claim?.pid}) is no longer running.`)
      return current
    }
    if (Date.now() - started > timing.waitMs) throw busy(record, timing, backend, deps.now())
    if (!told) {
      out.notice(`${inline(record.claim?.by ?? 'Someone')} is approving ${inline(record.packageName)}@${inline(record.version)} right now; waiting for them to finish...`)
      told = true
    }
    await new Promise((r) => setTimeout(r, 250 + Math.random() * 250))
    const again = await backend.getRecord(record.id)
    if (!again) throw new StagePublishError('ENOTFOUND', `The staged release ${record.id} disappeared from ${backend.location}`)
    current = again
  }
}

/** pending → approving, by compare-and-set. Losing the race means waiting for the winner. */
export async function claim(backend: CasStagingBackend, current: Versioned, by: string, timing: Timing, deps: Clock, out: Output, self?: Self): Promise<Versioned> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const where = self ? { host: self.host, pid: self.pid } : {}
    const next: StagedRecord = { ...current.record, state: 'approving', claim: { by, at: deps.now().toISOString(), ...where } }
    const result = await backend.updateRecord(next, current.etag)
    if (result.updated) return { record: next, etag: result.etag }
    const again = await backend.getRecord(current.record.id)
    if (!again) throw new StagePublishError('ENOTFOUND', `The staged release ${current.record.id} disappeared from ${backend.location}`)
    current = await settleOthers(backend, again, timing, deps, out, self)
    if (alreadyDone(current.record)) return current
  }
  throw new StagePublishError('ECONFLICT', `Could not claim ${current.record.id}: it keeps changing`, { hint: 'Run the command again.' })
}

/** approving → pending after a failed publish, so the release can be approved again. Best effort. */
export async function release(backend: CasStagingBackend, current: Versioned): Promise<void> {
  const { claim: _claim, ...rest } = current.record
  await backend.updateRecord({ ...rest, state: 'pending' }, current.etag).catch(() => undefined)
}

/**
 * approving (ours) or pending → approved. Returns who made the change: when another approver got
 * there first, the record is theirs to report. A fresh claim of someone else is never overwritten:
 * we wait for them (settleOthers) instead.
 */
export async function markApproved(backend: CasStagingBackend, current: Versioned, by: string, deps: Clock, timing: Timing, out: Output): Promise<{ record: StagedRecord; byUs: boolean }> {
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
    hint: `Run \`${followUp(backend, `approve ${current.record.id}`)}\` again: it sees the published version and marks the record approved.`,
  })
}

/** Someone else holds the claim: who, since when, where, and the ways to go on. */
function busy(record: StagedRecord, timing: Timing, backend: CasStagingBackend, now: Date): StagePublishError {
  const c = record.claim
  const where = c?.host ? ` on ${inline(c.host)}${typeof c.pid === 'number' ? ` (pid ${c.pid})` : ''}` : ''
  const minutes = Math.max(1, Math.round(timing.claimTimeoutMs / 60_000))
  return new StagePublishError('ECONFLICT', `${record.packageName}@${record.version} (${record.id}) is being approved by ${inline(c?.by ?? 'someone')}${where} since ${formatTime(c?.at, now)}`, {
    hint:
      `Nothing was published. Wait longer for them to finish with --wait <duration> (e.g. --wait 5m), or check with \`${followUp(backend, `view ${record.id}`)}\`. ` +
      `If that approval was abandoned, it is taken over once the claim is older than ${minutes} min (set STAGE_PUBLISH_CLAIM_TIMEOUT, e.g. STAGE_PUBLISH_CLAIM_TIMEOUT=1m ${followUp(backend, `approve ${record.id}`)}); ` +
      'the same approver on the same host takes it over at once when the claiming process is gone.',
  })
}
