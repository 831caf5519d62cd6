/**
 * `stage-publish wait` as a pipeline runs it: one process waits while another approves or rejects, against
 * the real Verdaccio (2FA), for a file backend, a release set, the registry's own staging API and S3.
 * Faults and attacks first: a record rewritten to claim an approval the registry does not confirm, a
 * registry that serves other bytes, a registry that is down, a corrupt record.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { startRegistryProxy } from '../support/registry-proxy.js'
import { BIN, parseJson, run, sandbox, uniqueName, type CliResult } from '../support/cli.js'
import { stageForApprover } from '../support/staged.js'
import { workspace } from '../support/workspace.js'
import { runInPty } from '../support/pty.js'

interface WaitJson {
  outcome: string
  id?: string
  setId?: string
  waitedSeconds: number
  releases: Array<{ id: string; packageName: string; version: string; state: string; by?: string; reason?: string }>
}

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A loopback port nobody listens on: a registry that is down. */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Rewrites a record of a file backend as someone holding the CI credential can. */
async function rewriteRecord(store: string, id: string, change: Record<string, unknown>): Promise<void> {
  const file = path.join(store, 'records', `${id}.json`)
  const record = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>
  await fs.writeFile(file, JSON.stringify({ ...record, ...change }))
}

describe('wait: attacks and faults', () => {
  it('a record rewritten to say "approved" is not an approval while the registry does not serve the version: it times out (124)', async () => {
    const { sb, id } = await stageForApprover(registry, 'wait-forged')
    await rewriteRecord(sb.store, id, { state: 'approved', approvedBy: 'mallory', approvedAt: new Date().toISOString() })
    const started = Date.now()
    const r = await sb.run(['wait', id, '--timeout', '3s', '--interval', '1s', '--json', '--backend', sb.backend])
    expect(r.code, r.all).toBe(124)
    expect(Date.now() - started).toBeLessThan(20_000)
    const out = parseJson<WaitJson>(r.stdout)
    expect(out.outcome).toBe('timeout')
    expect(out.releases[0]?.state).toBe('publishing')
  })

  it('approved in the record but the registry serves other bytes for that version: exit 1 (mismatch)', async () => {
    const { sb, id, name } = await stageForApprover(registry, 'wait-other-bytes')
    // Someone publishes name@1.0.0 directly, with other contents.
    const direct = await registry.createUser({ tfa: false })
    const npmrc = await direct.writeNpmrc(path.join(sb.dir, 'direct'), registry.url)
    const other = await sb.makePackage(name, { version: '1.0.0' }, { 'index.js': 'module.exports = "not what was staged"\n' })
    const pub = await run('npm', ['publish', '--registry', registry.url], { cwd: other, env: { ...sb.env, NPM_CONFIG_USERCONFIG: npmrc } })
    expect(pub.code, pub.all).toBe(0)
    await rewriteRecord(sb.store, id, { state: 'approved', approvedBy: 'mallory', approvedAt: new Date().toISOString() })
    const r = await sb.run(['wait', id, '--timeout', '30s', '--interval', '1s', '--json', '--backend', sb.backend])
    expect(r.code, r.all).toBe(1)
    expect(parseJson<WaitJson>(r.stdout)).toMatchObject({ outcome: 'failed', releases: [{ state: 'mismatch' }] })
  })

  it('a registry that is down while confirming: bounded retries, then a clear error (exit 1)', async () => {
    const { sb, id, env, approver } = await stageForApprover(registry, 'wait-down')
    const approve = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
    expect(approve.code, approve.all).toBe(0)
    const down = `http://127.0.0.1:${await closedPort()}/`
    const started = Date.now()
    const r = await sb.run(['wait', id, '--interval', '1s', '--registry', down, '--backend', sb.backend])
    expect(r.code, r.all).toBe(1)
    expect(Date.now() - started).toBeLessThan(60_000)
    expect(r.stderr).toContain('EREGISTRYUNREACHABLE')
    expect(r.stderr).toContain('Stopped waiting: 5 checks in a row failed')
    expect(r.stderr.match(/a check failed/g)).toHaveLength(4)
  })

  it('a record that turns corrupt while waiting stops the wait at once (ECORRUPT), with nothing raw on the terminal', async () => {
    const { sb, id } = await stageForApprover(registry, 'wait-corrupt')
    const waiting = sb.run(['wait', id, '--interval', '1s', '--backend', sb.backend])
    await pause(1500)
    await fs.writeFile(path.join(sb.store, 'records', `${id}.json`), '{"state":"approved","x":"\u001b]8;;evil\u0007"')
    const r = await waiting
    expect(r.code, r.all).toBe(1)
    expect(r.stderr).toContain('ECORRUPT')
    expect(r.all).not.toContain('\u001b]8')
  })
})

