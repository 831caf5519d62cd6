/** `stage-publish diff`: verified staged bytes against the review's baseline, file by file. */
import { usageError } from '../errors.js'
import { diffPackages } from '../core/package-diff.js'
import { fetchBaseline } from '../registry/baseline.js'
import { loadNpmConfig } from '../registry/config.js'
import { normaliseRegistryUrl } from '../backends/index.js'
import { renderDiffTitle, renderPackageDiff } from '../ui/render-diff.js'
import { page, pagerCommand } from '../ui/pager.js'
import type { Output } from '../ui/output.js'
import { backendFor, findRecord, type BackendRequest, type Deps } from './context.js'
import { loadVerified } from './verify.js'
import { followUp } from './follow-up.js'

/** What `diff` is asked to do (built by src/commands/diff.ts from the command line). */
export interface DiffRequest extends BackendRequest {
  /** Lines of context around each change (-U), as typed. */
  unified?: string
  /** false: do not page the output, even on a terminal. */
  pager?: boolean
}

export async function diffRelease(rawId: string, paths: string[], opts: DiffRequest, deps: Deps, out: Output): Promise<void> {
  const context = opts.unified === undefined ? undefined : Number(opts.unified)
  if (context !== undefined && !(Number.isInteger(context) && context >= 0)) {
    throw usageError(`--unified needs a number of lines, not "${opts.unified}"`)
  }
  const backend = await backendFor(opts, deps)
  const { record } = await findRecord(backend, rawId)
  const staged = await loadVerified(backend, record)
  const conf = await loadNpmConfig({ cwd: deps.cwd, env: deps.env })
  const registry = opts.registry ? normaliseRegistryUrl(opts.registry) : record.registry
  const base = await fetchBaseline({ name: record.packageName, version: record.version, tag: record.tag, registry }, conf.flat)
  const diff = diffPackages(base.contents, staged.contents, { paths, ...(context !== undefined && { context }) })
  if (diff.unmatched.length) {
    throw usageError(
      `${diff.unmatched.join(', ')}: no such file in ${record.packageName}@${record.version}${base.baseline.version ? ` or ${base.baseline.version}` : ''}`,
      `Paths are relative to the package root, as \`${followUp(backend, `view ${record.id.slice(0, 8)}`)}\` lists them.`,
    )
  }
  const about = { name: record.packageName, version: record.version, baseline: base.baseline }
  if (out.json) {
    out.data({ id: record.id, ...about, files: diff.files })
    return
  }
  const title = renderDiffTitle(about, out.style)
  const patch = renderPackageDiff(diff, out.style)
  const none = diff.files.length === 0 ? 'No file differs.' : ''
  const ctx = { stdout: deps.stdout, env: deps.env, color: out.color.stdout }
  if (opts.pager === false || pagerCommand(ctx) === null) {
    // stdout carries the patch only: `diff > x.patch` must be a file git apply and patch accept.
    out.notice(title)
    if (none) out.notice(none)
    else out.line(patch)
  } else await page([title, '', none || patch].join('\n'), ctx)
}
