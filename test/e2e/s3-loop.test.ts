/**
 * The shared backend end to end: CI stages to S3 (a real Ceph radosgw) in one process; a maintainer
 * approves from another process, in another folder, with no access to the source; eight maintainers
 * approving at once publish exactly once. Run by `npm test` when STAGE_PUBLISH_TEST_S3_ENDPOINT is
 * set (.ci/run and `npm run test:s3` start radosgw and set it), skipped with a notice otherwise.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { startRegistryProxy } from '../support/registry-proxy.js'
import { parseJson, publishedIntegrity, sandbox, uniqueName } from '../support/cli.js'
import { workspace } from '../support/workspace.js'
import { s3Env } from '../support/s3-bucket.js'

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT
if (!endpoint) console.warn('\n⚠  S3 end-to-end tests were SKIPPED: STAGE_PUBLISH_TEST_S3_ENDPOINT is not set. Run `npm run test:s3` (or .ci/run) to start a Ceph radosgw and run them.\n')

let registry: TestRegistry
let bucket: string

describe.skipIf(!endpoint)('S3 backend, end to end', () => {
  beforeAll(async () => {
    registry = await sharedRegistry()
    bucket = `sp-e2e-${randomUUID().slice(0, 8)}`
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3')
    const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' })
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
    client.destroy()
  })

  const backendUrl = (prefix: string) => `s3://${bucket}/${prefix}?endpoint=${endpoint}&forcePathStyle=true`

  it('stages from CI in one place and is approved from another, without the source', async () => {
    const ci = await sandbox()
    const name = uniqueName('s3-loop')
    const pkg = await ci.makePackage(name, { version: '1.0.0' })
    const backend = backendUrl(`team-${randomUUID().slice(0, 8)}`)
    const ciEnv = {
      ...s3Env(),
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTOR: 'release-bot',
      GITHUB_REPOSITORY: 'acme/lib',
      GITHUB_RUN_ID: '777',
      STAGE_PUBLISH_BACKEND: backend,
    }
    const staged = await ci.run(['--json', '--registry', registry.url], { cwd: pkg, env: ciEnv })
    expect(staged.code, staged.all).toBe(0)
    const { id, integrity } = parseJson<{ id: string; integrity: string }>(staged.stdout)
    expect(staged.all).not.toContain(process.env.AWS_SECRET_ACCESS_KEY)
    await fs.rm(ci.dir, { recursive: true, force: true })

    // The maintainer's laptop: another folder, no source, their own npm login and 2FA.
    const laptop = await sandbox()
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(laptop.dir, 'me'), registry.url)
    const env = { ...s3Env(), NPM_CONFIG_USERCONFIG: npmrc }
    const list = await laptop.run(['list', '--backend', backend], { env })
    expect(list.code, list.all).toBe(0)
    expect(list.stdout).toContain(`${name}@1.0.0`)
    expect(list.stdout).toContain('release-bot')
    const view = parseJson<{ actorType: string; ci: { runUrl: string } }>((await laptop.run(['view', id.slice(0, 8), '--json', '--backend', backend], { env })).stdout)
    expect(view.actorType).toBe('ci')
    expect(view.ci.runUrl).toBe('https://github.com/acme/lib/actions/runs/777')

    expect(await publishedIntegrity(laptop, registry.url, `${name}@1.0.0`)).toBeNull()
    const approve = await laptop.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', backend], { env })
    expect(approve.code, approve.all).toBe(0)
    expect(approve.stdout).toContain(`+ ${name}@1.0.0`)
    expect(await publishedIntegrity(laptop, registry.url, `${name}@1.0.0`)).toBe(integrity)
    const after = parseJson<{ state: string; approvedBy: string }>((await laptop.run(['view', id, '--json', '--backend', backend], { env })).stdout)
    expect(after).toMatchObject({ state: 'approved', approvedBy: approver.name })
  })

  it('eight maintainers approving at once: exactly one publish reaches the registry', async () => {
    const approverUser = await registry.createUser()
    const proxy = await startRegistryProxy(registry)
    try {
      const sb = await sandbox()
      const name = uniqueName('s3-race')
      const pkg = await sb.makePackage(name, { version: '1.0.0' })
      const backend = backendUrl(`race-${randomUUID().slice(0, 8)}`)
      const staged = await sb.run(['--json', '--backend', backend, '--registry', proxy.url], { cwd: pkg, env: s3Env() })
      expect(staged.code, staged.all).toBe(0)
      const { id, integrity } = parseJson<{ id: string; integrity: string }>(staged.stdout)
      const npmrc = await approverUser.writeNpmrc(path.join(sb.dir, 'approver'), proxy.url)
      const otp = await approverUser.otp()
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => sb.run(['approve', id, '--yes', '--otp', otp, '--backend', backend], { cwd: path.join(sb.dir), env: { ...s3Env(), NPM_CONFIG_USERCONFIG: npmrc, N: String(i) } })),
      )
      const winners = results.filter((r) => r.stdout.includes(`+ ${name}@1.0.0`))
      const others = results.filter((r) => !r.stdout.includes(`+ ${name}@1.0.0`))
      expect(winners, results.map((r) => r.all).join('\n---\n')).toHaveLength(1)
      for (const r of others) {
        expect(r.code, r.all).toBe(0)
        expect(r.stdout).toMatch(/already approved by .+ \d{4}-\d\d-\d\d \d\d:\d\d UTC \(\d+s ago\)/)
      }
      expect(proxy.requests.filter((q) => q.method === 'PUT' && !q.path.startsWith('/-/'))).toHaveLength(1)
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })

  it('stages a workspace as one release set in S3 and approves it in dependency order with one code', async () => {
    const { sb, root, names } = await workspace()
    const approver = await registry.createUser()
    // Verdaccio refuses a reused code; the proxy's otpWindow plays a registry that accepts it while valid.
    const proxy = await startRegistryProxy(registry, { otpWindow: { user: approver } })
    try {
      const backend = backendUrl(`set-${randomUUID().slice(0, 8)}`)
      const staged = await sb.run(['--workspaces', '--json', '--backend', backend, '--registry', proxy.url], { cwd: root, env: s3Env() })
      expect(staged.code, staged.all).toBe(0)
      const { setId } = parseJson<{ setId: string }>(staged.stdout)
      const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), proxy.url)
      const env = { ...s3Env(), NPM_CONFIG_USERCONFIG: npmrc }
      const approve = await sb.run(['approve', setId, '--yes', '--otp', await approver.otp(), '--json', '--backend', backend], { cwd: sb.home, env })
      expect(approve.code, approve.all).toBe(0)
      const summary = parseJson<{ published: Array<{ name: string }>; complete: boolean }>(approve.stdout)
      expect(summary.complete).toBe(true)
      expect(summary.published.map((p) => p.name)).toEqual([names.c, names.b, names.a])
      const puts = proxy.requests.filter((q) => q.method === 'PUT' && !q.path.startsWith('/-/')).map((q) => decodeURIComponent(q.path.slice(1)))
      expect(puts).toEqual([names.c, names.b, names.a])
      for (const n of [names.a, names.b, names.c]) expect(await publishedIntegrity(sb, registry.url, `${n}@1.0.0`)).toMatch(/^sha512-/)
      // Approving the set again publishes nothing twice.
      const again = await sb.run(['approve', setId, '--yes', '--otp', '000000', '--json', '--backend', backend], { cwd: sb.home, env })
      expect(again.code, again.all).toBe(0)
      expect(proxy.requests.filter((q) => q.method === 'PUT' && !q.path.startsWith('/-/'))).toHaveLength(3)
    } finally {
      await proxy.stop()
    }
  })

  it('rejects and downloads through S3, and refuses tampered bytes', async () => {
    const sb = await sandbox()
    const backend = backendUrl(`misc-${randomUUID().slice(0, 8)}`)
    const pkg = await sb.makePackage(uniqueName('s3-misc'), { version: '1.0.0' })
    const staged = await sb.run(['--json', '--backend', backend, '--registry', registry.url], { cwd: pkg, env: s3Env() })
    const { id, integrity } = parseJson<{ id: string; integrity: string }>(staged.stdout)
    const dl = await sb.run(['download', id, '--json', '--backend', backend], { env: s3Env() })
    expect(dl.code, dl.all).toBe(0)
    const { createHash } = await import('node:crypto')
    const bytes = await fs.readFile(parseJson<{ path: string }>(dl.stdout).path)
    expect(`sha512-${createHash('sha512').update(bytes).digest('base64')}`).toBe(integrity)

    const rejected = await sb.run(['reject', id, '--yes', '--reason', 'test', '--backend', backend], { env: s3Env() })
    expect(rejected.code, rejected.all).toBe(0)
    const list = parseJson<Array<{ id: string; state: string }>>((await sb.run(['list', '--all', '--json', '--backend', backend], { env: s3Env() })).stdout)
    expect(list.find((r) => r.id === id)?.state).toBe('rejected')
    const gone = await sb.run(['download', id, '--backend', backend], { env: s3Env() })
    expect(gone.code).toBe(1)
  })

  it('lists what waits from its markers: decided and planted ones show nothing, list <pkg> one package, --all the history, an older bucket once read whole', async () => {
    const sb = await sandbox()
    const prefix = `markers-${randomUUID().slice(0, 8)}`
    const backend = backendUrl(prefix)
    const [a, b] = [uniqueName('s3-list-a'), uniqueName('s3-list-b')]
    const stageOne = async (name: string) => {
      const r = await sb.run(['--json', '--backend', backend, '--registry', registry.url], { cwd: await sb.makePackage(name, { version: '1.0.0' }), env: s3Env() })
      expect(r.code, r.all).toBe(0)
      return parseJson<{ id: string }>(r.stdout).id
    }
    const [idA, idB] = [await stageOne(a), await stageOne(b)]
    expect((await sb.run(['reject', idA, '--yes', '--backend', backend], { env: s3Env() })).code).toBe(0)
    const listed = async (...args: string[]) => parseJson<Array<{ id: string }>>((await sb.run(['list', '--json', ...args, '--backend', backend], { env: s3Env() })).stdout).map((r) => r.id)
    expect(await listed()).toEqual([idB])
    expect(await listed(a)).toEqual([])
    expect(await listed(b)).toEqual([idB])
    expect((await listed('--all')).sort()).toEqual([idA, idB].sort())

    const { S3Client, PutObjectCommand, DeleteObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3')
    const admin = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' })
    const keys = async (under: string) => ((await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/${under}` }))).Contents ?? []).map((o) => o.Key ?? '')
    try {
      // Planted by someone with staging rights: the rejected release under another name, and one with no record.
      for (const Key of [`${prefix}/pending/${encodeURIComponent(b)}/${idA}`, `${prefix}/pending/${encodeURIComponent(b)}/${randomUUID()}`]) await admin.send(new PutObjectCommand({ Bucket: bucket, Key, Body: '{}' }))
      expect(await listed()).toEqual([idB])
      expect(await listed(b)).toEqual([idB])
      // A bucket an older version staged into: no markers, no layout.json. Read whole once, then it has them.
      for (const Key of [...(await keys('pending/')), `${prefix}/layout.json`]) await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key }))
      expect(await listed()).toEqual([idB])
      expect(await keys('pending/')).toEqual([`${prefix}/pending/${encodeURIComponent(b)}/${idB}`])
      expect(await keys('layout.json')).toEqual([`${prefix}/layout.json`])
    } finally {
      admin.destroy()
    }
  })

  it('says what to check when the bucket is unreachable, and stages nothing', async () => {
    const sb = await sandbox()
    const pkg = await sb.makePackage(uniqueName('s3-down'), { version: '1.0.0' })
    const r = await sb.run(['--backend', `s3://${bucket}/x?endpoint=http://127.0.0.1:9&forcePathStyle=true`, '--registry', registry.url], { cwd: pkg, env: s3Env() })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EBACKENDUNREACHABLE')
    expect(r.stderr).toContain('127.0.0.1:9')
    expect(r.all).not.toContain(process.env.AWS_SECRET_ACCESS_KEY)
    const missing = await sb.run(['list', '--backend', `s3://no-such-bucket-${randomUUID().slice(0, 8)}/x?endpoint=${endpoint}&forcePathStyle=true`], { env: s3Env() })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/bucket/i)
  })
})
