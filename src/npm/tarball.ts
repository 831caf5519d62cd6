/**
 * The one reading of a package tarball. Its result feeds the integrity check, the review, the
 * policy, the summary and the publish manifest, so there is no second parser whose different
 * answer an attacker could choose (npm's "manifest confusion" class).
 *
 * Streaming and bounded: the gzip is inflated chunk by chunk, each tar header is checked before its
 * data is read, and reading stops with ETOOLARGE as soon as a limit is passed (src/core/limits.ts),
 * so a gzip bomb fails in milliseconds with no more memory than the limits allow. A staged tarball
 * must look like `npm pack` output or it is refused with EUNSAFETARBALL (src/core/tarball-paths.ts);
 * anything that does not parse completely is ECORRUPT, never a partial result.
 *
 * Duplicates: the same name twice (exactly, or after NFC normalisation and case folding), or one
 * name that is both a file and a folder, is refused: tools that read the first and tools that read
 * the last would see different packages.
 */
import { createHash } from 'node:crypto'
import { createGunzip } from 'node:zlib'
import { Parser, type ReadEntry } from 'tar'
import semver from 'semver'
import { StagePublishError } from '../errors.js'
import { formatBinaryBytes, tarballLimits, type TarballLimits } from '../core/limits.js'
import { TarHeaderScanner } from './tar-headers.js'
import { entryPath, escapeText, foldName, parentsOf, quoteEntryName, type TarballKind } from '../core/tarball-paths.js'
import type { TarballContents, TarballFile } from '../core/tarball-contents.js'

// Kept importable from here: the reader is where most callers meet these types.
export type { TarballContents, TarballFile }

export interface TarballSummary {
  integrity: string
  shasum: string
  size: number
  unpackedSize: number
  entryCount: number
  files: Array<{ path: string; size: number; mode: number }>
  bundled: string[]
}

export interface ReadTarballOptions {
  /**
   * `staged` (default): must look like `npm pack` output, anything else is refused.
   * `published`: a registry's tarball of an already published version, which may be older than
   * today's npm: any top-level folder name, data after the gzip stream is ignored, and links,
   * devices, unsafe names and other non-files are skipped (npm skips them on install).
   * Limits and exact duplicates apply to both.
   */
  kind?: TarballKind
  /** Default: from the environment (STAGE_PUBLISH_MAX_*), else DEFAULT_TARBALL_LIMITS. */
  limits?: TarballLimits
}

export const sha512Integrity = (bytes: Uint8Array): string =>
  `sha512-${createHash('sha512').update(bytes).digest('base64')}`

export const sha1Hex = (bytes: Uint8Array): string => createHash('sha1').update(bytes).digest('hex')

const BLOCK = 512
/** Longest pax/GNU long-name header accepted: a long path needs a few hundred bytes. */
const MAX_META_SIZE = 16 * 1024
/** Tar bytes allowed per entry beyond its data: its header, a pax header, a long-name header. */
const ENTRY_OVERHEAD = 3 * BLOCK + 2 * MAX_META_SIZE
/** End-of-archive blocks, record padding (10 KiB for GNU tar) and a global header. */
const ARCHIVE_OVERHEAD = 1024 * 1024
const FILE_TYPES = new Set(['File', 'OldFile'])
const NO_ENTRY_TYPES = new Set(['Directory', 'GNUDumpDir'])

