/**
 * `stage-publish doctor` against real servers: the test Verdaccio with 2FA on and off, logged out, a
 * registry that is down, a hostile registry, a local directory the identity cannot write, and S3 with
 * bad credentials, with the approver's and with a least-privilege CI identity (real radosgw).
 */
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { startBadServer } from '../support/bad-server.js'
import { parseJson, sandbox, type Sandbox } from '../support/cli.js'

interface DoctorJson {
  ok: boolean
  role: string
  checks: Array<{ name: string; status: string; summary: string; hint?: string }>
}

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

const statuses = (out: DoctorJson) => Object.fromEntries(out.checks.map((c) => [c.name, c.status]))
const check = (out: DoctorJson, name: string) => out.checks.find((c) => c.name === name)

async function doctor(sb: Sandbox, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = await sb.run(['doctor', '--json', ...args], { env })
  return { r, out: parseJson<DoctorJson>(r.stdout) }
}

async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Makes a directory unwritable for whoever runs the tests: mode 0555, and immutable when that is root. */
async function readOnly(dir: string): Promise<() => Promise<void>> {
  await fs.chmod(dir, 0o555)
  const root = process.getuid?.() === 0
  if (root) await promisify(execFile)('chattr', ['+i', dir])
  return async () => {
    if (root) await promisify(execFile)('chattr', ['-i', dir])
    await fs.chmod(dir, 0o700)
  }
}

