/**
 * The two-person rule on the S3 backend (a real Ceph radosgw, whose conditional writes make the
 * compare-and-set real): one approval publishes nothing; two co-approvers racing both keep their
 * signature and exactly one publish reaches the registry; verify-approvals reads the approvals from
 * the bucket. Skipped without STAGE_PUBLISH_TEST_S3_ENDPOINT (see s3-loop.test.ts).
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { startRegistryProxy } from '../support/registry-proxy.js'
import { parseJson, publishedIntegrity, sandbox, uniqueName } from '../support/cli.js'
import { createTestBucket, s3Env } from '../support/s3-bucket.js'
import { keyDir, makeSigner, writeAllowedSigners } from '../support/ssh-keys.js'

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT

let registry: TestRegistry
let bucket: string

describe.skipIf(!endpoint)('M-of-N approvals on S3', () => {
  beforeAll(async () => {
    registry = await sharedRegistry()
    bucket = `sp-quorum-${randomUUID().slice(0, 8)}`
    const { admin } = await createTestBucket(endpoint, bucket)
    admin.destroy()
  })

  it('one approval publishes nothing; two racing co-approvers both keep their signature and publish once; verify-approvals reads the bucket', async () => {
    const proxy = await startRegistryProxy(registry)
    try {
      const sb = await sandbox()
      const backend = `s3://${bucket}/team-${randomUUID().slice(0, 8)}?endpoint=${endpoint}&forcePathStyle=true`
      const name = uniqueName('s3-quorum')
      const pkg = await sb.makePackage(name, { version: '1.0.0' })
      const staged = await sb.run(['--json', '--backend', backend, '--registry', proxy.url], { cwd: pkg, env: s3Env() })
      expect(staged.code, staged.all).toBe(0)
      const { id, integrity } = parseJson<{ id: string; integrity: string }>(staged.stdout)

      const keys = await keyDir()
      const signers = await Promise.all(['alice', 'bob', 'carol'].map((p) => makeSigner(keys, `${p}@example.com`)))
      const project = path.join(sb.dir, 'maintainers')
      const signersFile = await writeAllowedSigners(path.join(project, 'allowed_signers'), signers)
      await fs.writeFile(path.join(project, 'package.json'), JSON.stringify({ private: true, stagePublish: { approvals: { required: 3, allowedSigners: 'allowed_signers' } } }))
      const approvers = await Promise.all(
        signers.map(async (signer) => {
          const user = await registry.createUser()
          const npmrc = await user.writeNpmrc(path.join(sb.dir, `npm-${user.name}`), proxy.url)
          return { signer, user, env: { ...s3Env(), NPM_CONFIG_USERCONFIG: npmrc } }
        }),
      )
      const [alice, bob, carol] = approvers as [(typeof approvers)[number], (typeof approvers)[number], (typeof approvers)[number]]
      const approve = (a: typeof alice, extra: string[]) => sb.run(['approve', id, '--yes', '--signing-key', a.signer.key, '--backend', backend, ...extra], { cwd: project, env: a.env })

      const first = await approve(alice, ['--json'])
      expect(first.code, first.all).toBe(0)
      expect(parseJson(first.stdout)).toMatchObject({ published: false, approvals: { count: 1, needed: 2, required: 3 } })

      const [b, c] = await Promise.all([approve(bob, ['--otp', await bob.user.otp()]), approve(carol, ['--otp', await carol.user.otp()])])
      expect(b.code, b.all).toBe(0)
      expect(c.code, c.all).toBe(0)
      expect(proxy.requests.filter((q) => q.method === 'PUT' && !q.path.startsWith('/-/'))).toHaveLength(1)
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)

      const listed = await sb.run(['approvals', id, '--json', '--backend', backend], { cwd: project, env: alice.env })
      expect(parseJson<{ approvals: { signers: Array<{ principal: string }> } }>(listed.stdout).approvals.signers.map((s) => s.principal).sort()).toEqual(['alice@example.com', 'bob@example.com', 'carol@example.com'])
      const verified = await sb.run(['verify-approvals', `${name}@1.0.0`, '--allowed-signers', signersFile, '--required', '3', '--registry', registry.url, '--backend', backend], { cwd: sb.dir, env: alice.env })
      expect(verified.code, verified.all).toBe(0)
    } finally {
      await proxy.stop()
    }
  })
})
