import { describe, expect, it } from 'vitest'
import { StagePublishError, errorToJson, exitCodeOf, redact } from '../../src/errors.js'

describe('redact', () => {
  it.each([
    ['Authorization: Bearer abc.def-123', 'abc.def-123'],
    ['//registry.example/:_authToken=s3cr3t-token', 's3cr3t-token'],
    ['https://user:hunter2@example.com/x', 'hunter2'],
    ['token npm_abcdefghijklmnopqrstuvwxyz0123', 'npm_abcdefghijklmnopqrstuvwxyz0123'],
    ['{"otp":"123456"}', '123456'],
    ['npm-otp: 654321', '654321'],
  ])('removes the secret from %j', (text, secret) => {
    expect(redact(text)).not.toContain(secret)
  })
  it('leaves ordinary words alone', () => {
    expect(redact('EOTP: The registry did not accept the one-time password')).toBe('EOTP: The registry did not accept the one-time password')
  })
})

describe('errors', () => {
  it("uses npm's --json error shape", () => {
    const err = new StagePublishError('ENOTFOUND', 'No such release', { hint: 'Check the id' })
    expect(errorToJson(err)).toEqual({ error: { code: 'ENOTFOUND', summary: 'No such release', detail: 'Check the id' } })
  })
  it('maps usage errors to exit code 2 and failures to 1', () => {
    expect(exitCodeOf(new StagePublishError('EUSAGE', 'bad flag'))).toBe(2)
    expect(exitCodeOf(new StagePublishError('EINVALIDID', 'bad id'))).toBe(2)
    expect(exitCodeOf(new StagePublishError('EOTP', 'wrong code'))).toBe(1)
    expect(exitCodeOf(new Error('boom'))).toBe(1)
  })
})
