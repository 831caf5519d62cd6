/**
 * `stage-publish view <id|set-id>`: one release with its review against what is published, or every
 * member of a release set with its review, in the order approval would publish them.
 */
import { errorToJson } from '../errors.js'
import { effectiveState, type StagedRecord } from '../core/record.js'
import { dependenciesAmong, publishOrder } from '../core/batch.js'
import type { Review } from '../core/review.js'
import type { StagingBackend, Versioned } from '../backends/types.js'
import { renderRecord } from '../ui/render.js'
import { renderReview, reviewColors } from '../ui/render-review.js'
import type { Output } from '../ui/output.js'
import { backendFor, type Deps } from '../commands/shared.js'
import { normaliseRegistryUrl } from '../backends/index.js'
import type { ViewOptions } from '../commands/view.js'
import { reviewForView } from './review.js'
import { resolveName } from './select.js'

interface Shown {
  record: StagedRecord
  state: ReturnType<typeof effectiveState>
  review: Review | null
  manifest?: Record<string, unknown>
  reviewError?: ReturnType<typeof errorToJson>['error']
}

export async function viewRelease(rawId: string, opts: ViewOptions, deps: Deps, out: Output): Promise<void> {
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
  out.line(out.style('bold', `Release set ${set.setId}: ${ordered.length} package${ordered.length === 1 ? '' : 's'}, in publish order`))
  for (const m of set.missing) out.line(out.style('red', `  missing: ${m.name}@${m.version} has no staged record; the set cannot be approved`))
  ordered.forEach((s, i) => out.line(`  ${i + 1}. ${s.record.packageName}@${s.record.version}  ${s.state}  ${s.record.id}`))
  for (const s of ordered) {
    out.line('')
    print(s, deps, out)
  }
}

async function show(backend: StagingBackend, current: Versioned, opts: ViewOptions, deps: Deps, out: Output): Promise<Shown> {
  const { record } = current
  const state = effectiveState(record, deps.now())
  // Only what can still be approved is reviewed: the others are published, rejected (no bytes) or expired.
  const reviewable = opts.review !== false && (state === 'pending' || state === 'approving')
  // npm's --registry: compare with that registry instead of the one recorded at staging.
  const against = opts.registry ? normaliseRegistryUrl(opts.registry) : record.registry
  const result = reviewable ? await reviewForView(backend, current, deps, against) : undefined
  if (result && 'error' in result) {
    const failure = errorToJson(result.error).error
    out.warn(`no review against ${against}${forWhom(record)}: ${failure.code}: ${failure.summary}${failure.detail ? ` (${failure.detail})` : ''}`)
    return { record, state, review: null, reviewError: failure }
  }
  if (!result) return { record, state, review: null }
  return { record: result.record, state, review: result.review, manifest: result.manifest }
}

const forWhom = (r: StagedRecord): string => (r.setId ? ` for ${r.packageName}@${r.version}` : '')

function print(s: Shown, deps: Deps, out: Output): void {
  out.line(renderRecord(s.record, s.state, deps.now(), out.style))
  if (s.review) out.line(`\n${renderReview(s.review, { color: reviewColors(out.style) }).trimEnd()}`)
}
