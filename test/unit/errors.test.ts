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
    ['https://ghp_SECRETTOKEN@github.com/o/r.git', 'ghp_SECRETTOKEN'],
    ['remote https://github.com/o/r.git?access_token=SECRETTOKEN', 'SECRETTOKEN'],
    ['https://gitlab.example/o/r.git?ref=main&private_token=SECRETTOKEN#x', 'SECRETTOKEN'],
    ['https://h/x?X-Amz-Security-Token=SECRETTOKEN&a=1', 'SECRETTOKEN'],
    ['https://h/x?sig=SECRETTOKEN', 'SECRETTOKEN'],
    ['https://h/x?client_secret=SECRETTOKEN', 'SECRETTOKEN'],
  ])('removes the secret from %j', (text, secret) => {
    expect(redact(text)).not.toContain(secret)
  })
  it('leaves ordinary words alone', () => {
    expect(redact('EOTP: The registry did not accept the one-time password')).toBe('EOTP: The registry did not accept the one-time password')
  })
  it('leaves ordinary URLs alone', () => {
    for (const url of ['https://github.com/o/r/actions/runs/1?page=2&ref=main', 'ssh://git@github.com/o/r.git', 'git@github.com:o/r.git', 'http://127.0.0.1:4873/']) {
      expect(redact(url)).toBe(url)
    }
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
