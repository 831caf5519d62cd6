import { describe, expect, it } from 'vitest'
import { checkFreeText, firstUnsafeChar, hasUnsafeChar, MAX_REASON, toSafeText } from '../../src/core/text.js'
import { errorCodeOf } from '../support/cli.js'
import { StagePublishError } from '../../src/errors.js'

describe('checkFreeText (reject --reason)', () => {
  it('accepts one line of text in any script', () => {
    expect(checkFreeText('broken build — 再試行 🚫', '--reason')).toBe('broken build — 再試行 🚫')
  })
  it.each([
    ['a newline', 'a\nb', 'U+000A'],
    ['an escape sequence', 'a\u001b[2Jb', 'U+001B'],
    ['a bidi override', 'a\u202eb', 'U+202E'],
    ['a zero-width space', 'a\u200bb', 'U+200B'],
  ])('refuses %s as a usage error that names the character by code point', (_what, text, code) => {
    let err: unknown
    try {
      checkFreeText(text, '--reason')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(StagePublishError)
    expect((err as StagePublishError).code).toBe('EUSAGE')
    expect((err as StagePublishError).exitCode).toBe(2)
    expect((err as StagePublishError).message).toContain('--reason')
    expect((err as StagePublishError).message).toContain(code)
    expect(hasUnsafeChar((err as StagePublishError).message)).toBe(false)
  })
  it('refuses text over the limit', () => {
    expect(errorCodeOf(() => checkFreeText('x'.repeat(MAX_REASON + 1), '--reason'))).toBe('EUSAGE')
    expect(checkFreeText('x'.repeat(MAX_REASON), '--reason')).toHaveLength(MAX_REASON)
  })
})

describe('toSafeText', () => {
  it('replaces unsafe characters and bounds the length, never leaving half a surrogate pair', () => {
    expect(toSafeText('main\u001b[2J\u202e', 100)).toBe('main\uFFFD[2J\uFFFD')
    expect(toSafeText('abc', 2)).toBe('ab')
    const cut = toSafeText('a🚫', 2)
    expect(cut).toBe('a')
    expect(firstUnsafeChar(cut)).toBeUndefined()
  })
})
