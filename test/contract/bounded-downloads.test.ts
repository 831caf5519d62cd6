/**
 * Tarballs and records fetched from S3 and from a registry's staging API are read with an end:
 * refused by their declared length, and cut off at the limit when the length is not declared.
 */
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type * as S3 from '@aws-sdk/client-s3'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createS3Backend } from '../../src/backends/s3.js'
import { createRegistryBackend } from '../../src/backends/registry.js'
import { MAX_RECORD_SIZE } from '../../src/core/limits.js'
import { sampleRecord } from '../support/records.js'
import { createTestBucket } from '../support/s3-bucket.js'
import { packageTgz } from '../support/tarball-builder.js'

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (err: unknown) => err as { code?: string; message: string; hint?: string },
  )

afterEach(() => {
  delete process.env.STAGE_PUBLISH_MAX_PACKED_SIZE
})

describe("a registry's staged tarball", () => {
  let server: http.Server
  let url: string
  let sent = 0
  const id = randomUUID()

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url?.startsWith('/declared/')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(512 * 1024 * 1024) })
        res.write(Buffer.alloc(1024))
        return
      }
      // No length: an endless body, as fast as the client takes it.
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      const chunk = Buffer.alloc(64 * 1024)
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length
        if (!res.destroyed) res.once('drain', pump)
      }
      res.on('close', () => undefined)
      pump()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })

  it('is refused by its declared length before it is read', async () => {
    const backend = createRegistryBackend({ registry: `${url}declared/`, flat: {} })
    // The route is /-/stage/<id>/tarball under the registry URL; the server keys on "declared".
    const started = Date.now()
    const err = await errorOf(backend.getTarball(id))
    expect(err.code).toBe('ETOOLARGE')
    expect(err.message).toContain('512 MiB, over the limit of 256 MiB')
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('is cut off at the limit when no length is declared', async () => {
    process.env.STAGE_PUBLISH_MAX_PACKED_SIZE = '1m'
    const backend = createRegistryBackend({ registry: url, flat: {} })
    const err = await errorOf(backend.getTarball(id))
    expect(err.code).toBe('ETOOLARGE')
    expect(err.message).toBe(`The staged tarball ${id} from ${url} is more than 1 MiB`)
    expect(err.hint).toContain('STAGE_PUBLISH_MAX_PACKED_SIZE')
    expect(sent).toBeLessThan(64 * 1024 * 1024)
  })
})

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT

describe.skipIf(!endpoint)('an S3 object over the limit (skipped without STAGE_PUBLISH_TEST_S3_ENDPOINT: run npm run test:s3)', () => {
  const bucket = `stage-publish-bounded-${randomUUID().slice(0, 8)}`
  const prefix = `run-${randomUUID()}`
  let sdk: typeof S3
  let admin: S3.S3Client
  const backend = () => createS3Backend(`s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint ?? '')}&forcePathStyle=true&region=us-east-1`)

  beforeAll(async () => {
    ({ sdk, admin } = await createTestBucket(endpoint, bucket))
  })
  afterAll(async () => {
    if (!admin) return
    const out = await admin.send(new sdk.ListObjectsV2Command({ Bucket: bucket }))
    for (const o of out.Contents ?? []) await admin.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: o.Key }))
    await admin.send(new sdk.DeleteBucketCommand({ Bucket: bucket }))
    admin.destroy()
  }, 60_000)

  it('a tarball is refused by its ContentLength with ETOOLARGE; within the limit it is read', async () => {
    const record = sampleRecord({ id: randomUUID() })
    const bytes = packageTgz({ name: 'pkg', version: '1.0.0' }, { 'big.bin': Buffer.from(randomUUID().repeat(2000)) })
    expect((await backend().createRelease(record, bytes)).created).toBe(true)
    expect(await backend().getTarball(record.id)).toEqual(bytes)
    process.env.STAGE_PUBLISH_MAX_PACKED_SIZE = String(bytes.length - 1)
    const err = await errorOf(backend().getTarball(record.id))
    expect(err.code).toBe('ETOOLARGE')
    expect(err.message).toContain(`The staged tarball of ${record.id} is`)
  })

  it('a record over 16 MiB is ETOOLARGE, and list skips it as unreadable', async () => {
    const record = sampleRecord({ id: randomUUID() })
    await admin.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `${prefix}/records/${record.id}.json`, Body: `{"pad":"${'x'.repeat(MAX_RECORD_SIZE)}"}` }))
    expect((await errorOf(backend().getRecord(record.id))).code).toBe('ETOOLARGE')
    const skipped: string[] = []
    const listed = await backend().listRecords({ onCorrupt: (id) => skipped.push(id) })
    expect(listed.map((v) => v.record.id)).not.toContain(record.id)
    expect(skipped).toContain(record.id)
  })
})
