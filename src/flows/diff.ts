/** `stage-publish diff`: verified staged bytes against the review's baseline, file by file. */
import { usageError } from '../errors.js'
import { diffPackages } from '../core/package-diff.js'
import { fetchBaseline } from '../npm/baseline.js'
import { loadNpmConfig } from '../npm/config.js'
import { normaliseRegistryUrl } from '../backends/index.js'
import type { DiffResult } from '../ui/render-diff.js'
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

/** The verified diff as data; the command renders and pages it (src/ui/render-diff.ts). */
export async function diffRelease(rawId: string, paths: string[], opts: DiffRequest, deps: Deps): Promise<DiffResult> {
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
  return { id: record.id, name: record.packageName, version: record.version, baseline: base.baseline, diff }
}
