/** Words for `view` (src/flows/view.ts): one release, or a release set with each member. Pure: takes a Style, returns text and --json data. */
import type { ErrorJson } from '../errors.js'
import type { RecordState, StagedRecord } from '../core/record.js'
import type { Review } from '../core/review.js'
import { renderRecord, type Unverified, type VerifiedFacts } from './render.js'
import { renderReview, reviewColors } from './render-review.js'
import { inline } from './sanitize.js'
import type { Style } from './output.js'

/** One release as `view` shows it. */
export interface ViewedRelease {
  record: StagedRecord
  state: RecordState
  review: Review | null
  /** What the verified bytes prove, or why there is nothing verified to show. */
  facts: VerifiedFacts | Unverified
  reviewError?: ErrorJson['error']
}

/** What `view` found (src/flows/view.ts returns it; defined here because ui does not import flows). */
export type ViewResult =
  | { kind: 'release'; release: ViewedRelease; now: Date }
  /** `members` in the order approval would publish them. */
  | { kind: 'set'; setId: string; missing: Array<{ name: string; version: string }>; members: ViewedRelease[]; now: Date }

/** `verifiedProvenance`: what the staged bundle proves, or why it is not verified (record.provenance is only its digest). */
const releaseJson = (s: ViewedRelease): unknown => ({
  ...s.record,
  state: s.state,
  review: s.review,
  ...(s.reviewError && { reviewError: s.reviewError }),
  ...('provenance' in s.facts && s.facts.provenance && { verifiedProvenance: s.facts.provenance }),
})

/** --json: the record with its state and review (and why there is no review), or the set with each member so. */
export function viewJson(result: ViewResult): unknown {
  if (result.kind === 'release') return releaseJson(result.release)
  return { setId: result.setId, complete: result.missing.length === 0, missing: result.missing, members: result.members.map(releaseJson) }
}

/** The warning printed while viewing, when the review against `against` failed. */
export function renderNoReview(against: string, record: StagedRecord, failure: ErrorJson['error']): string {
  const forWhom = record.setId ? ` for ${inline(record.packageName)}@${inline(record.version)}` : ''
  return `no review against ${inline(against)}${forWhom}: ${inline(failure.code)}: ${inline(failure.summary)}${failure.detail ? ` (${inline(failure.detail)})` : ''}`
}

function renderRelease(s: ViewedRelease, now: Date, style: Style): string {
  const record = renderRecord(s.record, s.state, s.facts, now, style)
  return s.review ? `${record}\n\n${renderReview(s.review, { color: reviewColors(style) }).trimEnd()}` : record
}

/** The human result (stdout). */
export function renderView(result: ViewResult, style: Style): string {
  if (result.kind === 'release') return renderRelease(result.release, result.now, style)
  const { members } = result
  return [
    style('bold', `Release set ${inline(result.setId)}: ${members.length} package${members.length === 1 ? '' : 's'}, in publish order`),
    ...result.missing.map((m) => style('red', `  missing: ${inline(m.name)}@${inline(m.version)} has no staged record; the set cannot be approved`)),
    ...members.map((s, i) => `  ${i + 1}. ${inline(s.record.packageName)}@${inline(s.record.version)}  ${s.state}  ${inline(s.record.id)}`),
    ...members.flatMap((s) => ['', renderRelease(s, result.now, style)]),
  ].join('\n')
}
