/** `stage-publish download <id>`: the staged tarball, checked against its recorded integrity. */
import type { Command } from 'commander'
import { defaultDeps, backendFor, findRecord, outputFor, type CommonOptions, type Deps } from './shared.js'

export interface DownloadOptions extends CommonOptions {
  dest?: string
}

export function register(program: Command, deps: () => Deps = defaultDeps): void {
  program
    .command('download <id>')
    .description('download the staged tarball as <name>-<version>-<id>.tgz, after checking its integrity')
    .option('--dest <dir>', 'folder to write it to (default: the current folder)')
    .option('--backend <url>', 'where releases are staged')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, opts: DownloadOptions) => runDownload(id, opts, deps()))
}

export async function runDownload(rawId: string, opts: DownloadOptions, deps: Deps): Promise<void> {
  const out = outputFor(opts, deps)
  const path = await import('node:path')
  const { promises: fs } = await import('node:fs')
  const { tarballFileName } = await import('../core/rules.js')
  const { loadVerified } = await import('../flows/verify.js')
  const backend = await backendFor(opts, deps)
  const found = await findRecord(backend, rawId)
  // The record completed from the verified bytes: a registry's item lists only the sha1 shasum.
  const { bytes, record } = await loadVerified(backend, found.record)
  const dir = path.resolve(deps.cwd, opts.dest ?? '.')
  await fs.mkdir(dir, { recursive: true })
  const file = path.join(dir, tarballFileName(record.packageName, record.version, record.id))
  const tmp = `${file}.${process.pid}.tmp`
  await fs.writeFile(tmp, bytes, { mode: 0o644 })
  await fs.rename(tmp, file)
  if (out.json) {
    out.data({ id: record.id, name: record.packageName, version: record.version, integrity: record.integrity, shasum: record.shasum, size: bytes.length, filename: path.basename(file), path: file })
    return
  }
  out.line(path.relative(deps.cwd, file) || file)
}