describe('wait: one process waits while another decides', () => {
  it('file backend: approved (and served by the registry) while waiting → exit 0', async () => {
    const { sb, id, env, approver, name } = await stageForApprover(registry, 'wait-approve')
    const waiting = sb.run(['wait', id.slice(0, 8), '--interval', '1s', '--json', '--backend', sb.backend])
    await pause(1500)
    const approve = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
    expect(approve.code, approve.all).toBe(0)
    const r = await waiting
    expect(r.code, r.all).toBe(0)
    const out = parseJson<WaitJson>(r.stdout)
    expect(out).toMatchObject({ outcome: 'approved', id, releases: [{ id, packageName: name, version: '1.0.0', state: 'approved', by: approver.name }] })
    // No terminal: no progress lines.
    expect(r.stderr).toBe('')
  })

  it('on a terminal: progress lines on stderr: what it waits for, then each change of state', async () => {
    const { sb, id, env, approver, name } = await stageForApprover(registry, 'wait-tty')
    let approving: Promise<CliResult> | undefined
    const result = await runInPty(process.execPath, [BIN, 'wait', id, '--interval', '1s', '--backend', sb.backend], {
      cwd: sb.dir,
      env: sb.env,
      timeoutMs: 60_000,
      steps: [{ waitFor: 'to be decided (Ctrl-C stops waiting', send: '', enter: false, onMatch: () => {
        approving = approver.otp().then((otp) => sb.run(['approve', id, '--yes', '--otp', otp, '--backend', sb.backend], { env }))
      } }],
    })
    expect((await approving)?.code).toBe(0)
    expect(result.exitCode, result.text).toBe(0)
    expect(result.text).toContain(`Waiting up to 6h for ${name}@1.0.0`)
    expect(result.text).toContain(`${name}@1.0.0: approved and published`)
  })

  it('file backend: rejected while waiting → exit 1, with who and why', async () => {
    const { sb, id } = await stageForApprover(registry, 'wait-reject')
    const waiting = sb.run(['wait', id, '--interval', '1s', '--backend', sb.backend])
    await pause(1500)
    const reject = await sb.run(['reject', id, '--yes', '--reason', 'not this week', '--backend', sb.backend])
    expect(reject.code, reject.all).toBe(0)
    const r = await waiting
    expect(r.code, r.all).toBe(1)
    expect(r.stdout).toMatch(/- wait-reject-\S+@1\.0\.0 rejected by .+: not this week/)
  })

  it('Ctrl-C stops waiting cleanly: a line that says nothing changed, exit 130, the release still pending', async () => {
    const { sb, id } = await stageForApprover(registry, 'wait-sigint')
    const child = spawn(process.execPath, [BIN, 'wait', id, '--interval', '1s', '--backend', sb.backend], { cwd: sb.dir, env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    await pause(1500)
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code).toBe(130)
    expect(stderr).toContain('Stopped waiting. Nothing was changed')
    expect(stderr).not.toMatch(/at .+\.js:\d+/)
    const view = parseJson<{ state: string }>((await sb.run(['view', id, '--json', '--no-review', '--backend', sb.backend])).stdout)
    expect(view.state).toBe('pending')
  })

  it('timeout: the documented exit code 124, quickly', async () => {
    const { sb, id } = await stageForApprover(registry, 'wait-timeout')
    const started = Date.now()
    const r = await sb.run(['wait', id, '--timeout', '2s', '--backend', sb.backend])
    expect(r.code, r.all).toBe(124)
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(r.stdout).toContain('waiting for approval')
    expect(r.stdout).toContain('Not decided after')
  })

  it('a release set: exit 0 only once every member is approved and published', async () => {
    const { sb, root, names } = await workspace()
    const approver = await registry.createUser()
    const proxy = await startRegistryProxy(registry, { otpWindow: { user: approver } })
    try {
      const staged = await sb.run(['--workspaces', '--json', '--backend', sb.backend, '--registry', proxy.url], { cwd: root })
      expect(staged.code, staged.all).toBe(0)
      const { setId } = parseJson<{ setId: string }>(staged.stdout)
      const waiting = sb.run(['wait', setId, '--interval', '1s', '--json', '--backend', sb.backend])
      await pause(1500)
      const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), proxy.url)
      const approve = await sb.run(['approve', setId, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
      expect(approve.code, approve.all).toBe(0)
      const r = await waiting
      expect(r.code, r.all).toBe(0)
      const out = parseJson<WaitJson>(r.stdout)
      expect(out.outcome).toBe('approved')
      expect(out.setId).toBe(setId)
      expect(out.releases.map((m) => m.packageName).sort()).toEqual([names.a, names.b, names.c].sort())
      expect(out.releases.every((m) => m.state === 'approved')).toBe(true)
    } finally {
      await proxy.stop()
    }
  })

  it('a release set with one member rejected → exit 1', async () => {
    const { sb, root } = await workspace()
    const staged = await sb.run(['--workspaces', '--json', '--backend', sb.backend, '--registry', registry.url], { cwd: root })
    expect(staged.code, staged.all).toBe(0)
    const { setId, releases } = parseJson<{ setId: string; releases: Array<{ id: string }> }>(staged.stdout)
    const waiting = sb.run(['wait', setId, '--interval', '1s', '--json', '--backend', sb.backend])
    await pause(1500)
    expect((await sb.run(['reject', releases[0]!.id, '--yes', '--backend', sb.backend])).code).toBe(0)
    const r = await waiting
    expect(r.code, r.all).toBe(1)
    expect(parseJson<WaitJson>(r.stdout).outcome).toBe('rejected')
  })
})

describe('wait on the registry\'s own staging API', () => {
  async function stagedNatively(prefix: string) {
    const sb = await sandbox()
    const name = uniqueName(prefix)
    const pkg = await sb.makePackage(name, { version: '1.0.0' })
    const stager = await registry.createUser()
    const approver = await registry.createUser()
    const stagerEnv = { NPM_CONFIG_USERCONFIG: await stager.writeNpmrc(path.join(sb.dir, 'stager')) }
    const approverEnv = { NPM_CONFIG_USERCONFIG: await approver.writeNpmrc(path.join(sb.dir, 'approver')) }
    await fs.writeFile(path.join(sb.dir, 'package.json'), JSON.stringify({ private: true, stagePublish: { policy: { allow: ['MANIFEST_UNVERIFIED'] } } }))
    const r = await sb.run(['--json', '--backend', 'registry'], { cwd: pkg, env: stagerEnv })
    expect(r.code, r.all).toBe(0)
    return { sb, name, approver, stagerEnv, approverEnv, id: parseJson<{ id: string }>(r.stdout).id }
  }

  it('the item disappears on approval; the version served with the staged shasum makes it approved → exit 0', async () => {
    const { sb, id, approver, stagerEnv, approverEnv } = await stagedNatively('wait-native')
    // CI waits with its own (stage) credentials.
    const waiting = sb.run(['wait', id, '--interval', '1s', '--json', '--backend', 'registry'], { env: stagerEnv })
    await pause(1500)
    const approve = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', 'registry'], { env: approverEnv })
    expect(approve.code, approve.all).toBe(0)
    const r: CliResult = await waiting
    expect(r.code, r.all).toBe(0)
    expect(parseJson<WaitJson>(r.stdout)).toMatchObject({ outcome: 'approved', releases: [{ id, state: 'approved' }] })
  })

  it('the item disappears on rejection; the version never appears → exit 1', async () => {
    const { sb, id, approver, stagerEnv, approverEnv } = await stagedNatively('wait-native-rej')
    const waiting = sb.run(['wait', id, '--interval', '1s', '--json', '--backend', 'registry'], { env: stagerEnv })
    await pause(1500)
    const reject = await sb.run(['reject', id, '--yes', '--otp', await approver.otp(), '--backend', 'registry'], { env: approverEnv })
    expect(reject.code, reject.all).toBe(0)
    const r = await waiting
    expect(r.code, r.all).toBe(1)
    expect(parseJson<WaitJson>(r.stdout)).toMatchObject({ outcome: 'rejected', releases: [{ id, state: 'rejected' }] })
  })
})

const endpoint = process.env.STAGE_PUBLISH_TEST_S3_ENDPOINT
describe.skipIf(!endpoint)('wait on S3', () => {
  it('CI waits on the bucket while a maintainer approves → exit 0', async () => {
    const bucket = `sp-wait-${randomUUID().slice(0, 8)}`
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3')
    const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' })
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
    client.destroy()
    const backend = `s3://${bucket}/npm?endpoint=${endpoint}&forcePathStyle=true`
    const s3Env = { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY, AWS_REGION: 'us-east-1' }
    const sb = await sandbox()
    const name = uniqueName('wait-s3')
    const pkg = await sb.makePackage(name, { version: '1.0.0' })
    const staged = await sb.run(['--json', '--backend', backend, '--registry', registry.url], { cwd: pkg, env: s3Env })
    expect(staged.code, staged.all).toBe(0)
    const { id } = parseJson<{ id: string }>(staged.stdout)
    const waiting = sb.run(['wait', id, '--interval', '1s', '--json', '--backend', backend], { env: s3Env })
    await pause(1500)
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'))
    const approve = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--backend', backend], { env: { ...s3Env, NPM_CONFIG_USERCONFIG: npmrc } })
    expect(approve.code, approve.all).toBe(0)
    const r = await waiting
    expect(r.code, r.all).toBe(0)
    expect(parseJson<WaitJson>(r.stdout)).toMatchObject({ outcome: 'approved', releases: [{ id, state: 'approved', by: approver.name }] })
    expect(r.all).not.toContain(process.env.AWS_SECRET_ACCESS_KEY)
  })
})