describe('doctor: faults first', () => {
  it('a registry that is down: an error line that says so, the checks that need it skipped, exit 1, quickly', async () => {
    const sb = await sandbox()
    const started = Date.now()
    const { r, out } = await doctor(sb, ['--registry', `http://127.0.0.1:${await closedPort()}/`, '--backend', sb.backend])
    expect(r.code, r.all).toBe(1)
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(statuses(out)).toMatchObject({ backend: 'ok', registry: 'error', login: 'skip', 'two-factor': 'skip', 'staging-api': 'skip' })
    expect(check(out, 'registry')?.summary).toContain('EREGISTRYUNREACHABLE')
    const human = await sb.run(['doctor', '--registry', `http://127.0.0.1:${await closedPort()}/`, '--backend', sb.backend])
    expect(human.code).toBe(1)
    expect(human.stdout).toMatch(/^error registry +EREGISTRYUNREACHABLE/m)
    expect(human.stdout).toContain('→ Check the registry URL')
  })

  it('a registry that accepts connections and never answers: the check ends in bounded time, the rest is skipped', async () => {
    const silent = await startBadServer('silent')
    try {
      const sb = await sandbox()
      const started = Date.now()
      const { r, out } = await doctor(sb, ['--registry', silent.url, '--backend', sb.backend])
      expect(r.code, r.all).toBe(1)
      expect(Date.now() - started).toBeLessThan(40_000)
      expect(statuses(out)).toMatchObject({ registry: 'error', login: 'skip' })
      expect(check(out, 'registry')?.summary).toContain('did not answer in time')
    } finally {
      await silent.stop()
    }
  }, 60_000)

  it('an S3 endpoint that is down: a backend error naming it, exit 1', async () => {
    const sb = await sandbox()
    const url = `s3://some-bucket/npm?endpoint=http://127.0.0.1:${await closedPort()}&forcePathStyle=true`
    const { r, out } = await doctor(sb, ['--backend', url, '--registry', registry.url, '--role', 'ci'], { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE12', AWS_SECRET_ACCESS_KEY: 'not-a-real-secret-but-never-printed', AWS_REGION: 'us-east-1' })
    expect(r.code, r.all).toBe(1)
    expect(check(out, 'backend')?.summary).toContain('EBACKENDUNREACHABLE')
    expect(r.all).not.toContain('not-a-real-secret-but-never-printed')
  })

  it('logged out: login is an error for an approver, 2FA not checked', async () => {
    const sb = await sandbox()
    const { r, out } = await doctor(sb, ['--registry', registry.url, '--backend', sb.backend])
    expect(r.code, r.all).toBe(1)
    expect(statuses(out)).toMatchObject({ registry: 'ok', login: 'error', 'two-factor': 'skip', 'staging-api': 'info' })
    expect(check(out, 'login')?.hint).toContain(`npm login --registry ${registry.url}`)
  })

  it('an approver without 2FA: an error, with the command that turns it on', async () => {
    const sb = await sandbox()
    const user = await registry.createUser({ tfa: false })
    const npmrc = await user.writeNpmrc(path.join(sb.dir, 'me'))
    const { r, out } = await doctor(sb, ['--backend', sb.backend], { NPM_CONFIG_USERCONFIG: npmrc })
    expect(r.code, r.all).toBe(1)
    expect(statuses(out)).toMatchObject({ login: 'ok', 'two-factor': 'error' })
    expect(check(out, 'login')?.summary).toContain(user.name)
    expect(check(out, 'two-factor')?.hint).toContain('npm profile enable-2fa auth-and-writes')
    expect(r.all).not.toContain(user.token)
  })

  it('a local directory this identity cannot write: backend error, exit 1', async () => {
    const sb = await sandbox()
    const user = await registry.createUser()
    const npmrc = await user.writeNpmrc(path.join(sb.dir, 'me'))
    for (const d of ['records', 'tarballs', 'tmp']) await fs.mkdir(path.join(sb.store, d), { recursive: true })
    const undo = await readOnly(path.join(sb.store, 'records'))
    try {
      const { r, out } = await doctor(sb, ['--backend', sb.backend], { NPM_CONFIG_USERCONFIG: npmrc })
      expect(r.code, r.all).toBe(1)
      expect(check(out, 'backend')).toMatchObject({ status: 'error' })
      expect(check(out, 'backend')?.summary).toContain('write records/')
      // Nothing else is wrong: the approver is logged in with 2FA.
      expect(out.checks.filter((c) => c.status === 'error').map((c) => c.name)).toEqual(['backend'])
    } finally {
      await undo()
    }
    // The probes left nothing behind.
    for (const d of ['records', 'tarballs', 'tmp']) expect(await fs.readdir(path.join(sb.store, d))).toEqual([])
  })

  it('a hostile registry: what it says is made safe, and nothing it sends reaches the terminal raw', async () => {
    const evil = '\u001b]52;c;cm0gLXJmIH4=\u0007\u001b[2Jroot\u202e'
    const server = http.createServer((req, res) => {
      const url = req.url ?? ''
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      if (url.startsWith('/-/ping')) json(200, {})
      else if (url.startsWith('/-/whoami')) json(200, { username: evil })
      else if (url.startsWith('/-/npm/v1/user')) json(200, { tfa: { mode: evil, pending: false } })
      else if (url.startsWith('/-/stage')) json(500, { error: evil })
      else json(404, { error: evil })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`
    try {
      const sb = await sandbox()
      await fs.writeFile(path.join(sb.home, '.npmrc'), `//127.0.0.1:${(server.address() as net.AddressInfo).port}/:_authToken=npm_${'x'.repeat(36)}\n`)
      const human = await sb.run(['doctor', '--registry', url, '--backend', sb.backend])
      expect(human.code, human.all).toBe(0)
      expect(human.all).not.toMatch(/[\u001b\u0007\u202e]/)
      expect(human.all).not.toContain('x'.repeat(36))
      expect(human.stdout).toMatch(/^warn {2}two-factor/m)
      const { out } = await doctor(sb, ['--registry', url, '--backend', sb.backend])
      expect(statuses(out)).toMatchObject({ login: 'ok', 'two-factor': 'warn', 'staging-api': 'warn' })
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('doctor: a good set-up', () => {
  it('an approver with 2FA (auth-and-writes) on the test registry: every check ok, exit 0', async () => {
    const sb = await sandbox()
    const user = await registry.createUser()
    const npmrc = await user.writeNpmrc(path.join(sb.dir, 'me'))
    const { r, out } = await doctor(sb, ['--backend', sb.backend], { NPM_CONFIG_USERCONFIG: npmrc })
    expect(r.code, r.all).toBe(0)
    expect(out).toMatchObject({ ok: true, role: 'approver' })
    expect(statuses(out)).toEqual({ config: 'ok', backend: 'ok', registry: 'ok', login: 'ok', 'two-factor': 'ok', 'staging-api': 'ok' })
    const human = await sb.run(['doctor', '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
    expect(human.code).toBe(0)
    expect(human.stdout).toContain('Nothing is broken. Checked as an approver.')
    expect(human.all).not.toContain(user.token)
  })

  it('CI with an npm token that can publish: a warning that recommends a stage-only token or none; a read-only token is fine', async () => {
    const sb = await sandbox()
    const user = await registry.createUser({ tfa: false })
    const npmrc = await user.writeNpmrc(path.join(sb.dir, 'ci'))
    const ci = { CI: 'true', GITHUB_ACTIONS: 'true', NPM_CONFIG_USERCONFIG: npmrc }
    const { r, out } = await doctor(sb, ['--backend', sb.backend], ci)
    expect(r.code, r.all).toBe(0)
    expect(out.role).toBe('ci')
    expect(check(out, 'ci-token')).toMatchObject({ status: 'warn' })
    expect(check(out, 'ci-token')?.hint).toContain('needs no npm token in CI')

    // A read-only token made through npm's token API.
    const created = await fetch(new URL('-/npm/v1/tokens', registry.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ password: user.password, readonly: true, cidr_whitelist: [] }),
    })
    expect(created.status).toBeLessThan(300)
    const { token } = (await created.json()) as { token: string }
    await fs.writeFile(npmrc, `registry=${registry.url}\n//${registry.host}/:_authToken=${token}\n`)
    const ro = await doctor(sb, ['--backend', sb.backend], ci)
    expect(check(ro.out, 'ci-token'), ro.r.all).toMatchObject({ status: 'ok' })
    expect(check(ro.out, 'ci-token')?.summary).toContain('read-only')
    expect(ro.r.all).not.toContain(token)

    // No token at all: nothing in the job can publish.
    const none = await doctor(sb, ['--backend', sb.backend, '--registry', registry.url], { CI: 'true', NPM_CONFIG_USERCONFIG: path.join(sb.dir, 'none') })
    expect(none.r.code, none.r.all).toBe(0)
    expect(statuses(none.out)).toMatchObject({ login: 'ok', 'ci-token': 'ok' })
  })

  it('--backend registry: the staging API must answer with these credentials', async () => {
    const sb = await sandbox()
    const user = await registry.createUser()
    const npmrc = await user.writeNpmrc(path.join(sb.dir, 'me'))
    const { r, out } = await doctor(sb, ['--backend', 'registry'], { NPM_CONFIG_USERCONFIG: npmrc })
    expect(r.code, r.all).toBe(0)
    expect(check(out, 'backend')?.summary).toContain('staging API')
  })
})

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT
const cephDir = process.env.STAGE_PUBLISH_TEST_S3_DIR
describe.skipIf(!endpoint || !cephDir)('doctor on S3 (radosgw)', () => {
  const bucket = `sp-doctor-${randomUUID().slice(0, 8)}`
  const prefix = 'npm'
  const backend = `s3://${bucket}/${prefix}?endpoint=${endpoint}&forcePathStyle=true&acl=bucket-owner-full-control`
  const ciUser = `ci-${randomUUID().slice(0, 8)}`
  const ci = { AWS_ACCESS_KEY_ID: `CI${randomUUID().replace(/-/g, '').slice(0, 18).toUpperCase()}`, AWS_SECRET_ACCESS_KEY: `ci-secret-${randomUUID()}`, AWS_REGION: 'us-east-1' }
  const owner = () => ({ AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY, AWS_REGION: 'us-east-1' })
  let listKeys: () => Promise<string[]>
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    await promisify(execFile)('radosgw-admin', ['-c', path.join(cephDir!, 'ceph.conf'), 'user', 'create', `--uid=${ciUser}`, `--display-name=${ciUser}`, `--access-key=${ci.AWS_ACCESS_KEY_ID}`, `--secret-key=${ci.AWS_SECRET_ACCESS_KEY}`])
    const { S3Client, CreateBucketCommand, PutBucketPolicyCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3')
    const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' })
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
    // The README's CI statement: create-if-absent under the four prefixes, and nothing else.
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'StageOnly', Effect: 'Allow', Principal: { AWS: [`arn:aws:iam:::user/${ciUser}`] }, Action: ['s3:PutObject'], Resource: ['tarballs', 'records', 'sets', 'versions'].map((k) => `arn:aws:s3:::${bucket}/${prefix}/${k}/*`) },
        { Sid: 'NoReadNoDelete', Effect: 'Deny', Principal: { AWS: [`arn:aws:iam:::user/${ciUser}`] }, Action: ['s3:GetObject', 's3:DeleteObject', 's3:ListBucket'], Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/${prefix}/*`] },
      ],
    }
    await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }))
    listKeys = async () => ((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key ?? '')
    cleanup = async () => {
      client.destroy()
      await promisify(execFile)('radosgw-admin', ['-c', path.join(cephDir!, 'ceph.conf'), 'user', 'rm', `--uid=${ciUser}`]).catch(() => undefined)
    }
  })
  afterAll(async () => cleanup())

  it('bad credentials: backend error naming access, no secret printed', async () => {
    const sb = await sandbox()
    const bad = { AWS_ACCESS_KEY_ID: 'AKIAWRONGWRONGWRONG1', AWS_SECRET_ACCESS_KEY: `wrong-${randomUUID()}`, AWS_REGION: 'us-east-1' }
    const { r, out } = await doctor(sb, ['--backend', backend, '--registry', registry.url, '--role', 'approver'], bad)
    expect(r.code, r.all).toBe(1)
    expect(check(out, 'backend')).toMatchObject({ status: 'error' })
    expect(check(out, 'backend')?.summary).toContain('EACCESSDENIED')
    expect(r.all).not.toContain(bad.AWS_SECRET_ACCESS_KEY)
  })

  it('the approver (bucket owner) may do all an approver needs; the CI identity may stage, and nothing is left behind', async () => {
    const sb = await sandbox()
    const approver = await doctor(sb, ['--backend', backend, '--registry', registry.url, '--role', 'approver'], owner())
    expect(check(approver.out, 'backend'), approver.r.all).toMatchObject({ status: 'ok' })
    expect(check(approver.out, 'backend')?.summary).toContain('write npm/records/')
    expect(check(approver.out, 'backend')?.summary).toContain('delete in npm/tarballs/')

    const asCi = await doctor(sb, ['--backend', backend, '--registry', registry.url, '--role', 'ci'], ci)
    expect(check(asCi.out, 'backend'), asCi.r.all).toMatchObject({ status: 'ok' })
    expect(check(asCi.out, 'backend')?.summary).toContain('write npm/versions/')
    expect(asCi.r.all).not.toContain(ci.AWS_SECRET_ACCESS_KEY)

    // The CI identity checked as an approver: it may not read or delete.
    const wrongRole = await doctor(sb, ['--backend', backend, '--registry', registry.url, '--role', 'approver'], ci)
    expect(wrongRole.r.code).toBe(1)
    expect(check(wrongRole.out, 'backend')?.summary).toContain('s3:ListBucket')
    expect(check(wrongRole.out, 'backend')?.summary).toContain('s3:DeleteObject')

    expect(await listKeys()).toEqual([])
  })
})
