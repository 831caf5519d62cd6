import { errorCodeOf } from '../support/cli.js'
import { describe, expect, it } from 'vitest'
import { sampleRecord } from '../support/records.js'
import {
  checkId,
  checkOwnRecord,
  checkSetId,
  effectiveState,
  isWaiting,
  matchIdPrefix,
  newestFirst,
  parseIdArgument,
  parseRecord,
  rejectedRecord,
  serializeRecord,
} from '../../src/core/record.js'
import { StagePublishError } from '../../src/errors.js'

const ID = '3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b'

describe('ids', () => {
  it('accepts a full UUID and normalises case', () => {
    expect(parseIdArgument(ID.toUpperCase())).toEqual({ id: ID, exact: true })
  })
  it('accepts a prefix of 8 or more characters', () => {
    expect(parseIdArgument('3f2a9c1e')).toEqual({ id: '3f2a9c1e', exact: false })
  })
  it.each(['3f2a9c1', '../../etc/passwd', 'hello-world', '', '3f2a9c1e/../x', `${ID}0`])('refuses %j as a usage error', (raw) => {
    let err: unknown
    try {
      parseIdArgument(raw)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(StagePublishError)
    expect((err as StagePublishError).code).toBe('EINVALIDID')
    expect((err as StagePublishError).exitCode).toBe(2)
  })
  it('resolves a unique prefix, and says when it is unknown or ambiguous', () => {
    const other = '3f2a9c1e-0000-4000-8000-000000000000'
    expect(matchIdPrefix('3f2a9c1e-5', [ID, other])).toBe(ID)
    expect(errorCodeOf(() => matchIdPrefix('3f2a9c1e', [ID, other]))).toBe('EAMBIGUOUS')
    expect(errorCodeOf(() => matchIdPrefix('aaaaaaaa', [ID, other]))).toBe('ENOTFOUND')
  })
})

describe('effectiveState', () => {
  it('derives expired from expiresAt for pending releases only', () => {
    const r = sampleRecord()
    expect(effectiveState(r, new Date('2026-11-30T23:59:59Z'))).toBe('pending')
    expect(effectiveState(r, new Date('2026-12-01T00:00:00Z'))).toBe('expired')
    expect(effectiveState({ ...r, state: 'approved' }, new Date('2027-01-01T00:00:00Z'))).toBe('approved')
  })
})

describe('the helpers every backend and flow shares', () => {
  it('checkId and checkSetId let only a UUID reach a store', () => {
    expect(checkId(ID)).toBe(ID)
    expect(checkSetId(ID)).toBe(ID)
    for (const bad of ['../../etc/passwd', '3f2a9c1e', `${ID}/x`, undefined as unknown as string]) {
      expect(errorCodeOf(() => checkId(bad))).toBe('EINVALIDID')
      expect(errorCodeOf(() => checkSetId(bad))).toBe('EINVALIDID')
    }
    expect(() => checkSetId('nope')).toThrow('"nope" is not a release set id')
    expect(() => checkId('nope')).toThrow('"nope" is not a staged release id')
  })

  it('isWaiting: pending and approving wait; expired, approved and rejected do not', () => {
    expect((['pending', 'approving', 'expired', 'approved', 'rejected'] as const).filter(isWaiting)).toEqual(['pending', 'approving'])
  })

  it('rejectedRecord keeps the record and adds who, when and (only when given) why', () => {
    const r = sampleRecord()
    const at = '2026-11-27T10:00:00.000Z'
    expect(rejectedRecord(r, { by: 'alice', at, reason: 'bad build' })).toEqual({ ...r, state: 'rejected', rejectedAt: at, rejectedBy: 'alice', rejectReason: 'bad build' })
    for (const reason of [undefined, '']) expect(rejectedRecord(r, { by: 'alice', at, reason })).not.toHaveProperty('rejectReason')
    expect(r.state).toBe('pending')
  })

  it('newestFirst orders by createdAt, newest first, then by id', () => {
    const at = (id: string, createdAt: string) => ({ record: { ...sampleRecord(), id, createdAt } })
    const list = [at('b', '2026-01-01T00:00:00Z'), at('c', '2026-02-01T00:00:00Z'), at('a', '2026-01-01T00:00:00Z')]
    expect(list.sort(newestFirst).map((v) => v.record.id)).toEqual(['c', 'a', 'b'])
  })
})

describe('parseRecord', () => {
  it('round-trips a record', () => {
    const r = sampleRecord()
    expect(parseRecord(serializeRecord(r), ID)).toEqual(r)
  })
  it.each([
    ['not json', '{'],
    ['another id', serializeRecord(sampleRecord({ id: '00000000-0000-4000-8000-000000000000' }))],
    ['an unknown state', serializeRecord(sampleRecord({ state: 'published' as never }))],
    ['a missing field', JSON.stringify({ ...sampleRecord(), integrity: undefined })],
    ['an unknown schema', JSON.stringify({ ...sampleRecord(), schema: 2 })],
  ])('reports %s as corrupt', (_what, text) => {
    expect(errorCodeOf(() => parseRecord(text, ID))).toBe('ECORRUPT')
  })
})

describe('checkOwnRecord', () => {
  it('passes a record we are about to store, as a new object', () => {
    const r = sampleRecord()
    expect(checkOwnRecord(r, true)).toEqual(r)
    expect(checkOwnRecord(r, true)).not.toBe(r)
  })
  it('refuses to store what could not be read back, naming the field', () => {
    expect(() => checkOwnRecord(sampleRecord({ registry: 'http://u:SECRET@h/' }), true)).toThrow(/cannot be staged: its registry carries credentials/)
    expect(() => checkOwnRecord(sampleRecord({ expiresAt: undefined }), true)).toThrow(/expiresAt is missing/)
    expect(checkOwnRecord(sampleRecord({ expiresAt: undefined }), false).expiresAt).toBeUndefined()
  })
})
