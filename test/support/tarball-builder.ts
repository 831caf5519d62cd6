/**
 * Builds package tarballs byte by byte, including the shapes an attacker would craft and npm pack never
 * makes: duplicate entries, paths outside `package/`, absolute and `..` paths, symlinks, hard links,
 * devices, FIFOs, control characters in names, and gzip bombs. Headers are encoded by tar's own Header
 * class (so they are valid ustar/pax where the test wants them to be); the rest is written by hand.
 */
import { createGzip, gzipSync } from 'node:zlib'
import { createHash } from 'node:crypto'
import { Header } from 'tar'

export type EntryType = 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO' | 'ContiguousFile' | 'GNUDumpDir'

export interface TarEntry {
  /** The full path inside the archive, e.g. `package/index.js` (nothing is added to it). */
  path: string
  data?: string | Buffer
  type?: EntryType
  mode?: number
  linkpath?: string
  /** The size written in the header; defaults to the data's length (a lie makes a truncated/garbled entry). */
  size?: number
}

const BLOCK = 512
const pad = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK

/** An uncompressed tar archive of exactly these entries, in this order. */
export function tarOf(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = []
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data)
    const type = e.type ?? 'File'
    const hasBody = type === 'File' || type === 'ContiguousFile'
    const size = e.size ?? (hasBody ? data.length : 0)
    const header = new Header({
      path: e.path,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      uid: 0,
      gid: 0,
      size,
      mtime: new Date('1985-10-26T08:15:00.000Z'),
      type,
      ...(e.linkpath !== undefined && { linkpath: e.linkpath }),
      uname: '',
      gname: '',
    })
    const block = Buffer.alloc(BLOCK)
    header.encode(block)
    parts.push(block)
    if (hasBody && data.length) {
      parts.push(data, Buffer.alloc(pad(data.length)))
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2))
  return Buffer.concat(parts)
}

/** A gzipped tarball of these entries. */
export const tgzOf = (entries: TarEntry[]): Buffer => gzipSync(tarOf(entries))

/** `package/package.json` for a manifest. */
export const manifestEntry = (manifest: Record<string, unknown>, path = 'package/package.json'): TarEntry => ({
  path,
  data: `${JSON.stringify(manifest, null, 2)}\n`,
})

/** A well-formed package tarball: package.json plus the given files (paths relative to `package/`). */
export function packageTgz(manifest: Record<string, unknown>, files: Record<string, string | Buffer> = { 'index.js': 'module.exports = 1\n' }): Buffer {
  return tgzOf([manifestEntry(manifest), ...Object.entries(files).map(([p, data]) => ({ path: `package/${p}`, data }))])
}

/**
 * A gzip bomb: a small .tgz whose one file unpacks to `unpackedBytes` of zeros (about 1 kB of gzip per
 * MB). Streamed through zlib, so the test never holds the unpacked bytes itself.
 */
export async function gzipBomb(manifest: Record<string, unknown>, unpackedBytes: number): Promise<Buffer> {
  const head = tarOf([manifestEntry(manifest)]).subarray(0, -BLOCK * 2)
  const header = Buffer.alloc(BLOCK)
  new Header({ path: 'package/zeros.bin', mode: 0o644, size: unpackedBytes, mtime: new Date(0), type: 'File' }).encode(header)
  const gz = createGzip({ level: 9 })
  const chunks: Buffer[] = []
  gz.on('data', (c: Buffer) => chunks.push(c))
  const done = new Promise<void>((resolve, reject) => {
    gz.on('end', () => resolve())
    gz.on('error', reject)
  })
  const write = (b: Buffer) => (gz.write(b) ? Promise.resolve() : new Promise<void>((r) => gz.once('drain', () => r())))
  await write(head)
  await write(header)
  const zeros = Buffer.alloc(4 * 1024 * 1024)
  for (let left = unpackedBytes; left > 0; left -= zeros.length) await write(zeros.subarray(0, Math.min(left, zeros.length)))
  gz.end(Buffer.alloc(pad(unpackedBytes) + BLOCK * 2))
  await done
  return Buffer.concat(chunks)
}

export const sha512Of = (bytes: Buffer): string => `sha512-${createHash('sha512').update(bytes).digest('base64')}`
export const sha1Of = (bytes: Buffer): string => createHash('sha1').update(bytes).digest('hex')
