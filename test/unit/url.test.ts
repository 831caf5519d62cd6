import { describe, expect, it } from 'vitest'
import { hasCredentials, isScpLike, isSecretParam, stripCredentials } from '../../src/core/url.js'

describe('stripCredentials', () => {
  it.each([
    ['https://x-access-token:SECRET@github.com/o/r.git', 'https://github.com/o/r.git'],
    ['https://ghp_SECRET@github.com/o/r.git', 'https://github.com/o/r.git'],
    ['http://user:SECRET@127.0.0.1:4873/', 'http://127.0.0.1:4873/'],
    ['git+https://x:SECRET@github.com/o/r.git', 'git+https://github.com/o/r.git'],
    ['ssh://git:SECRET@github.com:22/o/r.git', 'ssh://github.com:22/o/r.git'],
    ['x-access-token:SECRET@github.com:o/r.git', 'github.com:o/r.git'],
    ['https://github.com/o/r.git?access_token=SECRET', 'https://github.com/o/r.git'],
    ['https://gitlab.example/o/r.git?private_token=SECRET&ref=main', 'https://gitlab.example/o/r.git?ref=main'],
    ['https://h/x?a=1&X-Amz-Signature=SECRET&X-Amz-Credential=SECRET&b=2#frag', 'https://h/x?a=1&b=2#frag'],
    ['https://h/x?token=SECRET', 'https://h/x'],
    ['https://h/x?auth=SECRET', 'https://h/x'],
    ['https://h/x?key=SECRET', 'https://h/x'],
    ['https://h/x?secret=SECRET', 'https://h/x'],
    ['https://h/x?password=SECRET', 'https://h/x'],
    ['https://h/x?passwd=SECRET', 'https://h/x'],
    ['https://h/x?sig=SECRET', 'https://h/x'],
    ['https://h/x?signature=SECRET', 'https://h/x'],
    ['https://h/x?api-key=SECRET', 'https://h/x'],
    ['https://h/x?client_secret=SECRET', 'https://h/x'],
    ['https://h/x?X-Goog-Signature=SECRET', 'https://h/x'],
    ['https://h/x?Policy=SECRET&Key-Pair-Id=SECRET', 'https://h/x'],
    ['https://user:SECRET@h/x?ACCESS_TOKEN=SECRET', 'https://h/x'],
  ])('removes the secret from %s', (url, clean) => {
    expect(stripCredentials(url)).toBe(clean)
    expect(stripCredentials(url)).not.toContain('SECRET')
    expect(hasCredentials(url)).toBe(true)
    expect(hasCredentials(clean)).toBe(false)
  })
  it.each([
    'git@github.com:o/r.git',
    'github.com:o/r.git',
    'ssh://git@github.com/o/r.git',
    'https://github.com/o/r.git',
    'https://registry.npmjs.org/',
    'http://127.0.0.1:4873',
    'https://h/x?monkey=1&keyword=2&page=3',
    '/srv/git/r.git',
    '../r',
    'file:///srv/git/r.git',
  ])('keeps %s exactly as it is', (url) => {
    expect(stripCredentials(url)).toBe(url)
    expect(hasCredentials(url)).toBe(false)
  })
})

describe('isScpLike and isSecretParam', () => {
  it('tells scp-like remotes from URLs', () => {
    expect(isScpLike('git@github.com:o/r.git')).toBe(true)
    expect(isScpLike('github.com:o/r.git')).toBe(true)
    expect(isScpLike('https://github.com/o/r.git')).toBe(false)
    expect(isScpLike('/srv/r.git')).toBe(false)
  })
  it('knows secret parameter names, and not ordinary ones', () => {
    for (const name of ['access_token', 'Token', 'private_token', 'auth', 'key', 'secret', 'password', 'passwd', 'sig', 'signature', 'X-Amz-Security-Token', 'x-amz-date', 'apikey', 'session_id', 'jwt']) {
      expect(isSecretParam(name), name).toBe(true)
    }
    for (const name of ['page', 'ref', 'monkey', 'keyword', 'tag', 'version']) expect(isSecretParam(name), name).toBe(false)
  })
})
