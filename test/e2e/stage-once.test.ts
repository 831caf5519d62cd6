/**
 * Three CI jobs staging the same name@version at the same moment, as separate processes: exactly one
 * release is pending, the others fail with EALREADYSTAGED naming it; once it is rejected the version
 * can be staged again. On the local directory and on S3 (a real Ceph radosgw, when available).
 */
import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, sandbox, uniqueName, type Sandbox } from '../support/cli.js'
import { s3Env } from '../support/s3-bucket.js'

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

async function stageThreeAtOnce(sb: Sandbox, backend: string, env: NodeJS.ProcessEnv) {
  const name = uniqueName('@acme/once')
  const pkg = await sb.makePackage(name, { version: '1.0.0' })
  const stageIt = () => sb.run(['--json', '--backend', backend, '--registry', registry.url], { cwd: pkg, env })
  const results = await Promise.all([stageIt(), stageIt(), stageIt()])
  const won = results.filter((r) => r.code === 0)
  expect(won, results.map((r) => r.all).join('\n---\n')).toHaveLength(1)
  const { id } = parseJson<{ id: string }>(won[0]?.stdout ?? '')
  for (const lost of results.filter((r) => r.code !== 0)) {
    expect(lost.all).toContain('EALREADYSTAGED')
    expect(lost.all).toContain(id)
  }
  const list = await sb.run(['list', name, '--json', '--backend', backend], { env })
  expect(list.code, list.all).toBe(0)
  expect(parseJson<Array<{ id: string; state: string }>>(list.stdout).map((r) => [r.id, r.state])).toEqual([[id, 'pending']])

  // Rejected, the version is free again.
  const rejected = await sb.run(['reject', id, '--yes', '--backend', backend], { env })
  expect(rejected.code, rejected.all).toBe(0)
  const again = await stageIt()
  expect(again.code, again.all).toBe(0)
  const second = parseJson<{ id: string }>(again.stdout).id
  expect(second).not.toBe(id)
  // And refused again while that one waits.
  const third = await stageIt()
  expect(third.code).toBe(1)
  expect(third.all).toContain('EALREADYSTAGED')
  expect(third.all).toContain(second)
}

describe('staging one version at once from three jobs', () => {
  it('local directory: one pending release, the others EALREADYSTAGED', async () => {
    const sb = await sandbox()
    await stageThreeAtOnce(sb, sb.backend, {})
  })

  it.skipIf(!endpoint)('S3: one pending release, the others EALREADYSTAGED', async () => {
    const bucket = `sp-once-${randomUUID().slice(0, 8)}`
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3')
    const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' })
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
    client.destroy()
    const sb = await sandbox()
    await stageThreeAtOnce(sb, `s3://${bucket}/ci?endpoint=${endpoint}&forcePathStyle=true`, s3Env())
  })
})
