/**
 * The core loop against a real Verdaccio 9 with staging and TOTP 2FA: stage → list → view →
 * approve with a one-time password → installable with the same integrity. And the ways it must
 * refuse: wrong code, tampered bytes, no terminal, rejected, expired.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry, type TestUser } from '../support/verdaccio.js'
import { parseJson, publishedIntegrity, run, sandbox, uniqueName } from '../support/cli.js'

let registry: TestRegistry

beforeAll(async () => {
  registry = await sharedRegistry()
})


interface Staged {
  id: string
  integrity: string
  shasum: string
  name: string
  version: string
}

/** A sandbox, a package, an approver enrolled in 2FA with their own .npmrc, and the release staged. */
async function stagedRelease(manifest: Record<string, unknown> = {}, files?: Record<string, string>) {
  const sb = await sandbox()
  const name = uniqueName('core-loop')
  const pkg = await sb.makePackage(name, { version: '1.0.0', ...manifest }, files)
  const staged = await sb.run(['--json', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
  expect(staged.code, staged.all).toBe(0)
  const data = parseJson<Staged>(staged.stdout)
  const approver = await registry.createUser()
  const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url)
  const asApprover = { NPM_CONFIG_USERCONFIG: npmrc }
  return { sb, pkg, name, data, approver, asApprover, staged }
}

describe('stage, list, view, approve', () => {
  it('publishes only after approval, with the integrity that was staged', async () => {
    const { sb, name, data, approver, asApprover, staged } = await stagedRelease()
    expect(data.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(data.integrity).toMatch(/^sha512-/)
    // --json keeps stdout a single JSON document: the human contents block is not printed.
    expect(staged.stderr).not.toContain('Tarball Contents')

    // Staged is not public: npm cannot see it.
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()

    const list = await sb.run(['list', '--backend', sb.backend])
    expect(list.code).toBe(0)
    expect(list.stdout).toContain(`${name}@1.0.0`)
    expect(list.stdout).toContain(data.id.slice(0, 8))
    expect(list.stdout).toContain('pending')

    const view = await sb.run(['view', data.id.slice(0, 8), '--backend', sb.backend])
    expect(view.code, view.all).toBe(0)
    expect(view.stdout).toContain('package.json')
    expect(view.stdout).toContain('index.js')
    expect(view.stdout).toContain(data.integrity)

    const otp = await approver.otp()
    const approve = await sb.run(['approve', data.id, '--yes', '--otp', otp, '--backend', sb.backend], { env: asApprover })
    expect(approve.code, approve.all).toBe(0)
    expect(approve.stdout.trim()).toBe(`+ ${name}@1.0.0`)
    expect(approve.all).not.toContain(otp)
    expect(approve.all).not.toContain(approver.token)

    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(data.integrity)

    // Installable, and npm records the same integrity in the lockfile.
    const consumer = path.join(sb.dir, 'consumer')
    await fs.mkdir(consumer)
    await fs.writeFile(path.join(consumer, 'package.json'), '{"name":"consumer","version":"1.0.0","private":true}')
    const install = await run('npm', ['install', `${name}@1.0.0`, '--registry', registry.url, '--ignore-scripts'], { cwd: consumer, env: sb.env })
    expect(install.code, install.all).toBe(0)
    const lock = parseJson<{ packages: Record<string, { integrity?: string }> }>(await fs.readFile(path.join(consumer, 'package-lock.json'), 'utf8'))
    expect(lock.packages[`node_modules/${name}`]?.integrity).toBe(data.integrity)

    const after = parseJson<{ state: string; approvedBy: string; approvedAt: string }>((await sb.run(['view', data.id, '--json', '--backend', sb.backend])).stdout)
    expect(after.state).toBe('approved')
    expect(after.approvedBy).toBe(approver.name)
    expect(Date.parse(after.approvedAt)).toBeGreaterThan(0)

    // Approving again is a no-op that says who did it.
    const again = await sb.run(['approve', data.id, '--yes', '--otp', '000000', '--backend', sb.backend], { env: asApprover })
    expect(again.code).toBe(0)
    expect(again.stdout).toContain(`already approved by ${approver.name}`)

    // Not pending any more: plain list hides it, --all shows it.
    expect((await sb.run(['list', '--backend', sb.backend])).stdout).not.toContain(`${name}@1.0.0`)
    expect((await sb.run(['list', '--all', '--backend', sb.backend])).stdout).toContain('approved')
  })

  it('publishes nothing with a wrong one-time password and leaves the release pending', async () => {
    const { sb, name, data, asApprover } = await stagedRelease()
    const r = await sb.run(['approve', data.id, '--yes', '--otp', '000000', '--backend', sb.backend], { env: asApprover })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EOTP')
    expect(r.stderr).toMatch(/did not accept the one-time password/)
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()
    const view = parseJson<{ state: string; claim?: unknown }>((await sb.run(['view', data.id, '--json', '--backend', sb.backend])).stdout)
    expect(view.state).toBe('pending')
    expect(view.claim).toBeUndefined()
  })

  it('refuses to approve without a terminal unless --otp is given, naming the flag', async () => {
    const { sb, name, data, asApprover } = await stagedRelease()
    const r = await sb.run(['approve', data.id, '--yes', '--backend', sb.backend], { env: asApprover })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--otp')
    const noYes = await sb.run(['approve', data.id, '--otp', '123456', '--backend', sb.backend], { env: asApprover })
    expect(noYes.code).toBe(2)
    expect(noYes.stderr).toContain('--yes')
    expect(noYes.all).not.toContain('123456')
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()
  })

  it('refuses a tampered tarball before asking for anything, and publishes nothing', async () => {
    const { sb, name, data, approver, asApprover } = await stagedRelease()
    const file = path.join(sb.store, 'tarballs', `${data.id}.tgz`)
    const bytes = await fs.readFile(file)
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 20) ^ 0xff, bytes.length - 20)
    await fs.writeFile(file, bytes)
    const otp = await approver.otp()
    const r = await sb.run(['approve', data.id, '--yes', '--otp', otp, '--backend', sb.backend], { env: asApprover })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EINTEGRITY')
    expect(r.stderr).not.toContain('Approve ')
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBeNull()
    const dl = await sb.run(['download', data.id, '--backend', sb.backend])
    expect(dl.code).toBe(1)
    expect(dl.stderr).toContain('EINTEGRITY')
  })

  it('refuses a tarball whose package.json names another version than the record', async () => {
    const first = await stagedRelease()
    const { sb, data } = first
    // Swap in a consistent record/tarball pair for another version, then point the record at it.
    const pkg2 = await sb.makePackage(first.name, { version: '9.9.9' })
    const other = await sb.run(['--json', '--backend', `file:${sb.dir}/other-store`, '--registry', registry.url], { cwd: pkg2 })
    expect(other.code, other.all).toBe(0)
    const otherData = parseJson<Staged>(other.stdout)
    await fs.copyFile(path.join(sb.dir, 'other-store', 'tarballs', `${otherData.id}.tgz`), path.join(sb.store, 'tarballs', `${data.id}.tgz`))
    const recordFile = path.join(sb.store, 'records', `${data.id}.json`)
    const record = parseJson<Record<string, unknown>>(await fs.readFile(recordFile, 'utf8'))
    await fs.writeFile(recordFile, JSON.stringify({ ...record, integrity: otherData.integrity }))
    const r = await sb.run(['approve', data.id, '--yes', '--otp', '123456', '--backend', sb.backend], { env: first.asApprover })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EINTEGRITY')
    expect(r.stderr).toContain('9.9.9')
  })

  it('rejects: keeps the record with who, when and why, deletes the bytes, and cannot be approved after', async () => {
    const { sb, data, asApprover } = await stagedRelease()
    const r = await sb.run(['reject', data.id.slice(0, 12), '--yes', '--reason', 'not from our pipeline', '--backend', sb.backend])
    expect(r.code, r.all).toBe(0)
    expect(r.stdout).toContain('rejected')
    const view = parseJson<{ state: string; rejectReason: string; rejectedBy: string; rejectedAt: string }>(
      (await sb.run(['view', data.id, '--json', '--backend', sb.backend])).stdout,
    )
    expect(view).toMatchObject({ state: 'rejected', rejectReason: 'not from our pipeline' })
    expect(view.rejectedBy).toBeTruthy()
    await expect(fs.access(path.join(sb.store, 'tarballs', `${data.id}.tgz`))).rejects.toThrow()
    const approve = await sb.run(['approve', data.id, '--yes', '--otp', '123456', '--backend', sb.backend], { env: asApprover })
    expect(approve.code).toBe(1)
    expect(approve.stderr).toContain('ESTATE')
    expect((await sb.run(['list', '--all', '--backend', sb.backend])).stdout).toContain('rejected')
  })

  it('expires: an expired release cannot be approved and shows as expired', async () => {
    const sb = await sandbox()
    const name = uniqueName('expiring')
    const pkg = await sb.makePackage(name, { version: '1.0.0' })
    const staged = await sb.run(['--json', '--expires-in', '1s', '--backend', sb.backend, '--registry', registry.url], { cwd: pkg })
    expect(staged.code, staged.all).toBe(0)
    const { id } = parseJson<Staged>(staged.stdout)
    await new Promise((r) => setTimeout(r, 1200))
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url)
    const r = await sb.run(['approve', id, '--yes', '--otp', '123456', '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EEXPIRED')
    const list = await sb.run(['list', '--all', '--json', '--backend', sb.backend])
    expect(parseJson<Array<{ id: string; state: string }>>(list.stdout).find((x) => x.id === id)?.state).toBe('expired')
    expect((await sb.run(['list', '--json', '--backend', sb.backend])).stdout.trim()).toBe('[]')
  })

  it('says clearly when the registry is unreachable at approval, and leaves the release pending', async () => {
    const { sb, data, approver } = await stagedRelease()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'offline'), 'http://127.0.0.1:9/')
    const r = await sb.run(['approve', data.id, '--yes', '--otp', '123456', '--registry', 'http://127.0.0.1:9/', '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EREGISTRYUNREACHABLE')
    expect(r.stderr).toContain('127.0.0.1:9')
    expect(r.all).not.toContain(approver.token)
    const view = parseJson<{ state: string; claim?: unknown }>((await sb.run(['view', data.id, '--json', '--no-review', '--backend', sb.backend])).stdout)
    expect(view.state).toBe('pending')
    expect(view.claim).toBeUndefined()
  })

  it('downloads the verified tarball under a safe name', async () => {
    const { sb, name, data } = await stagedRelease()
    const r = await sb.run(['download', data.id, '--dest', 'out', '--json', '--backend', sb.backend])
    expect(r.code, r.all).toBe(0)
    const out = parseJson<{ filename: string; path: string }>(r.stdout)
    expect(out.filename).toBe(`${name}-1.0.0-${data.id}.tgz`)
    const { createHash } = await import('node:crypto')
    const bytes = await fs.readFile(path.join(sb.dir, 'out', out.filename))
    expect(`sha512-${createHash('sha512').update(bytes).digest('base64')}`).toBe(data.integrity)
  })
})

