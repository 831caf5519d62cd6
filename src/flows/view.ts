/**
 * `stage-publish view <id|set-id>`: one release with its review against what is published, or every
 * member of a release set with its review, in the order approval would publish them.
 */
import { errorToJson } from '../errors.js'
import { effectiveState, isWaiting, type StagedRecord } from '../core/record.js'
import { dependenciesAmong, publishOrder } from '../core/batch.js'
import type { Review } from '../core/review.js'
import type { StagingBackend, Versioned } from '../backends/types.js'
import { renderRecord, type Unverified, type VerifiedFacts } from '../ui/render.js'
import { inline } from '../ui/sanitize.js'
import { renderReview, reviewColors } from '../ui/render-review.js'
import type { Output } from '../ui/output.js'
import { backendFor, type BackendRequest, type Deps } from './context.js'
import { normaliseRegistryUrl } from '../backends/index.js'
import { reviewForView } from './review.js'
import { resolveName } from './select.js'

interface Shown {
  record: StagedRecord
  state: ReturnType<typeof effectiveState>
  review: Review | null
  manifest?: Record<string, unknown>
  /** What the verified bytes prove, or why there is nothing verified to show. */
  facts: VerifiedFacts | Unverified
  reviewError?: ReturnType<typeof errorToJson>['error']
}

/** What `view` is asked to do (built by src/commands/view.ts from the command line). */
export interface ViewRequest extends BackendRequest {
  /** false: show the record only, without asking the registry. */
  review?: boolean
}

export async function viewRelease(rawId: string, opts: ViewRequest, deps: Deps, out: Output): Promise<void> {
  const backend = await backendFor(opts, deps)
  const named = await resolveName(backend, rawId)
  if (named.kind === 'release') {
    const shown = await show(backend, named.current, opts, deps, out)
    if (out.json) {
      out.data({ ...shown.record, state: shown.state, review: shown.review, ...(shown.reviewError && { reviewError: shown.reviewError }) })
      return
    }
    print(shown, deps, out)
    return
  }
  const { set } = named
  const shown: Shown[] = []
  for (const m of named.members) shown.push(await show(backend, m, opts, deps, out))
  // The order approval would publish them in: read from the verified bytes when they could be.
  const names = new Set(shown.map((s) => s.record.packageName))
  const { order } = publishOrder(shown.map((s) => ({ id: s.record.id, name: s.record.packageName, version: s.record.version, dependsOn: dependenciesAmong(s.manifest ?? {}, names) })))
  const ordered = order.map((m) => shown.find((s) => s.record.id === m.id) as Shown)
  if (out.json) {
    out.data({
      setId: set.setId,
      complete: set.missing.length === 0,
      missing: set.missing,
      members: ordered.map((s) => ({ ...s.record, state: s.state, review: s.review, ...(s.reviewError && { reviewError: s.reviewError }) })),
    })
    return
  }
  out.line(out.style('bold', `Release set ${inline(set.setId)}: ${ordered.length} package${ordered.length === 1 ? '' : 's'}, in publish order`))
  for (const m of set.missing) out.line(out.style('red', `  missing: ${inline(m.name)}@${inline(m.version)} has no staged record; the set cannot be approved`))
  ordered.forEach((s, i) => out.line(`  ${i + 1}. ${inline(s.record.packageName)}@${inline(s.record.version)}  ${s.state}  ${inline(s.record.id)}`))
  for (const s of ordered) {
    out.line('')
    print(s, deps, out)
  }
}

async function show(backend: StagingBackend, current: Versioned, opts: ViewRequest, deps: Deps, out: Output): Promise<Shown> {
  const { record } = current
  const state = effectiveState(record, deps.now())
  // Only what can still be approved is reviewed: the others are published, rejected (no bytes) or expired.
  const reviewable = opts.review !== false && isWaiting(state)
  // npm's --registry: compare with that registry instead of the one recorded at staging.
  const against = opts.registry ? normaliseRegistryUrl(opts.registry) : record.registry
  const result = reviewable ? await reviewForView(backend, current, deps, against) : undefined
  if (result && 'error' in result) {
    const failure = errorToJson(result.error).error
    out.warn(`no review against ${inline(against)}${forWhom(record)}: ${inline(failure.code)}: ${inline(failure.summary)}${failure.detail ? ` (${inline(failure.detail)})` : ''}`)
    return { record, state, review: null, reviewError: failure, facts: result.facts ?? { unverified: `${failure.code}: ${failure.summary}` } }
  }
  if (!result) return { record, state, review: null, facts: { unverified: unverifiedWhy(state, opts) } }
  return { record: result.record, state, review: result.review, manifest: result.manifest, facts: result.facts }
}

const forWhom = (r: StagedRecord): string => (r.setId ? ` for ${inline(r.packageName)}@${inline(r.version)}` : '')

const unverifiedWhy = (state: Shown['state'], opts: ViewRequest): string =>
  opts.review === false ? 'the tarball was not checked (--no-review)' : `the tarball is only checked while the release can be approved, and it is ${state}`

function print(s: Shown, deps: Deps, out: Output): void {
  out.line(renderRecord(s.record, s.state, s.facts, deps.now(), out.style))
  if (s.review) out.line(`\n${renderReview(s.review, { color: reviewColors(out.style) }).trimEnd()}`)
}
