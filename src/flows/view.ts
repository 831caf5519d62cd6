/**
 * `stage-publish view <id|set-id>`: one release with its review against what is published, or every
 * member of a release set with its review, in the order approval would publish them.
 */
import { errorToJson } from '../errors.js'
import { effectiveState, isWaiting } from '../core/record.js'
import { dependenciesAmong, publishOrder } from '../core/batch.js'
import type { StagingBackend, Versioned } from '../backends/types.js'
import { renderNoReview, type ViewedRelease, type ViewResult } from '../ui/render-view.js'
import type { Output } from '../ui/output.js'
import { backendFor, type BackendRequest, type Deps } from './context.js'
import { normaliseRegistryUrl } from '../backends/index.js'
import { reviewForView } from './review.js'
import { resolveName } from './select.js'

/** A release as shown, with the manifest of its verified bytes (for the publish order of a set). */
interface Shown extends ViewedRelease {
  manifest?: Record<string, unknown>
}

/** What `view` is asked to do (built by src/commands/view.ts from the command line). */
export interface ViewRequest extends BackendRequest {
  /** false: show the record only, without asking the registry. */
  review?: boolean
}

/**
 * The release or set, each with its review, as data; the command renders it (src/ui/render-view.ts).
 * `out` carries only the warnings about a review that failed, printed as each member is reviewed.
 */
export async function viewRelease(rawId: string, opts: ViewRequest, deps: Deps, out: Output): Promise<ViewResult> {
  const backend = await backendFor(opts, deps)
  const named = await resolveName(backend, rawId)
  if (named.kind === 'release') {
    const { manifest: _manifest, ...release } = await show(backend, named.current, opts, deps, out)
    return { kind: 'release', release, now: deps.now() }
  }
  const { set } = named
  const shown: Shown[] = []
  for (const m of named.members) shown.push(await show(backend, m, opts, deps, out))
  // The order approval would publish them in: read from the verified bytes when they could be.
  const names = new Set(shown.map((s) => s.record.packageName))
  const { order } = publishOrder(shown.map((s) => ({ id: s.record.id, name: s.record.packageName, version: s.record.version, dependsOn: dependenciesAmong(s.manifest ?? {}, names) })))
  const members = order.map((m) => shown.find((s) => s.record.id === m.id) as Shown).map(({ manifest: _manifest, ...release }) => release)
  return { kind: 'set', setId: set.setId, missing: set.missing, members, now: deps.now() }
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
    out.warn(renderNoReview(against, record, failure))
    return { record, state, review: null, reviewError: failure, facts: result.facts ?? { unverified: `${failure.code}: ${failure.summary}` } }
  }
  if (!result) return { record, state, review: null, facts: { unverified: unverifiedWhy(state, opts) } }
  return { record: result.record, state, review: result.review, manifest: result.manifest, facts: result.facts }
}

const unverifiedWhy = (state: Shown['state'], opts: ViewRequest): string =>
  opts.review === false ? 'the tarball was not checked (--no-review)' : `the tarball is only checked while the release can be approved, and it is ${state}`
