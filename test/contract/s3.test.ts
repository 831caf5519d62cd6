/**
 * The backend contract for S3, against a real S3-compatible server that enforces conditional writes
 * (Ceph radosgw, started by `npm run test:s3`), plus what only S3 has: URLs, credentials, unreachable
 * endpoints, missing buckets and a record write that fails half-way. Each run uses a fresh bucket and
 * each test a fresh prefix in it.
 */
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import type * as S3 from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createS3Backend, parseS3Url, type S3BackendDeps } from '../../src/backends/s3.js'
import { describeBackendContract, fakeTarball, inBatches, makeRecord, makeSet, stage } from '../support/backend-contract.js'
import { createTestBucket } from '../support/s3-bucket.js'
import { markerPath, parseMarkerPath } from '../../src/backends/pending-markers.js'

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT
const SKIPPED = 'S3 backend tests were SKIPPED: STAGE_PUBLISH_TEST_S3_ENDPOINT is not set. Run `npm run test:s3` to start a throwaway Ceph radosgw and run them.'
if (!endpoint) console.warn(`\n⚠  ${SKIPPED}\n`)

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (err: unknown) => (err as { code?: string }).code)
const errorOf = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a rejection') }, (err: unknown) => err as { code?: string; message: string; hint?: string })
const dummyCredentials = { accessKeyId: 'AKIAEXAMPLEEXAMPLE00', secretAccessKey: 'test-secret-that-must-never-be-shown' }

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as net.AddressInfo
  await new Promise((r) => server.close(r))
  return port
}

describe('S3 backend URLs and unreachable endpoints (no server needed)', () => {
  it('parses bucket, prefix and options', () => {
    expect(parseS3Url('s3://releases/acme/ci?region=eu-west-1')).toEqual({ bucket: 'releases', prefix: 'acme/ci/', region: 'eu-west-1', endpoint: undefined, forcePathStyle: false })
    expect(parseS3Url('s3://releases?endpoint=http://127.0.0.1:7480&forcePathStyle=true')).toMatchObject({ prefix: '', endpoint: 'http://127.0.0.1:7480', forcePathStyle: true })
  })

  it.each([
    ['s3://AKIAEXAMPLE:hunter2secret@releases/acme', 'credentials'],
    ['s3://releases/acme?secretAccessKey=hunter2secret', 'secretAccessKey'],
    ['s3://releases/acme?endpoint=http://AKIAEXAMPLE:hunter2secret@127.0.0.1:7480', 'credentials'],
  ])('rejects credentials in %s without repeating them', (url, says) => {
    let err: { code?: string; message: string; hint?: string } | undefined
    try {
      createS3Backend(url)
    } catch (e) {
      err = e as typeof err
    }
    expect(err?.code).toBe('EUSAGE')
    expect(err?.message).toContain(says)
    expect(`${err?.message} ${err?.hint}`).not.toContain('hunter2secret')
    expect(err?.hint).toMatch(/default chain/)
  })

  it.each(['s3://', 's3://Bad_Bucket/x', 's3://releases/a//b', 's3://releases/x?colour=blue', 'https://releases/x', 's3://releases/x?forcePathStyle=yes'])(
    'rejects %s as a usage error',
    (url) => {
      expect(() => createS3Backend(url)).toThrow(expect.objectContaining({ code: 'EUSAGE' }))
    },
  )

  it('never puts credentials or query options in its location', () => {
    const b = createS3Backend('s3://releases/acme?endpoint=http://127.0.0.1:7480&forcePathStyle=true&region=us-east-1')
    expect(b.kind).toBe('s3')
    expect(b.location).toBe('s3://releases/acme/ at http://127.0.0.1:7480')
  })

  it('fails fast with EBACKENDUNREACHABLE when nothing listens at the endpoint', async () => {
    const port = await closedPort()
    const b = createS3Backend(`s3://releases/acme?endpoint=http://127.0.0.1:${port}&forcePathStyle=true`, { credentials: dummyCredentials })
    const started = Date.now()
    const err = await errorOf(b.getRecord(randomUUID()))
    expect(err.code).toBe('EBACKENDUNREACHABLE')
    expect(err.message).toContain(`127.0.0.1:${port}`)
    expect(err.hint).toMatch(/endpoint/)
    expect(Date.now() - started).toBeLessThan(5000)
    const bytes = fakeTarball()
    expect(await codeOf(b.createRelease(makeRecord(bytes), bytes))).toBe('EBACKENDUNREACHABLE')
    expect(await codeOf(b.listRecords())).toBe('EBACKENDUNREACHABLE')
  })

  it('does not mistake a server that is not S3 (a bare 404) for "no such record"', async () => {
    const server = http.createServer((_req, res) => res.writeHead(404).end())
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as net.AddressInfo
    try {
      const b = createS3Backend(`s3://releases/acme?endpoint=http://127.0.0.1:${port}&forcePathStyle=true`, { credentials: dummyCredentials })
      const err = await errorOf(b.getRecord(randomUUID()))
      expect(err.code).toBe('EBACKEND')
      expect(err.hint).toContain(`http://127.0.0.1:${port} is an S3 API endpoint`)
      expect(await codeOf(b.listIds())).toBe('EBACKEND')
    } finally {
      await new Promise((r) => server.close(r))
    }
  })

  it('gives up on a server that accepts connections and never answers', async () => {
    const sockets: net.Socket[] = []
    const server = net.createServer((s) => sockets.push(s))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as net.AddressInfo
    try {
      const b = createS3Backend(`s3://releases/acme?endpoint=http://127.0.0.1:${port}&forcePathStyle=true`, { credentials: dummyCredentials, socketTimeoutMs: 300 })
      const started = Date.now()
      expect(await codeOf(b.listIds())).toBe('EBACKENDUNREACHABLE')
      expect(Date.now() - started).toBeLessThan(4000)
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    }
  })
})

