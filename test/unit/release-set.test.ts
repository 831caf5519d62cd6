import { describe, expect, it } from 'vitest'
import { sampleRecord } from '../support/records.js'
import { findSet, groupBySet, setIdsOf } from '../../src/core/release-set.js'
import { manifestMismatches } from '../../src/core/manifest-confusion.js'
import { effectiveState, parseRecord, serializeRecord, withTarballDetails, type StagedRecord } from '../../src/core/record.js'


const SET = '11111111-2222-4333-8444-555555555555'
const OTHER = '99999999-2222-4333-8444-555555555555'
let n = 0
const rec = (name: string, over: Partial<StagedRecord> = {}): StagedRecord =>
  sampleRecord({ id: `aaaaaaaa-0000-4000-8000-${String(++n).padStart(12, '0')}`, packageName: name, ...over })
const members = [{ name: 'a', version: '1.0.0' }, { name: 'b', version: '1.0.0' }, { name: 'c', version: '1.0.0' }]

describe('findSet', () => {
  it('finds the members of a set by setId, by name, and nothing missing when all are there', () => {
    const records = [rec('c', { setId: SET, setMembers: members }), rec('a', { setId: SET, setMembers: members }), rec('b', { setId: SET, setMembers: members }), rec('x', { setId: OTHER })]
    const set = findSet(SET, records)
    expect(set.members.map((r) => r.packageName)).toEqual(['a', 'b', 'c'])
    expect(set.missing).toEqual([])
    expect(setIdsOf(records).sort()).toEqual([SET, OTHER].sort())
  })
  it('says which members have no record, from any member record', () => {
    const set = findSet(SET, [rec('a', { setId: SET, setMembers: members })])
    expect(set.missing).toEqual([{ name: 'b', version: '1.0.0' }, { name: 'c', version: '1.0.0' }])
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
