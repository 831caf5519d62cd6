/**
 * Approval as a person does it (a real pseudo-terminal), web-based 2FA, several approvers at
 * once, and an approver that crashed half-way — all against the real Verdaccio.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { startRegistryProxy } from '../support/registry-proxy.js'
import { runInPty } from '../support/pty.js'
import { BIN, parseJson, publishedIntegrity, run, sandbox, uniqueName } from '../support/cli.js'
import { stageForApprover } from '../support/staged.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

const staged = () => stageForApprover(registry, 'approve')

const CONFIRM = /Publish .+\?/
const OTP_PROMPT = /One-time password/

describe('interactive approval in a terminal', () => {
  it('asks to confirm, then for a hidden one-time password, and publishes', async () => {
    const { sb, name, id, integrity, approver, env } = await staged()
    const otp = await approver.otp()
    const result = await runInPty(process.execPath, [BIN, 'approve', id.slice(0, 8), '--backend', sb.backend], {
      cwd: sb.dir,
      env,
      steps: [
        { waitFor: CONFIRM, send: 'y' },
        { waitFor: OTP_PROMPT, send: otp },
      ],
      timeoutMs: 60_000,
    })
    expect(result.exitCode, result.text).toBe(0)
    // What was approved is shown before the prompts.
    expect(result.text.indexOf(integrity)).toBeGreaterThan(-1)
    expect(result.text.indexOf(integrity)).toBeLessThan(result.text.search(OTP_PROMPT))
    expect(result.text).toContain(`+ ${name}@1.0.0`)
    // The code typed at the prompt is never echoed.
    expect(result.output).not.toContain(otp)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
  })

  it('asks again after a code the registry refuses, and publishes with the next one', async () => {
    const { sb, name, id, integrity, approver, env } = await staged()
    const otp = await approver.otp()
    const result = await runInPty(process.execPath, [BIN, 'approve', id, '--yes', '--backend', sb.backend], {
      cwd: sb.dir,
      env,
      steps: [
        { waitFor: OTP_PROMPT, send: '000000' },
        { waitFor: /not accepted[\s\S]*One-time password/, send: otp },
      ],
      timeoutMs: 60_000,
    })
    expect(result.exitCode, result.text).toBe(0)
    expect(result.output).not.toContain(otp)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
  })

  it('publishes nothing when the maintainer says no', async () => {
    const { sb, name, id, env } = await staged()
    const result = await runInPty(process.execPath, [BIN, 'approve', id, '--backend', sb.backend], {
      cwd: sb.dir,
      env,
      steps: [{ waitFor: CONFIRM, send: 'n' }],
    })
    expect(result.exitCode).toBe(1)
    expect(result.text).toContain('nothing was published')
    expect(result.text).not.toMatch(OTP_PROMPT)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()
    expect(parseJson<{ state: string }>((await sb.run(['view', id, '--json', '--backend', sb.backend])).stdout).state).toBe('pending')
  })

  it('refuses a tampered tarball before any prompt', async () => {
    const { sb, id, env } = await staged()
    const file = path.join(sb.store, 'tarballs', `${id}.tgz`)
    const bytes = await fs.readFile(file)
    bytes.writeUInt8(bytes.readUInt8(10) ^ 0x01, 10)
    await fs.writeFile(file, bytes)
    const result = await runInPty(process.execPath, [BIN, 'approve', id, '--backend', sb.backend], { cwd: sb.dir, env })
    expect(result.exitCode).toBe(1)
    expect(result.text).toContain('EINTEGRITY')
    expect(result.text).not.toMatch(CONFIRM)
    expect(result.text).not.toMatch(OTP_PROMPT)
  })
})

describe('web-based 2FA (authUrl / doneUrl)', () => {
  it('prints the URL, waits for the sign-in, and publishes with the token it gets', async () => {
    const approverUser = await registry.createUser()
    const proxy = await startRegistryProxy(registry, { webAuth: { user: approverUser } })
    try {
      const sb = await sandbox()
      const name = uniqueName('webauth')
      const pkg = await sb.makePackage(name, { version: '1.0.0' })
      const r = await sb.run(['--json', '--backend', sb.backend, '--registry', proxy.url], { cwd: pkg })
      expect(r.code, r.all).toBe(0)
      const { id, integrity } = parseJson<{ id: string; integrity: string }>(r.stdout)
      const npmrc = await approverUser.writeNpmrc(path.join(sb.dir, 'approver'), proxy.url)
      const approving = sb.run(['approve', id, '--yes', '--auth-type', 'web', '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
      const authUrl = await proxy.waitForWebAuth({ timeoutMs: 30_000 })
      proxy.completeWebAuth(authUrl)
      const done = await approving
      expect(done.code, done.all).toBe(0)
      expect(done.stderr).toContain(authUrl)
      expect(done.stdout).toContain(`+ ${name}@1.0.0`)
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
      expect(proxy.requests.filter((q) => q.method === 'PUT' && q.status === 201)).toHaveLength(1)
    } finally {
      await proxy.stop()
    }
  })
})

describe('several approvers at once', () => {
  it('publishes exactly once; every other approver is told it was already approved', async () => {
    const approverUser = await registry.createUser()
    const proxy = await startRegistryProxy(registry)
    try {
      const sb = await sandbox()
      const name = uniqueName('race')
      const pkg = await sb.makePackage(name, { version: '1.0.0' })
      const r = await sb.run(['--json', '--backend', sb.backend, '--registry', proxy.url], { cwd: pkg })
      const { id, integrity } = parseJson<{ id: string; integrity: string }>(r.stdout)
      const npmrc = await approverUser.writeNpmrc(path.join(sb.dir, 'approver'), proxy.url)
      const otp = await approverUser.otp()
      const results = await Promise.all(
        Array.from({ length: 4 }, () => sb.run(['approve', id, '--yes', '--otp', otp, '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })),
      )
      for (const res of results) expect(res.code, res.all).toBe(0)
      expect(results.filter((res) => res.stdout.includes(`+ ${name}@1.0.0`))).toHaveLength(1)
      expect(results.filter((res) => res.stdout.includes('already approved'))).toHaveLength(3)
      const puts = proxy.requests.filter((q) => q.method === 'PUT' && !q.path.startsWith('/-/'))
      expect(puts).toHaveLength(1)
      expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
    } finally {
      await proxy.stop()
    }
  })
})

describe('a crash half-way', () => {
  it('lets the next approver take over a stale claim and finish without publishing twice', async () => {
    const { sb, name, id, integrity, approver, env } = await staged()
    // The crashed approver published, then died before marking the record approved.
    const tgz = path.join(sb.dir, 'crashed.tgz')
    await fs.copyFile(path.join(sb.store, 'tarballs', `${id}.tgz`), tgz)
    const pub = await run('npm', ['publish', tgz, '--registry', registry.url, '--otp', await approver.otp()], { cwd: sb.dir, env })
    expect(pub.code, pub.all).toBe(0)
    const file = path.join(sb.store, 'records', `${id}.json`)
    const record = parseJson<Record<string, unknown>>(await fs.readFile(file, 'utf8'))
    await fs.writeFile(file, JSON.stringify({ ...record, state: 'approving', claim: { by: 'crashed-approver', at: new Date(Date.now() - 60_000).toISOString() } }))

    // A fresh claim is respected: the second approver waits, then gives up with a clear message.
    const fresh = await sb.run(['approve', id, '--yes', '--otp', '000000', '--wait', '1s', '--backend', sb.backend], { env: { ...env, STAGE_PUBLISH_CLAIM_TIMEOUT: '10m' } })
    expect(fresh.code).not.toBe(0)
    expect(fresh.all).toContain('crashed-approver')

    const r = await sb.run(['approve', id, '--yes', '--otp', '000000', '--json', '--backend', sb.backend], { env: { ...env, STAGE_PUBLISH_CLAIM_TIMEOUT: '30s' } })
    expect(r.code, r.all).toBe(0)
    expect(parseJson<{ state: string; alreadyPublished: boolean }>(r.stdout)).toMatchObject({ state: 'approved', alreadyPublished: true })
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(integrity)
  })
})
