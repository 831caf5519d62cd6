/**
 * Digest pinning: proving the staged bytes are the ones the approver expects, either by a digest
 * (`approve --expect`, for example the one CI printed) or by packing the source again and comparing
 * file by file (`approve --verify-local`). Pure.
 */
import { usageError } from '../errors.js'

export type Algorithm = 'sha512' | 'sha1'

/** One digest, as bytes, whatever form it was typed in. */
export interface ExpectedDigest {
  algorithm: Algorithm
  digest: Buffer
}

const LENGTH: Record<Algorithm, number> = { sha512: 64, sha1: 20 }

/**
 * Accepts what the tools print: an SRI string (`sha512-<base64>` as npm's `integrity`, also
 * `sha1-<base64>`, several separated by spaces), a 40-hex shasum (npm's `shasum`, `sha1sum`) or a
 * 128-hex sha512 (`sha512sum`). Anything else is a usage error: a typo must not pass as a pin.
 */
export function parseExpectedDigests(raw: string): ExpectedDigest[] {
  const tokens = raw.trim().split(/\s+/).filter(Boolean)
  const bad = () =>
    usageError(
      `--expect ${JSON.stringify(raw.slice(0, 120))} is not a digest`,
      'Give the integrity (sha512-...) or the shasum (40 hex characters) of the staged tarball, as `stage-publish --json` or `npm pack --json` print them.',
    )
  if (tokens.length === 0) throw bad()
  return tokens.map((token) => {
    let parsed: ExpectedDigest | undefined
    const sri = /^(sha512|sha1)-([A-Za-z0-9+/]+={0,2})(?:\?.*)?$/.exec(token)
    if (sri) parsed = { algorithm: sri[1] as Algorithm, digest: Buffer.from(sri[2] as string, 'base64') }
    else if (/^[0-9a-f]{40}$/i.test(token)) parsed = { algorithm: 'sha1', digest: Buffer.from(token, 'hex') }
    else if (/^[0-9a-f]{128}$/i.test(token)) parsed = { algorithm: 'sha512', digest: Buffer.from(token, 'hex') }
    if (!parsed || parsed.digest.length !== LENGTH[parsed.algorithm]) throw bad()
    return parsed
  })
}

/** True when every expected digest matches the actual bytes' digest of the same algorithm. */
export function digestsMatch(expected: ExpectedDigest[], actual: Record<Algorithm, Buffer>): boolean {
  return expected.length > 0 && expected.every((e) => e.digest.equals(actual[e.algorithm]))
}

export interface PackedFileLike {
  path: string
  size: number
  mode: number
  data: Buffer
}

export type ContentDifference =
  | { path: string; kind: 'only-staged' | 'only-local'; size: number }
  | { path: string; kind: 'size'; stagedSize: number; localSize: number }
  | { path: string; kind: 'bytes'; size: number; offset: number }
  | { path: string; kind: 'mode'; stagedMode: string; localMode: string }
  | { path: string; kind: 'duplicate'; count: number }

const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
const mode = (m: number): string => `0${(m & 0o777).toString(8)}`

/**
 * Compares two packings of "the same" package file by file: path, size, bytes, and whether it is
 * executable (the rest of the mode depends on the packing machine's umask, not on the source).
 * Tarball bytes are not compared: gzip and tar headers differ between npm versions while every
 * installed byte is the same. Empty means identical.
 */
export function compareContents(staged: PackedFileLike[], local: PackedFileLike[]): ContentDifference[] {
  const out: ContentDifference[] = []
  const index = (files: PackedFileLike[]): Map<string, PackedFileLike> => {
    const map = new Map<string, PackedFileLike>()
    const counts = new Map<string, number>()
    for (const f of files) {
      map.set(f.path, f)
      counts.set(f.path, (counts.get(f.path) ?? 0) + 1)
    }
    // A path twice in a tarball can hide a second copy from a file-by-file reader: always a difference.
    for (const [path, count] of counts) if (count > 1) out.push({ path, kind: 'duplicate', count })
    return map
  }
  const s = index(staged)
  const l = index(local)
  for (const [path, f] of s) {
    const g = l.get(path)
    if (!g) out.push({ path, kind: 'only-staged', size: f.size })
    else if (f.data.length !== g.data.length) out.push({ path, kind: 'size', stagedSize: f.data.length, localSize: g.data.length })
    else if (!f.data.equals(g.data)) out.push({ path, kind: 'bytes', size: f.data.length, offset: firstDifference(f.data, g.data) })
    else if ((f.mode & 0o111) !== 0 !== ((g.mode & 0o111) !== 0)) out.push({ path, kind: 'mode', stagedMode: mode(f.mode), localMode: mode(g.mode) })
  }
  for (const [path, g] of l) if (!s.has(path)) out.push({ path, kind: 'only-local', size: g.size })
  return out.sort(byPath)
}

function firstDifference(a: Buffer, b: Buffer): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i
  return a.length
}
