/** A valid staged record for unit tests of the pure parts; override what the test is about. */
import type { StagedRecord } from '../../src/core/record.js'

export const sampleRecord = (over: Partial<StagedRecord> = {}): StagedRecord => ({
  schema: 1,
  id: '3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
  packageName: 'pkg',
  version: '1.0.0',
  tag: 'latest',
  access: null,
  registry: 'http://127.0.0.1:4873/',
  // Digests of the bytes 'pkg': well-formed, as the record schema requires.
  integrity: 'sha512-1JpOMxzcLL3p/AUFKgVNJycJ+wO4aOu+gXohcRIOYSdPqCC16ANcMh5R532MJZbGsaEXksWowahORiDQ7Hb1Sw==',
  shasum: '4ff15b936b8851e2caa578b90510bbe590320689',
  size: 10,
  unpackedSize: 20,
  fileCount: 1,
  files: [{ path: 'package.json', size: 20, mode: 0o644 }],
  bundled: [],
  createdAt: '2026-11-01T00:00:00.000Z',
  expiresAt: '2026-12-01T00:00:00.000Z',
  actor: 'me@host',
  actorType: 'user',
  state: 'pending',
  ...over,
})
