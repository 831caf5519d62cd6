/** `stage-publish view <id>`: one staged release with its file list. */
import type { Command } from 'commander'
import { defaultDeps, backendFor, findRecord, outputFor, type CommonOptions, type Deps } from './shared.js'

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('view <id>')
    .description('show a staged release: origin, target, integrity and files')
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the record as JSON')
    .action(async (id: string, opts: CommonOptions) => runView(id, opts, deps()))
}

export async function runView(rawId: string, opts: CommonOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { effectiveState } = await import('../core/record.js')
  const backend = await backendFor(opts, deps)
  const { record } = await findRecord(backend, rawId)
  const now = deps.now()
  const state = effectiveState(record, now)
  if (out.json) {
    out.data({ ...record, state })
    return
  }
  const { renderRecord } = await import('../ui/render.js')
  out.line(renderRecord(record, state, now, out.style))
}
