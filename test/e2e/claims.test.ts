/**
 * An approval claim is let go on every way out: a terminal closed (SIGHUP) or a process stopped
 * (SIGTERM) at the one-time password prompt puts the release back to pending; a process stopped
 * while its publish is in flight leaves a claim that the same approver on the same host takes over
 * at once, without publishing twice; a live claim of someone else is a clear error.
 */
import { spawn } from 'node:child_process'
import { promises as fs, readFileSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { startRegistryProxy } from '../support/registry-proxy.js'
import { runInPty } from '../support/pty.js'
import { BIN, parseJson, publishedIntegrity } from '../support/cli.js'
import { stageForApprover } from '../support/staged.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

async function staged(targetRegistry = registry.url) {
  const release = await stageForApprover(registry, 'claims', targetRegistry)
  const recordFile = path.join(release.sb.store, 'records', `${release.id}.json`)
  const readRecord = async () => parseJson<{ state: string; claim?: { by: string; host?: string; pid?: number } }>(await fs.readFile(recordFile, 'utf8'))
  return { ...release, recordFile, readRecord }
}

describe('a signal at the one-time password prompt', () => {
  for (const [signal, toGroup] of [['SIGHUP', true], ['SIGTERM', false], ['SIGINT', false]] as const) {
    it(`${signal}${toGroup ? ' (the terminal closed)' : ''} puts the release back to pending`, async () => {
      const { sb, id, recordFile, readRecord, env } = await staged()
      let claimed: { state: string; claim?: { pid?: number } } | undefined
      const result = await runInPty(process.execPath, [BIN, 'approve', id, '--yes', '--backend', sb.backend], {
        cwd: sb.dir,
        env,
        steps: [
          // A wrong code: the claim is taken, the registry refuses, and the approver is asked again.
          { waitFor: /One-time password/, send: '000000' },
          {
            waitFor: /not accepted[\s\S]*One-time password/,
            send: '',
            enter: false,
            onMatch: (pid) => {
              claimed = parseJson(readFileSync(recordFile, 'utf8'))
              process.kill(toGroup ? -pid : pid, signal)
            },
          },
        ],
        timeoutMs: 60_000,
      })
      expect(claimed?.state, result.text).toBe('approving')
      expect(result.exitCode).toBe({ SIGHUP: 129, SIGINT: 130, SIGTERM: 143 }[signal])
      const after = await readRecord()
      expect(after.state, result.text).toBe('pending')
      expect(after.claim).toBeUndefined()
    })
  }
})

describe('a process stopped while its publish is in flight', () => {
  it('leaves a claim the same approver on the same host takes over at once; the version is published once', async () => {
    const proxy = await startRegistryProxy(registry, {
      // The registry publishes, but its answer arrives long after the approver was stopped.
      delayAnswer: (method, p) => (method === 'PUT' && !p.startsWith('/-/') ? 30_000 : undefined),
    })
    try {
      const { sb, name, id, integrity, approver, readRecord, env } = await staged(proxy.url)
      const child = spawn(process.execPath, [BIN, 'approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { cwd: sb.dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (d: Buffer) => (output += d.toString()))
      child.stderr.on('data', (d: Buffer) => (output += d.toString()))
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      const puts = () => proxy.requests.filter((q) => q.method === 'PUT' && !q.path.startsWith('/-/'))
      for (let i = 0; i < 600 && !puts().some((q) => q.status !== undefined); i++) await new Promise((r) => setTimeout(r, 100))
      expect(puts().length, output).toBe(1)
      child.kill('SIGTERM')
      expect(await exited, output).toBe(143)
      const left = await readRecord()
      expect(left.state).toBe('approving')
      expect(left.claim?.pid).toBe(child.pid)

      const started = Date.now()
      const next = await sb.run(['approve', id, '--yes', '--otp', await approver.otp(), '--json', '--backend', sb.backend], { env })
      expect(next.code, next.all).toBe(0)
      expect(Date.now() - started).toBeLessThan(20_000)
      expect(parseJson<{ state: string; alreadyPublished: boolean }>(next.stdout)).toMatchObject({ state: 'approved', alreadyPublished: true })
      expect(puts()).toHaveLength(1)
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })
})

describe('a process stopped while its publish is in flight, answered soon after', () => {
  it('waits for the answer and marks the release approved before exiting', async () => {
    const proxy = await startRegistryProxy(registry, { delayAnswer: (method, p) => (method === 'PUT' && !p.startsWith('/-/') ? 2_000 : undefined) })
    try {
      const { sb, name, id, integrity, approver, readRecord, env } = await staged(proxy.url)
      const child = spawn(process.execPath, [BIN, 'approve', id, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { cwd: sb.dir, env, stdio: 'ignore' })
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      const put = () => proxy.requests.find((q) => q.method === 'PUT' && !q.path.startsWith('/-/') && q.status !== undefined)
      for (let i = 0; i < 1200 && !put(); i++) await new Promise((r) => setTimeout(r, 50))
      expect(put()).toBeDefined()
      child.kill('SIGTERM')
      expect(await exited).toBe(143)
      expect((await readRecord()).state).toBe('approved')
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })
})

describe('a claim held by someone else', () => {
  it('says who holds it, since when, on which host, and how to go on', async () => {
    const { sb, id, recordFile, env } = await staged()
    const record = parseJson<Record<string, unknown>>(await fs.readFile(recordFile, 'utf8'))
    const at = new Date(Date.now() - 5_000).toISOString()
    await fs.writeFile(recordFile, JSON.stringify({ ...record, state: 'approving', claim: { by: 'alice', at, host: 'build-box-7', pid: 4242 } }))
    const r = await sb.run(['approve', id, '--yes', '--otp', '000000', '--wait', '1s', '--backend', sb.backend], { env })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ECONFLICT')
    // Times are shown the one way the list shows them: 2026-12-02 14:37 UTC (5s ago).
    expect(r.stderr).toContain(`being approved by alice on build-box-7 (pid 4242) since ${at.slice(0, 16).replace('T', ' ')} UTC (`)
    expect(r.stderr).toContain('--wait')
    expect(r.stderr).toContain('STAGE_PUBLISH_CLAIM_TIMEOUT')
    expect(parseJson<{ state: string }>(await fs.readFile(recordFile, 'utf8')).state).toBe('approving')
  })
})
