/**
 * The final hop from the shared backend: CI stages to S3 (a real Ceph radosgw); a maintainer's
 * approval stages the verified bytes on the registry (Verdaccio 9) and approves them there; four
 * maintainers approving at once stage once and approve once. Skipped without STAGE_PUBLISH_TEST_S3_ENDPOINT.
 */
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { startRegistryProxy, type RegistryProxy } from '../support/registry-proxy.js'
import { parseJson, publishedIntegrity, sandbox, uniqueName } from '../support/cli.js'
import { createTestBucket, s3Env } from '../support/s3-bucket.js'

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT
if (!endpoint) console.warn('\n⚠  S3 final-hop tests were SKIPPED: STAGE_PUBLISH_TEST_S3_ENDPOINT is not set.\n')

const hopEnv = () => ({
  ...s3Env(),
  // The default final hop (auto), instead of the sandbox's direct publish.
  STAGE_PUBLISH_FINAL_HOP: '',
})

let registry: TestRegistry
let bucket: string

const stagePosts = (p: RegistryProxy) => p.requests.filter((q) => q.method === 'POST' && q.path.startsWith('/-/stage/package/'))
const approvals = (p: RegistryProxy) => p.requests.filter((q) => q.method === 'POST' && /^\/-\/stage\/[0-9a-f-]{36}\/approve/.test(q.path))
const puts = (p: RegistryProxy) => p.requests.filter((q) => q.method === 'PUT' && !q.path.startsWith('/-/'))

describe.skipIf(!endpoint)('final hop from an S3 backend', () => {
  beforeAll(async () => {
    registry = await sharedRegistry()
    bucket = `sp-hop-${randomUUID().slice(0, 8)}`
    const { admin } = await createTestBucket(endpoint, bucket)
    admin.destroy()
  })

  async function stagedInS3(proxy: RegistryProxy) {
    const sb = await sandbox()
    const name = uniqueName('s3-hop')
    const pkg = await sb.makePackage(name, { version: '1.0.0' })
    const backend = `s3://${bucket}/hop-${randomUUID().slice(0, 8)}?endpoint=${endpoint}&forcePathStyle=true`
    const staged = await sb.run(['--json', '--backend', backend, '--registry', proxy.url], { cwd: pkg, env: { ...hopEnv(), CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/lib', GITHUB_RUN_ID: '9' } })
    expect(staged.code, staged.all).toBe(0)
    const { id, integrity } = parseJson<{ id: string; integrity: string }>(staged.stdout)
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), proxy.url)
    return { sb, name, backend, id, integrity, approver, env: { ...hopEnv(), NPM_CONFIG_USERCONFIG: npmrc } }
  }

  it('approves through the registry\'s staging API: a staged item and its approval, no PUT; the stage id is on the S3 record', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const { sb, name, backend, id, integrity, approver, env } = await stagedInS3(proxy)
      const r = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', backend], { env })
      expect(r.code, r.all).toBe(0)
      expect(r.stderr).toContain('Final hop: staged on')
      expect(stagePosts(proxy).map((q) => q.status)).toEqual([201])
      expect(approvals(proxy).map((q) => q.status)).toEqual([201])
      expect(puts(proxy)).toEqual([])
      const view = parseJson<{ state: string; finalHop: { stageId: string; registry: string } }>((await sb.run(['view', id, '--json', '--backend', backend], { env })).stdout)
      expect(view.state).toBe('approved')
      expect(approvals(proxy)[0]?.path).toBe(`/-/stage/${view.finalHop.stageId}/approve`)
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })

  it('four maintainers approving at once: one item staged, one approval, one publish', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const { sb, name, backend, id, integrity, approver, env } = await stagedInS3(proxy)
      const otp = await approver.otp()
      const results = await Promise.all([0, 1, 2, 3].map((i) => sb.run(['approve', id, '--yes', '--otp', otp, '--backend', backend], { env: { ...env, N: String(i) } })))
      const all = results.map((r) => r.all).join('\n---\n')
      expect(results.filter((r) => r.stdout.includes(`+ ${name}@1.0.0`)), all).toHaveLength(1)
      for (const r of results) expect(r.code, all).toBe(0)
      expect(stagePosts(proxy)).toHaveLength(1)
      expect(approvals(proxy)).toHaveLength(1)
      expect(puts(proxy)).toEqual([])
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })
})
