import { describe, expect, it } from 'vitest'
import { parseRecord, serializeRecord } from '../../src/core/record.js'
import { makeRecord } from '../support/backend-contract.js'
import { recordFor } from '../support/hostile.js'
import { pendingRecord } from '../support/record-factory.mjs'
import { sampleRecord } from '../support/records.js'
import { packageTgz } from '../support/tarball-builder.js'

// Every caller of the one record factory gets records the strict schema accepts, so a test about one field fails
// for that field and not for a malformed default.
describe('the record factory', () => {
  const bytes = packageTgz({ name: 'factory-pkg', version: '2.0.0' })
  it.each([
    ['pendingRecord', pendingRecord(bytes)],
    ['sampleRecord', sampleRecord()],
    ['makeRecord (contract)', makeRecord(bytes)],
    ['recordFor (hostile)', recordFor(bytes, { name: 'factory-pkg', version: '2.0.0' }, 'http://127.0.0.1:4873/')],
  ])('%s makes a record that passes the record schema', (_name, record) => {
    expect(parseRecord(serializeRecord(record), record.id)).toEqual(record)
  })

  it('expires a week after the given creation time, and the given fields win', () => {
    const r = pendingRecord(bytes, { createdAt: '2026-01-01T00:00:00.000Z', packageName: 'other' })
    expect(r.expiresAt).toBe('2026-01-08T00:00:00.000Z')
    expect(r.packageName).toBe('other')
    expect(r.size).toBe(bytes.byteLength)
  })
})
