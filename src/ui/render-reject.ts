/** Words for `reject` (src/flows/reject.ts). Pure: takes the flow's result, returns text and --json data. */
import type { StagedRecord } from '../core/record.js'
import { formatTime } from './format.js'
import { inline } from './sanitize.js'

/** The audit entry of `reject --force`: what was removed, by whom and why (src/flows/reject-corrupt.ts writes it). */
export interface Removal {
  id: string
  removed: true
  removedBy: string
  removedAt: string
  reason: string
  /** What did not parse, as the record check said it. */
  problem: string
  record: { sha256: string; size: number }
  audit: string
}

/** What `reject` did (src/flows/reject.ts returns it; defined here because ui does not import flows). */
export type RejectResult =
  | { kind: 'removed'; removal: Removal }
  | { kind: 'rejected'; record: StagedRecord }
  /** It was rejected before: the record keeps the first rejection; `ignoredReason` is the --reason that was not recorded. */
  | { kind: 'already'; record: StagedRecord; ignoredReason: string | undefined; now: Date }

/** --json: the audit entry, or the record as it now is. */
export const rejectJson = (result: RejectResult): unknown => (result.kind === 'removed' ? result.removal : result.record)

/** A warning for stderr, or null: a --reason given for a release rejected before is not recorded. */
export const renderRejectWarning = (result: RejectResult): string | null =>
  result.kind === 'already' && result.ignoredReason
    ? `the reason "${inline(result.ignoredReason)}" was not recorded: the record keeps the first rejection's`
    : null

/** The line of human output. Who and why come from a record anyone with write access to the backend could have written. */
export function renderReject(result: RejectResult): string {
  if (result.kind === 'removed') {
    const { removal } = result
    return `- removed the corrupt record ${inline(removal.id)} (sha256 ${inline(removal.record.sha256)}, ${removal.record.size} bytes); audit entry ${inline(removal.audit)}`
  }
  const r = result.record
  const why = r.rejectReason ? `: ${inline(r.rejectReason)}` : ''
  if (result.kind === 'rejected') return `- ${inline(r.packageName)}@${inline(r.version)} rejected (id ${inline(r.id)})${why}`
  return `- ${inline(r.packageName)}@${inline(r.version)} was already rejected by ${inline(r.rejectedBy ?? 'someone')} ${inline(formatTime(r.rejectedAt, result.now))} (id ${inline(r.id)})${why}`
}
