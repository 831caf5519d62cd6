/**
 * `reject --force` removes a record that does not parse, with an audit entry (who, when, why, the
 * sha256 and size of the removed bytes) — on the local directory and on S3 (radosgw, when available).
 * A valid record is rejected as usual.
 */
import { createHash, randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, sandbox, uniqueName, type Sandbox } from '../support/cli.js'
import { s3Env } from '../support/s3-bucket.js'

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

interface Store {
  backend: string
  env: NodeJS.ProcessEnv
  put(key: string, text: string): Promise<void>
  get(key: string): Promise<string | null>
  list(prefix: string): Promise<string[]>
}

async function stageOne(sb: Sandbox, store: Store, version = '1.0.0') {
  const pkg = await sb.makePackage(uniqueName('force'), { version })
  const r = await sb.run(['--json', '--backend', store.backend, '--registry', registry.url], { cwd: pkg, env: store.env })
  expect(r.code, r.all).toBe(0)
  return parseJson<{ id: string }>(r.stdout).id
}

async function forceRemoves(sb: Sandbox, store: Store) {
  const id = await stageOne(sb, store)
  // A record that fails the schema (an attacker with the CI credential, or a damaged store).
  const hostile = `{"schema": 1, "id": "${id}", "state": "pending", "packageName": "\u001b[2Jx"}`
  await store.put(`records/${id}.json`, hostile)
  const plain = await sb.run(['reject', id, '--yes', '--backend', store.backend], { env: store.env })
  expect(plain.code).toBe(1)
  expect(plain.stderr).toContain('ECORRUPT')

  const noReason = await sb.run(['reject', '--yes', '--force', id, '--backend', store.backend], { env: store.env })
  expect(noReason.code).toBe(2)
  expect(noReason.stderr).toContain('--reason')

  const r = await sb.run(['reject', '--yes', '--force', id, '--reason', 'not written by our CI', '--json', '--backend', store.backend], { env: store.env })
  expect(r.code, r.all).toBe(0)
  const sha256 = createHash('sha256').update(hostile).digest('hex')
  expect(parseJson(r.stdout)).toMatchObject({ id, removed: true, reason: 'not written by our CI', record: { sha256, size: Buffer.byteLength(hostile) } })
  expect(r.all).not.toContain('\u001b[2J')

  expect(await store.get(`records/${id}.json`)).toBeNull()
  expect(await store.get(`tarballs/${id}.tgz`)).toBeNull()
  const audits = await store.list('audit/')
  expect(audits).toHaveLength(1)
  expect(audits[0]).toMatch(new RegExp(`^audit/${id}-.+\\.json$`))
  const entry = parseJson<Record<string, unknown>>((await store.get(audits[0] as string)) ?? '')
  expect(entry).toMatchObject({ id, reason: 'not written by our CI', removedBy: expect.stringMatching(/\S/), removedAt: expect.any(String), record: { sha256, size: Buffer.byteLength(hostile) } })

  // A valid record is not removed: it is rejected as usual, and the approver is told.
  const valid = await stageOne(sb, store, '2.0.0')
  const v = await sb.run(['reject', '--yes', '--force', valid, '--reason', 'oops', '--backend', store.backend], { env: store.env })
  expect(v.code, v.all).toBe(0)
  expect(v.stderr).toContain('valid record')
  expect(parseJson<{ state: string }>((await store.get(`records/${valid}.json`)) ?? '').state).toBe('rejected')
  expect(await store.list('audit/')).toHaveLength(1)
}

describe('reject --force', () => {
  it('local directory: removes a corrupt record with an audit entry', async () => {
    const sb = await sandbox()
    const file = (key: string) => path.join(sb.store, key)
    await forceRemoves(sb, {
      backend: sb.backend,
      env: {},
      put: (key, text) => fs.writeFile(file(key), text),
      get: (key) => fs.readFile(file(key), 'utf8').catch(() => null),
      list: async (prefix) => (await fs.readdir(file(prefix)).catch(() => [] as string[])).map((n) => `${prefix}${n}`),
    })
  })

  it.skipIf(!endpoint)('S3: removes a corrupt record with an audit entry', async () => {
    const { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3')
    const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' })
    const bucket = `sp-force-${randomUUID().slice(0, 8)}`
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
    try {
      const sb = await sandbox()
      await forceRemoves(sb, {
        backend: `s3://${bucket}/team?endpoint=${endpoint}&forcePathStyle=true`,
        env: s3Env(),
        put: async (key, text) => {
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: `team/${key}`, Body: text }))
        },
        get: async (key) => {
          try {
            return (await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: `team/${key}` }))).Body?.transformToString()) ?? ''
          } catch {
            return null
          }
        },
        list: async (prefix) => ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `team/${prefix}` }))).Contents ?? []).map((o) => (o.Key ?? '').slice('team/'.length)),
      })
    } finally {
      client.destroy()
    }
  })
})