/** Every regular file in the tarball, with its bytes, and its package.json. See the top of this file. */
export async function readTarball(bytes: Uint8Array, what = 'The tarball', options: ReadTarballOptions = {}): Promise<TarballContents> {
  const kind = options.kind ?? 'staged'
  const limits = options.limits ?? tarballLimits(process.env)
  const corrupt = (why: string) =>
    new StagePublishError('ECORRUPT', `${what} is corrupt or truncated: ${why}`, {
      hint: 'Nothing was changed. Stage the release again from its source.',
    })
  const unsafe = (name: string, why: string) =>
    new StagePublishError('EUNSAFETARBALL', `${what} has an entry npm pack never writes: ${quoteEntryName(name)} is refused because ${why}`, {
      hint: 'Nothing was published. A tarball made by `npm pack` never looks like this: reject the release and stage it again from its source.',
    })
  const tooLarge = (why: string, env?: string) =>
    new StagePublishError('ETOOLARGE', `${what} is too large: ${why}`, {
      hint: env ? `Nothing was published. If the package really is this large, raise the limit with ${env} (see docs/configuration.md).` : 'Nothing was published. npm pack never writes such a tarball.',
    })

  if (bytes.byteLength > limits.maxPackedSize) {
    throw tooLarge(`it is ${formatBinaryBytes(bytes.byteLength)}, over the limit of ${formatBinaryBytes(limits.maxPackedSize)}`, 'STAGE_PUBLISH_MAX_PACKED_SIZE')
  }
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) throw corrupt('it is not gzip-compressed')

  const files: TarballFile[] = []
  const fileKeys = new Map<string, string>()
  const folderKeys = new Map<string, string>()
  let entries = 0
  let unpacked = 0
  let allowed = ARCHIVE_OVERHEAD
  let inflated = 0
  let firstChunk = true

  const headers = kind === 'staged' ? new TarHeaderScanner() : undefined
  const gunzip = createGunzip({ chunkSize: 64 * 1024 })
  const parser = new Parser({ strict: true, maxMetaEntrySize: MAX_META_SIZE, brotli: false, zstd: false })

  await new Promise<void>((resolve, reject) => {
    let failed = false
    const fail = (err: StagePublishError) => {
      if (failed) return
      failed = true
      gunzip.destroy()
      parser.abort(err)
      reject(err)
    }

    /** Counts an entry against the limits; false when reading must stop. */
    const admit = (entry: ReadEntry): boolean => {
      entries++
      const size = entry.size ?? 0
      unpacked += size
      allowed += Math.ceil(size / BLOCK) * BLOCK + ENTRY_OVERHEAD
      if (entries > limits.maxFiles) {
        fail(tooLarge(`it has more than ${limits.maxFiles} entries`, 'STAGE_PUBLISH_MAX_FILES'))
      } else if (unpacked > limits.maxUnpackedSize) {
        fail(tooLarge(`its files unpack to more than ${formatBinaryBytes(limits.maxUnpackedSize)} (at ${quoteEntryName(entry.path)}, ${formatBinaryBytes(size)})`, 'STAGE_PUBLISH_MAX_UNPACKED_SIZE'))
      }
      return !failed
    }

    /** Refuses a name that is already a file or a folder, exactly or after folding. */
    const claimName = (path: string, isFile: boolean, raw: string): boolean => {
      const key = kind === 'staged' ? foldName(path) : path
      const asFile = fileKeys.get(key)
      const asFolder = isFile ? folderKeys.get(key) : undefined
      const other = asFile ?? asFolder
      if (other !== undefined) {
        const why =
          isFile !== (asFile !== undefined) ? `${quoteEntryName(other)} is both a file and a folder`
          : other === path ? 'it appears twice'
          : `it is the same file as ${quoteEntryName(other)} on macOS and Windows (names differ only in case or Unicode normalisation)`
        fail(unsafe(raw, why))
        return false
      }
      for (const parent of parentsOf(path)) {
        const pk = kind === 'staged' ? foldName(parent) : parent
        if (fileKeys.has(pk)) {
          fail(unsafe(raw, `${quoteEntryName(fileKeys.get(pk) as string)} is a file, not a folder`))
          return false
        }
        folderKeys.set(pk, parent)
      }
      if (isFile) fileKeys.set(key, path)
      else folderKeys.set(key, path)
      return true
    }

    parser.on('entry', (entry: ReadEntry) => {
      if (failed || !admit(entry)) { entry.resume(); return; }
      // npm installs a contiguous file as a file; npm pack never writes one.
      const isFile = FILE_TYPES.has(entry.type) || (kind === 'published' && entry.type === 'ContiguousFile')
      const isFolder = NO_ENTRY_TYPES.has(entry.type)
      if (!isFile && !isFolder) {
        if (kind === 'staged') fail(unsafe(entry.path, `it is a ${describeType(entry.type)}, not a regular file`))
        entry.resume(); return;
      }
      const checked = entryPath(entry.path, kind, isFolder)
      if (!checked.ok) {
        if (kind === 'staged') fail(unsafe(entry.path, checked.why))
        entry.resume(); return;
      }
      // Folder entries (npm pack writes none) are allowed and ignored, but still take their name.
      if (isFolder) {
        if (checked.path !== '') claimName(checked.path, false, entry.path)
        entry.resume(); return;
      }
      if (!claimName(checked.path, true, entry.path)) { entry.resume(); return; }
      // One buffer of the declared size (already within the limits), filled in place: no second copy.
      const size = entry.size ?? 0
      const data = Buffer.allocUnsafe(size)
      let filled = 0
      entry.on('data', (c: Buffer) => {
        filled += c.copy(data, filled)
      })
      entry.on('end', () => {
        files.push({ path: checked.path, size, mode: entry.mode ?? 0o644, data: data.subarray(0, filled) })
      })
    })
    // Unknown entry types, and pax/long-name headers over MAX_META_SIZE, which tar skips silently.
    parser.on('ignoredEntry', (entry: ReadEntry) => {
      if (failed || !admit(entry)) return
      if (entry.meta) fail(tooLarge(`an extended header is over ${formatBinaryBytes(MAX_META_SIZE)}`))
      else if (kind === 'staged') fail(unsafe(entry.path, `its type (${describeType(entry.type)}) is not a regular file`))
    })
    parser.on('error', (err: Error) => fail(corrupt(escapeText(err.message))))
    parser.on('warn', (_code: string, message: string | Error) => fail(corrupt(escapeText(String(message instanceof Error ? message.message : message)))))
    parser.on('end', () => {
      if (!failed) resolve()
    })

    gunzip.on('data', (chunk: Buffer) => {
      if (failed) return
      if (firstChunk && chunk[0] === 0x1f && chunk[1] === 0x8b) { fail(corrupt('it is gzip-compressed twice')); return; }
      firstChunk = false
      inflated += chunk.length
      // What node-tar reports is not all other tar readers see: the raw headers are checked too.
      const oddity = headers?.write(chunk)
      if (oddity) {
        fail(
          new StagePublishError('EUNSAFETARBALL', `${what} is not what npm pack writes: ${oddity}`, {
            hint: 'Nothing was published. A tarball made by `npm pack` never looks like this: reject the release and stage it again from its source.',
          }),
        ); return;
      }
      parser.write(chunk)
      // Beyond what the headers seen so far account for: zeros or junk between or after entries.
      if (inflated > allowed && !failed) {
        fail(tooLarge(`it unpacks to more than its entries account for (${formatBinaryBytes(inflated)} of tar data for ${formatBinaryBytes(unpacked)} of files)`))
      }
    })
    gunzip.on('error', (err: Error) => fail(corrupt(escapeText(err.message))))
    gunzip.on('end', () => {
      if (failed) return
      if (kind === 'staged' && gunzip.bytesWritten < bytes.byteLength) { fail(corrupt(`it has ${bytes.byteLength - gunzip.bytesWritten} bytes after the end of its gzip stream`)); return; }
      parser.end()
    })
    gunzip.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  })

  for (const f of files) {
    if (f.data.length !== f.size) throw corrupt(`${quoteEntryName(f.path)} is ${f.data.length} bytes instead of ${f.size}`)
  }
  const pkg = files.find((f) => f.path === 'package.json')
  if (!pkg) throw corrupt('it has no package.json')
  const manifest = parseManifest(pkg.data, corrupt)
  if (kind === 'staged') checkIdentity(manifest, corrupt)
  return { manifest: withImplicitScripts(manifest, files), files }
}

