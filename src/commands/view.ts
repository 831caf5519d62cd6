/** `stage-publish view <id>`: one staged release with its file list, and its review against what is published. */
import type { Command } from 'commander'
import { defaultDeps, backendFor, findRecord, outputFor, type CommonOptions, type Deps } from './shared.js'

export interface ViewOptions extends CommonOptions {
  /** false with --no-review: show the record only, without asking the registry. */
  review?: boolean
}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('view <id>')
    .description('show a staged release: origin, target, integrity, files, and a review against the published version')
    .option('--no-review', 'do not compare with the published version (no registry access)')
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the record (with its review) as JSON')
    .action(async (id: string, opts: ViewOptions) => runView(id, opts, deps()))
}

export async function runView(rawId: string, opts: ViewOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { effectiveState } = await import('../core/record.js')
  const backend = await backendFor(opts, deps)
  const { record } = await findRecord(backend, rawId)
  const now = deps.now()
  const state = effectiveState(record, now)
  // Only what can still be approved is reviewed: the others are published, rejected (no bytes) or expired.
  const reviewable = opts.review !== false && (state === 'pending' || state === 'approving')
  const result = reviewable ? await (await import('../flows/review.js')).reviewForView(backend, record, deps) : undefined
  const review = result && 'review' in result ? result.review : null
  const failure = result && 'error' in result ? (await import('../errors.js')).errorToJson(result.error).error : undefined
  if (failure) out.warn(`no review against ${record.registry}: ${failure.code}: ${failure.summary}${failure.detail ? ` (${failure.detail})` : ''}`)
  if (out.json) {
    out.data({ ...record, state, review, ...(failure && { reviewError: failure }) })
    return
  }
  const { renderRecord } = await import('../ui/render.js')
  out.line(renderRecord(record, state, now, out.style))
  if (review) {
    const { renderReview, reviewColors } = await import('../ui/render-review.js')
    out.line(`\n${renderReview(review, { color: reviewColors(out.style) }).trimEnd()}`)
  }
}
