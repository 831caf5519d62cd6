/**
 * `stage-publish diff <id> [<file>...]`: unified diffs of the staged release against the published
 * version its review compares with, binary files summarised; through a pager on a terminal.
 */
import type { Command } from 'commander'
import { defaultDeps, type Deps } from '../flows/context.js'
import type { DiffRequest } from '../flows/diff.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'
import { registryOption } from './flags.js'

/** What commander parses: the flow's request, and the options every command has. */
export interface DiffOptions extends CommonOptions, DiffRequest {}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('diff <id> [files...]')
    .description('show what changed, file by file, between the published version and a staged release (unified diff)')
    .option('-U, --unified <lines>', 'lines of context around each change (default: 3)')
    .option('--no-pager', 'do not page the output, even on a terminal')
    .addOption(registryOption('compare with this registry instead of the one recorded at staging; with --backend registry, the registry whose staged items to read'))
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the diff as JSON: one entry per changed, added or removed file')
    .action(async (id: string, files: string[], opts: DiffOptions) => runDiff(id, files, opts, deps()))
}

export async function runDiff(rawId: string, files: string[], opts: DiffOptions, deps: Deps): Promise<void> {
  // Each stream decides its own colour: a diff redirected into a file stays a plain patch.
  const out = outputFor(opts, deps)
  const { diffRelease } = await import('../flows/diff.js')
  const { diffJson, renderDiff } = await import('../ui/render-diff.js')
  const result = await diffRelease(rawId, files, requestOf(opts), deps)
  if (out.json) {
    out.data(diffJson(result))
    return
  }
  const { title, patch, none } = renderDiff(result, out.style)
  const { page, pagerCommand } = await import('../ui/pager.js')
  const ctx = { stdout: deps.stdout, env: deps.env, color: out.color.stdout }
  if (opts.pager === false || pagerCommand(ctx) === null) {
    // stdout carries the patch only: `diff > x.patch` must be a file git apply and patch accept.
    out.notice(title)
    if (none) out.notice(none)
    else out.line(patch)
  } else await page([title, '', none ?? patch].join('\n'), ctx)
}
