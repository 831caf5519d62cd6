/**
 * The README's least-privilege setup, on a real radosgw: a CI identity that may only create staged
 * releases under the prefix (PutObject on tarballs/*, records/*, sets/*, versions/* and pending/*, and only as
 * create-if-absent) can stage, a single package or a release set, but cannot list, read, approve,
 * reject or overwrite, nor stage a version twice; the approver can.
 */
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, publishedIntegrity, sandbox, uniqueName } from '../support/cli.js'
import { startRegistryProxy } from '../support/registry-proxy.js'
import { workspace } from '../support/workspace.js'

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT
const cephDir = process.env.STAGE_PUBLISH_TEST_S3_DIR
if (!endpoint) console.warn('\n⚠  S3 IAM tests were SKIPPED: STAGE_PUBLISH_TEST_S3_ENDPOINT is not set. Run `npm run test:s3`.\n')

const owner = () => ({ AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY, AWS_REGION: 'us-east-1' })

describe.skipIf(!endpoint || !cephDir)('least-privilege CI role on S3', () => {
  let registry: TestRegistry
  const bucket = `sp-iam-${randomUUID().slice(0, 8)}`
  const prefix = 'npm'
  const ciUser = `ci-${randomUUID().slice(0, 8)}`
  const ci = { AWS_ACCESS_KEY_ID: `CI${randomUUID().replace(/-/g, '').slice(0, 18).toUpperCase()}`, AWS_SECRET_ACCESS_KEY: `ci-secret-${randomUUID()}`, AWS_REGION: 'us-east-1' }
  const backend = `s3://${bucket}/${prefix}?endpoint=${endpoint}&forcePathStyle=true&acl=bucket-owner-full-control`

  beforeAll(async () => {
    registry = await sharedRegistry()
    await promisify(execFile)('radosgw-admin', ['-c', path.join(cephDir!, 'ceph.conf'), 'user', 'create', `--uid=${ciUser}`, `--display-name=${ciUser}`, `--access-key=${ci.AWS_ACCESS_KEY_ID}`, `--secret-key=${ci.AWS_SECRET_ACCESS_KEY}`])
    const { S3Client, CreateBucketCommand, PutBucketPolicyCommand } = await import('@aws-sdk/client-s3')
    const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' })
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
    // The CI statement of the README's policy (radosgw names users arn:aws:iam:::user/<uid>).
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'StageOnly',
          Effect: 'Allow',
          Principal: { AWS: [`arn:aws:iam:::user/${ciUser}`] },
          Action: ['s3:PutObject'],
          Resource: [`arn:aws:s3:::${bucket}/${prefix}/tarballs/*`, `arn:aws:s3:::${bucket}/${prefix}/records/*`, `arn:aws:s3:::${bucket}/${prefix}/sets/*`, `arn:aws:s3:::${bucket}/${prefix}/versions/*`, `arn:aws:s3:::${bucket}/${prefix}/pending/*`],
        },
        {
          // Objects CI uploads are its own (object ACLs): deny reading and deleting them explicitly.
          Sid: 'NoReadNoDelete',
          Effect: 'Deny',
          Principal: { AWS: [`arn:aws:iam:::user/${ciUser}`] },
          Action: ['s3:GetObject', 's3:DeleteObject', 's3:ListBucket'],
          Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/${prefix}/*`],
        },
      ],
    }
    await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }))
    client.destroy()
  })

  it('CI can stage but not read, approve or reject; the approver can approve', async () => {
    const sb = await sandbox()
    const name = uniqueName('iam')
    const pkg = await sb.makePackage(name, { version: '1.0.0' })
    const staged = await sb.run(['--json', '--backend', backend, '--registry', registry.url], { cwd: pkg, env: { ...ci, CI: 'true' } })
    expect(staged.code, staged.all).toBe(0)
    expect(staged.stderr).toContain('no read access')
    const { id, integrity } = parseJson<{ id: string; integrity: string }>(staged.stdout)

    // The same version again: its reservation exists, and CI may not see whose it is.
    const twice = await sb.run(['--json', '--backend', backend, '--registry', registry.url], { cwd: pkg, env: { ...ci, CI: 'true' } })
    expect(twice.code, twice.all).toBe(1)
    expect(twice.all).toContain('EALREADYSTAGED')

    for (const args of [['list'], ['view', id], ['download', id], ['reject', id, '--yes'], ['approve', id, '--yes', '--otp', '123456']]) {
      const r = await sb.run([...args, '--backend', backend], { env: ci })
      expect(r.code, `${args[0]}: ${r.all}`).toBe(1)
      expect(r.stderr, args[0]).toContain('EACCESSDENIED')
      expect(r.all).not.toContain(ci.AWS_SECRET_ACCESS_KEY)
    }

    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'me'), registry.url)
    const approve = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', backend], { env: { ...owner(), NPM_CONFIG_USERCONFIG: npmrc } })
    expect(approve.code, approve.all).toBe(0)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
  })

  it('CI can stage a release set (its set object too) but not read it; the approver approves it by a prefix of its id', async () => {
    const { sb, root, names } = await workspace()
    const approver = await registry.createUser()
    // Verdaccio refuses a reused code; the proxy's otpWindow plays a registry that accepts it while valid.
    const proxy = await startRegistryProxy(registry, { otpWindow: { user: approver } })
    try {
      const staged = await sb.run(['-w', names.b, '-w', names.c, '--json', '--backend', backend, '--registry', proxy.url], { cwd: root, env: { ...ci, CI: 'true' } })
      expect(staged.code, staged.all).toBe(0)
      const { setId, releases } = parseJson<{ setId: string; releases: Array<{ name: string; integrity: string }> }>(staged.stdout)
      for (const args of [['view', setId], ['approve', setId, '--yes', '--otp', '123456']]) {
        const r = await sb.run([...args, '--backend', backend], { env: ci })
        expect(r.code, `${args[0]}: ${r.all}`).toBe(1)
        expect(r.stderr, args[0]).toContain('EACCESSDENIED')
      }
      const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'me'), proxy.url)
      const approve = await sb.run(['approve', setId.slice(0, 8), '--yes', '--otp', await approver.otp(), '--backend', backend], { env: { ...owner(), NPM_CONFIG_USERCONFIG: npmrc } })
      expect(approve.code, approve.all).toBe(0)
      for (const r of releases) expect(await publishedIntegrity(sb, registry.url, `${r.name}@1.0.0`)).toBe(r.integrity)
    } finally {
      await proxy.stop()
    }
  })
})
