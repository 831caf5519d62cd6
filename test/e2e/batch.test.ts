/**
 * Batch approval against the real Verdaccio 9 with 2FA: one review each, one confirmation, one code.
 * Verdaccio refuses a code it accepted before (a replay), which is exactly a code that "expired" in
 * the middle of a batch: in a terminal the approver is asked once for a fresh one and the batch
 * finishes; without one the run stops cleanly and says what is still pending. Plus --package and
 * --all (through a proxy that accepts a code again while valid, as the public registry does), and a
 * batch in which one release fails its checks: nothing is asked, nothing is published.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { startRegistryProxy } from '../support/registry-proxy.js'
import { runInPty } from '../support/pty.js'
import { BIN, parseJson, publishedIntegrity, run, sandbox, type Sandbox, uniqueName } from '../support/cli.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

interface Summary {
  published: Array<{ id: string; name: string; how: string }>
  failed: Array<{ name: string }>
  pending: Array<{ id: string; name: string; reason: string; error?: { code: string } }>
  complete: boolean
  resume?: string
}

/** `count` independent packages staged into one sandbox; an approver with 2FA and their .npmrc. */
async function stagedMany(count: number, targetRegistry = registry.url, sb?: Sandbox) {
  sb ??= await sandbox()
  const releases: Array<{ id: string; name: string; integrity: string }> = []
  for (let i = 0; i < count; i++) {
    const name = uniqueName(`batch${i}`)
    const pkg = await sb.makePackage(name, { version: '1.0.0' })
    const r = await sb.run(['--json', '--backend', sb.backend, '--registry', targetRegistry], { cwd: pkg })
    expect(r.code, r.all).toBe(0)
    releases.push({ ...parseJson<{ id: string; integrity: string }>(r.stdout), name })
  }
  const approver = await registry.createUser()
  const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), targetRegistry)
  return { sb, releases, approver, env: { ...sb.env, NPM_CONFIG_USERCONFIG: npmrc } }
}

const byName = <T extends { name: string }>(list: T[]) => [...list].sort((a, b) => a.name.localeCompare(b.name))

