import { describe, expect, it } from 'vitest'
import { parseStagePage, recordFromStageItem } from '../../src/core/stage-item.js'
import { errorCodeOf } from '../support/cli.js'

const ID = '3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b'
const item = {
  id: ID,
  packageName: '@acme/lib',
  version: '2.0.0',
  tag: 'next',
  createdAt: '2026-11-01T10:00:00.000Z',
  actor: 'alice',
  actorType: 'trusted automation',
  access: 'private',
  shasum: 'A'.repeat(40),
}

describe('recordFromStageItem', () => {
  it('maps npm\'s fields, marks it pending, and knows no integrity, files or expiry', () => {
    const r = recordFromStageItem(item, 'http://127.0.0.1:4873/')
    expect(r).toEqual({
      schema: 1,
      id: ID,
      packageName: '@acme/lib',
      version: '2.0.0',
      tag: 'next',
      access: 'restricted',
      registry: 'http://127.0.0.1:4873/',
      shasum: 'a'.repeat(40),
      createdAt: '2026-11-01T10:00:00.000Z',
      actor: 'alice',
      actorType: 'trusted automation',
      state: 'pending',
    })
    expect(recordFromStageItem({ ...item, access: 'public', actorType: 'user', tag: undefined }, 'http://127.0.0.1:4873/').tag).toBe('latest')
  })
  it.each([
    ['not an object', 'nope'],
    ['an id that is not a UUID', { ...item, id: '../../x' }],
    ['another id than asked for', { ...item, id: '00000000-0000-4000-8000-000000000000' }],
    ['no package name', { ...item, packageName: '' }],
    ['a package name with control characters', { ...item, packageName: 'evil\u001b[2Jname' }],
    ['a package name that is a path', { ...item, packageName: '../../etc' }],
    ['a version that is not semver', { ...item, version: '1.0.0; rm -rf' }],
    ['a tag that is not URL-safe', { ...item, tag: 'a/b' }],
    ['a shasum that is not sha1', { ...item, shasum: 'abc' }],
    ['a createdAt that is not a date', { ...item, createdAt: 'yesterday' }],
    ['a createdAt without a zone', { ...item, createdAt: '2026-11-01 10:00' }],
    ['an actor with an escape sequence', { ...item, actor: 'alice\u001b]8;;https://evil.example/\u0007' }],
    ['an actor with a bidi override', { ...item, actor: 'alice\u202e' }],
    ['an actor with a newline', { ...item, actor: 'alice\napproved by: bob' }],
    ['a huge actor', { ...item, actor: 'a'.repeat(10_000) }],
    ['a tag with a zero-width space', { ...item, tag: 'next\u200b' }],
    ['a tag that is a semver range', { ...item, tag: '^1.0.0' }],
    ['a tag that is not a string', { ...item, tag: 7 }],
    ['a version with a v', { ...item, version: 'v2.0.0' }],
    ['an unknown access', { ...item, access: 'everyone' }],
    ['an unknown actorType', { ...item, actorType: 'admin' }],
    ['an id that is a number', { ...item, id: 7 }],
  ])('refuses an item with %s as ECORRUPT', (_what, bad) => {
    expect(errorCodeOf(() => recordFromStageItem(bad, 'http://127.0.0.1:4873/', ID))).toBe('ECORRUPT')
  })
  it('names the field but never echoes its value', () => {
    expect(() => recordFromStageItem({ ...item, actor: 'PWNED\u001b[2J' }, 'http://127.0.0.1:4873/', ID)).toThrow(/actor contains the control or invisible character U\+001B/)
    try {
      recordFromStageItem({ ...item, actor: 'PWNED\u001b[2J' }, 'http://127.0.0.1:4873/', ID)
    } catch (err) {
      expect((err as Error).message).not.toContain('PWNED')
    }
  })
  it('keeps only npm\'s fields, and records the registry without credentials', () => {
    const r = recordFromStageItem({ ...item, integrity: 'sha512-x', state: 'approved', files: [{ path: '../x' }], evil: 1 }, 'http://user:SECRETTOKEN@127.0.0.1:4873/', ID)
    expect(r.registry).toBe('http://127.0.0.1:4873/')
    expect(r.state).toBe('pending')
    expect(Object.keys(r).sort()).toEqual(['access', 'actor', 'actorType', 'createdAt', 'id', 'packageName', 'registry', 'schema', 'shasum', 'state', 'tag', 'version'])
  })
})

describe('parseStagePage', () => {
  it('reads items and total, and refuses what is not a page', () => {
    expect(parseStagePage({ items: [1, 2], total: 7, page: 0, perPage: 2 })).toEqual({ items: [1, 2], total: 7 })
    expect(parseStagePage({ items: [1] })).toEqual({ items: [1], total: 1 })
    expect(errorCodeOf(() => parseStagePage({ error: 'nope' }))).toBe('ECORRUPT')
  })
})
