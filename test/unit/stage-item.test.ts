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
    expect(recordFromStageItem({ ...item, access: 'public', actorType: 'user', tag: undefined }, 'r').tag).toBe('latest')
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
  ])('refuses an item with %s as ECORRUPT', (_what, bad) => {
    expect(errorCodeOf(() => recordFromStageItem(bad, 'r', ID))).toBe('ECORRUPT')
  })
})

describe('parseStagePage', () => {
  it('reads items and total, and refuses what is not a page', () => {
    expect(parseStagePage({ items: [1, 2], total: 7, page: 0, perPage: 2 })).toEqual({ items: [1, 2], total: 7 })
    expect(parseStagePage({ items: [1] })).toEqual({ items: [1], total: 1 })
    expect(errorCodeOf(() => parseStagePage({ error: 'nope' }))).toBe('ECORRUPT')
  })
})