describe('batch approval', () => {
  it('without a terminal: --otp is the first code; when the registry refuses it as used, it stops cleanly and lists what is pending', async () => {
    const { sb, releases, approver, env } = await stagedMany(3)
    const [first, second, third] = byName(releases)
    const otp = await approver.otp()
    const r = await sb.run(['approve', ...releases.map((x) => x.id), '--yes', '--otp', otp, '--json', '--backend', sb.backend], { env })
    expect(r.code, r.all).toBe(1)
    const summary = parseJson<Summary>(r.stdout)
    expect(summary.complete).toBe(false)
    expect(summary.published.map((p) => p.name)).toEqual([first!.name])
    expect(summary.failed).toEqual([])
    expect(summary.pending.map((p) => [p.name, p.reason])).toEqual([
      [second!.name, 'otp'],
      [third!.name, 'stopped'],
    ])
    expect(summary.pending[0]?.error?.code).toBe('EOTP')
    expect(summary.resume).toBe(`stage-publish approve ${second!.id} ${third!.id} --backend ${sb.backend}`)
    expect(r.all).not.toContain(otp)
    expect(await publishedIntegrity(sb, registry.url, `${first!.name}@1.0.0`)).toBe(first!.integrity)
    expect(await publishedIntegrity(sb, registry.url, `${second!.name}@1.0.0`)).toBeNull()
    // Nothing half-done: the two that were not published are plainly pending again.
    const listed = parseJson<Array<{ id: string; state: string; claim?: unknown }>>((await sb.run(['list', '--json', '--backend', sb.backend])).stdout)
    expect(listed.filter((x) => [second!.id, third!.id].includes(x.id)).map((x) => [x.state, x.claim])).toEqual([
      ['pending', undefined],
      ['pending', undefined],
    ])

    // The human summary says the same, and how to carry on.
    const human = await sb.run(['approve', second!.id, third!.id, '--yes', '--otp', otp, '--backend', sb.backend], { env })
    expect(human.code).toBe(1)
    expect(human.stdout).toMatch(new RegExp(`pending\\s+${second!.name}@1\\.0\\.0: The registry did not accept the one-time password`))
    expect(human.stdout).toMatch(new RegExp(`pending\\s+${third!.name}@1\\.0\\.0: not tried`))
    expect(human.stdout).toContain('with a fresh one-time password')
  })

  it('in a terminal: one confirmation, one code, and one fresh code when the registry refuses the used one', async () => {
    const { sb, releases, approver, env } = await stagedMany(2)
    const [otp1, otp2] = [await approver.otp(), await approver.otp()]
    const result = await runInPty(process.execPath, [BIN, 'approve', ...releases.map((x) => x.id), '--backend', sb.backend], {
      cwd: sb.dir,
      env,
      steps: [
        { waitFor: /Publish these 2 releases to .+\?/, send: 'y' },
        { waitFor: /One-time password from your authenticator/, send: otp1 },
        { waitFor: /no longer accepts that one-time password[\s\S]*One-time password:/, send: otp2 },
      ],
      timeoutMs: 60_000,
    })
    expect(result.exitCode, result.text).toBe(0)
    // Each release was reviewed before the single confirmation.
    const confirm = result.text.search(/Publish these 2 releases/)
    for (const r of releases) expect(result.text.indexOf(`Review of ${r.name}@1.0.0`)).toBeLessThan(confirm)
    expect(result.text.match(/Approve 2 releases/g)).toHaveLength(1)
    expect(result.text.match(/no longer accepts that one-time password/g)).toHaveLength(1)
    expect(result.text).toContain('2 of 2 published')
    expect(result.output).not.toContain(otp1)
    expect(result.output).not.toContain(otp2)
    for (const r of releases) expect(await publishedIntegrity(sb, registry.url, `${r.name}@1.0.0`)).toBe(r.integrity)
  })

  it('--package approves every pending version of a package, lowest first; --all every pending release', async () => {
    const approverUser = await registry.createUser()
    const proxy = await startRegistryProxy(registry, { otpWindow: { user: approverUser } })
    try {
      const sb = await sandbox()
      const name = uniqueName('versions')
      for (const version of ['1.1.0', '1.0.0']) {
        const pkg = await sb.makePackage(name, { version })
        const r = await sb.run(['--json', '--backend', sb.backend, '--registry', proxy.url], { cwd: pkg })
        expect(r.code, r.all).toBe(0)
      }
      const { releases } = await stagedMany(2, proxy.url, sb)
      const npmrc = await approverUser.writeNpmrc(path.join(sb.dir, 'approver2'), proxy.url)
      const env = { NPM_CONFIG_USERCONFIG: npmrc }

      const one = await sb.run(['approve', '--package', name, '--yes', '--otp', await approverUser.otp(), '--json', '--backend', sb.backend], { env })
      expect(one.code, one.all).toBe(0)
      const published = parseJson<Summary & { order: Array<{ name: string; version: string }> }>(one.stdout)
      expect(published.order.map((p) => `${p.name}@${p.version}`)).toEqual([`${name}@1.0.0`, `${name}@1.1.0`])
      expect(published.published.map((p) => p.how)).toEqual(['published', 'published'])
      const puts = proxy.requests.filter((q) => q.method === 'PUT' && q.status === 201)
      expect(puts.map((q) => decodeURIComponent(q.path.slice(1)))).toEqual([name, name])
      // Lowest first, so `latest` ends on the highest.
      const latest = await run('npm', ['view', name, 'dist-tags.latest', '--registry', registry.url, '--prefer-online'], { cwd: sb.dir, env: sb.env })
      expect(latest.stdout.trim()).toBe('1.1.0')

      const all = await sb.run(['approve', '--all', '--yes', '--otp', await approverUser.otp(), '--json', '--backend', sb.backend], { env })
      expect(all.code, all.all).toBe(0)
      expect(parseJson<Summary>(all.stdout).published.map((p) => p.name).sort()).toEqual(releases.map((r) => r.name).sort())
      const none = await sb.run(['approve', '--all', '--yes', '--otp', '123456', '--backend', sb.backend], { env })
      expect(none.code, none.all).toBe(0)
      expect(none.stdout).toContain('Nothing is waiting for approval')
    } finally {
      await proxy.stop()
    }
  })

  it('checks and reviews every release first: one that fails stops the batch before anything is asked', async () => {
    const { sb, releases, env } = await stagedMany(2)
    const [good, bad] = releases
    const file = path.join(sb.store, 'tarballs', `${bad!.id}.tgz`)
    const bytes = await fs.readFile(file)
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 20) ^ 0xff, bytes.length - 20)
    await fs.writeFile(file, bytes)
    const r = await sb.run(['approve', good!.id, bad!.id, '--yes', '--otp', '123456', '--backend', sb.backend], { env })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('EINTEGRITY')
    expect(r.stderr).toContain(`Nothing was published: 1 of 2 releases cannot be approved`)
    expect(r.stderr).toContain(bad!.id)
    expect(r.stderr).not.toContain('Approve 2 releases')
    expect(await publishedIntegrity(sb, registry.url, `${good!.name}@1.0.0`)).toBeNull()
  })

  it('refuses to mix ids with --package or --all, and pins (--expect) with a batch', async () => {
    const sb = await sandbox()
    const id = '00000000-0000-4000-8000-000000000000'
    expect((await sb.run(['approve', id, '--all', '--backend', sb.backend])).code).toBe(2)
    expect((await sb.run(['approve', '--backend', sb.backend])).code).toBe(2)
    const pinned = await sb.run(['approve', id, id.replace('0000-4', '0001-4'), '--expect', `sha512-${'A'.repeat(86)}==`, '--yes', '--otp', '123456', '--backend', sb.backend])
    expect(pinned.code).toBe(2)
    expect(pinned.stderr).toContain('--expect and --verify-local pin one release')
  })
})

describe('batch approval with web-based 2FA', () => {
  it('follows the browser sign-in for each publish the registry asks it for, and publishes them all', async () => {
    const sb = await sandbox()
    const approverUser = await registry.createUser()
    // Every publish is answered with authUrl/doneUrl; the "human" finishes each sign-in after 300 ms.
    const proxy = await startRegistryProxy(registry, { webAuth: { user: approverUser, autoCompleteAfterMs: 300 } })
    try {
      const { releases } = await stagedMany(2, proxy.url, sb)
      const npmrc = await approverUser.writeNpmrc(path.join(sb.dir, 'web-approver'), proxy.url)
      const r = await sb.run(['approve', ...releases.map((x) => x.id), '--yes', '--auth-type', 'web', '--json', '--backend', sb.backend], {
        env: { NPM_CONFIG_USERCONFIG: npmrc },
      })
      expect(r.code, r.all).toBe(0)
      const summary = parseJson<Summary>(r.stdout)
      expect(summary.complete).toBe(true)
      expect(byName(summary.published).map((p) => p.name)).toEqual(byName(releases).map((x) => x.name))
      expect(proxy.challenges.length).toBeGreaterThanOrEqual(2)
      for (const c of proxy.challenges.slice(0, 2)) expect(r.stderr).toContain(c.authUrl)
      for (const x of releases) expect(await publishedIntegrity(sb, registry.url, `${x.name}@1.0.0`)).toBe(x.integrity)
    } finally {
      await proxy.stop()
    }
  })
})
