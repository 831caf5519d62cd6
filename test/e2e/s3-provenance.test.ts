/**
 * Provenance through the shared S3 backend (a real Ceph radosgw): CI stages npm's real bundle with its
 * tarball; the maintainer, elsewhere, sees what it proves and approves; the publish carries the bundle as
 * libnpmpublish's `--provenance-file` body (Verdaccio 9 then refuses it: one attachment only). A bundle
 * replaced in the bucket after staging is noticed. Skipped with a notice without STAGE_PUBLISH_TEST_S3_ENDPOINT.
 */
import { createHash, randomUUID } from 'node:crypto'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { parseJson, publishedIntegrity, ROOT, sandbox } from '../support/cli.js'
import { captureBodies, type BodyCapture } from '../support/body-capture.js'
import { createTestBucket, s3Env } from '../support/s3-bucket.js'

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT
if (!endpoint) console.warn('\n⚠  S3 provenance end-to-end tests were SKIPPED: STAGE_PUBLISH_TEST_S3_ENDPOINT is not set.\n')

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'provenance')
const TGZ = path.join(FIXTURES, 'npmcli-libnpmpublish-test-1.0.0.tgz')
const BUNDLE = path.join(FIXTURES, 'valid-bundle-relocated.json')
const NAME = '@npmcli/libnpmpublish-test'

let registry: TestRegistry
let bucket: string
let admin: import('@aws-sdk/client-s3').S3Client
let sdk: typeof import('@aws-sdk/client-s3')
const captures: BodyCapture[] = []

describe.skipIf(!endpoint)('provenance through S3', () => {
  beforeAll(async () => {
    registry = await sharedRegistry()
    bucket = `sp-prov-${randomUUID().slice(0, 8)}`
    ;({ sdk, admin } = await createTestBucket(endpoint, bucket))
  })
  afterEach(async () => {
    await Promise.all(captures.splice(0).map((c) => c.close()))
  })

  async function stagedInBucket() {
    const prefix = `team-${randomUUID().slice(0, 8)}`
    const backend = `s3://${bucket}/${prefix}?endpoint=${endpoint}&forcePathStyle=true`
    const ci = await sandbox()
    const staged = await ci.run([TGZ, '--provenance-file', BUNDLE, '--json', '--registry', registry.url, '--backend', backend], { env: s3Env() })
    expect(staged.code, staged.all).toBe(0)
    const { id, provenance } = parseJson<{ id: string; provenance: unknown }>(staged.stdout)
    expect(provenance).toEqual({ integrity: `sha512-${createHash('sha512').update(readFileSync(BUNDLE)).digest('base64')}`, size: readFileSync(BUNDLE).length })
    return { backend, id, key: `${prefix}/provenance/${id}.sigstore` }
  }

  it('keeps the bundle next to the tarball in the bucket, shows it to the maintainer and sends it with the publish', async () => {
    const { backend, id, key } = await stagedInBucket()
    const stored = await admin.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }))
    expect(Buffer.compare(Buffer.from(await stored.Body?.transformToByteArray() ?? []), readFileSync(BUNDLE))).toBe(0)

    const laptop = await sandbox()
    const view = await laptop.run(['view', id, '--backend', backend], { env: s3Env() })
    expect(view.code, view.all).toBe(0)
    expect(view.stdout).toContain('signed by:   brian@dehamer.com (issuer https://github.com/login/oauth)')

    const capture = await captureBodies(registry.url)
    captures.push(capture)
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(laptop.dir, 'me'), capture.url)
    const approve = await laptop.run(['approve', id, '--yes', '--otp', await approver.otp(), '--registry', capture.url, '--backend', backend], { env: { ...s3Env(), NPM_CONFIG_USERCONFIG: npmrc } })
    const put = capture.writes.find((w) => w.method === 'PUT')
    const serialized = JSON.stringify(JSON.parse(readFileSync(BUNDLE, 'utf8')))
    expect((put?.body as { _attachments: Record<string, unknown> })._attachments[`${NAME}-1.0.0.sigstore`]).toEqual({ content_type: 'application/vnd.dev.sigstore.bundle+json;version=0.1', data: serialized, length: serialized.length })
    expect(put?.status).toBe(400)
    expect(approve.code).toBe(1)
    expect(approve.stderr).toContain('EPROVENANCE')
    expect(await publishedIntegrity(laptop, registry.url, `${NAME}@1.0.0`)).toBeNull()
  })

  it('notices a bundle replaced in the bucket after staging', async () => {
    const { backend, id, key } = await stagedInBucket()
    await admin.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(path.join(FIXTURES, 'digest-mismatch-provenance-bundle-relocated.json')) }))
    const laptop = await sandbox()
    const view = await laptop.run(['view', id, '--json', '--backend', backend], { env: s3Env() })
    expect(view.code, view.all).toBe(0)
    expect(parseJson<{ review: { findings: Array<{ code: string; args: unknown }> } }>(view.stdout).review.findings.find((f) => f.code === 'PROVENANCE_UNVERIFIED')?.args).toEqual({ reason: 'the stored bundle is not the one staged: its sha512 differs from the one in the record' })
  })
})