describe('idempotent approval', () => {
  it('marks the release approved when the same bytes are already published, without publishing again', async () => {
    const { sb, name, data, approver, asApprover } = await stagedRelease()
    // Publish the very same bytes by other means (a crashed approval looks like this).
    const tgz = path.join(sb.dir, 'same.tgz')
    await fs.copyFile(path.join(sb.store, 'tarballs', `${data.id}.tgz`), tgz)
    const pub = await run('npm', ['publish', tgz, '--registry', registry.url, '--otp', await approver.otp()], { cwd: sb.dir, env: { ...sb.env, ...asApprover } })
    expect(pub.code, pub.all).toBe(0)
    const r = await sb.run(['approve', data.id, '--yes', '--otp', '000000', '--json', '--backend', sb.backend], { env: asApprover })
    expect(r.code, r.all).toBe(0)
    expect(parseJson<{ state: string; alreadyPublished: boolean }>(r.stdout)).toMatchObject({ state: 'approved', alreadyPublished: true })
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(data.integrity)
  })

  it('refuses, and changes nothing, when different bytes are published under the same version', async () => {
    const { sb, name, data, pkg, approver, asApprover } = await stagedRelease()
    await fs.writeFile(path.join(pkg, 'index.js'), 'module.exports = "something else"\n')
    const pub = await run('npm', ['publish', '--registry', registry.url, '--otp', await approver.otp(), '--ignore-scripts'], { cwd: pkg, env: { ...sb.env, ...asApprover } })
    expect(pub.code, pub.all).toBe(0)
    const published = await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)
    const r = await sb.run(['approve', data.id, '--yes', '--otp', '000000', '--backend', sb.backend], { env: asApprover })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EPUBLISHCONFLICT')
    expect(await publishedIntegrity(sb, registry.url, `${name}@1.0.0`)).toBe(published)
    expect(parseJson<{ state: string }>((await sb.run(['view', data.id, '--json', '--backend', sb.backend])).stdout).state).toBe('pending')
  })
})

describe('secrets', () => {
  it('never shows or stores the token or the one-time password', async () => {
    const { sb, data, approver, asApprover } = await stagedRelease()
    const otp = await approver.otp()
    const outputs: string[] = []
    for (const args of [
      ['list', '--all', '--json'],
      ['view', data.id, '--json'],
      ['approve', data.id, '--yes', '--otp', otp, '--json'],
      ['view', data.id],
    ]) {
      const r = await sb.run([...args, '--backend', sb.backend], { env: asApprover })
      outputs.push(r.all)
    }
    const stored = await fs.readFile(path.join(sb.store, 'records', `${data.id}.json`), 'utf8')
    for (const text of [...outputs, stored]) {
      expect(text).not.toContain(approver.token)
      expect(text).not.toContain(approver.password)
      expect(text).not.toContain(otp)
    }
    const mode = (await fs.stat(path.join(sb.store, 'records', `${data.id}.json`))).mode & 0o777
    expect(mode).toBe(0o600)
    expect((await fs.stat(sb.store)).mode & 0o777).toBe(0o700)
  })
})

export type { TestUser }
