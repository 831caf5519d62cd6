import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { escapeCharacter, inline, isTerminalSafe, jsonText, sanitize } from '../../src/ui/sanitize.js'

/** Any character a terminal acts on, or that changes what the screen shows, except our own \n and tab. */
const RAW_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff\uf8e0-\uf8ff]/

describe('sanitize', () => {
  const classes: Array<[string, string, string]> = [
    ['NUL', '\u0000', '\\x00'],
    ['BEL', '\u0007', '\\x07'],
    ['backspace', '\b', '\\x08'],
    ['CR (rewrites the line)', '\r', '\\x0d'],
    ['ESC (CSI, OSC, DCS)', '\u001b', '\\x1b'],
    ['vertical tab', '\v', '\\x0b'],
    ['form feed', '\f', '\\x0c'],
    ['DEL', '\u007f', '\\x7f'],
    ['C1 CSI', '\u009b', '\\x9b'],
    ['C1 OSC', '\u009d', '\\x9d'],
    ['C1 NEL', '\u0085', '\\x85'],
    ['Arabic letter mark', '\u061c', '\\u{61c}'],
    ['LRM', '\u200e', '\\u{200e}'],
    ['RLM', '\u200f', '\\u{200f}'],
    ['LRE', '\u202a', '\\u{202a}'],
    ['RLO', '\u202e', '\\u{202e}'],
    ['LRI', '\u2066', '\\u{2066}'],
    ['PDI', '\u2069', '\\u{2069}'],
    ['zero-width space', '\u200b', '\\u{200b}'],
    ['ZWNJ', '\u200c', '\\u{200c}'],
    ['ZWJ', '\u200d', '\\u{200d}'],
    ['word joiner', '\u2060', '\\u{2060}'],
    ['BOM', '\ufeff', '\\u{feff}'],
    ['line separator', '\u2028', '\\u{2028}'],
    ['paragraph separator', '\u2029', '\\u{2029}'],
    ['soft hyphen', '\u00ad', '\\xad'],
    ['invisible tag character', '\u{e0041}', '\\u{e0041}'],
    ['style-marker private use', '\uf8e0', '\\u{f8e0}'],
  ]
  for (const [what, c, shown] of classes) {
    it(`shows ${what} as ${shown}`, () => {
      expect(sanitize(`a${c}b`)).toBe(`a${shown}b`)
      expect(inline(`a${c}b`)).toBe(`a${shown}b`)
    })
  }

  it('keeps line feeds and tabs in multi-line text; inline() escapes them', () => {
    expect(sanitize('a\tb\nc')).toBe('a\tb\nc')
    expect(inline('a\tb\nc')).toBe('a\\x09b\\x0ac')
  })

  it('leaves ordinary text alone, including non-Latin scripts and emoji', () => {
    for (const t of ['pkg@1.0.0', 'Ünïcødé', '日本語のパッケージ', 'עברית', 'emoji 🎉 family 👩‍👩‍👧'.replace(/\u200d/g, ''), 'a\\x1b literal']) {
      expect(sanitize(t)).toBe(t)
    }
  })

  it('makes whole attack sequences inert: SGR, OSC 0 (title), OSC 8 (link), CSI cursor moves', () => {
    const attacks = ['\u001b[31mred', '\u001b]0;pwned\u0007', '\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\', '\u001b[2K\u001b[1A', '\u009b31m']
    for (const a of attacks) {
      const s = inline(a)
      expect(s).not.toMatch(RAW_UNSAFE)
      expect(isTerminalSafe(s)).toBe(true)
    }
    expect(isTerminalSafe('\u001b[31m')).toBe(false)
  })

  it('is idempotent and never emits an unsafe character, for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const once = inline(s)
        expect(once).not.toMatch(RAW_UNSAFE)
        expect(once).not.toMatch(/\n|\t/)
        expect(inline(once)).toBe(once)
        expect(sanitize(s)).not.toMatch(RAW_UNSAFE)
      }),
    )
  })

  it('escapes any value, not only strings', () => {
    expect(inline(42)).toBe('42')
    expect(inline(undefined)).toBe('undefined')
    expect(escapeCharacter('\u001b')).toBe('\\x1b')
  })
})

describe('jsonText', () => {
  const hostile = {
    name: 'pkg\u001b]0;title\u0007',
    c1: 'a\u009bb\u0085c',
    bidi: 'x\u202ey\u2066z\u061c',
    zw: 'p\u200bq\ufeffr\u2060',
    sep: 'l\u2028m\u2029n',
    tag: 'hidden\u{e0041}',
    marker: '\uf8e0\uf8f3',
    nested: [{ 'key\u202e': 'v\u200d' }],
  }

  it('parses back to exactly the same value', () => {
    expect(JSON.parse(jsonText(hostile))).toEqual(hostile)
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(JSON.parse(jsonText(v))).toEqual(JSON.parse(JSON.stringify(v)))
      }),
    )
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(JSON.parse(jsonText({ s }))).toEqual({ s })
      }),
    )
  })

  it('has no raw C1, bidi, zero-width, separator or control character in its text', () => {
    const text = jsonText(hostile)
    expect(text).not.toMatch(RAW_UNSAFE)
    expect(text).toContain('\\u202e')
    expect(text).toContain('\\u009b')
    expect(text).toContain('\\udb40\\udc41')
  })

  it('is JSON.stringify for ordinary values', () => {
    const v = { a: 1, b: ['x', 'ü', '日本'], c: null }
    expect(jsonText(v)).toBe(JSON.stringify(v, null, 2))
  })
})
