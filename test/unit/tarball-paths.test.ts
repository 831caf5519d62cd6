import { describe, expect, it } from 'vitest'
import { entryPath, foldName, quoteEntryName } from '../../src/core/tarball-paths.js'

describe('tarball entry names', () => {
  it('strips the top-level folder, strictly package/ for a staged tarball', () => {
    expect(entryPath('package/lib/a.js', 'staged', false)).toEqual({ ok: true, path: 'lib/a.js' })
    expect(entryPath('package/lib/', 'staged', true)).toEqual({ ok: true, path: 'lib' })
    expect(entryPath('package/', 'staged', true)).toEqual({ ok: true, path: '' })
    expect(entryPath('node-a/lib/a.js', 'staged', false).ok).toBe(false)
    expect(entryPath('node-a/lib/a.js', 'published', false)).toEqual({ ok: true, path: 'lib/a.js' })
    expect(entryPath('package/lib/', 'staged', false).ok).toBe(false)
  })

  it('folds case and Unicode normalisation the way macOS and Windows file systems do', () => {
    expect(foldName('README.md')).toBe(foldName('readme.MD'))
    expect(foldName('caf\u00e9')).toBe(foldName('cafe\u0301'))
    expect(foldName('Stra\u00dfe')).toBe(foldName('STRASSE'))
    expect(foldName('a.js')).not.toBe(foldName('b.js'))
  })

  it('quotes a name for a message: escaped, never raw, and cut short', () => {
    expect(quoteEntryName('package/a.js')).toBe('"package/a.js"')
    expect(quoteEntryName('a"b\\c')).toBe('"a\\"b\\\\c"')
    expect(quoteEntryName('x\u001b[31my\u202ez\u200b')).toBe('"x\\u{1b}[31my\\u{202e}z\\u{200b}"')
    expect(quoteEntryName('\ud800lone')).toBe('"\\u{d800}lone"')
    expect(quoteEntryName('\u{e0041}tag')).toBe('"\\u{e0041}tag"')
    const long = quoteEntryName('a'.repeat(500))
    expect(long).toHaveLength(2 + 200 + 1)
    expect(long.endsWith('…"')).toBe(true)
  })
})
