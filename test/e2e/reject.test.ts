/**
 * `reject` as a maintainer expects it: it asks before refusing a release on a terminal (--yes skips
 * the question; without a terminal --yes is required), says so when the release was already
 * rejected instead of silently dropping the new reason, and never stores control characters.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { runInPty } from '../support/pty.js'
import { BIN, parseJson, sandbox, uniqueName, type Sandbox } from '../support/cli.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

async function staged(): Promise<{ sb: Sandbox; id: string; name: string }> {
  const sb = await sandbox()
  const name = uniqueName('reject')
  const pkg = await sb.makePackage(name, { version: '1.0.0' })
  const r = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
  expect(r.code, r.all).toBe(0)
  return { sb, id: parseJson<{ id: string }>(r.stdout).id, name }
}

const recordOf = async (sb: Sandbox, id: string) =>
  parseJson<{ state: string; rejectReason?: string; rejectedBy?: string; rejectedAt?: string }>(await fs.readFile(path.join(sb.store, 'records', `${id}.json`), 'utf8'))

describe('reject', () => {
  it('without a terminal needs --yes, and names it; nothing is rejected', async () => {
    const { sb, id } = await staged()
    const r = await sb.run(['reject', id, '--reason', 'no', '--backend', sb.backend])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--yes')
    expect((await recordOf(sb, id)).state).toBe('pending')
    await fs.access(path.join(sb.store, 'tarballs', `${id}.tgz`))
  })

  it('asks for confirmation on a terminal: "n" keeps the release, "y" rejects it', async () => {
    const { sb, id, name } = await staged()
    const no = await runInPty(process.execPath, [BIN, 'reject', id, '--backend', sb.backend], {
      cwd: sb.dir,
      env: sb.env,
      steps: [{ waitFor: /Reject [\s\S]*\(y\/N\)/, send: 'n' }],
    })
    expect(no.text).toContain(`${name}@1.0.0`)
    expect(no.exitCode, no.text).toBe(1)
    expect(no.text).toContain('nothing was rejected')
    expect((await recordOf(sb, id)).state).toBe('pending')

    const yes = await runInPty(process.execPath, [BIN, 'reject', id, '--reason', 'not ours', '--backend', sb.backend], {
      cwd: sb.dir,
      env: sb.env,
      steps: [{ waitFor: /Reject [\s\S]*\(y\/N\)/, send: 'y' }],
    })
    expect(yes.exitCode, yes.text).toBe(0)
    expect(await recordOf(sb, id)).toMatchObject({ state: 'rejected', rejectReason: 'not ours' })
  })

  it('--yes skips the question on a terminal', async () => {
    const { sb, id } = await staged()
    const r = await runInPty(process.execPath, [BIN, 'reject', id, '--yes', '--backend', sb.backend], { cwd: sb.dir, env: sb.env })
    expect(r.exitCode, r.text).toBe(0)
    expect(r.text).not.toMatch(/Reject .*\?/)
    expect((await recordOf(sb, id)).state).toBe('rejected')
  })

  it('says who rejected an already rejected release, when and why, and keeps the first reason', async () => {
    const { sb, id, name } = await staged()
    const first = await sb.run(['reject', id, '--yes', '--reason', 'first reason', '--backend', sb.backend])
    expect(first.code, first.all).toBe(0)
    const before = await recordOf(sb, id)
    const again = await sb.run(['reject', id, '--yes', '--reason', 'second reason', '--backend', sb.backend])
    expect(again.code, again.all).toBe(0)
    expect(again.all).toContain(`${name}@1.0.0 was already rejected by ${before.rejectedBy}`)
    expect(again.all).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d UTC \(\d+s ago\)/)
    expect(again.all).toContain('first reason')
    expect(again.all).toMatch(/second reason.* not recorded/)
    expect(await recordOf(sb, id)).toEqual(before)
  })

  it('refuses a --reason with control or bidi characters: nothing is stored', async () => {
    const { sb, id } = await staged()
    for (const reason of ['ok\u001b[2J', 'line\nbreak', 'abc\u202edcba']) {
      const r = await sb.run(['reject', id, '--yes', '--reason', reason, '--backend', sb.backend])
      expect(r.code, r.all).toBe(2)
      expect(r.stderr).toContain('EUSAGE')
      expect(r.stderr).toContain('--reason')
      expect((await recordOf(sb, id)).state).toBe('pending')
    }
  })
})

describe('reject and approve of a rejected record written by someone else', () => {
  it('show its who and why escaped: nothing from the record reaches the terminal raw', async () => {
    const sb = await sandbox()
    const { sampleRecord } = await import('../support/records.js')
    const record = sampleRecord({
      id: crypto.randomUUID(),
      createdAt: new Date(Date.now() - 60_000).toISOString(),
      expiresAt: new Date(Date.now() + 86400_000).toISOString(),
      state: 'rejected',
      rejectedAt: new Date().toISOString(),
      rejectedBy: 'mallory\u001b]0;owned\u0007',
      rejectReason: 'fine\u001b[2J\u202eevil',
    })
    await fs.mkdir(path.join(sb.store, 'records'), { recursive: true })
    await fs.writeFile(path.join(sb.store, 'records', `${record.id}.json`), JSON.stringify(record))
    const again = await sb.run(['reject', record.id, '--yes', '--backend', sb.backend])
    const approve = await sb.run(['approve', record.id, '--yes', '--otp', '123456', '--backend', sb.backend])
    for (const r of [again, approve]) {
      expect(r.all).not.toMatch(/[\u001b\u0007\u202e]/)
    }
  })
})
