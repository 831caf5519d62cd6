/**
 * Words for the result of approving one release (src/flows/approve.ts). The review and the summary
 * shown before the one-time password are printed while the flow runs (render.ts, render-review.ts);
 * a batch words its plan and summary with render-batch.ts. Pure: returns text and --json data.
 */
import type { StagedRecord } from '../core/record.js'
import type { Review } from '../core/review.js'
import { formatTime } from './format.js'
import { inline } from './sanitize.js'
import { countLine, quorumJson, type QuorumView } from './render-approvals.js'

/** What approving one release did (src/flows/approve-one.ts `Finished`; defined here because ui does not import flows). */
export interface ApprovedView {
  record: StagedRecord
  how: {
    alreadyApproved: boolean
    alreadyPublished?: boolean
    review?: Review
    /** How the approval policy judged the review (src/flows/review.ts PolicyVerdict): JSON only. */
    policy?: unknown
    verified?: { expect: boolean; local?: string }
    manifestMismatch?: string[]
    /** How it reached the registry (record stores): published directly, or staged and approved there. */
    hop?: 'publish' | 'stage'
    /** stagePublish.approvals: the count that let it publish (src/ui/render-approvals.ts). */
    quorum?: QuorumView
    /** Published with a provenance bundle: whether the registry shows it (dist.attestations). */
    provenance?: 'recorded' | 'not-shown' | 'unknown'
  }
  now: Date
}

export function approvedJson({ record, how }: ApprovedView): Record<string, unknown> {
  return {
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
    ...(how.policy ? { policy: how.policy } : {}),
    ...(how.verified && { verified: how.verified }),
    ...(how.manifestMismatch && { manifestMismatch: how.manifestMismatch }),
    ...(how.hop && { finalHop: { hop: how.hop, ...(how.hop === 'stage' && record.finalHop && { stageId: record.finalHop.stageId }) } }),
    ...(how.quorum && { signed: how.quorum.signed, approvals: quorumJson(how.quorum.tally) }),
    ...(how.provenance && { provenance: how.provenance }),
  }
}

/** The line of human output. Who approved before comes from a record anyone with write access could have written. */
export function renderApproved({ record, how, now }: ApprovedView): string {
  const what = `${inline(record.packageName)}@${inline(record.version)}`
  if (how.alreadyApproved) return `${what} was already approved by ${inline(record.approvedBy ?? 'someone')} ${inline(formatTime(record.approvedAt, now))}; nothing to do.`
  return how.quorum ? `+ ${what} (${countLine(how.quorum.tally)})` : `+ ${what}`
}
