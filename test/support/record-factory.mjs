// The one factory of staged records for tests and benches. Plain JavaScript so that bench/*.mjs can import it
// without a build; its types are in record-factory.d.mts. Every record it makes passes the strict record schema
// (src/core/record-schema.ts; test/unit/record-factory.test.ts checks that).
import { createHash, randomUUID } from 'node:crypto'

const DAY = 86_400_000

/** The digests a record holds of its tarball: `integrity` (sha512 SRI), `shasum` (sha1 hex) and `size`. */
export const digestsOf = (bytes) => ({
  integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
  shasum: createHash('sha1').update(bytes).digest('hex'),
  size: bytes.byteLength,
})

/**
 * A valid pending record for `bytes`, staged by CI, that expires a week after it was created (`fields.createdAt`,
 * default now). The digests match the bytes; the file list is one package.json as large as they are.
 * `fields` win over every default, so a caller names only what its test or bench is about.
 */
export function pendingRecord(bytes, fields = {}) {
  const createdAt = fields.createdAt ?? new Date().toISOString()
  // Only when the caller gives no expiry: a test of a hostile createdAt gives both and must not make us throw.
  const expiresAt = fields.expiresAt ?? new Date(Date.parse(createdAt) + 7 * DAY).toISOString()
  return {
    schema: 1,
    id: randomUUID(),
    packageName: 'pkg',
    version: '1.0.0',
    tag: 'latest',
    access: null,
    registry: 'https://registry.npmjs.org/',
    ...digestsOf(bytes),
    unpackedSize: bytes.byteLength,
    fileCount: 1,
    files: [{ path: 'package.json', size: bytes.byteLength, mode: 0o644 }],
    bundled: [],
    createdAt,
    expiresAt,
    actor: 'ci-bot',
    actorType: 'ci',
    state: 'pending',
    ...fields,
  }
}