/**
 * What npm publishes is package.json as @npmcli/package-json prepares it, and its version cleaned
 * (libnpmpublish): a version that cleaning would change (`v1.0.0`, ` 1.0.0`) would be shown as one
 * version and published as another, so a staged package.json must carry a clean one, and a name.
 */
function checkIdentity(manifest: TarballContents['manifest'], corrupt: (why: string) => StagePublishError): void {
  if (typeof manifest.name !== 'string' || !manifest.name) throw corrupt('its package.json has no name')
  if (typeof manifest.version !== 'string' || semver.valid(manifest.version) !== manifest.version) {
    throw corrupt(`its package.json version ${quoteEntryName(String(manifest.version))} is not a clean semver version (npm would publish it as another)`)
  }
}

/**
 * The scripts npm adds when it prepares a package for publishing (@npmcli/package-json `gypfile` and
 * `serverjs` steps): `install: node-gyp rebuild` for a *.gyp at the root with no install or preinstall
 * script, `start: node server.js` for a server.js at the root with no start script. Added here, in the
 * one reading, so the review, the policy and the summary see the scripts that will run on install.
 */
function withImplicitScripts(manifest: TarballContents['manifest'], files: TarballFile[]): TarballContents['manifest'] {
  const scripts = manifest.scripts && typeof manifest.scripts === 'object' && !Array.isArray(manifest.scripts) ? (manifest.scripts as Record<string, unknown>) : {}
  const added: Record<string, string> = {}
  // npm looks with a glob and fs.access: a folder at the root counts as much as a file.
  const atRoot = (test: (p: string) => boolean) => files.some((f) => test(f.path.split('/')[0] as string))
  if (!scripts.install && !scripts.preinstall && manifest.gypfile !== false && atRoot((p) => p.endsWith('.gyp'))) added.install = 'node-gyp rebuild'
  if (!scripts.start && atRoot((p) => p === 'server.js')) added.start = 'node server.js'
  if (!Object.keys(added).length) return manifest
  return { ...manifest, scripts: { ...scripts, ...added }, ...(added.install && { gypfile: true }) }
}

