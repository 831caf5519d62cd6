/**
 * Workspace release sets against the real Verdaccio 9 with 2FA: a workspace a → b → c (and a private
 * package) staged as one set, listed as a group, viewed with every member's review, approved with a
 * single one-time password in dependency order (the publish PUTs seen through a proxy: c, b, a), then
 * installed with npm. And the resume path: a member the registry refuses is not published, nor is
 * what depends on it; `approve <set-id>` again publishes only the rest.
 *
 * Verdaccio refuses a code it accepted before (replay); the public registry accepts a code again while
 * it is valid. The proxy's `otpWindow` plays the public registry here (see test/support/registry-proxy.ts),
 * so "one code for the set" is tested as users of the public registry live it.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sharedRegistry, type TestRegistry } from '../support/verdaccio.js'
import { startRegistryProxy, type RegistryProxy } from '../support/registry-proxy.js'
import { parseJson, publishedIntegrity, run } from '../support/cli.js'
import { workspace } from '../support/workspace.js'

let registry: TestRegistry
beforeAll(async () => {
  registry = await sharedRegistry()
})

interface SetJson {
  setId: string
  releases: Array<{ id: string; name: string; version: string; integrity: string; setId: string }>
  skipped: Array<{ name: string; reason: string }>
}

interface Summary {
  setId: string | null
  order: Array<{ name: string }>
  published: Array<{ name: string; how: string }>
  failed: Array<{ name: string; error: { code: string; summary: string } }>
  pending: Array<{ name: string; reason: string; on?: string[] }>
  complete: boolean
  resume?: string
}

const publishPuts = (proxy: RegistryProxy) => proxy.requests.filter((q) => q.method === 'PUT' && !q.path.startsWith('/-/'))
const pathName = (p: string) => decodeURIComponent(p.slice(1))

describe('workspace release sets', () => {
  it('stages a workspace as one set, lists it as a group, and approves it with one code in dependency order; npm installs it', async () => {
    const { sb, root, names } = await workspace()
    const approver = await registry.createUser()
    const proxy = await startRegistryProxy(registry, { otpWindow: { user: approver } })
    try {
      const staged = await sb.run(['--workspaces', '--json', '--backend', sb.backend, '--registry', proxy.url], { cwd: root })
      expect(staged.code, staged.all).toBe(0)
      const set = parseJson<SetJson>(staged.stdout)
      expect(set.setId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(set.releases.map((r) => r.name).sort()).toEqual([names.a, names.b, names.c].sort())
      expect(set.releases.every((r) => r.setId === set.setId)).toBe(true)
      expect(set.skipped).toEqual([{ name: names.p, reason: 'private' }])
      expect(staged.stderr).toContain(`Skipping workspace ${names.p}`)

      // list groups the set; every record carries the set id.
      const list = await sb.run(['list', '--backend', sb.backend])
      expect(list.code, list.all).toBe(0)
      const lines = list.stdout.split('\n')
      const header = lines.findIndex((l) => l.startsWith(`set ${set.setId.slice(0, 8)}`))
      expect(header, list.stdout).toBeGreaterThan(0)
      expect(lines[header]).toContain('release set of 3 packages')
      for (const r of set.releases) expect(lines.slice(header + 1, header + 4).some((l) => l.startsWith(`  ${r.id.slice(0, 8)}`) && l.includes(r.name))).toBe(true)
      const listed = parseJson<Array<{ id: string; setId?: string }>>((await sb.run(['list', '--json', '--backend', sb.backend])).stdout)
      expect(listed.filter((r) => r.setId === set.setId)).toHaveLength(3)

      // view <set-id> shows every member with its review, in publish order.
      const view = await sb.run(['view', set.setId.slice(0, 8), '--json', '--backend', sb.backend])
      expect(view.code, view.all).toBe(0)
      const viewed = parseJson<{ setId: string; complete: boolean; members: Array<{ packageName: string; review: { findings: Array<{ code: string }> } }> }>(view.stdout)
      expect(viewed).toMatchObject({ setId: set.setId, complete: true })
      expect(viewed.members.map((m) => m.packageName)).toEqual([names.c, names.b, names.a])
      for (const m of viewed.members) expect(m.review.findings.map((f) => f.code)).toContain('FIRST_RELEASE')
      const human = await sb.run(['view', set.setId, '--backend', sb.backend])
      expect(human.stdout).toContain(`Release set ${set.setId}: 3 packages, in publish order`)
      expect(human.stdout).toMatch(new RegExp(`1\\. ${names.c}@1\\.0\\.0[\\s\\S]*2\\. ${names.b}@1\\.0\\.0[\\s\\S]*3\\. ${names.a}@1\\.0\\.0`))

      // One code, given once, for the whole set.
      const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), proxy.url)
      const otp = await approver.otp()
      const approve = await sb.run(['approve', set.setId, '--yes', '--otp', otp, '--json', '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
      expect(approve.code, approve.all).toBe(0)
      const summary = parseJson<Summary>(approve.stdout)
      expect(summary).toMatchObject({ setId: set.setId, complete: true, failed: [], pending: [] })
      expect(summary.published.map((p) => [p.name, p.how])).toEqual([
        [names.c, 'published'],
        [names.b, 'published'],
        [names.a, 'published'],
      ])
      expect(approve.all).not.toContain(otp)

      // The registry saw the publishes in dependency order, each once, all carrying the code given once.
      const puts = publishPuts(proxy)
      expect(puts.map((q) => pathName(q.path))).toEqual([names.c, names.b, names.a])
      expect(puts.every((q) => q.status === 201 && q.otp)).toBe(true)
      expect(puts.filter((q) => q.otpReused)).toHaveLength(2)

      // Installed with npm: a brings b and c, each with the integrity that was staged.
      const consumer = path.join(sb.dir, 'consumer')
      await fs.mkdir(consumer)
      await fs.writeFile(path.join(consumer, 'package.json'), '{"name":"consumer","version":"1.0.0","private":true}')
      const install = await run('npm', ['install', `${names.a}@1.0.0`, '--registry', registry.url, '--ignore-scripts'], { cwd: consumer, env: sb.env })
      expect(install.code, install.all).toBe(0)
      const lock = parseJson<{ packages: Record<string, { integrity?: string }> }>(await fs.readFile(path.join(consumer, 'package-lock.json'), 'utf8'))
      for (const r of set.releases) expect(lock.packages[`node_modules/${r.name}`]?.integrity).toBe(r.integrity)

      // Approving the set again publishes nothing twice.
      const again = await sb.run(['approve', set.setId, '--yes', '--otp', '000000', '--json', '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
      expect(again.code, again.all).toBe(0)
      expect(parseJson<Summary>(again.stdout).published.map((p) => p.how)).toEqual(['already-approved', 'already-approved', 'already-approved'])
      expect(publishPuts(proxy)).toHaveLength(3)
    } finally {
      await proxy.stop()
    }
  })

  it('does not publish what depends on a member that failed, says how to resume, and resumes where it stopped', async () => {
    const { sb, root, names } = await workspace()
    const approver = await registry.createUser()
    const proxy = await startRegistryProxy(registry, { otpWindow: { user: approver } })
    try {
      const staged = await sb.run(['-w', names.a, '-w', 'packages/b', '-w', names.c, '--json', '--backend', sb.backend, '--registry', proxy.url], { cwd: root })
      expect(staged.code, staged.all).toBe(0)
      const { setId } = parseJson<SetJson>(staged.stdout)
      const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), proxy.url)
      const asApprover = { NPM_CONFIG_USERCONFIG: npmrc }

      // The registry refuses b (a policy, an outage: anything that is not the release's fault).
      proxy.refuse = (method, p) => (method === 'PUT' && pathName(p) === names.b ? { status: 403, error: `forbidden: ${names.b} is frozen today` } : undefined)
      const first = await sb.run(['approve', setId, '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env: asApprover })
      expect(first.code, first.all).toBe(1)
      expect(first.stdout).toContain(`+ ${names.c}@1.0.0`)
      expect(first.stdout).toMatch(new RegExp(`published\\s+${names.c}@1\\.0\\.0`))
      expect(first.stdout).toMatch(new RegExp(`failed\\s+${names.b}@1\\.0\\.0: EREGISTRY: .*frozen today`))
      expect(first.stdout).toMatch(new RegExp(`pending\\s+${names.a}@1\\.0\\.0: it depends on ${names.b}@1\\.0\\.0, which was not published`))
      expect(first.stdout).toContain(`stage-publish approve ${setId} --backend ${sb.backend}`)
      expect(publishPuts(proxy).filter((q) => q.status === 201).map((q) => pathName(q.path))).toEqual([names.c])
      expect(await publishedIntegrity(sb, registry.url, `${names.a}@1.0.0`)).toBeNull()
      expect(await publishedIntegrity(sb, registry.url, `${names.b}@1.0.0`)).toBeNull()
      // Nothing is left half-done: b is pending again, not stuck in "approving".
      const states = parseJson<Array<{ packageName: string; state: string }>>((await sb.run(['list', '--all', '--json', '--backend', sb.backend])).stdout)
      expect(Object.fromEntries(states.map((s) => [s.packageName, s.state]))).toEqual({ [names.a]: 'pending', [names.b]: 'pending', [names.c]: 'approved' })

      // Fixed: the same command publishes the rest, and c is not sent again.
      proxy.refuse = undefined
      const second = await sb.run(['approve', setId, '--yes', '--otp', await approver.otp(), '--json', '--backend', sb.backend], { env: asApprover })
      expect(second.code, second.all).toBe(0)
      const summary = parseJson<Summary>(second.stdout)
      expect(summary.complete).toBe(true)
      expect(summary.published.map((p) => [p.name, p.how])).toEqual([
        [names.c, 'already-approved'],
        [names.b, 'published'],
        [names.a, 'published'],
      ])
      expect(publishPuts(proxy).filter((q) => q.status === 201).map((q) => pathName(q.path))).toEqual([names.c, names.b, names.a])
      expect(await publishedIntegrity(sb, registry.url, `${names.a}@1.0.0`)).toMatch(/^sha512-/)
    } finally {
      await proxy.stop()
    }
  })

  it('approves one member on its own only once the set members it depends on are published', async () => {
    const { sb, root, names } = await workspace()
    const staged = await sb.run(['--workspaces', '--json', '--backend', sb.backend, '--registry', registry.url], { cwd: root })
    expect(staged.code, staged.all).toBe(0)
    const { setId, releases } = parseJson<SetJson>(staged.stdout)
    const id = (name: string) => releases.find((r) => r.name === name)!.id
    const approver = await registry.createUser()
    const env = { NPM_CONFIG_USERCONFIG: await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url) }
    const early = await sb.run(['approve', id(names.b), '--yes', '--otp', '123456', '--backend', sb.backend], { env })
    expect(early.code).toBe(1)
    expect(early.stderr).toContain(`ESTATE: ${names.b}@1.0.0 depends on ${names.c}@1.0.0 of its release set, not published yet`)
    expect(early.stderr).toContain(`stage-publish approve ${setId}`)
    // The same in a batch that leaves the dependency out; with it in, the batch orders it first.
    const batch = await sb.run(['approve', id(names.a), id(names.b), '--yes', '--otp', '123456', '--backend', sb.backend], { env })
    expect(batch.code).toBe(1)
    expect(batch.stderr).toContain(`Nothing was published: 1 of 2 releases cannot be approved`)
    expect(batch.stderr).toContain(`${names.b}@1.0.0 depends on ${names.c}@1.0.0 of its release set`)
    // c depends on nothing: it may go alone; then b may.
    const c = await sb.run(['approve', id(names.c), '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
    expect(c.code, c.all).toBe(0)
    const b = await sb.run(['approve', id(names.b), '--yes', '--otp', await approver.otp(), '--backend', sb.backend], { env })
    expect(b.code, b.all).toBe(0)
    expect(await publishedIntegrity(sb, registry.url, `${names.a}@1.0.0`)).toBeNull()
  })

  it('refuses an incomplete set before asking anything', async () => {
    const { sb, root, names } = await workspace()
    const staged = await sb.run(['--workspaces', '--json', '--backend', sb.backend, '--registry', registry.url], { cwd: root })
    expect(staged.code, staged.all).toBe(0)
    const { setId, releases } = parseJson<SetJson>(staged.stdout)
    const b = releases.find((r) => r.name === names.b)!
    await fs.rm(path.join(sb.store, 'records', `${b.id}.json`))
    const approver = await registry.createUser()
    const npmrc = await approver.writeNpmrc(path.join(sb.dir, 'approver'), registry.url)
    const r = await sb.run(['approve', setId, '--yes', '--otp', '123456', '--backend', sb.backend], { env: { NPM_CONFIG_USERCONFIG: npmrc } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ESETINCOMPLETE')
    expect(r.stderr).toContain(`${names.b}@1.0.0`)
    expect(await publishedIntegrity(sb, registry.url, `${names.c}@1.0.0`)).toBeNull()
    const view = parseJson<{ complete: boolean; missing: unknown[] }>((await sb.run(['view', setId, '--json', '--no-review', '--backend', sb.backend])).stdout)
    expect(view).toMatchObject({ complete: false, missing: [{ name: names.b, version: '1.0.0' }] })
  })
})
