/** `stage-publish download <id>`: the staged tarball, checked against its recorded integrity. */
import type { Command } from 'commander'
import { defaultDeps, type Deps } from '../flows/context.js'
import type { DownloadRequest } from '../flows/download.js'
import { outputFor, requestOf, type CommonOptions } from './shared.js'
import { registryOption } from './flags.js'

/** What commander parses: the flow's request, and the options every command has. */
export interface DownloadOptions extends CommonOptions, DownloadRequest {}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('download <id>')
    .description('download the staged tarball as <name>-<version>-<id>.tgz, after checking its integrity')
    .option('--dest <dir>', 'folder to write it to (default: the current folder)')
    .addOption(registryOption('with --backend registry: the registry to download from (default: from .npmrc)'))
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, opts: DownloadOptions) => runDownload(id, opts, deps()))
}

export async function runDownload(rawId: string, opts: DownloadOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const { downloadRelease } = await import('../flows/download.js')
  const { downloadJson, renderDownload } = await import('../ui/render-download.js')
  const result = await downloadRelease(rawId, requestOf(opts), deps)
  out.data(downloadJson(result))
  out.line(renderDownload(result))
}