/** package.json as npm reads it (json-parse-even-better-errors): UTF-8, a leading BOM ignored; it must be an object. */
function parseManifest(data: Buffer, corrupt: (why: string) => StagePublishError): TarballContents['manifest'] {
  let manifest: unknown
  try {
    manifest = JSON.parse(data.toString('utf8').replace(/^\uFEFF/, ''))
  } catch {
    throw corrupt('its package.json is not valid JSON')
  }
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) throw corrupt('its package.json is not a JSON object')
  return manifest as TarballContents['manifest']
}

function describeType(type: string): string {
  const names: Record<string, string> = {
    SymbolicLink: 'symbolic link',
    Link: 'hard link',
    CharacterDevice: 'character device',
    BlockDevice: 'block device',
    FIFO: 'FIFO',
    ContiguousFile: 'contiguous file',
  }
  return names[type] ?? `entry of type ${quoteEntryName(type)}`
}

/** The figures npm prints for a tarball, computed the way npm computes them. */
export function summarize(bytes: Uint8Array, contents: TarballContents): TarballSummary {
  const bundled = new Set<string>()
  let unpackedSize = 0
  for (const f of contents.files) {
    unpackedSize += f.size
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.path)
    if (m?.[1]) bundled.add(m[1])
  }
  const files = contents.files
    .map(({ path, size, mode }) => ({ path, size, mode }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return {
    integrity: sha512Integrity(bytes),
    shasum: sha1Hex(bytes),
    size: bytes.byteLength,
    unpackedSize,
    entryCount: contents.files.length,
    files,
    bundled: [...bundled].sort(),
  }
}
