/**
 * `wait`: what one look at a staged release says, and when to look again. Pure.
 *
 * A release is only "approved" for `wait` when the registry serves its name@version with the bytes
 * that were staged: a record store's `approved` state is the approver's word (and anyone holding the
 * CI credential can write a record), a registry's staging API just forgets an item once it is approved
 * or rejected. Release tools tag after `wait`, so the tag must follow a version that is really public.
 */
import type { RecordState } from './record.js'

/**
 * One release as last seen:
 *  - waiting: pending or being approved;
 *  - publishing: approved in the backend (or gone from a registry's staging API) but not yet served by the registry;
 *  - approved: the registry serves name@version with the staged digest;
 *  - rejected, expired: decided, and not published;
 *  - missing: the record (or the set member) is not there any more;
 *  - mismatch: the registry serves name@version with other bytes than the staged ones.
 */
export type WaitState = 'waiting' | 'publishing' | 'approved' | 'rejected' | 'expired' | 'missing' | 'mismatch'

/** What the whole wait came to: every release approved, one of them decided otherwise, or still undecided. */
export type WaitOutcome = 'approved' | 'rejected' | 'expired' | 'failed' | 'pending'

/** A record store's state, before the registry is asked. */
export function stateOfRecord(state: RecordState): WaitState {
  switch (state) {
    case 'pending':
    case 'approving':
      return 'waiting'
    case 'approved':
      return 'publishing'
    case 'rejected':
      return 'rejected'
    case 'expired':
      return 'expired'
  }
}

/** What the registry serves for name@version, against what was staged. */
export type Served = 'same' | 'absent' | 'other'

/**
 * Compares the registry's dist of a version with the staged digests: the sha512 integrity when both
 * have one (a record store knows it; a registry's staging API lists only the sha1 shasum), else the shasum.
 */
export function servedAs(staged: { integrity?: string | undefined; shasum?: string | undefined }, dist: { integrity?: unknown; shasum?: unknown } | undefined): Served {
  if (!dist) return 'absent'
  if (staged.integrity && typeof dist.integrity === 'string') return dist.integrity === staged.integrity ? 'same' : 'other'
  if (staged.shasum && typeof dist.shasum === 'string') return dist.shasum.toLowerCase() === staged.shasum.toLowerCase() ? 'same' : 'other'
  // The registry serves the version without a digest we can compare: not proof of our bytes.
  return 'other'
}

/** Approved only when every release is; otherwise the first decision that is not an approval wins. */
export function outcomeOf(states: readonly WaitState[]): WaitOutcome {
  if (states.length > 0 && states.every((s) => s === 'approved')) return 'approved'
  if (states.includes('rejected')) return 'rejected'
  if (states.includes('expired')) return 'expired'
  if (states.includes('missing') || states.includes('mismatch')) return 'failed'
  return 'pending'
}

export interface PollSchedule {
  /** The first pause. */
  firstMs: number
  /** The longest pause (`--interval`). */
  maxMs: number
}

export const DEFAULT_POLL: PollSchedule = { firstMs: 2_000, maxMs: 30_000 }

/**
 * The pause before look number `attempt + 1`: growing by half each time (a release is usually approved
 * in minutes or hours, not seconds), never longer than maxMs, and never past the deadline.
 */
export function nextPause(attempt: number, schedule: PollSchedule, remainingMs: number): number {
  const grown = schedule.firstMs * 1.5 ** Math.max(0, attempt)
  return Math.max(0, Math.min(grown, schedule.maxMs, remainingMs))
}
