/**
 * Reads a package tarball in memory: its files and its package.json, and the summary npm prints
 * (npm lib/utils/tar.js getContents). Bytes from a backend or a registry are untrusted: a corrupt
 * or truncated tarball is an ECORRUPT error, never a partial result.
 */
import { createHash } from 'node:crypto'
import { Parser, type ReadEntry } from 'tar'
import { StagePublishError } from '../errors.js'

export interface TarballFile {
  /** Path inside the package, without the leading `package/`. */
  path: string
  size: number
  mode: number
  data: Buffer
}

export interface TarballContents {
  manifest: Record<string, unknown> & { name?: unknown; version?: unknown }
  files: TarballFile[]
}

export interface TarballSummary {
  integrity: string
  shasum: string
  size: number
  unpackedSize: number
  entryCount: number
  files: Array<{ path: string; size: number; mode: number }>
  bundled: string[]
}

export const sha512Integrity = (bytes: Uint8Array): string =>
  `sha512-${createHash('sha512').update(bytes).digest('base64')}`

export const sha1Hex = (bytes: Uint8Array): string => createHash('sha1').update(bytes).digest('hex')

/** Every regular file in the tarball, with its bytes. Rejects anything that does not parse completely. */
export async function readTarball(bytes: Uint8Array, what = 'The tarball'): Promise<TarballContents> {
  const files: TarballFile[] = []
  const fail = (why: string): StagePublishError =>
    new StagePublishError('ECORRUPT', `${what} is corrupt or truncated: ${why}`, {
      hint: 'Nothing was changed. Stage the release again from its source.',
    })

  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        if (entry.type !== 'File' && entry.type !== 'OldFile') {
          entry.resume()
          return
        }
        const chunks: Buffer[] = []
        entry.on('data', (c: Buffer) => chunks.push(c))
        entry.on('end', () => {
          files.push({
            path: entry.path.replace(/^[^/]+\//, ''),
            size: entry.size ?? 0,
            mode: entry.mode ?? 0o644,
            data: Buffer.concat(chunks),
          })
        })
      },
    })
    parser.on('error', (err: Error) => reject(fail(err.message)))
    parser.on('warn', (_code: string, message: string) => reject(fail(String(message))))
    parser.on('end', () => resolve())
    parser.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  })

  for (const f of files) {
    if (f.data.length !== f.size) throw fail(`${f.path} is ${f.data.length} bytes instead of ${f.size}`)
  }
  const pkg = files.find((f) => f.path === 'package.json')
  if (!pkg) throw fail('it has no package.json')
  let manifest: TarballContents['manifest']
  try {
    manifest = JSON.parse(pkg.data.toString('utf8'))
  } catch {
    throw fail('its package.json is not valid JSON')
  }
  if (!manifest || typeof manifest !== 'object') throw fail('its package.json is not an object')
  return { manifest, files }
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
