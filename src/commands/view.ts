/** `stage-publish view <id|set-id>`: a staged release (or every release of a set) with its file list and its review against what is published. */
import type { Command } from 'commander'
import { defaultDeps, type Deps } from '../flows/context.js'
import type { ViewRequest } from '../flows/view.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'
import { registryOption } from './flags.js'

/** What commander parses: the flow's request, and the options every command has. */
export interface ViewOptions extends CommonOptions, ViewRequest {}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('view <id>')
    .description('show a staged release (or each release of a release set): origin, target, integrity, files, and a review against the published version')
    .option('--no-review', 'do not compare with the published version (no registry access)')
    .addOption(registryOption('review against this registry instead of the one recorded at staging; with --backend registry, the registry whose staged items to read'))
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the record (with its review) as JSON')
    .action(async (id: string, opts: ViewOptions) => runView(id, opts, deps()))
}

export async function runView(rawId: string, opts: ViewOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { viewRelease } = await import('../flows/view.js')
  const { renderView, viewJson } = await import('../ui/render-view.js')
  const result = await viewRelease(rawId, requestOf(opts), deps, out)
  out.data(viewJson(result))
  out.line(renderView(result, out.style))
}
