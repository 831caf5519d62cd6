import { describe, expect, it } from 'vitest'
import { sampleRecord } from '../support/records.js'
import { groupBySet, MAX_SET_BYTES, MAX_SET_MEMBERS, newSetObject, parseSetObject, requireListed, resolveSet, serializeSetObject, type SetObject } from '../../src/core/release-set.js'
import { manifestMismatches } from '../../src/core/manifest-confusion.js'
import { effectiveState, parseRecord, serializeRecord, withTarballDetails, type StagedRecord } from '../../src/core/record.js'


const SET = '11111111-2222-4333-8444-555555555555'
const OTHER = '99999999-2222-4333-8444-555555555555'
let n = 0
const rec = (name: string, over: Partial<StagedRecord> = {}): StagedRecord =>
  sampleRecord({ id: `aaaaaaaa-0000-4000-8000-${String(++n).padStart(12, '0')}`, packageName: name, ...over })
const members = [{ name: 'a', version: '1.0.0' }, { name: 'b', version: '1.0.0' }, { name: 'c', version: '1.0.0' }]

const A = 'aaaaaaaa-0000-4000-8000-00000000000a'
const B = 'aaaaaaaa-0000-4000-8000-00000000000b'
const C = 'aaaaaaaa-0000-4000-8000-00000000000c'
const X = 'aaaaaaaa-0000-4000-8000-0000000000ff'
const integrity = (c: string) => `sha512-${c.repeat(86)}==`
const setObject = (): SetObject =>
  newSetObject(SET, new Date('2026-11-01T00:00:00Z'), [
    { id: A, packageName: 'a', version: '1.0.0', integrity: integrity('a') },
    { id: B, packageName: '@scope/b', version: '1.0.0-rc.1', integrity: integrity('b') },
    { id: C, packageName: 'c', version: '2.3.4', integrity: integrity('c') },
  ])
const memberRecord = (id: string, name: string, version: string, c: string, over: Partial<StagedRecord> = {}) =>
  sampleRecord({ id, packageName: name, version, integrity: integrity(c), setId: SET, ...over })
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
    return undefined
  } catch (err) {
    return (err as { code?: string }).code
  }
}

