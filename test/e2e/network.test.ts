/**
 * Network faults against the real Verdaccio and servers of our own on 127.0.0.1: a reader that
 * closes the pipe, a registry or bucket that accepts connections and never answers, a web server
 * that is not a registry, a registry that went away while npm's cache still remembers it.
 * Every wait has an end a person accepts, and says which host it was waiting for.
 */
import { spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { sharedRegistry, type TestRegistry, type TestUser } from '../support/verdaccio.js'
import { startRegistryProxy } from '../support/registry-proxy.js'
import { startBadServer, type BadServer } from '../support/bad-server.js'
import { BIN, parseJson, run, sandbox, uniqueName, type Sandbox } from '../support/cli.js'
import { stageFresh } from '../support/staged.js'

let registry: TestRegistry
let publisher: TestUser
const servers: BadServer[] = []
beforeAll(async () => {
  registry = await sharedRegistry()
  publisher = await registry.createUser({ tfa: false })
})
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()))
})

async function badServer(kind: Parameters<typeof startBadServer>[0]): Promise<BadServer> {
  const s = await startBadServer(kind)
  servers.push(s)
  return s
}

/** A release of a fresh package staged in a file backend, for the real registry. */
const staged = () => stageFresh('net', registry.url)

/** Runs the CLI with its stdout read end closed before it writes anything (`| head -0`, `| true`). */
function runClosedStdout(sb: Sandbox, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: sb.dir, env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('close', (code) => resolve({ code, stderr }))
  })
}