describe.skipIf(!endpoint)(`S3 backend against ${endpoint ?? 'a real S3 server (skipped: run npm run test:s3)'}`, () => {
  const bucket = `stage-publish-test-${randomUUID().slice(0, 8)}`
  let sdk: typeof S3
  let admin: S3.S3Client
  const urlFor = (prefix: string, bucketName = bucket) =>
    `s3://${bucketName}/${prefix}?endpoint=${encodeURIComponent(endpoint ?? '')}&forcePathStyle=true&region=us-east-1`
  const open = (prefix: string, deps: S3BackendDeps = {}) => createS3Backend(urlFor(prefix), deps)
  const keysUnder = async (prefix: string): Promise<string[]> => {
    const keys: string[] = []
    let token: string | undefined
    do {
      const out = await admin.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
      keys.push(...(out.Contents ?? []).map((o) => o.Key ?? ''))
      token = out.IsTruncated ? out.NextContinuationToken : undefined
    } while (token)
    return keys
  }

  beforeAll(async () => {
    ({ sdk, admin } = await createTestBucket(endpoint, bucket))
  })

  afterAll(async () => {
    if (!admin) return
    const keys = await keysUnder('')
    await inBatches(keys, 32, (Key) => admin.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key })))
    await admin.send(new sdk.DeleteBucketCommand({ Bucket: bucket }))
    admin.destroy()
  }, 120_000)

  describeBackendContract('s3 (Ceph radosgw)', async () => {
    const prefix = `run-${randomUUID()}`
    const pending = `${prefix}/pending/`
    const markerKey = (name: string, id: string) => `${pending}${markerPath(name, id)}`
    return {
      // A small page size, so the paging test crosses several ListObjectsV2 continuations.
      backend: open(prefix, { pageSize: 50 }),
      cleanup: async () => {},
      markers: {
        plant: async (name, id) => {
          await admin.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: markerKey(name, id), Body: '' }))
        },
        remove: async (name, id) => {
          await admin.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: markerKey(name, id) }))
        },
        list: async () => (await keysUnder(pending)).map((k) => parseMarkerPath(k.slice(pending.length))).map((m) => `${m?.name} ${m?.id}`).sort(),
        makeLegacy: async () => {
          for (const Key of [...(await keysUnder(pending)), `${prefix}/layout.json`]) await admin.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key }))
        },
        reopen: ({ aheadMs = 0, maxMarkers }) => open(prefix, { pageSize: 50, now: () => Date.now() + aheadMs, ...(maxMarkers !== undefined && { maxMarkers }) }),
      },
      corruptRecord: async (id, text) => {
        await admin.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `${prefix}/records/${id}.json`, Body: text }))
      },
      corruptSet: async (setId, text) => {
        await admin.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `${prefix}/sets/${setId}.json`, Body: text }))
      },
    }
  }, { markers: true })

  it('keeps the documented layout: tarballs/<id>.tgz, records/<id>.json, pending/<name>/<id> while waiting, layout.json once listed', async () => {
    const prefix = `layout-${randomUUID()}`
    const b = open(prefix)
    // Adapters never print: the SDK warns on the console about an empty PutObject body (a marker once had one).
    const warn = vi.spyOn(console, 'warn')
    const { record, etag } = await stage(b, { packageName: '@acme/lib' })
    expect(warn).not.toHaveBeenCalled()
    warn.mockRestore()
    expect((await keysUnder(`${prefix}/`)).sort()).toEqual([`${prefix}/pending/%40acme%2Flib/${record.id}`, `${prefix}/records/${record.id}.json`, `${prefix}/tarballs/${record.id}.tgz`])
    await b.listRecords({ waiting: true })
    expect(await keysUnder(`${prefix}/layout.json`)).toEqual([`${prefix}/layout.json`])
    expect((await b.updateRecord({ ...record, state: 'rejected' }, etag)).updated).toBe(true)
    expect(await keysUnder(`${prefix}/pending/`)).toEqual([])
  })

  it('lists waiting releases with GETs of their records only, not of the history; --all pages through every record', { timeout: 120_000 }, async () => {
    const prefix = `history-${randomUUID()}`
    const gets: string[] = []
    const counting = (deps: S3BackendDeps = {}) =>
      open(prefix, {
        ...deps,
        onClient: (client) =>
          client.middlewareStack.add(
            (next, context) => async (args) => {
              if (context.commandName === 'GetObjectCommand') gets.push((args.input as { Key?: string }).Key ?? '')
              return next(args)
            },
            { step: 'initialize', name: 'countGets' },
          ),
      })
    const b = open(prefix)
    const decided = await inBatches(Array.from({ length: 60 }, (_, i) => i), 16, async (i) => {
      const v = await stage(b, { packageName: `pkg-${i % 2}`, version: `1.0.${i}` })
      expect((await b.updateRecord({ ...v.record, state: i % 2 ? 'approved' : 'rejected' }, v.etag)).updated).toBe(true)
      return v.record.id
    })
    const waiting = [(await stage(b, { packageName: 'pkg-0', version: '2.0.0' })).record.id, (await stage(b, { packageName: 'pkg-1', version: '2.0.0' })).record.id]
    await b.listRecords({ waiting: true }) // the first listing of this prefix writes layout.json
    const listed = await counting().listRecords({ waiting: true })
    expect(listed.map((v) => v.record.id).sort()).toEqual([...waiting].sort())
    expect(gets.sort()).toEqual(waiting.map((id) => `${prefix}/records/${id}.json`).sort())
    gets.length = 0
    expect((await counting().listRecords({ waiting: true, packageName: 'pkg-1' })).map((v) => v.record.id)).toEqual([waiting[1]])
    expect(gets).toEqual([`${prefix}/records/${waiting[1]}.json`])
    gets.length = 0
    expect(await counting({ pageSize: 7 }).listRecords()).toHaveLength(62)
    expect(gets).toHaveLength(62)
    expect(decided).toHaveLength(60)
  })

  it('keeps staging and deciding when markers cannot be removed: the decision stands, the next list repairs', async () => {
    const prefix = `nodelete-${randomUUID()}`
    const noDelete = open(prefix, {
      onClient: (client) =>
        client.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'DeleteObjectCommand') throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })
            return next(args)
          },
          { step: 'initialize', name: 'denyDeletes' },
        ),
    })
    const { record, etag } = await stage(noDelete, { packageName: 'lib' })
    await noDelete.listRecords({ waiting: true })
    expect((await noDelete.updateRecord({ ...record, state: 'approved' }, etag)).updated).toBe(true)
    expect(await keysUnder(`${prefix}/pending/`)).toEqual([`${prefix}/pending/lib/${record.id}`])
    expect(await noDelete.listRecords({ waiting: true })).toEqual([])
    expect(await open(prefix).listRecords({ waiting: true })).toEqual([])
    expect(await keysUnder(`${prefix}/pending/`)).toEqual([])
  })

  it('lists as before, with a notice, for an identity whose policy predates markers (no ListBucket on pending/)', async () => {
    const prefix = `oldpolicy-${randomUUID()}`
    const b = open(prefix)
    const kept = await stage(b, { packageName: 'lib' })
    const decided = await stage(b, { packageName: 'lib', version: '2.0.0' })
    expect((await b.updateRecord({ ...decided.record, state: 'approved' }, decided.etag)).updated).toBe(true)
    const denied = open(prefix, {
      onClient: (client) =>
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const input = args.input as { Prefix?: string; Key?: string }
            if ((context.commandName === 'ListObjectsV2Command' && input.Prefix?.includes('/pending/')) || input.Key?.endsWith('/layout.json')) {
              throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })
            }
            return next(args)
          },
          { step: 'initialize', name: 'oldPolicy' },
        ),
    })
    const notices: string[] = []
    expect((await denied.listRecords({ waiting: true, onNotice: (m) => notices.push(m) })).map((v) => v.record.id)).toEqual([kept.record.id])
    expect(notices).toHaveLength(1)
    expect(notices[0]).toContain(`s3:ListBucket on the prefix ${prefix}/pending/`)
  })

  it('ignores keys under pending/ that are not <encoded name>/<uuid>, and never reads what they name', async () => {
    const prefix = `junkmarkers-${randomUUID()}`
    const b = open(prefix)
    const { record } = await stage(b, { packageName: 'lib' })
    await b.listRecords({ waiting: true })
    for (const Key of [`${prefix}/pending/lib/../../records/x`, `${prefix}/pending/lib/notes.txt`, `${prefix}/pending/${randomUUID()}`, `${prefix}/pending/%E0%A4%A/${randomUUID()}`, `${prefix}/pending/a/b/${randomUUID()}`]) {
      await admin.send(new sdk.PutObjectCommand({ Bucket: bucket, Key, Body: '' }))
    }
    expect((await b.listRecords({ waiting: true })).map((v) => v.record.id)).toEqual([record.id])
  })

  it('keeps a release set at <prefix>/sets/<setId>.json', async () => {
    const prefix = `layout-${randomUUID()}`
    const set = makeSet(2)
    expect(await open(prefix).createSet(set)).toEqual({ created: true })
    expect(await keysUnder(`${prefix}/`)).toEqual([`${prefix}/sets/${set.setId}.json`])
  })

  it('sends If-Match unquoted, so a quoted etag works too (radosgw 16 refuses quoted ones)', async () => {
    const b = open(`quoted-${randomUUID()}`)
    const { record, etag } = await stage(b)
    expect(etag).not.toContain('"')
    expect((await b.updateRecord({ ...record, state: 'rejected' }, `"${etag}"`)).updated).toBe(true)
  })

  it('maps wrong credentials to EACCESSDENIED naming the bucket, without the secret', async () => {
    const prefix = `creds-${randomUUID()}`
    await stage(open(prefix))
    const wrongSecret = open(prefix, { credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: dummyCredentials.secretAccessKey } })
    const err = await errorOf(wrongSecret.listRecords())
    expect(err.code).toBe('EACCESSDENIED')
    expect(err.message).toContain(`s3://${bucket}/${prefix}/`)
    expect(err.hint).toMatch(/credentials/)
    expect(`${err.message} ${err.hint}`).not.toContain(dummyCredentials.secretAccessKey)
    const unknownKey = open(prefix, { credentials: dummyCredentials })
    expect(await codeOf(unknownKey.getRecord(randomUUID()))).toBe('EACCESSDENIED')
    const bytes = fakeTarball()
    expect(await codeOf(unknownKey.createRelease(makeRecord(bytes), bytes))).toBe('EACCESSDENIED')
  })

  it('says clearly when the bucket does not exist', async () => {
    const missing = `no-such-bucket-${randomUUID().slice(0, 8)}`
    const b = createS3Backend(urlFor('x', missing))
    const err = await errorOf(b.getRecord(randomUUID()))
    expect(err.code).toBe('EBACKEND')
    expect(err.message).toContain(`"${missing}" does not exist`)
    expect(err.hint).toMatch(/bucket name/)
    const bytes = fakeTarball()
    expect(await codeOf(b.createRelease(makeRecord(bytes), bytes))).toBe('EBACKEND')
    expect(await codeOf(b.listIds())).toBe('EBACKEND')
  })

  it('leaves no visible record when the record write fails, and a retry with the same id succeeds', async () => {
    const prefix = `halfway-${randomUUID()}`
    const failing = open(prefix, {
      onClient: (client) =>
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const key = (args.input as { Key?: string }).Key ?? ''
            if (context.commandName === 'PutObjectCommand' && key.includes('/records/')) {
              throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
            }
            return next(args)
          },
          { step: 'initialize', name: 'failRecordWrites' },
        ),
    })
    const bytes = fakeTarball()
    const record = makeRecord(bytes)
    expect(await codeOf(failing.createRelease(record, bytes))).toBe('EBACKENDUNREACHABLE')

    const clean = open(prefix)
    expect(await clean.getRecord(record.id)).toBeNull()
    expect(await clean.listIds()).toEqual([])
    expect(await clean.listRecords()).toEqual([])
    // The orphaned bytes are ours (same MD5), so staging the same release again completes it.
    expect(await clean.createRelease(record, bytes)).toMatchObject({ created: true, id: record.id })
    expect(Buffer.compare(await clean.getTarball(record.id), bytes)).toBe(0)
  })

  it('treats other bytes already under an unrecorded id as taken, and never overwrites them', async () => {
    const prefix = `orphan-${randomUUID()}`
    const id = randomUUID()
    const theirs = fakeTarball()
    await admin.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `${prefix}/tarballs/${id}.tgz`, Body: theirs }))
    const b = open(prefix)
    const ours = fakeTarball()
    expect(await b.createRelease(makeRecord(ours, { id }), ours)).toEqual({ created: false, reason: 'exists' })
    expect(Buffer.compare(await b.getTarball(id), theirs)).toBe(0)
    expect(await b.getRecord(id)).toBeNull()
  })

  it('ignores keys under records/ that are not <uuid>.json', async () => {
    const prefix = `junk-${randomUUID()}`
    const b = open(prefix)
    const { record } = await stage(b)
    for (const Key of [`${prefix}/records/../../evil.json`, `${prefix}/records/notes.txt`, `${prefix}/records/sub/${randomUUID()}.json`]) {
      await admin.send(new sdk.PutObjectCommand({ Bucket: bucket, Key, Body: '{}' }))
    }
    expect(await b.listIds()).toEqual([record.id])
  })
})
