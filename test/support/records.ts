/** A valid staged record for unit tests of the pure parts, always the same; override what the test is about. */
import type { StagedRecord } from '../../src/core/record.js'
import { pendingRecord } from './record-factory.mjs'

export const sampleRecord = (over: Partial<StagedRecord> = {}): StagedRecord =>
  // The digests are of the bytes 'pkg' (well-formed, as the record schema requires); the sizes are not theirs.
  pendingRecord(Buffer.from('pkg'), {
    id: '3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
    registry: 'http://127.0.0.1:4873/',
    size: 10,
    unpackedSize: 20,
    files: [{ path: 'package.json', size: 20, mode: 0o644 }],
    createdAt: '2026-11-01T00:00:00.000Z',
    expiresAt: '2026-12-01T00:00:00.000Z',
    actor: 'me@host',
    actorType: 'user',
    ...over,
  })
