import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { compareContents, digestsMatch, parseExpectedDigests, type PackedFileLike } from '../../src/core/pin.js'
import { describeDifferences } from '../../src/ui/render.js'
import { errorCodeOf } from '../support/cli.js'

const bytes = Buffer.from('the staged tarball')
const actual = { sha512: createHash('sha512').update(bytes).digest(), sha1: createHash('sha1').update(bytes).digest() }
const integrity = `sha512-${actual.sha512.toString('base64')}`
const shasum = actual.sha1.toString('hex')

/** The same bytes with one bit of one byte flipped. */
const oneByteOff = (b: Buffer, at = 3): Buffer => {
  const copy = Buffer.from(b)
  copy[at] = (copy[at] as number) ^ 1
  return copy
}

describe('parseExpectedDigests / digestsMatch', () => {
  it('accepts integrity, shasum (any case), sha1 SRI and sha512 hex, and matches them', () => {
    for (const raw of [integrity, shasum, shasum.toUpperCase(), `sha1-${actual.sha1.toString('base64')}`, actual.sha512.toString('hex'), `  ${integrity}  `, `${integrity} sha1-${actual.sha1.toString('base64')}`]) {
      expect(digestsMatch(parseExpectedDigests(raw), actual), raw).toBe(true)
    }
  })

  it('does not match the digest of bytes that differ by a single byte', () => {
    const other = oneByteOff(bytes)
    const otherIntegrity = `sha512-${createHash('sha512').update(other).digest('base64')}`
    const otherShasum = createHash('sha1').update(other).digest('hex')
    expect(digestsMatch(parseExpectedDigests(otherIntegrity), actual)).toBe(false)
    expect(digestsMatch(parseExpectedDigests(otherShasum), actual)).toBe(false)
    // Every digest given must match, not just one of them.
    expect(digestsMatch(parseExpectedDigests(`${integrity} ${otherShasum}`), actual)).toBe(false)
  })

  it.each(['', 'sha512-', 'sha512-abc', 'sha256-' + 'A'.repeat(44), 'md5-xyz', shasum.slice(1), `${shasum}0`, 'latest', 'sha512-' + 'A'.repeat(80)])(
    'rejects %j as a usage error',
    (raw) => {
      expect(errorCodeOf(() => parseExpectedDigests(raw))).toBe('EUSAGE')
    },
  )
})

const f = (path: string, content: string | Buffer, mode = 0o644): PackedFileLike => {
  const data = typeof content === 'string' ? Buffer.from(content) : content
  return { path, size: data.length, mode, data }
}

describe('compareContents', () => {
  const staged = [f('package.json', '{"name":"x","version":"1.0.0"}'), f('index.js', 'module.exports = 42\n'), f('bin/cli.js', '#!/usr/bin/env node\n', 0o755)]

  it('finds nothing when every file is the same, in any order and whatever the group/other bits', () => {
    const local = [staged[2] as PackedFileLike, { ...(staged[1] as PackedFileLike), mode: 0o664 }, staged[0] as PackedFileLike]
    expect(compareContents(staged, local)).toEqual([])
  })

  it('catches a single changed byte in one file, and names only that file', () => {
    const local = staged.map((x) => (x.path === 'index.js' ? f(x.path, oneByteOff(x.data, 17)) : x))
    expect(compareContents(staged, local)).toEqual([{ path: 'index.js', kind: 'bytes', size: 20, offset: 17 }])
  })

  it('reports files only on one side, size and executable-bit changes, and duplicate paths', () => {
    const local = [
      staged[0] as PackedFileLike,
      f('index.js', 'module.exports = 42;\n'),
      f('bin/cli.js', '#!/usr/bin/env node\n', 0o644),
      f('lib/extra.js', 'x'),
    ]
    const withDuplicate = [...staged, f('index.js', 'module.exports = 42\n')]
    expect(compareContents(withDuplicate, local)).toEqual([
      { path: 'bin/cli.js', kind: 'mode', stagedMode: '0755', localMode: '0644' },
      { path: 'index.js', kind: 'duplicate', count: 2 },
      { path: 'index.js', kind: 'size', stagedSize: 20, localSize: 21 },
      { path: 'lib/extra.js', kind: 'only-local', size: 1 },
    ])
    expect(compareContents(staged, staged.slice(1))).toEqual([{ path: 'package.json', kind: 'only-staged', size: 30 }])
  })

  it('is worded one line per file, with control characters in paths escaped', () => {
    const text = describeDifferences([
      { path: 'index.js', kind: 'bytes', size: 20, offset: 17 },
      { path: 'evil\u001b[2J.js', kind: 'only-staged', size: 5 },
    ])
    expect(text).toBe('  ~ index.js: same size, different bytes (first at byte 17)\n  + evil\\x1b[2J.js: only in the staged tarball (5 B)')
    const many = describeDifferences(Array.from({ length: 25 }, (_, i) => ({ path: `f${i}`, kind: 'only-local' as const, size: 1 })))
    expect(many.split('\n')).toHaveLength(21)
    expect(many).toContain('… and 5 more')
  })
})
