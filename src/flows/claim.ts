/**
 * The approval protocol on record stores (file, S3), by compare-and-set on the record:
 *   pending → approving (claim, with who and when) → publish → approved.
 * Safe for several approvers and for a crash at any point: only the holder of the claim publishes;
 * a claim left by a crashed approver is taken over after a timeout; a fresh claim of someone else is
 * waited for, never overwritten. Registries that stage natively do not use this (they arbitrate).
 */
import { StagePublishError } from '../errors.js'
import { effectiveState, type StagedRecord } from '../core/record.js'
import type { CasStagingBackend, Versioned } from '../backends/types.js'
import type { Output } from '../ui/output.js'
import { formatTime, safe } from '../ui/format.js'
import { followUp } from './follow-up.js'

export interface Timing {
  claimTimeoutMs: number
  /** How long to wait for another approver busy with the same release (--wait). */
  waitMs: number
}

interface Clock {
  now: () => Date
}

export const alreadyDone = (record: StagedRecord): boolean => record.state === 'approved'

const claimIsStale = (record: StagedRecord, timeoutMs: number, now: Date): boolean =>
  !record.claim || now.getTime() - Date.parse(record.claim.at) > timeoutMs

const sameClaim = (a: StagedRecord['claim'], b: StagedRecord['claim']): boolean => Boolean(a && b && a.by === b.by && a.at === b.at)

/** Refuses what cannot be approved, and waits for another approver who is busy with this release. */
export async function settleOthers(backend: CasStagingBackend, current: Versioned, timing: Timing, deps: Clock, out: Output): Promise<Versioned> {
  const started = Date.now()
  let told = false
  for (;;) {
    const { record } = current
    const state = effectiveState(record, deps.now())
    if (state === 'rejected') {
      throw new StagePublishError('ESTATE', `${record.packageName}@${record.version} (${record.id}) was rejected by ${safe(record.rejectedBy ?? 'someone')} ${formatTime(record.rejectedAt, deps.now())}${record.rejectReason ? `: ${safe(record.rejectReason)}` : ''}`, {
        hint: 'A rejected release cannot be approved. Stage it again if it should be published.',
      })
    }
    if (state === 'expired') {
      throw new StagePublishError('EEXPIRED', `${record.packageName}@${record.version} (${record.id}) expired ${formatTime(record.expiresAt, deps.now())} without approval`, {
        hint: 'Stage it again (stage-publish in the package folder, or from CI) and approve the new id.',
      })
    }
    if (state !== 'approving' || claimIsStale(record, timing.claimTimeoutMs, deps.now())) return current
    if (Date.now() - started > timing.waitMs) {
      throw new StagePublishError('ECONFLICT', `${record.packageName}@${record.version} is being approved by ${record.claim?.by ?? 'someone'} since ${formatTime(record.claim?.at, deps.now())}`, {
        hint: `Check again later with \`${followUp(backend, `view ${record.id}`)}\`. A claim older than ${Math.round(timing.claimTimeoutMs / 60000)} min is taken over (an approver that crashed).`,
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

/** pending → approving, by compare-and-set. Losing the race means waiting for the winner. */
export async function claim(backend: CasStagingBackend, current: Versioned, by: string, timing: Timing, deps: Clock, out: Output): Promise<Versioned> {
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
