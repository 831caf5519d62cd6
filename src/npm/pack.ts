/**
 * Packs a package exactly as `npm publish` does (npm lib/commands/publish.js):
 * the manifest from @npmcli/package-json (fix + prepare) for a folder, or from the tarball itself;
 * `prepublishOnly`, then libnpmpack (prepack, pacote's `prepare`, the file list from
 * `files`/.npmignore, bundled dependencies, postpack). Scripts run only for folders, and never
 * with --ignore-scripts. `publish`/`postpublish` do not run: nothing is published at staging time.
 */
import { createRequire } from 'node:module'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { StagePublishError } from '../errors.js'
import { LIMIT_ENV, tarballLimits } from '../core/limits.js'
import { readRegularFile } from '../backends/bounded-read.js'
import { publishManifest, type Manifest } from './publish-manifest.js'

// Declared with the manifest npm publishes (./publish-manifest.ts), which pack uses; kept importable from here.
export type { Manifest }
import { readTarball, summarize, type TarballContents, type TarballSummary } from './tarball.js'
import { withScriptBanners } from './script-banners.js'

const require = createRequire(import.meta.url)

export interface PackSource {
  type: 'directory' | 'file'
  /** Absolute path of the folder or the tarball. */
  path: string
  raw: string
}

export interface Packed {
  bytes: Buffer
  contents: TarballContents
  summary: TarballSummary
}

/** Parses the publish argument: a folder (default '.') or a .tgz file. Registry specs are not stageable. */
export async function resolveSource(arg: string | undefined, cwd: string): Promise<PackSource> {
  const npa = require('npm-package-arg') as (spec: string, where?: string) => { type: string; fetchSpec: string }
  const raw = arg ?? '.'
  let spec: { type: string; fetchSpec: string }
  try {
    spec = npa(raw, cwd)
  } catch (err) {
    throw new StagePublishError('EUSAGE', `"${raw}" is not a folder or a tarball: ${(err as Error).message}`)
  }
  if (spec.type !== 'directory' && spec.type !== 'file') {
    throw new StagePublishError('EUSAGE', `"${raw}" is not a folder or a tarball`, {
      hint: 'stage-publish stages a local folder (default: the current one) or a .tgz made by `npm pack`.',
    })
  }
  const stat = await fs.stat(spec.fetchSpec).catch(() => null)
  if (!stat) throw new StagePublishError('EUSAGE', `${spec.fetchSpec} does not exist`)
  return { type: spec.type, path: spec.fetchSpec, raw }
}

/** The manifest npm would publish, before any script runs (npm reads it again afterwards). */
export async function readManifest(source: PackSource, _flat: Record<string, unknown>): Promise<Manifest> {
  try {
    if (source.type === 'directory') {
      const pkgJson = require('@npmcli/package-json') as {
        fix(dir: string, opts?: unknown): Promise<{ prepare(): Promise<{ content: Manifest }> }>
      }
      const pkg = await pkgJson.fix(source.path, { changes: [] })
      const { content } = await pkg.prepare()
      return content
    }
    // A tarball: the manifest npm publish would send, from the one strict reading of its bytes.
    return await publishManifest(await readTarballFile(source))
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
      throw new StagePublishError('EBADMANIFEST', `No package.json in ${source.path}`, {
        hint: 'Run stage-publish in a package folder, or give the folder or tarball to stage.',
      })
    }
    if (e.code === 'EJSONPARSE') {
      throw new StagePublishError('EBADMANIFEST', `The package.json in ${source.path} is not valid JSON`, { cause: err })
    }
    if (err instanceof StagePublishError) throw err
    throw new StagePublishError('EBADMANIFEST', `The package in ${source.path} could not be read: ${e.message}`, { cause: err })
  }
}

export interface PackOptions {
  flat: Record<string, unknown>
  localPrefix: string
  ignoreScripts: boolean
  /** Script output goes to the terminal (false in --json mode, where stdout must stay JSON). */
  foregroundScripts: boolean
  /** Where npm's `> name@version event` banners go (stdout, as npm prints them); only for foreground scripts. */
  banner?: (text: string) => void
}

export async function runPrepublishOnly(source: PackSource, manifest: Manifest, options: PackOptions): Promise<void> {
  if (source.type !== 'directory' || options.ignoreScripts || !manifest.scripts?.prepublishOnly) return
  const runScript = require('@npmcli/run-script') as (opts: Record<string, unknown>) => Promise<unknown>
  await withScriptBanners(options.foregroundScripts ? options.banner : undefined, () => runScript({
    event: 'prepublishOnly',
    path: source.path,
    pkg: manifest,
    stdio: options.foregroundScripts ? 'inherit' : 'pipe',
    scriptShell: options.flat.scriptShell || undefined,
    // Without it run-script require.resolve()s a node-gyp of its own, which the bundled build does not ship.
    nodeGyp: options.flat.nodeGyp,
  })).catch((err: unknown) => {
    throw scriptFailed('prepublishOnly', err)
  })
}

/**
 * What `npm publish` does from the first script to the tarball: prepublishOnly, then pack (prepack,
 * prepare, postpack). Staging and `approve --verify-local` both pack through here, so they agree.
 */
export async function packLikePublish(source: PackSource, manifest: Manifest, options: PackOptions): Promise<Packed> {
  await runPrepublishOnly(source, manifest, options)
  return pack(source, options)
}

export async function pack(source: PackSource, options: PackOptions): Promise<Packed> {
  // A tarball is staged as it is (npm publish <tarball> runs no script and packs nothing).
  if (source.type === 'file') return readTarballFile(source)
  const libnpmpack = require('libnpmpack') as (spec: string, opts: Record<string, unknown>) => Promise<Buffer>
  let bytes: Buffer
  try {
    bytes = await withScriptBanners(options.foregroundScripts ? options.banner : undefined, () => libnpmpack(source.path, {
      ...options.flat,
      ignoreScripts: options.ignoreScripts,
      foregroundScripts: options.foregroundScripts,
      dryRun: true,
      prefix: options.localPrefix,
    }))
  } catch (err) {
    const e = err as { event?: string }
    if (e.event) throw scriptFailed(e.event, err)
    throw new StagePublishError('EPACK', `Packing ${source.path} failed: ${(err as Error).message}`, { cause: err })
  }
  const contents = await readTarball(bytes, `The tarball packed from ${path.basename(source.path)}`)
  return { bytes, contents, summary: summarize(bytes, contents) }
}

/** A .tgz given to stage: a regular file (not a FIFO or device), within the packed-size limit, read strictly. */
async function readTarballFile(source: PackSource): Promise<Packed> {
  const { maxPackedSize } = tarballLimits(process.env)
  const what = `The tarball ${path.basename(source.path)}`
  const bytes = await readRegularFile(source.path, { maxBytes: maxPackedSize, what, limitEnv: LIMIT_ENV.maxPackedSize, followSymlinks: true })
  const contents = await readTarball(bytes, what)
  return { bytes, contents, summary: summarize(bytes, contents) }
}

function scriptFailed(event: string, err: unknown): StagePublishError {
  const e = err as { code?: number; stderr?: string; stdout?: string }
  const tail = String(e.stderr || e.stdout || '').trim().split('\n').slice(-5).join('\n')
  return new StagePublishError('EPACK', `The ${event} script failed${e.code != null ? ` (exit code ${e.code})` : ''}${tail ? `:\n${tail}` : ''}`, {
    hint: `Fix the script, or stage without running scripts: --ignore-scripts. Nothing was staged.`,
    cause: err,
  })
}