/** Seconds an async call took. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = Date.now()
  const result = await fn()
  return [result, (Date.now() - start) / 1000]
}

describe('a reader that closes the pipe', () => {
  it('--help, list --all and view exit quietly, without an EPIPE stack trace', async () => {
    const { sb, id } = await staged()
    for (const args of [['--help'], ['list', '--all', '--backend', sb.backend], ['view', id, '--no-review', '--backend', sb.backend]]) {
      const r = await runClosedStdout(sb, args)
      expect(r.stderr, args.join(' ')).not.toMatch(/EPIPE|Error|at .+\(/)
      expect(r.code, args.join(' ')).toBe(0)
    }
  })
})

describe('a server that accepts connections and never answers', () => {
  it('approve fails within 30 s naming the registry, and the release stays pending', async () => {
    const silent = await badServer('silent')
    const { sb, id } = await staged()
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), silent.url)
    const [r, seconds] = await timed(() =>
      sb.run(['approve', id, '--yes', '--otp', '123456', '--registry', silent.url, '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } }),
    )
    expect(r.code, r.all).toBe(1)
    expect(seconds).toBeLessThan(30)
    expect(r.stderr).toContain('EREGISTRYUNREACHABLE')
    expect(r.stderr).toContain(silent.host)
    expect(r.stderr).toMatch(/did not answer/)
    const view = parseJson<{ state: string }>((await sb.run(['view', id, '--json', '--no-review', '--backend', sb.backend])).stdout)
    expect(view.state).toBe('pending')
  }, 60_000)

  it('staging fails within 30 s naming the registry', async () => {
    const silent = await badServer('silent')
    const sb = await sandbox()
    const pkg = await sb.makePackage(uniqueName('net-stage'), { version: '1.0.0' })
    const [r, seconds] = await timed(() => sb.run(['--backend', sb.backend, '--registry', silent.url], { cwd: pkg }))
    expect(r.code, r.all).toBe(1)
    expect(seconds).toBeLessThan(30)
    expect(r.stderr).toContain(silent.host)
  }, 60_000)

  it('view on a registry backend fails within 30 s naming the registry', async () => {
    const silent = await badServer('silent')
    const sb = await sandbox()
    const [r, seconds] = await timed(() => sb.run(['view', '3f2a9c1e-0000-4000-8000-000000000000', '--backend', `registry+${silent.url}`]))
    expect(r.code, r.all).toBe(1)
    expect(seconds).toBeLessThan(30)
    expect(r.stderr).toContain(silent.host)
  }, 60_000)

  it('an S3 endpoint that never answers fails within 30 s naming the endpoint', async () => {
    const silent = await badServer('silent')
    const sb = await sandbox()
    const env = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'not-a-secret-example', AWS_REGION: 'us-east-1' }
    const [r, seconds] = await timed(() => sb.run(['list', '--backend', `s3://bucket/x?endpoint=http://${silent.host}&forcePathStyle=true`], { env }))
    expect(r.code, r.all).toBe(1)
    expect(seconds).toBeLessThan(30)
    expect(r.stderr).toContain('EBACKENDUNREACHABLE')
    expect(r.stderr).toContain(silent.host)
  }, 60_000)
})

describe('a server that is not an npm registry', () => {
  it('a plain web server (404 pages, 501 to PUT) is refused quickly: the publish is not retried for a minute', async () => {
    const plain = await badServer('plain')
    const { sb, id } = await staged()
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), plain.url)
    const [r, seconds] = await timed(() =>
      sb.run(['approve', id, '--yes', '--otp', '123456', '--registry', plain.url, '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } }),
    )
    expect(r.code, r.all).toBe(1)
    expect(seconds).toBeLessThan(15)
    expect(plain.requests.filter((q) => q.method === 'PUT').length).toBeLessThanOrEqual(1)
    expect(r.stderr).toMatch(/HTML/)
    expect(r.stderr).toContain(plain.url)
    const view = parseJson<{ state: string; claim?: unknown }>((await sb.run(['view', id, '--json', '--no-review', '--backend', sb.backend])).stdout)
    expect(view.state).toBe('pending')
  }, 120_000)

  it('an HTML answer is reported as HTML, not as a network problem', async () => {
    const html = await badServer('html')
    const sb = await sandbox()
    const pkg = await sb.makePackage(uniqueName('net-html'), { version: '1.0.0' })
    const r = await sb.run(['--backend', sb.backend, '--registry', html.url], { cwd: pkg })
    expect(r.code, r.all).toBe(1)
    expect(r.stderr).toMatch(/answered with HTML, not JSON: is http:\/\/127\.0\.0\.1:\d+\/ an npm registry\?/)
    expect(r.stderr).not.toMatch(/network/i)
  }, 60_000)

  it('invalid JSON is reported as invalid JSON, not as a network problem', async () => {
    const garbage = await badServer('garbage')
    const sb = await sandbox()
    const r = await sb.run(['list', '--backend', `registry+${garbage.url}`])
    expect(r.code, r.all).toBe(1)
    expect(r.stderr).toMatch(/invalid JSON/)
    expect(r.stderr).toContain(garbage.url)
    expect(r.stderr).not.toMatch(/network/i)
  }, 60_000)
})

describe('a registry that went away while npm\'s cache remembers it', () => {
  it('view warns and shows no review, approve and staging refuse: nothing is compared with stale data', async () => {
    const sb = await sandbox()
    const name = uniqueName('net-stale')
    // 1.0.0 is published, so the package document is in npm's cache after one look through the proxy.
    const v1 = await sb.makePackage(name, { version: '1.0.0' })
    const publisherRc = await publisher.writeNpmrc(path.join(sb.dir, 'publisher'), registry.url)
    const pub = await run('npm', ['publish', '--registry', registry.url, '--ignore-scripts'], { cwd: v1, env: { ...sb.env, NPM_CONFIG_USERCONFIG: publisherRc } })
    expect(pub.code, pub.all).toBe(0)
    const proxy = await startRegistryProxy(registry)
    await fs.writeFile(path.join(v1, 'package.json'), JSON.stringify({ name, version: '1.0.1' }))
    const st = await sb.run(['--json', '--backend', sb.backend, '--registry', proxy.url], { cwd: v1 })
    expect(st.code, st.all).toBe(0)
    const { id } = parseJson<{ id: string }>(st.stdout)
    const warm = await sb.run(['view', id, '--json', '--backend', sb.backend])
    expect(parseJson<{ review: unknown }>(warm.stdout).review, warm.stderr).not.toBeNull()

    await proxy.stop()
    // Keep the port: under a parallel run another test's server could otherwise take it and answer.
    const port = Number(new URL(proxy.url).port)
    const dead = net.createServer((socket) => socket.destroy())
    await new Promise<void>((resolve, reject) => dead.once('error', reject).listen(port, '127.0.0.1', () => resolve()))
    onTestFinished(() => new Promise<void>((resolve) => dead.close(() => resolve())))
    const view = await sb.run(['view', id, '--json', '--backend', sb.backend])
    expect(view.code, view.all).toBe(0)
    expect(parseJson<{ review: unknown }>(view.stdout).review).toBeNull()
    expect(view.stderr).toContain('EREGISTRYUNREACHABLE')
    expect(view.stderr).toContain(proxy.host)

    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), proxy.url)
    const approve = await sb.run(['approve', id, '--yes', '--otp', '123456', '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
    expect(approve.code, approve.all).toBe(1)
    expect(approve.stderr).toContain('EREGISTRYUNREACHABLE')

    const diff = await sb.run(['diff', id, '--backend', sb.backend])
    expect(diff.code, diff.all).toBe(1)
    expect(diff.stderr).toContain('EREGISTRYUNREACHABLE')

    await fs.writeFile(path.join(v1, 'package.json'), JSON.stringify({ name, version: '1.0.2' }))
    const stage = await sb.run(['--backend', sb.backend, '--registry', proxy.url], { cwd: v1 })
    expect(stage.code, stage.all).toBe(1)
    expect(stage.stderr).toContain('EREGISTRYUNREACHABLE')
    expect(stage.stderr).toMatch(/cache/)

    // npm's --registry: review and diff against a registry that answers, instead of the recorded one.
    const elsewhere = await sb.run(['view', id, '--json', '--registry', registry.url, '--backend', sb.backend])
    expect(parseJson<{ review: { baseline: { version: string } } | null }>(elsewhere.stdout).review?.baseline.version, elsewhere.stderr).toBe('1.0.0')
    const diffElsewhere = await sb.run(['diff', id, '--json', '--registry', registry.url, '--backend', sb.backend])
    expect(diffElsewhere.code, diffElsewhere.all).toBe(0)
  }, 120_000)
})

describe('download', () => {
  it('never follows a symlink planted at the temporary or the final name', async () => {
    const { sb, name, id } = await staged()
    const { runDownload } = await import('../../src/commands/download.js')
    const dest = path.join(sb.dir, 'out')
    await fs.mkdir(dest)
    const outside = path.join(sb.dir, 'outside.txt')
    await fs.writeFile(outside, 'precious\n')
    const file = path.join(dest, `${name}-1.0.0-${id}.tgz`)
    // The old temporary name was `${file}.${pid}.tmp`: plant it for this process.
    await fs.symlink(outside, `${file}.${process.pid}.tmp`)
    const chunks: string[] = []
    const sink = new (await import('node:stream')).Writable({
      write: (c, _e, cb) => {
        chunks.push(String(c))
        cb()
      },
    })
    await runDownload(id, { dest, backend: sb.backend }, { cwd: sb.dir, env: sb.env, stdout: sink, stderr: sink, now: () => new Date(), newId: () => id })
    expect(await fs.readFile(outside, 'utf8')).toBe('precious\n')
    expect((await fs.lstat(file)).isFile()).toBe(true)

    // A symlink at the final name is replaced, not written through.
    await fs.rm(file)
    await fs.symlink(outside, file)
    await runDownload(id, { dest, backend: sb.backend }, { cwd: sb.dir, env: sb.env, stdout: sink, stderr: sink, now: () => new Date(), newId: () => id })
    expect(await fs.readFile(outside, 'utf8')).toBe('precious\n')
    expect((await fs.lstat(file)).isFile()).toBe(true)
    // Nothing else is left behind in the folder.
    expect((await fs.readdir(dest)).filter((f) => f.endsWith('.tmp') && !f.includes(String(process.pid)))).toEqual([])
  }, 60_000)

  it('refuses a --dest that exists and is not a folder', async () => {
    const { sb, id } = await staged()
    await fs.writeFile(path.join(sb.dir, 'afile'), 'x')
    const r = await sb.run(['download', id, '--dest', 'afile', '--backend', sb.backend])
    expect(r.code, r.all).toBe(2)
    expect(r.stderr).toContain('EUSAGE')
    expect(await fs.readFile(path.join(sb.dir, 'afile'), 'utf8')).toBe('x')
  }, 60_000)
})