describe('parseSetObject', () => {
  it('round-trips what newSetObject makes', () => {
    const set = setObject()
    expect(parseSetObject(serializeSetObject(set), SET)).toEqual(set)
    expect(set).toEqual({ schema: 1, setId: SET, createdAt: '2026-11-01T00:00:00.000Z', members: expect.any(Array) })
  })

  const tamper = (fn: (raw: Record<string, unknown> & { members: Array<Record<string, unknown>> }) => unknown): string => {
    const raw = JSON.parse(serializeSetObject(setObject()))
    fn(raw)
    return JSON.stringify(raw)
  }
  it.each<[string, string]>([
    ['not JSON', '{"schema":1,'],
    ['an array', '[]'],
    ['null', 'null'],
    ['another schema', tamper((r) => (r.schema = 2))],
    ['an unknown top-level field', tamper((r) => (r.extra = 1))],
    ['a setId that is not a UUID', tamper((r) => (r.setId = '../x'))],
    ['another set id than the one asked for', tamper((r) => (r.setId = OTHER))],
    ['a createdAt that is not a time', tamper((r) => (r.createdAt = 'yesterday'))],
    ['no members', tamper((r) => (r.members = []))],
    ['members that are not an array', tamper((r) => (r.members = {} as never))],
    ['a member that is not an object', tamper((r) => (r.members[0] = 'a' as never))],
    ['a member with an unknown field', tamper((r) => ((r.members[0] as Record<string, unknown>).setMembers = []))],
    ['a member id that is not a UUID', tamper((r) => ((r.members[0] as Record<string, unknown>).id = '../../records/x'))],
    ['an invalid package name', tamper((r) => ((r.members[0] as Record<string, unknown>).name = 'a\u001b[31m'))],
    ['a package name with a space', tamper((r) => ((r.members[0] as Record<string, unknown>).name = ' a'))],
    ['a version that is not semver', tamper((r) => ((r.members[0] as Record<string, unknown>).version = 'v1.0.0'))],
    ['an integrity that is not sha512', tamper((r) => ((r.members[0] as Record<string, unknown>).integrity = 'sha1-abc'))],
    ['a repeated id', tamper((r) => ((r.members[1] as Record<string, unknown>).id = A))],
    ['a repeated package', tamper((r) => ((r.members[1] as Record<string, unknown>).name = 'a'))],
    ['a missing field', tamper((r) => delete (r.members[2] as Record<string, unknown>).integrity)],
  ])('refuses %s as ECORRUPT', (_, text) => {
    expect(codeOf(() => parseSetObject(text, SET))).toBe('ECORRUPT')
  })

  it(`refuses more than ${MAX_SET_MEMBERS} members, and more than ${MAX_SET_BYTES} bytes unparsed`, () => {
    const many = Array.from({ length: MAX_SET_MEMBERS + 1 }, (_, i) => ({ id: `aaaaaaaa-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `p${i}`, version: '1.0.0', integrity: integrity('a') }))
    expect(codeOf(() => parseSetObject(JSON.stringify({ schema: 1, setId: SET, createdAt: '2026-11-01T00:00:00.000Z', members: many }), SET))).toBe('ECORRUPT')
    expect(codeOf(() => parseSetObject(' '.repeat(MAX_SET_BYTES + 1), SET))).toBe('ETOOLARGE')
  })
})

describe('resolveSet', () => {
  const records = (over: Partial<Record<string, StagedRecord | null>> = {}) =>
    new Map<string, StagedRecord | null>(
      Object.entries({ [A]: memberRecord(A, 'a', '1.0.0', 'a'), [B]: memberRecord(B, '@scope/b', '1.0.0-rc.1', 'b'), [C]: memberRecord(C, 'c', '2.3.4', 'c'), ...over }),
    )
  it('is exactly the listed records, by name', () => {
    const set = resolveSet(setObject(), records({ [X]: memberRecord(X, 'x', '1.0.0', 'x') }))
    expect(set.members.map((r) => r.id)).toEqual([B, A, C])
    expect(set.missing).toEqual([])
  })
  it('says which listed members have no record', () => {
    expect(resolveSet(setObject(), records({ [B]: null })).missing).toEqual([{ name: '@scope/b', version: '1.0.0-rc.1' }])
  })
  it.each<[string, StagedRecord]>([
    ['claims no set', memberRecord(B, '@scope/b', '1.0.0-rc.1', 'b', { setId: undefined })],
    ['claims another set', memberRecord(B, '@scope/b', '1.0.0-rc.1', 'b', { setId: OTHER })],
    ['has another integrity', memberRecord(B, '@scope/b', '1.0.0-rc.1', 'e')],
    ['is another package', memberRecord(B, 'evil', '1.0.0-rc.1', 'b')],
    ['is another version', memberRecord(B, '@scope/b', '9.9.9', 'b')],
  ])('refuses the whole set when a listed record %s (ESETMISMATCH)', (_, swapped) => {
    expect(codeOf(() => resolveSet(setObject(), records({ [B]: swapped })))).toBe('ESETMISMATCH')
  })
})

describe('requireListed', () => {
  it('gives the members of the set that lists the record with its integrity', () => {
    expect(requireListed(memberRecord(A, 'a', '1.0.0', 'a'), setObject()).map((m) => m.name)).toEqual(['a', '@scope/b', 'c'])
  })
  it.each<[string, StagedRecord, SetObject | null]>([
    ['claims a set that does not exist', memberRecord(A, 'a', '1.0.0', 'a'), null],
    ['claims a set that does not list it', memberRecord(X, 'x', '1.0.0', 'x'), setObject()],
    ['claims a set that lists its id with another integrity', memberRecord(A, 'a', '1.0.0', 'f'), setObject()],
  ])('refuses a record that %s (ESETMISMATCH)', (_, record, set) => {
    expect(codeOf(() => requireListed(record, set))).toBe('ESETMISMATCH')
  })
})

describe('groupBySet', () => {
  it('keeps a set together under its own row where its newest member would be', () => {
    const items = [rec('loose-new'), rec('b', { setId: SET }), rec('loose-mid'), rec('a', { setId: SET })].map((record) => ({ record }))
    const rows = groupBySet(items).map((r) => (r.kind === 'set' ? `set:${r.size}` : `${r.inSet ? '  ' : ''}${r.item.record.packageName}`))
    expect(rows).toEqual(['loose-new', 'set:2', '  a', '  b', 'loose-mid'])
  })
})

describe('records of a registry (no integrity, no files, no expiry)', () => {
  const bare: StagedRecord = { schema: 1, id: 'bbbbbbbb-0000-4000-8000-000000000001', packageName: 'p', version: '1.0.0', tag: 'latest', access: null, registry: 'http://r/', shasum: 'a'.repeat(40), createdAt: '2026-01-01T00:00:00.000Z', actor: 'x', actorType: 'user', state: 'pending' }
  it('never expire', () => {
    expect(effectiveState(bare, new Date('2099-01-01'))).toBe('pending')
  })
  it('get their tarball facts from the verified bytes; a record store keeps its own', () => {
    const facts = { integrity: 'sha512-x', size: 10, unpackedSize: 20, entryCount: 1, files: [{ path: 'package.json', size: 20, mode: 0o644 }], bundled: [] }
    expect(withTarballDetails(bare, facts)).toMatchObject({ integrity: 'sha512-x', size: 10, unpackedSize: 20, fileCount: 1, bundled: [] })
    const stored = sampleRecord()
    expect(withTarballDetails(stored, facts)).toEqual(stored)
  })
  it('are not what a record store accepts: parseRecord still wants every field', () => {
    expect(() => parseRecord(serializeRecord(bare))).toThrow(/integrity is missing/)
  })
  it('keep setId a UUID in stored records', () => {
    expect(() => parseRecord(serializeRecord(sampleRecord({ setId: '../x' })))).toThrow(/setId/)
    expect(parseRecord(serializeRecord(sampleRecord({ setId: SET, setMembers: members }))).setMembers).toEqual(members)
  })
})

describe('manifestMismatches', () => {
  it('spots dependencies the served manifest adds or changes, and ignores fields installs do not use', () => {
    expect(manifestMismatches({ dependencies: { a: '1' } }, { dependencies: { a: '1' }, description: 'x', _id: 'p@1', dist: {} })).toEqual([])
    expect(manifestMismatches({}, { dependencies: {} })).toEqual([])
    expect(manifestMismatches({ dependencies: { a: '1' } }, { dependencies: { a: '1', evil: '1' } })).toEqual(['dependencies'])
    expect(manifestMismatches({ peerDependencies: { r: '18' } }, { optionalDependencies: { o: '1' } })).toEqual(['optionalDependencies', 'peerDependencies'])
  })
})
